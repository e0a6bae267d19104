// The annotation workspace: loads the task, its frames and annotations from the JSON API,
// keeps the edited set (undo/redo), autosaves drafts with the revision (409 → reload with a
// message), submits, and keeps the 30-minute lock alive while the person works (released
// when they leave). Review happens here too, for the reviewer holding the review lock.

import { api, ApiError, errorText } from "../api.js";
import { openModal } from "../dialogs.js";
import { Canvas } from "./canvas.js";
import { Panels } from "./panels.js";
import { boxAt, setKeyframe } from "./tracks.js";
import { VideoFrames } from "./frames.js";

const root = document.querySelector("[data-workspace]");
const config = JSON.parse(root.dataset.config);
const $ = (selector) => root.querySelector(selector);
const AUTOSAVE_MS = 1500;
const RENEW_EVERY_MS = 60_000;
const ACTIVE_WINDOW_MS = 5 * 60_000;

// Icons are small inline SVG paths (24x24), so they look the same with every font.
const ICONS = {
  select: "M5 3l14 8-6 1.5L16 20l-2.5 1-3-7.5L5 18z",
  bbox: "M4 6h16v12H4z",
  polygon: "M12 3l8 6-3 10H7L4 9z",
  polyline: "M3 18l5-9 5 6 4-9 4 4",
  points: "M12 8a4 4 0 1 1 0 8a4 4 0 1 1 0-8z",
  keypoints: "M6 18l6-12 6 12M6 18a2 2 0 1 1 0 .1M12 6a2 2 0 1 1 0 .1M18 18a2 2 0 1 1 0 .1",
  brush: "M14 4l6 6-8 8c-2 2-5 2-7 2 0-2 0-5 2-7z",
  eraser: "M4 15l9-9 7 7-6 6H8zM9 19h11",
  ai: "M12 2l2.2 7.8L22 12l-7.8 2.2L12 22l-2.2-7.8L2 12l7.8-2.2z",
};
const TOOLS = [
  { id: "select", key: "v", label: "Select / move", icon: "select", types: null },
  { id: "bbox", key: "b", label: "Box", icon: "bbox", types: ["bbox", "video_track"] },
  { id: "polygon", key: "p", label: "Polygon", icon: "polygon", types: ["polygon"] },
  { id: "polyline", key: "l", label: "Polyline", icon: "polyline", types: ["polyline"] },
  { id: "points", key: "t", label: "Point", icon: "points", types: ["points"] },
  { id: "keypoints", key: "k", label: "Keypoints", icon: "keypoints", types: ["keypoints"] },
  { id: "brush", key: "r", label: "Brush (mask)", icon: "brush", types: ["mask"] },
  { id: "eraser", key: "e", label: "Eraser (mask)", icon: "eraser", types: ["mask"] },
  { id: "ai-click", key: "a", label: "AI click → SAM mask", icon: "ai", types: ["mask"], ai: true },
  { id: "ai-box", key: "x", label: "AI box → SAM mask", icon: "ai", types: ["mask"], ai: true },
];

function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svgEl = document.createElementNS(ns, "svg");
  svgEl.setAttribute("viewBox", "0 0 24 24");
  svgEl.setAttribute("width", "20");
  svgEl.setAttribute("height", "20");
  svgEl.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("class", `icon icon-${name}`);
  svgEl.append(path);
  return svgEl;
}

let keyCounter = 0;
const newKey = () => `k${(keyCounter += 1)}`;
const clone = (value) => structuredClone(value);
const randomId = () => `obj-${Math.random().toString(36).slice(2, 10)}`;

class Workspace {
  constructor() {
    this.config = config;
    this.labels = config.labels;
    this.state = {
      mode: "view",
      frame: 0,
      shapes: [],
      selectedKey: null,
      tool: "select",
      labelIndex: 0,
      brushSize: 12,
      window: "",
    };
    this.ids = new Map(); // local key -> annotation id
    this.undoStack = [];
    this.redoStack = [];
    this.revision = 0;
    this.dirty = false;
    this.saving = null;
    this.lastActivity = Date.now();
    this.candidates = [];
    this.pins = [];
    this.pendingPin = null;
    this.diff = null;
    this.propagationFrames = new Map(); // job id -> Set of frames
    this.spaceHeld = false;
    this.canvas = new Canvas(this, $("[data-stage]"));
    this.panels = new Panels(this, root);
    this.frames = new VideoFrames(this, root);
  }

