// Frames of the task: the picture of the current frame (served exactly by the API: a video
// frame is decoded at its timestamp, a DICOM slice windowed), frame-accurate scrubbing by the
// frame timetable, playback, DICOM window presets, and the timeline under the picture —
// keyframes and interpolated spans per track, frames with shapes, propagated frames (one
// successively darker blue per run) and pinned comments.

import { api } from "../api.js";
import { runShade } from "./shades.js";
import { trackFrames } from "./tracks.js";

const SVG = "http://www.w3.org/2000/svg";
const PAGE = 1000;
const CACHE = 60;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function runs(frames) {
  const sorted = [...frames].sort((a, b) => a - b);
  const out = [];
  for (const f of sorted) {
    const last = out[out.length - 1];
    if (last && f === last[1] + 1) last[1] = f;
    else out.push([f, f]);
  }
  return out;
}

function formatTime(ms) {
  if (ms === null || ms === undefined) return "";
  const total = Math.max(0, ms) / 1000;
  const m = Math.floor(total / 60);
  const s = (total - m * 60).toFixed(3).padStart(6, "0");
  return `${m}:${s}`;
}

export class VideoFrames {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.list = [];
    this.count = 0;
    this.cache = new Map();
    this.playing = null;
    this.windowPreset = "";
  }

  isVideo() {
    return this.app.config.kind === "video";
  }

  frame(index) {
    return this.list[index] || this.list[0] || null;
  }

  async load(task) {
    const id = this.app.config.task;
    let offset = 0;
    for (;;) {
      const page = await api(`tasks/${id}/frames?limit=${PAGE}&offset=${offset}`);
      this.list.push(...page.results);
      offset += page.results.length;
      if (!page.next || !page.results.length || !this.app.config.framed) break;
    }
    this.count = this.app.config.framed ? this.list.length : Math.min(1, this.list.length);
    if (this.isVideo() && this.count) {
      // The timetable: real timestamps and keyframes, frame by frame.
      const table = await api(`tasks/${id}/video/frame-timetable?from=0&to=${Math.min(this.count - 1, 9999)}`).catch(() => null);
      for (const row of table?.frames || []) {
        const f = this.list[row.frame_index];
        if (f) Object.assign(f, { pts_ms: row.pts_ms, is_keyframe: row.is_keyframe, pict_type: row.pict_type });
      }
      this.fps = table?.fps || task.video_metadata?.fps || 25;
    }
    if (this.app.config.kind === "dicom") {
      const media = await api(`tasks/${id}/media`).catch(() => null);
      const select = this.root.querySelector("[data-window]");
      for (const [name, w] of Object.entries(media?.dicom?.window_presets || {})) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = `${name.replace("_", " ")} (C ${w.center} / W ${w.width})`;
        select.append(option);
      }
      select.addEventListener("change", () => {
        this.windowPreset = select.value;
        this.cache.clear();
        this.go(this.app.state.frame);
      });
      for (const el of this.root.querySelectorAll("[data-dicom-only]")) el.hidden = false;
    }
    if (this.app.config.framed) this.bindControls();
    if (!this.count) {
      this.app.say("This task has no pictures yet: its media is still being processed, or none was uploaded.", "info-sticky");
      const blank = document.createElement("canvas");
      blank.width = task.video_metadata?.width || 640;
      blank.height = task.video_metadata?.height || 480;
      this.app.canvas.setPicture(blank, blank.width, blank.height);
      return;
    }
    await this.go(0);
  }

  bindControls() {
    const box = this.root.querySelector("[data-frames]");
    box.hidden = false;
    const scrub = box.querySelector("[data-scrubber]");
    scrub.max = String(Math.max(0, this.count - 1));
    box.querySelector("[data-frame-count]").textContent = String(this.count);
    const number = box.querySelector("#frame-number");
    number.max = String(this.count);
    scrub.addEventListener("input", () => this.go(Number(scrub.value)));
    number.addEventListener("change", () => this.go(Number(number.value) - 1));
    const on = (action, fn) => box.querySelector(`[data-action="${action}"]`)?.addEventListener("click", fn);
    on("first-frame", () => this.go(0));
    on("last-frame", () => this.go(this.count - 1));
    on("prev-frame", () => this.go(this.app.state.frame - 1));
    on("next-frame", () => this.go(this.app.state.frame + 1));
    if (this.isVideo()) {
      for (const el of box.querySelectorAll("[data-video-only]")) el.hidden = false;
      on("play", () => this.togglePlay());
    }
    this.timeline = box.querySelector("[data-timeline]");
    this.timeline.addEventListener("click", (event) => {
      const rect = this.timeline.getBoundingClientRect();
      const frame = Math.floor(((event.clientX - rect.left) / rect.width) * this.count);
      const trackKey = event.target.closest("[data-track-key]")?.dataset.trackKey;
      if (trackKey) this.app.select(trackKey);
      this.go(frame);
    });
    new ResizeObserver(() => this.renderTimeline()).observe(this.timeline);
  }

  url(index) {
    const win = this.windowPreset ? `&window=${encodeURIComponent(this.windowPreset)}` : "";
    return `/api/v1/tasks/${this.app.config.task}/frames/${index}?ext=jpeg${win}`;
  }

  picture(index) {
    if (this.cache.has(index)) {
      const hit = this.cache.get(index);
      this.cache.delete(index);
      this.cache.set(index, hit);
      return hit;
    }
    const promise = new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`frame ${index + 1} could not be loaded`));
      img.src = this.url(index);
    });
    this.cache.set(index, promise);
    while (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value);
    promise.catch(() => this.cache.delete(index));
    return promise;
  }

  async go(index) {
    if (!this.count) return;
    const target = Math.max(0, Math.min(this.count - 1, Math.round(index)));
    const changed = target !== this.app.state.frame;
    this.app.state.frame = target;
    if (changed) this.app.canvas.cancelDraft();
    this.showPosition();
    this.app.render();
    try {
      const img = await this.picture(target);
      if (this.app.state.frame !== target) return; // a later request won
      const f = this.frame(target);
      this.app.canvas.setPicture(img, f?.width || img.naturalWidth, f?.height || img.naturalHeight);
      this.app.canvas.render();
    } catch (error) {
      this.app.say(String(error.message || error), "error");
    }
    for (let i = 1; i <= 3; i += 1) if (target + i < this.count) this.picture(target + i).catch(() => {});
    this.app.panels.onFrame?.(target);
  }

  showPosition() {
    const box = this.root.querySelector("[data-frames]");
    if (box.hidden) return;
    const i = this.app.state.frame;
    box.querySelector("[data-scrubber]").value = String(i);
    box.querySelector("#frame-number").value = String(i + 1);
    const f = this.frame(i);
    const parts = [];
    if (f?.pts_ms !== undefined && f?.pts_ms !== null) parts.push(formatTime(f.pts_ms));
    if (f?.pict_type) parts.push(f.pict_type);
    else if (f?.is_keyframe) parts.push("key");
    if (this.app.config.kind === "dicom" && f?.metadata?.instance_number) parts.push(`instance ${f.metadata.instance_number}`);
    box.querySelector("[data-frame-time]").textContent = parts.join(" · ");
  }

  togglePlay() {
    const button = this.root.querySelector('[data-action="play"]');
    if (this.playing) {
      clearTimeout(this.playing);
      this.playing = null;
      button.textContent = "Play";
      button.setAttribute("aria-label", "Play");
      return;
    }
    button.textContent = "Pause";
    button.setAttribute("aria-label", "Pause");
    const step = async () => {
      if (this.app.state.frame >= this.count - 1) return this.togglePlay();
      const started = performance.now();
      await this.go(this.app.state.frame + 1);
      if (!this.playing) return;
      this.playing = setTimeout(step, Math.max(0, 1000 / (this.fps || 25) - (performance.now() - started)));
    };
    this.playing = setTimeout(step, 0);
  }

  handleKey(event) {
    if (!this.app.config.framed || !this.count) return false;
    const big = event.shiftKey ? 10 : 1;
    const i = this.app.state.frame;
    const moves = {
      ArrowLeft: i - big,
      ArrowRight: i + big,
      PageUp: i - 10,
      PageDown: i + 10,
      Home: 0,
      End: this.count - 1,
    };
    if (event.key in moves) {
      event.preventDefault();
      this.go(moves[event.key]);
      return true;
    }
    if (event.key === " " && this.isVideo()) {
      event.preventDefault();
      this.togglePlay();
      return true;
    }
    return false;
  }

  renderTimeline() {
    if (!this.timeline || !this.count) return;
    const width = Math.max(200, this.timeline.clientWidth);
    const x = (f) => (f / this.count) * width;
    const w = (a, b) => Math.max(2, ((b - a + 1) / this.count) * width);
    const shapes = this.app.state.shapes;
    const rows = [];
    // Frames holding any per-frame shape.
    const withShapes = new Set(shapes.filter((s) => s.type !== "video_track" && s.frame_index !== undefined && s.frame_index !== null && s.source !== "propagated").map((s) => s.frame_index));
    for (const s of shapes) if (s.type === "video_bbox") withShapes.add(s.geometry.frame_index);
    rows.push({ title: "Shapes", spans: runs(withShapes).map(([a, b]) => ({ a, b, cls: "tl-shapes" })) });
    // Propagated frames, one shade per run, oldest lightest.
    const propagation = this.app.panels.runs || [];
    const order = [...propagation].sort((p, q) => p.id - q.id);
    const byJob = new Map();
    for (const s of shapes) {
      if (s.source !== "propagated" || !s.produced_by_job_id) continue;
      if (!byJob.has(s.produced_by_job_id)) byJob.set(s.produced_by_job_id, new Set());
      byJob.get(s.produced_by_job_id).add(s.frame_index);
    }
    if (byJob.size) {
      const spans = [];
      order.forEach((run, i) => {
        const frames = byJob.get(run.job?.id);
        if (!frames) return;
        for (const [a, b] of runs(frames)) spans.push({ a, b, fill: runShade(i, order.length), title: `run #${run.id}` });
      });
      rows.push({ title: "Propagated", spans });
    }
    // Tracks: interpolated spans and keyframes.
    const tracks = shapes.filter((s) => s.type === "video_track").slice(0, 12);
    for (const t of tracks) {
      const visible = trackFrames(t.geometry.keyframes, this.count).map((f) => f.frame_index);
      rows.push({
        title: t.class_name,
        key: t.key,
        color: this.app.labelOf(t.class_name)?.color || "#999",
        spans: runs(visible).map(([a, b]) => ({ a, b, cls: "tl-track" })),
        keyframes: t.geometry.keyframes,
      });
    }
    const rowH = 14;
    const root = svg("svg", { width, height: rows.length * rowH + 14, class: "timeline-svg", role: "presentation" });
    rows.forEach((row, r) => {
      const y = r * rowH + 2;
      const g = svg("g", row.key ? { "data-track-key": row.key, class: `tl-row${row.key === this.app.state.selectedKey ? " selected" : ""}` } : { class: "tl-row" });
      g.append(svg("rect", { x: 0, y, width, height: rowH - 3, class: "tl-bg" }));
      for (const span of row.spans) {
        const rect = svg("rect", { x: x(span.a), y: y + 2, width: w(span.a, span.b), height: rowH - 7, class: span.cls || "", fill: span.fill || row.color || "" });
        if (span.title) rect.append(Object.assign(svg("title"), { textContent: span.title }));
        g.append(rect);
      }
      for (const kf of row.keyframes || []) {
        const cx = x(kf.frame_index) + w(kf.frame_index, kf.frame_index) / 2;
        g.append(svg("path", { d: `M${cx} ${y} l4 5 l-4 5 l-4 -5 z`, class: kf.absent ? "tl-kf absent" : kf.occluded ? "tl-kf occluded" : "tl-kf" }));
      }
      const label = svg("text", { x: 4, y: y + rowH - 5, class: "tl-label" });
      label.textContent = row.title;
      g.append(label);
      root.append(g);
    });
    for (const c of this.app.panels.comments || []) {
      if (c.frame_index === null || c.frame_index === undefined || c.resolved) continue;
      root.append(svg("path", { d: `M${x(c.frame_index)} ${rows.length * rowH + 2} l4 8 l-8 0 z`, class: "tl-comment" }));
    }
    const now = x(this.app.state.frame) + w(this.app.state.frame, this.app.state.frame) / 2;
    root.append(svg("rect", { x: now - 1, y: 0, width: 2, height: rows.length * rowH + 12, class: "tl-now" }));
    this.timeline.replaceChildren(root);
  }
}
