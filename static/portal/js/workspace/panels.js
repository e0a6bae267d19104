// The workspace's side panel: the objects of the frame and the selected shape's class and
// attributes (tracks: occluded/absent, convert and compose), the AI tab (SAM status,
// propagation with progress and runs, AI candidates accepted or rejected one by one), the
// comments pinned to a frame and a point, and the revision history with its diff.

import { api, el, errorText } from "../api.js";
import { openModal } from "../dialogs.js";
import { followJob } from "../events.js";
import { runShade } from "./shades.js";
import { boxAt } from "./tracks.js";

const SOURCE_ICON = { ai: "✦", "ai-accepted": "✦", propagated: "✦", imported: "⤓", manual: "" };

/** Our own in-page confirmation (the page's #confirm-dialog), as a promise. */
export function confirmInPage({ title, lines = [], note = "", button = "Confirm" }) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-title").textContent = title;
  const body = dialog.querySelector("#confirm-body");
  body.replaceChildren(el("ul", { class: "lost" }, ...lines.map((l) => el("li", {}, l))), note ? el("p", { class: "muted" }, note) : null);
  dialog.querySelector("[data-confirm-accept]").textContent = button;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    openModal(dialog, { initialFocus: dialog.querySelector("[data-confirm-cancel]") });
  });
}