  // --- helpers used by the canvas and panels ----------------------------------------------
  labelOf(name) {
    if (!name) return null;
    const lower = String(name).toLowerCase();
    return this.labels.find((l) => l.name.toLowerCase() === lower) || null;
  }

  currentLabel() {
    return this.labels[this.state.labelIndex] || null;
  }

  editable() {
    return this.state.mode === "annotate";
  }

  isVideo() {
    return this.config.kind === "video" || this.config.kind === "sequential_image";
  }

  frameSize(index = this.state.frame) {
    const f = this.frames.frame(index);
    return { width: f?.width || this.canvas.width, height: f?.height || this.canvas.height };
  }

  say(text, kind = "info") {
    const box = $("[data-ws-message]");
    box.textContent = text;
    box.className = `ws-message ${kind}`;
    box.hidden = !text;
    clearTimeout(this.sayTimer);
    if (kind === "info" && text) this.sayTimer = setTimeout(() => (box.hidden = true), 6000);
  }

  showZoom(percent) {
    $("[data-zoom]").textContent = `${percent}%`;
  }

  /** Shapes on the current frame, resolved for drawing (tracks interpolated). */
  visibleShapes() {
    const frame = this.state.frame;
    const { width, height } = this.frameSize();
    const out = [];
    for (const shape of this.state.shapes) {
      if (shape.type === "video_track") {
        const at = boxAt(shape.geometry.keyframes, frame, this.frames.count || null);
        if (!at) continue;
        const b = at.bbox;
        out.push({ shape, type: "video_track", view: { x: b.x * width, y: b.y * height, width: b.w * width, height: b.h * height }, interpolated: !at.keyframe, occluded: at.occluded });
      } else if (shape.type === "video_bbox") {
        const g = shape.geometry;
        if (g.frame_index !== frame) continue;
        out.push({ shape, type: "video_bbox", view: { x: g.x * width, y: g.y * height, width: g.w * width, height: g.h * height }, occluded: g.occluded });
      } else if (shape.type === "classification" || shape.type === "relation" || shape.type === "text_span") {
        continue;
      } else if ((shape.frame_index ?? 0) === frame) {
        out.push({ shape, type: shape.type, view: shape.geometry });
      }
    }
    // Paint masks first (bottom), then by the classes' z-order.
    const z = (item) => (item.type === "mask" ? -1e6 : 0) + (this.labelOf(item.shape.class_name)?.z_order || 0);
    return out.sort((a, b) => z(a) - z(b));
  }

  candidatesOnFrame() {
    return this.candidates.filter((c) => !c.decision && (c.frame_index ?? 0) === this.state.frame && c.geometry);
  }

  diffOnFrame() {
    if (!this.diff) return [];
    return this.diff.filter((d) => (d.shape.frame_index ?? 0) === this.state.frame || d.shape.type === "video_track");
  }

  pinsOnFrame() {
    const pins = this.panels.comments
      .filter((c) => c.position && c.frame_index === this.state.frame && !c.resolved)
      .map((c, i) => ({ x: c.position.x, y: c.position.y, label: String(i + 1) }));
    if (this.pendingPin && this.pendingPin.frame === this.state.frame) pins.push({ ...this.pendingPin, label: "+", pending: true });
    return pins;
  }

  selected() {
    return this.state.shapes.find((s) => s.key === this.state.selectedKey) || null;
  }

  // --- edits (each one is an undo step) ------------------------------------------------------
  change(fn, { keepSelection = true } = {}) {
    if (!this.editable()) return;
    this.undoStack.push(clone(this.state.shapes));
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack = [];
    fn(this.state.shapes);
    if (!keepSelection || !this.selected()) this.state.selectedKey = null;
    this.touched();
  }

  touched() {
    this.dirty = true;
    this.lastActivity = Date.now();
    this.render();
    this.setSaveState("Unsaved changes");
    clearTimeout(this.autosaveTimer);
    this.autosaveTimer = setTimeout(() => this.save(), AUTOSAVE_MS);
  }

  undo() {
    if (!this.editable() || !this.undoStack.length) return;
    this.redoStack.push(clone(this.state.shapes));
    this.state.shapes = this.undoStack.pop();
    this.touched();
  }

  redo() {
    if (!this.editable() || !this.redoStack.length) return;
    this.undoStack.push(clone(this.state.shapes));
    this.state.shapes = this.redoStack.pop();
    this.touched();
  }

  addShape(partial, { select = true } = {}) {
    const label = this.currentLabel();
    const shape = {
      key: newKey(),
      class_name: label.name,
      attributes: this.defaultAttributes(label),
      frame_index: this.state.frame,
      object_id: "",
      source: "manual",
      ...partial,
    };
    this.change((shapes) => shapes.push(shape));
    if (select) this.select(shape.key);
    return shape;
  }

  defaultAttributes(label) {
    const out = {};
    for (const attr of label?.attributes || []) if (attr.default !== undefined && attr.default !== null) out[attr.name] = attr.default;
    return out;
  }

  /** A box drawn with the box tool: a video track (keyframe here) in video projects. */
  addBox(box) {
    if (this.config.types.includes("video_track") && this.isVideo()) {
      const { width, height } = this.frameSize();
      const kf = { frame_index: this.state.frame, bbox: { x: box.x / width, y: box.y / height, w: box.width / width, h: box.height / height }, source: "manual", absent: false, occluded: false };
      const sel = this.selected();
      if (sel && sel.type === "video_track") {
        // A box drawn while a track is selected is that track's keyframe on this frame.
        this.change((shapes) => {
          const track = shapes.find((s) => s.key === sel.key);
          track.geometry.keyframes = setKeyframe(track.geometry.keyframes, kf);
        });
        return;
      }
      this.addShape({ type: "video_track", geometry: { type: "video_track", track_id: `trk_${Math.random().toString(36).slice(2, 10)}`, keyframes: [kf] }, frame_index: undefined });
    } else {
      this.addShape({ type: "bbox", geometry: box });
    }
  }

  moveBox(key, box) {
    this.change((shapes) => {
      const shape = shapes.find((s) => s.key === key);
      if (!shape) return;
      if (shape.type === "bbox") shape.geometry = box;
      else {
        const { width, height } = this.frameSize();
        const n = { x: box.x / width, y: box.y / height, w: box.width / width, h: box.height / height };
        if (shape.type === "video_bbox") Object.assign(shape.geometry, n);
        else {
          const at = boxAt(shape.geometry.keyframes, this.state.frame);
          shape.geometry.keyframes = setKeyframe(shape.geometry.keyframes, { frame_index: this.state.frame, bbox: n, source: "manual", absent: false, occluded: Boolean(at?.occluded) });
        }
      }
    });
  }

  moveVertex(key, polygonIndex, holeIndex, vertexIndex, point) {
    this.change((shapes) => {
      const shape = shapes.find((s) => s.key === key);
      if (!shape) return;
      if (shape.type === "polygon") {
        const poly = shape.geometry.polygons[polygonIndex];
        const ring = holeIndex < 0 ? poly.exterior : poly.holes[holeIndex];
        ring[vertexIndex] = point;
      } else shape.geometry.points[vertexIndex] = point;
    });
  }

  /** The mask a brush or eraser stroke paints on. */
  maskTarget(tool, point) {
    const sel = this.selected();
    if (sel && sel.type === "mask" && (sel.frame_index ?? 0) === this.state.frame) {
      if (tool === "eraser" || sel.class_name === this.currentLabel()?.name) return sel;
    }
    if (tool === "eraser") {
      // The top mask under the pointer.
      const masks = this.visibleShapes().filter((i) => i.type === "mask").reverse();
      for (const item of masks) {
        const node = this.canvas.maskCanvas(item.shape, "#000");
        if (!node) continue;
        const px = node.getContext("2d").getImageData(Math.floor(point.x), Math.floor(point.y), 1, 1).data;
        if (px[3]) return item.shape;
      }
      return null;
    }
    const label = this.currentLabel();
    if (!label) return null;
    return { key: null, class_name: label.name, geometry: null };
  }

  setMask(target, geometry) {
    if (target.key === null) {
      if (!geometry) return;
      this.addShape({ type: "mask", geometry, object_id: randomId() });
      return;
    }
    this.change((shapes) => {
      const index = shapes.findIndex((s) => s.key === target.key);
      if (index < 0) return;
      if (geometry) {
        shapes[index].geometry = geometry;
        if (shapes[index].source === "propagated") shapes[index].source = "manual"; // a correction leaves the chain
      } else shapes.splice(index, 1);
    });
  }