export class Panels {
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.comments = [];
    this.runs = [];
    this.history = [];
    this.sam = { configured: false };
    this.composeWith = null;
    for (const tab of root.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => this.showTab(tab));
      tab.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
        const tabs = [...root.querySelectorAll('[role="tab"]')];
        const next = tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        next.focus();
        this.showTab(next);
      });
    }
    root.querySelector("[data-comment-form]").addEventListener("submit", (event) => {
      event.preventDefault();
      this.addComment();
    });
    root.querySelector('[data-action="pin"]').addEventListener("click", (event) => {
      const pressed = event.currentTarget.getAttribute("aria-pressed") === "true";
      event.currentTarget.setAttribute("aria-pressed", String(!pressed));
      if (!pressed) {
        this.app.pinReturnTool = this.app.state.tool === "pin" ? "select" : this.app.state.tool;
        this.app.state.tool = "pin";
        this.root.querySelector("[data-pin-state]").textContent = "Click the picture where the comment belongs.";
      } else {
        this.app.pendingPin = null;
        this.app.state.tool = this.app.pinReturnTool || "select";
        this.showPin();
        this.app.render();
      }
    });
    root.querySelector('[data-action="propagate"]').addEventListener("click", () => this.propagate());
  }

  showTab(tab) {
    for (const t of this.root.querySelectorAll('[role="tab"]')) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      this.root.querySelector(`#${t.getAttribute("aria-controls")}`).hidden = !on;
    }
  }

  async loadAll() {
    const id = this.app.config.task;
    const [comments, predictions, history, sam, runs] = await Promise.all([
      api(`tasks/${id}/comments?limit=500`).catch(() => ({ results: [] })),
      api(`tasks/${id}/predictions?limit=100`).catch(() => ({ results: [] })),
      api(`tasks/${id}/history?include_snapshot=true&limit=30`).catch(() => ({ results: [] })),
      this.app.config.can.ai ? api("sam/status").catch((e) => ({ configured: false, message: errorText(e) })) : Promise.resolve(null),
      this.app.config.can.ai ? api(`sam/propagations?task=${id}&limit=100`).catch(() => ({ results: [] })) : Promise.resolve({ results: [] }),
    ]);
    this.comments = comments.results || [];
    this.history = history.results || [];
    this.runs = runs.results || runs || [];
    this.app.candidates = (predictions.results || []).flatMap((p) =>
      p.shapes.map((s) => ({ ...s, prediction_id: p.id, model_version: p.model_version, key: `cand-${p.id}-${s.shape_index}` })),
    );
    this.applySam(sam);
    this.renderComments();
    this.renderHistory();
    this.renderRuns();
    this.renderCandidates();
  }

  applySam(sam) {
    const status = this.root.querySelector("[data-ai-status]");
    if (!sam) {
      status.textContent = "Your role does not use the AI assistance.";
      return;
    }
    this.sam = sam;
    const usable = sam.configured && this.app.editable();
    for (const b of this.root.querySelectorAll(".ai-tool")) b.hidden = !sam.configured;
    this.root.querySelector("[data-propagation]").hidden = !(usable && this.app.config.framed);
    if (sam.configured) {
      status.replaceChildren(el("span", { class: "ai-icon", "aria-hidden": "true" }, "✦"), ` SAM 2.1 ready (${sam.config || "configured"}, ${sam.device || "worker"}). AI click (A) or AI box (X) makes a mask.`);
      if (this.app.state.frame !== undefined) this.warmEmbedding(this.app.state.frame);
    } else {
      status.replaceChildren(
        el("strong", {}, "AI tools are off. "),
        sam.message || "SAM 2.1 is not configured on this server (no checkpoint): AI click, AI box and propagation are hidden. Everything else works.",
      );
    }
  }

  warmEmbedding(frame) {
    if (!this.sam.configured || !this.app.editable()) return;
    clearTimeout(this.warmTimer);
    this.warmTimer = setTimeout(() => api("sam/embeddings", { method: "POST", body: { task_id: this.app.config.task, frame_index: frame } }).catch(() => {}), 400);
  }

  onFrame(frame) {
    this.warmEmbedding(frame);
  }

  render() {
    this.renderObjects();
    this.renderSelected();
    this.renderClassification();
    this.renderCandidates();
  }

  // --- objects -------------------------------------------------------------------------------
  renderObjects() {
    const list = this.root.querySelector("[data-objects]");
    const items = this.app.visibleShapes();
    list.replaceChildren(
      ...items.map((item) => {
        const s = item.shape;
        const label = this.app.labelOf(s.class_name);
        const ai = s.ai || ["ai", "ai-accepted", "propagated"].includes(s.source);
        const button = el(
          "button",
          { type: "button", class: `object${s.key === this.app.state.selectedKey ? " selected" : ""}`, "aria-pressed": String(s.key === this.app.state.selectedKey), dataset: { key: s.key } },
          el("span", { class: "swatch", style: `background:${label?.color || "#999"}`, "aria-hidden": "true" }),
          ` ${s.class_name} `,
          el("span", { class: "muted small-text" }, item.type.replace("_", " ")),
          ai ? el("span", { class: "ai-icon", title: s.source === "propagated" ? "propagated by SAM" : "made by AI" }, " ✦") : null,
          item.interpolated ? el("span", { class: "muted small-text" }, " (interpolated)") : null,
        );
        button.addEventListener("click", () => this.app.select(s.key));
        return el("li", {}, button);
      }),
    );
    if (!items.length) list.append(el("li", { class: "muted small-text" }, "Nothing on this frame yet."));
  }

  renderClassification() {
    const box = this.root.querySelector("[data-classification]");
    if (!this.app.config.types.includes("classification") || !this.app.labels.length) {
      box.replaceChildren();
      return;
    }
    const chosen = new Set(this.app.state.shapes.filter((s) => s.type === "classification").map((s) => s.class_name));
    const count = chosen.size;
    const fieldset = el("details", { class: "classification", open: this.classificationOpen || null }, el("summary", {}, `Classification (whole task)${count ? `: ${[...chosen].join(", ")}` : ""}`));
    fieldset.addEventListener("toggle", () => (this.classificationOpen = fieldset.open));
    for (const label of this.app.labels) {
      const input = el("input", { type: "checkbox", checked: chosen.has(label.name), disabled: !this.app.editable() });
      input.addEventListener("change", () => this.app.toggleClassification(label, input.checked));
      fieldset.append(el("label", { class: "radio" }, input, ` ${label.name}`));
    }
    box.replaceChildren(fieldset);
  }

  renderSelected() {
    const box = this.root.querySelector("[data-selected]");
    const shape = this.app.selected();
    if (!shape) {
      box.replaceChildren();
      return;
    }
    const editable = this.app.editable();
    const label = this.app.labelOf(shape.class_name);
    const classSelect = el("select", { id: "selected-class", disabled: !editable }, ...this.app.labels.map((l) => el("option", { value: l.name, selected: l.name === shape.class_name }, l.name)));
    classSelect.addEventListener("change", () => this.app.setClassOfSelected(classSelect.value));
    const parts = [el("h3", {}, "Selected"), el("label", { for: "selected-class" }, "Class"), classSelect];
    for (const attr of label?.attributes || []) parts.push(this.attributeField(shape, attr, editable));
    if (shape.type === "video_track") parts.push(...this.trackControls(shape, editable));
    if (shape.type === "video_bbox" && editable) parts.push(...this.boxControls(shape));
    if (shape.source) parts.push(el("p", { class: "muted small-text" }, `Source: ${shape.source}${shape.object_id ? ` · object ${shape.object_id}` : ""}`));
    if (editable) {
      const del = el("button", { type: "button", class: "small danger-outline" }, "Delete shape");
      del.addEventListener("click", () => this.app.deleteSelected());
      parts.push(el("div", { class: "actions" }, del));
    }
    box.replaceChildren(...parts);
  }

  attributeField(shape, attr, editable) {
    const id = `attr-${attr.name}`;
    const value = shape.attributes?.[attr.name];
    let input;
    if (attr.type === "checkbox") {
      input = el("input", { type: "checkbox", id, checked: Boolean(value), disabled: !editable });
      input.addEventListener("change", () => this.app.setAttribute(shape.key, attr.name, input.checked));
      return el("label", { class: "radio", for: id }, input, ` ${attr.name}`);
    }
    if (attr.type === "select" || attr.type === "multiselect") {
      input = el("select", { id, disabled: !editable, multiple: attr.type === "multiselect" }, attr.type === "select" ? el("option", { value: "" }, "—") : null, ...(attr.options || []).map((o) => el("option", { value: o, selected: Array.isArray(value) ? value.includes(o) : value === o }, o)));
      input.addEventListener("change", () => this.app.setAttribute(shape.key, attr.name, attr.type === "multiselect" ? [...input.selectedOptions].map((o) => o.value) : input.value));
    } else {
      input = el("input", { id, type: attr.type === "number" ? "number" : "text", value: value ?? "", min: attr.min, max: attr.max, step: attr.step, disabled: !editable });
      input.addEventListener("change", () => this.app.setAttribute(shape.key, attr.name, attr.type === "number" ? (input.value === "" ? null : Number(input.value)) : input.value));
    }
    return el("div", { class: "field" }, el("label", { for: id }, `${attr.name}${attr.required ? " *" : ""}`), input);
  }

  trackControls(shape, editable) {
    const frame = this.app.state.frame;
    const at = boxAt(shape.geometry.keyframes, frame, this.app.frames.count || null);
    const current = shape.geometry.keyframes.find((k) => k.frame_index === frame);
    const parts = [
      el("p", { class: "small-text" }, `Track ${shape.geometry.track_id || ""}: ${shape.geometry.keyframes.length} keyframe(s); frame ${frame + 1} is ${current ? (current.absent ? "an absent keyframe" : "a keyframe") : at ? "interpolated" : "not shown"}.`),
    ];
    if (!editable) return parts;
    const occluded = el("input", { type: "checkbox", id: "track-occluded", checked: Boolean(at?.occluded), disabled: !at });
    occluded.addEventListener("change", () => this.app.setTrackFlag("occluded"));
    const absent = el("input", { type: "checkbox", id: "track-absent", checked: Boolean(current?.absent) });
    absent.addEventListener("change", () => this.app.setTrackFlag("absent"));
    parts.push(el("label", { class: "radio", for: "track-occluded" }, occluded, " Occluded here (O)"), el("label", { class: "radio", for: "track-absent" }, absent, " Absent from here (U)"));
    const id = this.app.ids.get(shape.key);
    const action = (text, fn) => {
      const b = el("button", { type: "button", class: "small" }, text);
      b.addEventListener("click", fn);
      return b;
    };
    if (!id) {
      parts.push(el("p", { class: "muted small-text" }, "Save the track to convert or compose it."));
      return parts;
    }
    const others = this.app.state.shapes.filter((s) => s.type === "video_track" && s.key !== shape.key && this.app.ids.get(s.key));
    const mergeSelect = el("select", { id: "merge-with", "aria-label": "Track to merge with" }, ...others.map((s) => el("option", { value: this.app.ids.get(s.key) }, `${s.class_name} ${s.geometry.track_id}`)));
    parts.push(
      el("h3", {}, "Convert and compose"),
      el(
        "div",
        { class: "button-row" },
        action("Boxes on this frame", () => this.trackOp(`annotations/${id}/video/convert-to-bboxes`, { operation: "copy", scope: "frame", frame_index: frame })),
        action("Whole track → boxes", () => this.trackOp(`annotations/${id}/video/convert-to-bboxes`, { operation: "split", scope: "track", frame_mode: "keyframes" })),
        action("Split track here", () => this.trackOp("annotations/video/track-compositions", { operation: "split_track", annotation_id: id, frame_index: frame })),
      ),
    );
    if (others.length) {
      parts.push(el("div", { class: "button-row" }, mergeSelect, action("Merge", () => this.trackOp("annotations/video/track-compositions", { operation: "merge_tracks", annotation_ids: [id, Number(mergeSelect.value)] }))));
    }
    return parts;
  }

  boxControls(shape) {
    const ids = this.app.state.shapes.filter((s) => s.type === "video_bbox" && s.class_name === shape.class_name && (s.object_id || "") === (shape.object_id || "")).map((s) => this.app.ids.get(s.key)).filter(Boolean);
    const b = el("button", { type: "button", class: "small" }, `Aggregate ${ids.length} box(es) into a track`);
    b.disabled = ids.length < 1;
    b.addEventListener("click", () => this.trackOp("annotations/video/track-compositions", { operation: "aggregate_bboxes", annotation_ids: ids, delete_sources: true }));
    return [el("div", { class: "button-row" }, b)];
  }

  async trackOp(path, body) {
    if (!(await this.app.save())) return;
    try {
      await api(`tasks/${this.app.config.task}/${path}`, { method: "POST", body: { ...body, revision: this.app.revision } });
      await this.app.loadAnnotations();
      this.app.say("Done.");
    } catch (error) {
      this.app.say(errorText(error), "error");
    }
  }

  // --- AI: candidates and propagation -------------------------------------------------------
  renderCandidates() {
    const list = this.root.querySelector("[data-candidates]");
    const open = this.app.candidates.filter((c) => !c.decision);
    if (!open.length) {
      list.replaceChildren(el("li", { class: "muted small-text" }, "No AI candidates for this task."));
      return;
    }
    const can = this.app.config.can.ai && this.app.editable();
    list.replaceChildren(
      ...open.map((c) => {
        const li = el(
          "li",
          { class: "candidate" },
          el("span", { class: "ai-badge", title: "AI candidate" }, "✦ AI"),
          ` ${c.project_class_name || `${c.class_name} (unknown class)`} · ${c.type} · frame ${(c.frame_index ?? 0) + 1}${c.score != null ? ` · ${Number(c.score).toFixed(2)}` : ""}`,
        );
        const go = el("button", { type: "button", class: "small link" }, "show");
        go.addEventListener("click", () => this.app.frames.go(c.frame_index ?? 0));
        li.append(" ", go);
        if (can) {
          const accept = el("button", { type: "button", class: "small", "aria-label": `Accept ${c.class_name} candidate` }, "Accept");
          const reject = el("button", { type: "button", class: "small danger-outline", "aria-label": `Reject ${c.class_name} candidate` }, "Reject");
          accept.addEventListener("click", () => this.decide(c, "accept"));
          reject.addEventListener("click", () => this.decide(c, "reject"));
          li.append(" ", accept, " ", reject);
        }
        return li;
      }),
    );
  }

  async decide(candidate, decision) {
    if (!(await this.app.save())) return;
    const id = this.app.config.task;
    try {
      if (decision === "accept") {
        await api(`tasks/${id}/annotations/accept`, { method: "POST", body: { prediction_id: candidate.prediction_id, shape_index: candidate.shape_index, revision: this.app.revision } });
        await this.app.loadAnnotations();
      } else {
        await api(`tasks/${id}/predictions/reject`, { method: "POST", body: { prediction_id: candidate.prediction_id, shape_index: candidate.shape_index } });
      }
      candidate.decision = decision === "accept" ? "accepted" : "rejected";
      this.app.say(`Candidate ${candidate.decision}.`);
      this.app.render();
    } catch (error) {
      this.app.say(errorText(error), "error");
    }
  }

  renderRuns() {
    const list = this.root.querySelector("[data-runs]");
    const runs = [...this.runs].sort((a, b) => a.id - b.id);
    if (!runs.length) {
      list.replaceChildren(el("li", { class: "muted small-text" }, "No propagation runs yet."));
      if (this.runs.length === 0 && this.root.querySelector("[data-propagation]").hidden) return;
      return;
    }
    this.root.querySelector("[data-propagation]").hidden = false;
    list.replaceChildren(
      ...runs.map((run, i) => {
        const li = el(
          "li",
          { class: "run" },
          el("span", { class: "swatch", style: `background:${runShade(i, runs.length)}`, "aria-hidden": "true" }),
          ` Run #${run.id} · from frame ${run.reference_frame + 1} ${run.direction} · ${run.frames_processed} frames · ${run.annotations_written} masks · ${run.job?.status || ""}${run.cleared_at ? " · cleared" : ""}`,
        );
        if (!run.cleared_at && run.job?.status !== "running" && this.app.editable()) {
          const clear = el("button", { type: "button", class: "small danger-outline", "aria-label": `Clear propagation run ${run.id}` }, "Clear chain");
          clear.addEventListener("click", () => this.clearChain(run));
          li.append(" ", clear);
        }
        return li;
      }),
    );
  }

  async clearChain(run) {
    const count = this.app.state.shapes.filter((s) => s.source === "propagated" && s.produced_by_job_id === run.job?.id).length;
    const ok = await confirmInPage({
      title: `Clear propagation run #${run.id}?`,
      lines: [`the ${count} mask(s) this run propagated`, "frames left without masks disappear from the timeline"],
      note: "Manual annotations, corrected masks and independent AI annotations stay.",
      button: "Clear chain",
    });
    if (!ok) return;
    if (!(await this.app.save())) return;
    try {
      await api(`sam/propagations/${run.id}/clear`, { method: "POST" });
      run.cleared_at = new Date().toISOString();
      await this.app.loadAnnotations();
      this.renderRuns();
      this.app.say(`Cleared run #${run.id}.`);
    } catch (error) {
      this.app.say(errorText(error), "error");
    }
  }

  async propagate() {
    const app = this.app;
    const sel = app.selected();
    const onFrame = app.state.shapes.filter((s) => (s.type === "mask" || s.type === "polygon") && s.frame_index === app.state.frame && s.object_id);
    const objects = sel && sel.object_id && sel.frame_index === app.state.frame ? [sel.object_id] : [...new Set(onFrame.map((s) => s.object_id))];
    const status = this.root.querySelector("[data-prop-status]");
    if (!objects.length) {
      status.textContent = "The reference frame has no mask to propagate: draw one (brush or AI click) first.";
      return;
    }
    if (!(await app.save())) return;
    const direction = this.root.querySelector("[data-prop-direction]").value;
    const end = Number(this.root.querySelector("[data-prop-end]").value);
    const body = { task_id: app.config.task, reference_frame: app.state.frame, object_ids: objects, direction };
    if (end) body[direction === "backward" ? "start_frame" : "end_frame"] = end - 1;
    const bar = this.root.querySelector("[data-prop-progress]");
    try {
      const run = await api("sam/propagations", { method: "POST", body });
      this.runs.push(run);
      this.renderRuns();
      bar.hidden = false;
      status.textContent = `Run #${run.id} started.`;
      const final = await followJob(run.job.id, (event) => {
        bar.max = event.total || 1;
        bar.value = event.done || 0;
        status.textContent = `Run #${run.id}: ${event.done}/${event.total || "?"} frames`;
      });
      bar.hidden = true;
      run.job.status = final.status;
      Object.assign(run, await api(`sam/propagations/${run.id}`).catch(() => ({})));
      status.textContent = `Run #${run.id} ${final.status}${final.message ? `: ${final.message}` : ""}.`;
      await app.loadAnnotations();
      this.renderRuns();
    } catch (error) {
      bar.hidden = true;
      status.textContent = errorText(error);
    }
  }

  // --- comments ------------------------------------------------------------------------------
  showPin() {
    const pin = this.app.pendingPin;
    const state = this.root.querySelector("[data-pin-state]");
    const button = this.root.querySelector('[data-action="pin"]');
    if (pin) {
      state.textContent = `Pinned to frame ${pin.frame + 1} at (${Math.round(pin.x)}, ${Math.round(pin.y)}).`;
      button.setAttribute("aria-pressed", "false");
    } else state.textContent = "Not pinned. Choose “Pin” then click the picture to pin it to this frame.";
  }

  async addComment() {
    const textarea = this.root.querySelector("#comment-body");
    const body = { body: textarea.value.trim() };
    if (!body.body) return textarea.focus();
    const pin = this.app.pendingPin;
    if (pin) Object.assign(body, { frame_index: pin.frame, position: { x: pin.x, y: pin.y } });
    else if (this.app.config.framed && this.app.frames.count) body.frame_index = this.app.state.frame;
    const sel = this.app.selected();
    if (sel && this.app.ids.get(sel.key)) body.annotation_id = this.app.ids.get(sel.key);
    try {
      const comment = await api(`tasks/${this.app.config.task}/comments`, { method: "POST", body });
      this.comments.push(comment);
      textarea.value = "";
      this.app.pendingPin = null;
      this.showPin();
      this.renderComments();
      this.app.render();
    } catch (error) {
      this.app.say(errorText(error), "error");
    }
  }

  renderComments() {
    const list = this.root.querySelector("[data-comments]");
    const open = this.comments.filter((c) => !c.resolved).length;
    this.root.querySelector("[data-comment-count]").textContent = open ? `(${open})` : "";
    if (!this.comments.length) {
      list.replaceChildren(el("li", { class: "muted small-text" }, "No comments."));
      return;
    }
    let pinNumber = 0;
    list.replaceChildren(
      ...this.comments.map((c) => {
        const pinned = c.position && !c.resolved ? `Pin ${(pinNumber += 1)} · ` : "";
        const where = c.frame_index !== null && c.frame_index !== undefined ? `frame ${c.frame_index + 1}` : "task";
        const li = el(
          "li",
          { class: `comment${c.resolved ? " resolved" : ""}` },
          el("div", { class: "comment-meta small-text muted" }, `${pinned}${c.author?.username || "someone"} · ${where} · ${new Date(c.created_at).toLocaleString()}`),
          el("div", { class: "comment-body" }, c.body),
        );
        if (c.frame_index !== null && c.frame_index !== undefined) {
          const go = el("button", { type: "button", class: "small link" }, "show");
          go.addEventListener("click", () => this.app.frames.go(c.frame_index));
          li.append(go, " ");
        }
        if (this.app.config.can.comment) {
          const toggle = el("button", { type: "button", class: "small link" }, c.resolved ? "Reopen" : "Resolve");
          toggle.addEventListener("click", async () => {
            try {
              Object.assign(c, await api(`comments/${c.id}/${c.resolved ? "unresolve" : "resolve"}`, { method: "POST" }));
              this.renderComments();
              this.app.render();
            } catch (error) {
              this.app.say(errorText(error), "error");
            }
          });
          li.append(toggle);
        }
        return li;
      }),
    );
  }

  // --- history with diff ---------------------------------------------------------------------
  renderHistory() {
    const list = this.root.querySelector("[data-history]");
    if (!this.history.length) {
      list.replaceChildren(el("li", { class: "muted small-text" }, "No revisions yet."));
      return;
    }
    list.replaceChildren(
      ...this.history.map((rev, i) => {
        const sum = rev.summary || {};
        const counts = `+${(sum.added || []).length} −${(sum.removed || []).length} ~${(sum.changed || []).length}`;
        const button = el(
          "button",
          { type: "button", class: "history-item", "aria-pressed": "false", dataset: { revision: rev.revision } },
          el("strong", {}, `r${rev.revision}`),
          ` ${rev.action} · ${rev.author?.username || "server"} · ${new Date(rev.created_at).toLocaleString()} `,
          el("span", { class: "diff-counts" }, el("span", { class: "added" }, `+${(sum.added || []).length}`), " ", el("span", { class: "removed" }, `−${(sum.removed || []).length}`), " ", el("span", { class: "changed" }, `~${(sum.changed || []).length}`)),
        );
        button.title = `Highlight what revision ${rev.revision} changed (${counts})`;
        button.addEventListener("click", () => this.showDiff(rev, this.history[i + 1], button));
        return el("li", {}, button);
      }),
    );
  }

  showDiff(rev, previous, button) {
    const on = button.getAttribute("aria-pressed") !== "true";
    for (const b of this.root.querySelectorAll(".history-item")) b.setAttribute("aria-pressed", "false");
    if (!on) {
      this.app.diff = null;
      this.app.render();
      return;
    }
    button.setAttribute("aria-pressed", "true");
    const sum = rev.summary || {};
    const snapshot = rev.snapshot || [];
    const before = previous?.snapshot || [];
    const diff = [];
    const frameSize = this.app.frameSize();
    const asDrawable = (a) => {
      if (a.type === "video_track") {
        const at = boxAt(a.geometry.keyframes, this.app.state.frame);
        if (!at) return null;
        return { shape: { ...a, type: "bbox", frame_index: this.app.state.frame }, view: { x: at.bbox.x * frameSize.width, y: at.bbox.y * frameSize.height, width: at.bbox.w * frameSize.width, height: at.bbox.h * frameSize.height } };
      }
      return { shape: { ...a, key: `diff-${a.id}` } };
    };
    for (const a of snapshot) {
      const kind = (sum.added || []).includes(a.id) ? "added" : (sum.changed || []).includes(a.id) ? "changed" : null;
      const d = kind && asDrawable(a);
      if (d) diff.push({ ...d, kind });
    }
    for (const a of before) {
      if (!(sum.removed || []).includes(a.id)) continue;
      const d = asDrawable(a);
      if (d) diff.push({ ...d, kind: "removed" });
    }
    this.app.diff = diff;
    const frames = diff.map((d) => d.shape.frame_index).filter((f) => f !== undefined && f !== null);
    if (frames.length && !frames.includes(this.app.state.frame)) this.app.frames.go(Math.min(...frames));
    this.app.render();
    this.app.say(`Revision ${rev.revision}: green added, orange changed, red (dashed) removed.`);
  }
}