  deleteSelected() {
    const sel = this.selected();
    if (!sel || !this.editable()) return;
    this.change((shapes) => shapes.splice(shapes.indexOf(shapes.find((s) => s.key === sel.key)), 1), { keepSelection: false });
  }

  setClassOfSelected(name) {
    const sel = this.selected();
    if (!sel || !this.editable() || sel.class_name === name) return;
    this.change((shapes) => {
      const shape = shapes.find((s) => s.key === sel.key);
      shape.class_name = name;
      shape.attributes = this.defaultAttributes(this.labelOf(name));
    });
  }

  setAttribute(key, name, value) {
    this.change((shapes) => {
      const shape = shapes.find((s) => s.key === key);
      if (!shape) return;
      if (value === "" || value === null || value === undefined) delete shape.attributes[name];
      else shape.attributes[name] = value;
    });
  }

  toggleClassification(label, on) {
    this.change((shapes) => {
      const index = shapes.findIndex((s) => s.type === "classification" && s.class_name === label.name);
      if (on && index < 0) shapes.push({ key: newKey(), type: "classification", class_name: label.name, geometry: {}, attributes: this.defaultAttributes(label), source: "manual" });
      if (!on && index >= 0) shapes.splice(index, 1);
    });
  }

  /** Track flags on the current frame: occluded here, or absent from here. */
  setTrackFlag(flag) {
    const sel = this.selected();
    if (!sel || sel.type !== "video_track" || !this.editable()) return;
    const frame = this.state.frame;
    this.change((shapes) => {
      const shape = shapes.find((s) => s.key === sel.key);
      const kfs = shape.geometry.keyframes;
      const current = kfs.find((k) => k.frame_index === frame);
      const at = boxAt(kfs, frame);
      if (flag === "absent") {
        if (current?.absent) shape.geometry.keyframes = kfs.filter((k) => k !== current);
        else shape.geometry.keyframes = setKeyframe(kfs, { frame_index: frame, source: "manual", absent: true, occluded: false, ...(at ? { bbox: at.bbox } : {}) });
      } else if (at) {
        shape.geometry.keyframes = setKeyframe(kfs, { frame_index: frame, bbox: at.bbox, source: current?.source || "manual", absent: false, occluded: !at.occluded });
      }
    });
  }

  select(key) {
    if (this.state.selectedKey === key) return;
    this.state.selectedKey = key;
    this.render();
  }

  setTool(id) {
    const tool = TOOLS.find((t) => t.id === id);
    if (!tool || root.querySelector(`[data-tool="${id}"]`)?.hidden) return;
    if (!this.editable() && id !== "select") return;
    this.canvas.cancelDraft();
    this.state.tool = id;
    for (const b of root.querySelectorAll("[data-tool]")) b.setAttribute("aria-checked", String(b.dataset.tool === id));
    $("[data-brush-size]").hidden = !(id === "brush" || id === "eraser");
    this.canvas.cursor.visible(false);
    this.canvas.render();
  }

  setLabel(index) {
    if (index < 0 || index >= this.labels.length) return;
    this.state.labelIndex = index;
    for (const b of root.querySelectorAll("[data-label-index]")) b.setAttribute("aria-pressed", String(Number(b.dataset.labelIndex) === index));
    if (this.selected()) this.setClassOfSelected(this.labels[index].name);
  }

  render() {
    this.canvas.render();
    this.panels.render();
    this.frames.renderTimeline();
    $("[data-action=undo]").disabled = !this.editable() || !this.undoStack.length;
    $("[data-action=redo]").disabled = !this.editable() || !this.redoStack.length;
  }

  // --- loading and saving ----------------------------------------------------------------
  fromServer(annotation) {
    const key = newKey();
    if (annotation.id) this.ids.set(key, annotation.id);
    const { id, ...rest } = annotation;
    return { ...rest, key, attributes: annotation.attributes || {}, geometry: annotation.geometry || {} };
  }

  async loadAnnotations() {
    const set = await api(`tasks/${config.task}/annotations`);
    this.ids.clear();
    this.state.shapes = set.annotations.map((a) => this.fromServer(a));
    this.revision = set.revision;
    this.undoStack = [];
    this.redoStack = [];
    this.dirty = false;
    this.state.selectedKey = null;
    this.setSaveState(`Revision ${set.revision}`);
    this.render();
  }

  payload() {
    return this.state.shapes.map((s) => {
      const out = { type: s.type, class_name: s.class_name, geometry: s.geometry, attributes: s.attributes || {} };
      const id = this.ids.get(s.key);
      if (id) out.id = id;
      if (s.object_id) out.object_id = s.object_id;
      if (!id && s.source === "ai-accepted") Object.assign(out, { source: "ai-accepted", model_version: s.model_version || "", score: s.score });
      if (s.type !== "video_track" && s.type !== "video_bbox" && s.frame_index !== undefined && s.frame_index !== null) out.frame_index = s.frame_index;
      if (s.type === "classification" && (s.frame_index === undefined || s.frame_index === null)) delete out.frame_index;
      return out;
    });
  }

  /** Map the ids the server gave to the shapes this save created (created in request order). */
  adoptIds(sentKeys, set) {
    const sent = new Set(sentKeys.map((k) => this.ids.get(k)).filter(Boolean));
    const fresh = set.annotations.map((a) => a.id).filter((id) => !sent.has(id)).sort((a, b) => a - b);
    const created = sentKeys.filter((k) => !this.ids.get(k));
    created.forEach((key, i) => {
      if (fresh[i] !== undefined) this.ids.set(key, fresh[i]);
    });
    const byId = new Map(set.annotations.map((a) => [a.id, a]));
    for (const shape of this.state.shapes) {
      const server = byId.get(this.ids.get(shape.key));
      if (server) Object.assign(shape, { source: server.source, produced_by_job_id: server.produced_by_job_id });
    }
  }

  async save({ submit = false } = {}) {
    clearTimeout(this.autosaveTimer);
    if (!this.editable()) return false;
    if (this.saving) {
      await this.saving.catch(() => {});
      if (!submit && !this.dirty) return true;
    }
    if (!submit && !this.dirty) return true;
    const keys = this.state.shapes.map((s) => s.key);
    const body = { shapes: this.payload(), revision: this.revision };
    const version = this.undoStack.length + this.redoStack.length * 1000;
    this.setSaveState(submit ? "Submitting…" : "Saving…");
    this.saving = api(`tasks/${config.task}/annotations${submit ? "" : "/draft"}`, { method: submit ? "POST" : "PUT", body });
    try {
      const set = await this.saving;
      this.revision = set.revision;
      this.adoptIds(keys, set);
      if (version === this.undoStack.length + this.redoStack.length * 1000) this.dirty = false;
      this.setSaveState(submit ? "Submitted" : `Saved · revision ${set.revision}`);
      if (submit) await this.afterSubmit(set);
      return true;
    } catch (error) {
      this.onSaveError(error);
      return false;
    } finally {
      this.saving = null;
    }
  }

  onSaveError(error) {
    if (error instanceof ApiError && error.status === 409 && error.code === "stale_revision") {
      this.say(
        `This task was changed elsewhere (now revision ${error.body.current_revision}). The latest version has been loaded; your last unsaved change was not kept — please redo it.`,
        "error",
      );
      this.loadAnnotations();
      return;
    }
    if (error instanceof ApiError && error.status === 423) {
      this.say(`${error.message} Your lock has ended; get the task again to go on editing.`, "error");
      this.setMode("view");
      return;
    }
    this.setSaveState("Not saved");
    this.say(`Not saved: ${errorText(error)}`, "error");
  }

  setSaveState(text) {
    $("[data-save-state]").textContent = text;
  }

  async submit() {
    if (!this.editable()) return;
    this.canvas.finishDraft();
    await this.save({ submit: true });
  }

  async afterSubmit(set) {
    this.setMode("done");
    this.task.status = set.status;
    $("[data-task-status]").textContent = set.status;
    this.showNextStep(`Submitted (revision ${set.revision}). Thank you!`, config.urls.next, "Get next task");
  }

  showNextStep(text, action, buttonText) {
    const box = $("[data-ws-message]");
    box.className = "ws-message success";
    box.hidden = false;
    box.replaceChildren(document.createTextNode(`${text} `));
    const form = document.createElement("form");
    form.method = "post";
    form.action = action;
    form.className = "inline";
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "csrfmiddlewaretoken";
    csrf.value = document.querySelector('meta[name="csrf-token"]').content;
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "primary small";
    button.textContent = buttonText;
    form.append(csrf, button);
    const back = document.createElement("a");
    back.href = config.urls.project;
    back.textContent = "Back to the project";
    box.append(form, " ", back);
    button.focus();
  }

  // --- lock ---------------------------------------------------------------------------------
  startLockTimers() {
    const lockBox = $("[data-lock]");
    const tick = () => {
      if (!this.task.lock_expires_at || !["annotate", "review"].includes(this.state.mode)) return;
      const left = Math.max(0, new Date(this.task.lock_expires_at) - Date.now());
      const m = Math.floor(left / 60000);
      const s = Math.floor((left % 60000) / 1000);
      lockBox.textContent = `Lock ${m}:${String(s).padStart(2, "0")} left`;
      lockBox.classList.toggle("warn", left < 5 * 60000);
      lockBox.title = `Your lock ends at ${new Date(this.task.lock_expires_at).toLocaleTimeString()}; it renews while you work.`;
    };
    tick();
    setInterval(tick, 1000);
    setInterval(() => this.renewLock(), RENEW_EVERY_MS);
    for (const type of ["pointerdown", "keydown", "wheel"]) root.addEventListener(type, () => (this.lastActivity = Date.now()), { passive: true });
    window.addEventListener("keydown", (event) => {
      if (event.key === "F5" || ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "r")) this.reloading = true;
    });
    window.addEventListener("pagehide", () => this.releaseLock());
    for (const link of document.querySelectorAll("a[href]")) link.addEventListener("click", () => (this.leaving = true));
  }

  async renewLock() {
    if (!["annotate", "review"].includes(this.state.mode)) return;
    if (Date.now() - this.lastActivity > ACTIVE_WINDOW_MS) return; // idle: let it run out
    try {
      const task = await api(`tasks/${config.task}/lock`, { method: "POST" });
      this.task.lock_expires_at = task.lock_expires_at;
    } catch (error) {
      this.say(`Could not renew your lock: ${errorText(error)}`, "error");
    }
  }

  releaseLock() {
    if (this.reloading || !["annotate", "review"].includes(this.state.mode)) return;
    if (this.dirty && this.editable()) {
      // Last chance for the draft, then the lock (keepalive requests outlive the page).
      api(`tasks/${config.task}/annotations/draft`, { method: "PUT", body: { shapes: this.payload(), revision: this.revision }, keepalive: true }).catch(() => {});
    }
    api(`tasks/${config.task}/lock`, { method: "DELETE", keepalive: true }).catch(() => {});
  }

  // --- modes --------------------------------------------------------------------------------
  setMode(mode) {
    this.state.mode = mode;
    root.dataset.mode = mode;
    for (const el of root.querySelectorAll("[data-mode-only]")) el.hidden = el.dataset.modeOnly !== mode;
    for (const b of root.querySelectorAll("[data-tool]")) b.disabled = mode !== "annotate" && b.dataset.tool !== "select";
    if (mode !== "annotate") this.setTool("select");
    if (mode === "view" || mode === "done") $("[data-lock]").textContent = mode === "done" ? "Lock released" : $("[data-lock]").textContent;
    this.render();
  }

  decideMode() {
    const mine = this.task.locked_by && this.task.locked_by.id === config.user.id;
    if (mine && this.task.status === "in_progress" && config.can.annotate) return "annotate";
    if (mine && this.task.status === "submitted" && config.can.review) return "review";
    return "view";
  }

  explainView() {
    const t = this.task;
    if (t.locked_by && t.locked_by.id !== config.user.id) return `Read only: ${t.locked_by.username} is working on this task.`;
    if (["submitted", "reviewed", "completed"].includes(t.status)) return `Read only: this task is ${t.status}.`;
    if (config.can.annotate) return "Read only: you do not hold this task. Use “Get next task” to work.";
    return "Read only.";
  }

  // --- review -------------------------------------------------------------------------------
  async approve() {
    try {
      await api(`tasks/${config.task}/approve`, { method: "POST", body: {} });
    } catch (error) {
      this.say(errorText(error), "error");
      return;
    }
    this.setMode("done");
    this.showNextStep("Approved.", config.urls.nextReview, "Review next task");
  }

  openReturn() {
    const dialog = document.getElementById("return-dialog");
    const form = dialog.querySelector("[data-return-form]");
    if (!form.dataset.bound) {
      form.dataset.bound = "yes";
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const comment = dialog.querySelector("#return-comment").value.trim();
        if (!comment) {
          dialog.querySelector("#return-comment").focus();
          return;
        }
        const body = { comment };
        if (dialog.querySelector("[data-return-pin]").checked && this.frames.count) {
          body.frame_index = this.state.frame;
          if (this.pendingPin && this.pendingPin.frame === this.state.frame) body.position = { x: this.pendingPin.x, y: this.pendingPin.y };
        }
        try {
          await api(`tasks/${config.task}/return`, { method: "POST", body });
        } catch (error) {
          this.say(errorText(error), "error");
          dialog.close();
          return;
        }
        dialog.close();
        this.setMode("done");
        this.showNextStep("Returned to its annotator with your comment.", config.urls.nextReview, "Review next task");
      });
    }
    openModal(dialog);
  }

  setPin(point) {
    this.pendingPin = { x: Math.round(point.x * 10) / 10, y: Math.round(point.y * 10) / 10, frame: this.state.frame };
    this.panels.showPin();
    if (this.pinReturnTool) this.setTool(this.pinReturnTool);
    this.render();
  }

  // --- AI -----------------------------------------------------------------------------------
  async samPrompt(prompt) {
    const label = this.currentLabel();
    if (!label) {
      this.say("Choose a class first.");
      return;
    }
    this.say("✦ Asking SAM…");
    try {
      const answer = await api("sam/masks", { method: "POST", body: { task_id: config.task, frame_index: this.state.frame, multimask_output: false, ...prompt } });
      const mask = answer.masks[0];
      if (!mask) {
        this.say("SAM found nothing there.");
        return;
      }
      // Kept SAM output is saved as ai-accepted with its model version (the ✦ stays after reload).
      this.addShape({ type: "mask", geometry: { rle: mask.rle }, object_id: randomId(), ai: true, source: "ai-accepted", model_version: answer.model_version, score: mask.score });
      this.say(`✦ SAM mask (score ${mask.score.toFixed(2)}, ${mask.area} px) added as “${label.name}”.`);
    } catch (error) {
      this.say(`SAM: ${errorText(error)}`, "error");
    }
  }

  // --- start --------------------------------------------------------------------------------
  async start() {
    this.buildToolbar();
    this.bindKeys();
    this.bindButtons();
    try {
      this.task = await api(`tasks/${config.task}`);
    } catch (error) {
      this.say(errorText(error), "error");
      return;
    }
    const mode = this.decideMode();
    await this.frames.load(this.task);
    await this.loadAnnotations();
    this.setMode(mode);
    if (mode === "view") this.say(this.explainView(), "info-sticky");
    if (mode === "review") this.say("Review: check the annotations, pin comments, then approve or return.", "info");
    this.startLockTimers();
    await Promise.all([this.panels.loadAll()]);
    this.render();
    root.dataset.ready = "yes";
  }

  buildToolbar() {
    const group = $("[data-tools]");
    const allowed = new Set(config.types);
    for (const tool of TOOLS) {
      if (tool.types && !tool.types.some((t) => allowed.has(t))) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = `tool${tool.ai ? " ai-tool" : ""}`;
      button.dataset.tool = tool.id;
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", String(tool.id === "select"));
      button.setAttribute("aria-label", `${tool.label} (${tool.key.toUpperCase()})`);
      button.title = `${tool.label} (${tool.key.toUpperCase()})`;
      button.append(icon(tool.icon));
      if (tool.id === "ai-box") button.append(icon("bbox"));
      if (tool.ai) button.hidden = true; // shown once SAM says it is configured
      button.addEventListener("click", () => this.setTool(tool.id));
      group.append(button);
    }
    const size = root.querySelector("#brush-size");
    size.addEventListener("input", () => {
      this.state.brushSize = Number(size.value);
      $("[data-brush-value]").textContent = size.value;
    });
    // Classes, grouped by category.
    const bar = $("[data-classes]");
    const groups = new Map();
    this.labels.forEach((label, index) => {
      const name = label.category || "Other";
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push([label, index]);
    });
    for (const [name, items] of groups) {
      const fieldset = document.createElement("div");
      fieldset.className = "class-group";
      fieldset.setAttribute("role", "group");
      fieldset.setAttribute("aria-label", name);
      const title = document.createElement("div");
      title.className = "class-group-title";
      title.textContent = name;
      fieldset.append(title);
      for (const [label, index] of items) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "class-button";
        b.dataset.labelIndex = String(index);
        b.setAttribute("aria-pressed", String(index === 0));
        const n = index < 9 ? `${index + 1}` : "";
        b.innerHTML = `<span class="swatch" aria-hidden="true"></span><span class="class-name"></span><kbd></kbd>`;
        b.querySelector(".swatch").style.background = label.color;
        b.querySelector(".class-name").textContent = label.name;
        b.querySelector("kbd").textContent = n;
        b.title = `${label.name} (maskid ${label.maskid})${n ? ` — key ${n}` : ""}`;
        b.addEventListener("click", () => this.setLabel(index));
        fieldset.append(b);
      }
      bar.append(fieldset);
    }
  }

  bindButtons() {
    const on = (action, fn) => root.querySelector(`[data-action="${action}"]`)?.addEventListener("click", fn);
    on("undo", () => this.undo());
    on("redo", () => this.redo());
    on("save", () => this.save());
    on("submit", () => this.submit());
    on("approve", () => this.approve());
    on("return", () => this.openReturn());
    on("help", () => openModal(document.getElementById("help-dialog")));
    document.getElementById("return-dialog").querySelector("[data-dialog-close]")?.addEventListener("click", () => document.getElementById("return-dialog").close());
  }

  bindKeys() {
    document.addEventListener("keyup", (event) => {
      if (event.key === " ") this.spaceHeld = false;
    });
    document.addEventListener("keydown", (event) => {
      if (event.target.closest("input, textarea, select, dialog[open]")) return;
      const key = event.key;
      const ctrl = event.ctrlKey || event.metaKey;
      if (ctrl && key.toLowerCase() === "z") {
        event.preventDefault();
        if (event.shiftKey) this.redo();
        else this.undo();
        return;
      }
      if (ctrl && key.toLowerCase() === "y") {
        event.preventDefault();
        this.redo();
        return;
      }
      if (ctrl && key.toLowerCase() === "s") {
        event.preventDefault();
        this.save();
        return;
      }
      if (ctrl && key === "Enter") {
        event.preventDefault();
        if (this.state.mode === "annotate") this.submit();
        return;
      }
      if (ctrl || event.altKey) return;
      if (key === "?") return openModal(document.getElementById("help-dialog"));
      if (key === "Enter" && this.canvas.finishDraft()) return event.preventDefault();
      if (key === "Escape") {
        if (!this.canvas.cancelDraft()) this.select(null);
        return;
      }
      if (key === "Backspace" && this.canvas.removeLastPoint()) return event.preventDefault();
      if (key === "Delete" || key === "Backspace") {
        event.preventDefault();
        this.deleteSelected();
        return;
      }
      if (/^[1-9]$/.test(key)) return this.setLabel(Number(key) - 1);
      if (key === "[" || key === "]") {
        const size = root.querySelector("#brush-size");
        size.value = String(Math.max(1, Math.min(120, Number(size.value) + (key === "]" ? 2 : -2))));
        size.dispatchEvent(new Event("input"));
        return;
      }
      if (key === "+" || key === "=") return this.canvas.zoomAt(1.25);
      if (key === "-") return this.canvas.zoomAt(0.8);
      if (key === "0") return this.canvas.fit();
      if (key === "o" || key === "O") return this.setTrackFlag("occluded");
      if (key === "u" || key === "U") return this.setTrackFlag("absent");
      if (key === " " && !this.frames.isVideo()) {
        this.spaceHeld = true;
        event.preventDefault();
        return;
      }
      if (this.frames.handleKey(event)) return;
      const tool = TOOLS.find((t) => t.key === key.toLowerCase());
      if (tool) this.setTool(tool.id);
    });
  }
}

const app = new Workspace();
window.annotatorWorkspace = app; // for the end-to-end tests and the console
app.start();
