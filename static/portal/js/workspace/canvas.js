// The workspace canvas (Konva): the frame picture, the shapes of the current frame, the
// drawing tools, zoom and pan. Shapes are kept in pixels of the frame (the API's convention);
// one group carries the zoom/pan transform, so everything below it draws in frame pixels.

import { boxAt } from "./tracks.js";
import { canvasToMask, countsToMask, maskArea, maskToCanvas, maskToCounts } from "./rle.js";

const Konva = window.Konva;
const AI_PURPLE = "#8e44ff";
const DIFF = { added: "#16a34a", removed: "#dc2626", changed: "#f59e0b" };
const MIN_BOX = 2;

export class Canvas {
  constructor(app, container) {
    this.app = app;
    this.container = container;
    this.stage = new Konva.Stage({ container, width: container.clientWidth || 800, height: container.clientHeight || 560 });
    this.layer = new Konva.Layer();
    this.stage.add(this.layer);
    this.world = new Konva.Group();
    this.layer.add(this.world);
    this.imageNode = new Konva.Image({ x: 0, y: 0, listening: true, name: "background" });
    this.world.add(this.imageNode);
    this.shapesGroup = new Konva.Group();
    this.overlayGroup = new Konva.Group({ listening: false });
    this.draftGroup = new Konva.Group({ listening: false });
    this.world.add(this.shapesGroup, this.overlayGroup, this.draftGroup);
    this.transformer = new Konva.Transformer({
      rotateEnabled: false,
      keepRatio: false,
      ignoreStroke: true,
      borderStroke: "#2f6fed",
      anchorStroke: "#2f6fed",
      anchorSize: 8,
    });
    this.layer.add(this.transformer);
    this.cursor = new Konva.Circle({ radius: 6, stroke: "#fff", strokeWidth: 1, dash: [3, 3], listening: false, visible: false, strokeScaleEnabled: false });
    this.world.add(this.cursor);
    this.width = 1;
    this.height = 1;
    this.draft = null; // the shape being drawn
    this.painting = null; // brush/eraser stroke
    this.panning = null;
    this.maskCache = new Map(); // shape key -> {geometry, canvas}
    this.bindEvents();
    new ResizeObserver(() => this.resize()).observe(container);
  }

  // --- view -------------------------------------------------------------------------------
  resize() {
    const w = this.container.clientWidth;
    const h = this.container.clientHeight;
    if (!w || !h) return;
    this.stage.size({ width: w, height: h });
    if (!this.fitted) this.fit();
  }

  setPicture(image, width, height) {
    const changed = width !== this.width || height !== this.height;
    this.width = width;
    this.height = height;
    this.imageNode.image(image);
    this.imageNode.size({ width, height });
    if (changed || !this.fitted) this.fit();
    this.layer.batchDraw();
  }

  fit() {
    const pad = 16;
    const scale = Math.min((this.stage.width() - pad * 2) / this.width, (this.stage.height() - pad * 2) / this.height);
    const s = Number.isFinite(scale) && scale > 0 ? scale : 1;
    this.world.scale({ x: s, y: s });
    this.world.position({ x: (this.stage.width() - this.width * s) / 2, y: (this.stage.height() - this.height * s) / 2 });
    this.fitted = true;
    this.afterZoom();
  }

  zoomAt(factor, point = { x: this.stage.width() / 2, y: this.stage.height() / 2 }) {
    const old = this.world.scaleX();
    const scale = Math.min(40, Math.max(0.05, old * factor));
    const pos = this.world.position();
    const at = { x: (point.x - pos.x) / old, y: (point.y - pos.y) / old };
    this.world.scale({ x: scale, y: scale });
    this.world.position({ x: point.x - at.x * scale, y: point.y - at.y * scale });
    this.afterZoom();
  }

  afterZoom() {
    this.app.showZoom(Math.round(this.world.scaleX() * 100));
    this.transformer.forceUpdate();
    this.layer.batchDraw();
  }

  pointer() {
    const p = this.world.getRelativePointerPosition();
    return p ? { x: p.x, y: p.y } : null;
  }

  inside(p) {
    return p && p.x >= 0 && p.y >= 0 && p.x <= this.width && p.y <= this.height;
  }

  clamp(p) {
    return { x: Math.min(this.width, Math.max(0, p.x)), y: Math.min(this.height, Math.max(0, p.y)) };
  }

  // --- rendering ----------------------------------------------------------------------------
  colorOf(className) {
    return this.app.labelOf(className)?.color || "#9aa3b2";
  }

  render() {
    this.transformer.nodes([]);
    this.shapesGroup.destroyChildren();
    this.overlayGroup.destroyChildren();
    const { selectedKey } = this.app.state;
    const editable = this.app.editable();
    for (const item of this.app.visibleShapes()) {
      const node = this.shapeNode(item, item.shape.key === selectedKey);
      if (!node) continue;
      node.setAttr("shapeKey", item.shape.key);
      node.on("mousedown touchstart", (event) => this.onShapeDown(event, item));
      this.shapesGroup.add(node);
      if (item.shape.key === selectedKey && editable) this.decorateSelected(node, item);
    }
    for (const cand of this.app.candidatesOnFrame()) {
      const node = this.shapeNode({ shape: cand, view: cand.geometry, type: cand.type }, false, AI_PURPLE);
      if (node) {
        node.listening(false);
        node.dash([6, 4]);
        this.overlayGroup.add(node);
      }
    }
    for (const d of this.app.diffOnFrame()) {
      const node = this.shapeNode({ shape: d.shape, view: d.view || d.shape.geometry, type: d.shape.type }, false, DIFF[d.kind]);
      if (node) {
        node.listening(false);
        node.strokeWidth(4);
        if (node.fill && d.kind !== "removed") node.opacity(0.9);
        if (d.kind === "removed") node.dash([8, 4]);
        this.overlayGroup.add(node);
      }
    }
    for (const pin of this.app.pinsOnFrame()) {
      const group = new Konva.Group({ x: pin.x, y: pin.y });
      group.add(new Konva.Circle({ radius: 9, fill: pin.pending ? "#f59e0b" : "#2f6fed", stroke: "#fff", strokeWidth: 2, strokeScaleEnabled: false }));
      group.add(new Konva.Text({ text: pin.label, fill: "#fff", fontSize: 11, x: -4, y: -6, fontStyle: "bold" }));
      const s = 1 / this.world.scaleX();
      group.scale({ x: s, y: s });
      this.overlayGroup.add(group);
    }
    this.layer.batchDraw();
  }

  shapeNode(item, selected, override = null) {
    const { shape } = item;
    const type = item.type || shape.type;
    const g = item.view;
    const color = override || this.colorOf(shape.class_name);
    const common = { stroke: color, strokeWidth: selected ? 3 : 2, strokeScaleEnabled: false };
    const fill = `${color}${selected ? "40" : "26"}`;
    if (type === "bbox" || type === "video_track" || type === "video_bbox") {
      const dash = item.interpolated ? [6, 4] : undefined;
      return new Konva.Rect({ x: g.x, y: g.y, width: g.width, height: g.height, fill: item.occluded ? undefined : fill, dash, ...common });
    }
    if (type === "rotated_bbox") {
      return new Konva.Rect({
        x: g.cx,
        y: g.cy,
        width: g.width,
        height: g.height,
        offsetX: g.width / 2,
        offsetY: g.height / 2,
        rotation: g.angle,
        fill,
        ...common,
      });
    }
    if (type === "polygon" || (type === "mask" && g.polygons && !g.rle)) {
      const polygons = g.polygons || [];
      return new Konva.Shape({
        ...common,
        fill: type === "mask" ? `${color}80` : fill,
        fillRule: "evenodd",
        polygons,
        sceneFunc(ctx, node) {
          ctx.beginPath();
          for (const poly of node.getAttr("polygons")) {
            for (const ring of [poly.exterior, ...(poly.holes || [])]) {
              if (!ring || ring.length < 2) continue;
              ctx.moveTo(ring[0][0], ring[0][1]);
              for (const [x, y] of ring.slice(1)) ctx.lineTo(x, y);
              ctx.closePath();
            }
          }
          ctx.fillStrokeShape(node);
        },
      });
    }
    if (type === "polyline") {
      return new Konva.Line({ points: g.points.flat(), ...common, hitStrokeWidth: 12 });
    }
    if (type === "points") {
      const group = new Konva.Group();
      for (const [x, y] of g.points) group.add(new Konva.Circle({ x, y, radius: 5, fill: color, ...common, stroke: "#fff" }));
      this.scaleHandles(group);
      return group;
    }
    if (type === "keypoints") {
      const group = new Konva.Group();
      const pts = g.points || [];
      const edges = this.app.labelOf(shape.class_name)?.keypoints?.edges || [];
      for (const [a, b] of edges) {
        const p = pts[a];
        const q = pts[b];
        if (p && q && p.visibility && q.visibility) group.add(new Konva.Line({ points: [p.x, p.y, q.x, q.y], ...common }));
      }
      for (const p of pts) {
        if (!p.visibility) continue;
        group.add(new Konva.Circle({ x: p.x, y: p.y, radius: 4, fill: p.visibility === 2 ? color : "#fff", stroke: color, strokeWidth: 2, strokeScaleEnabled: false }));
      }
      return group;
    }
    if (type === "mask") {
      const canvas = this.maskCanvas(shape, color, override);
      if (!canvas) return null;
      return new Konva.Image({ image: canvas, x: 0, y: 0, width: canvas.width, height: canvas.height, opacity: selected ? 0.65 : 0.45 });
    }
    return null;
  }

  scaleHandles(group) {
    const s = 1 / this.world.scaleX();
    for (const child of group.getChildren()) child.radius?.(Math.max(2, 5 * s));
  }

  maskCanvas(shape, color, override) {
    const g = shape.geometry;
    if (!g.rle) return null;
    const cacheKey = override ? `${shape.key}:${override}` : shape.key;
    const hit = this.maskCache.get(cacheKey);
    if (hit && hit.geometry === g && hit.color === color) return hit.canvas;
    const [h, w] = g.rle.size;
    const canvas = maskToCanvas(countsToMask(g.rle.counts, w, h), w, h, color);
    this.maskCache.set(cacheKey, { geometry: g, canvas, color });
    return canvas;
  }

  /** Handles of the selected shape: a transformer for boxes, vertex anchors for lines. */
  decorateSelected(node, item) {
    const { shape } = item;
    const type = item.type || shape.type;
    if (type === "bbox" || type === "video_track" || type === "video_bbox") {
      node.draggable(true);
      this.transformer.nodes([node]);
      const commit = () => {
        const box = { x: node.x(), y: node.y(), width: node.width() * node.scaleX(), height: node.height() * node.scaleY() };
        node.scale({ x: 1, y: 1 });
        this.app.moveBox(shape.key, this.clampBox(box));
      };
      node.on("dragend", commit);
      node.on("transformend", commit);
      return;
    }
    if (type === "polygon" || type === "polyline" || type === "points") {
      const rings = type === "polygon" ? shape.geometry.polygons.flatMap((p, pi) => [[pi, -1, p.exterior], ...(p.holes || []).map((h, hi) => [pi, hi, h])]) : [[0, -1, shape.geometry.points]];
      const s = 1 / this.world.scaleX();
      for (const [pi, hi, ring] of rings) {
        ring.forEach(([x, y], vi) => {
          const anchor = new Konva.Rect({ x: x - 4 * s, y: y - 4 * s, width: 8 * s, height: 8 * s, fill: "#fff", stroke: "#2f6fed", strokeWidth: 1, strokeScaleEnabled: false, draggable: true });
          anchor.on("mousedown touchstart", (e) => (e.cancelBubble = true));
          anchor.on("dragend", () => {
            const p = this.clamp({ x: anchor.x() + 4 * s, y: anchor.y() + 4 * s });
            this.app.moveVertex(shape.key, pi, hi, vi, [p.x, p.y]);
          });
          this.overlayGroup.add(anchor);
        });
      }
      this.overlayGroup.listening(true);
    }
  }

  clampBox(box) {
    const x = Math.max(0, Math.min(box.x, this.width));
    const y = Math.max(0, Math.min(box.y, this.height));
    return { x, y, width: Math.max(1, Math.min(box.x + box.width, this.width) - x), height: Math.max(1, Math.min(box.y + box.height, this.height) - y) };
  }

  // --- events ----------------------------------------------------------------------------
  bindEvents() {
    this.stage.on("wheel", (event) => {
      event.evt.preventDefault();
      this.zoomAt(event.evt.deltaY < 0 ? 1.15 : 1 / 1.15, this.stage.getPointerPosition());
    });
    this.stage.on("mousedown touchstart", (event) => this.onDown(event));
    this.stage.on("mousemove touchmove", (event) => this.onMove(event));
    this.stage.on("mouseup touchend", (event) => this.onUp(event));
    this.stage.on("dblclick dbltap", () => {
      // Only a real double-click (both clicks on one spot) finishes: quick clicks elsewhere add points.
      const pts = this.draft?.points;
      if (!pts || pts.length < 2 || (this.draft.tool !== "polygon" && this.draft.tool !== "polyline")) return;
      const [a, b] = pts.slice(-2);
      if (Math.hypot(a[0] - b[0], a[1] - b[1]) * this.world.scaleX() <= 4) this.finishDraft();
    });
    this.stage.on("mouseleave", () => {
      this.cursor.visible(false);
      this.layer.batchDraw();
    });
  }

  onShapeDown(event, item) {
    const tool = this.app.state.tool;
    if (tool !== "select" || event.evt.button === 1) return;
    event.cancelBubble = true;
    this.app.select(item.shape.key);
  }

  onDown(event) {
    const evt = event.evt;
    const tool = this.app.state.tool;
    if (evt.button === 1 || evt.button === 2 || (tool === "select" && event.target === this.imageNode) || (tool === "select" && event.target === this.stage) || this.app.spaceHeld) {
      if (tool === "select" && evt.button === 0 && !this.app.spaceHeld) this.app.select(null);
      this.panning = { x: evt.clientX, y: evt.clientY, pos: this.world.position() };
      return;
    }
    const p = this.pointer();
    if (!p || !this.inside(p)) return;
    if (tool === "pin") {
      this.app.setPin(p);
      return;
    }
    if (!this.app.editable()) return;
    if (!this.app.currentLabel() && !["ai-click", "ai-box", "eraser", "select"].includes(tool)) {
      this.app.say("Choose a class first (1–9 or the class bar).");
      return;
    }
    if (tool === "bbox" || tool === "ai-box") {
      this.draft = { tool, start: p, node: new Konva.Rect({ x: p.x, y: p.y, width: 0, height: 0, stroke: tool === "ai-box" ? AI_PURPLE : this.colorOf(this.app.currentLabel().name), strokeWidth: 2, dash: [4, 4], strokeScaleEnabled: false }) };
      this.draftGroup.add(this.draft.node);
    } else if (tool === "polygon" || tool === "polyline") {
      if (!this.draft) {
        this.draft = { tool, points: [], node: new Konva.Line({ points: [], stroke: this.colorOf(this.app.currentLabel().name), strokeWidth: 2, closed: false, strokeScaleEnabled: false }) };
        this.draftGroup.add(this.draft.node);
      }
      this.draft.points.push([p.x, p.y]);
      this.updatePolyDraft(p);
    } else if (tool === "points") {
      this.app.addShape({ type: "points", geometry: { points: [[p.x, p.y]] } });
    } else if (tool === "keypoints") {
      this.addKeypoint(p);
    } else if (tool === "brush" || tool === "eraser") {
      this.startPaint(p, tool);
    } else if (tool === "ai-click") {
      this.app.samPrompt({ points: [[p.x, p.y]], point_labels: [evt.altKey || evt.shiftKey ? 0 : 1] });
    }
  }

  onMove(event) {
    const evt = event.evt;
    if (this.panning) {
      this.world.position({ x: this.panning.pos.x + evt.clientX - this.panning.x, y: this.panning.pos.y + evt.clientY - this.panning.y });
      this.layer.batchDraw();
      return;
    }
    const p = this.pointer();
    if (!p) return;
    const tool = this.app.state.tool;
    if (tool === "brush" || tool === "eraser") {
      this.cursor.position(p);
      this.cursor.radius(this.app.state.brushSize / 2);
      this.cursor.visible(true);
      if (this.painting) this.paintTo(this.clamp(p));
      this.layer.batchDraw();
      return;
    }
    if (this.draft && (this.draft.tool === "bbox" || this.draft.tool === "ai-box")) {
      const q = this.clamp(p);
      const { start } = this.draft;
      this.draft.node.setAttrs({ x: Math.min(start.x, q.x), y: Math.min(start.y, q.y), width: Math.abs(q.x - start.x), height: Math.abs(q.y - start.y) });
      this.layer.batchDraw();
    } else if (this.draft && this.draft.points) {
      this.updatePolyDraft(this.clamp(p));
    }
  }

  onUp() {
    if (this.panning) {
      this.panning = null;
      return;
    }
    if (this.painting) {
      this.endPaint();
      return;
    }
    if (this.draft && (this.draft.tool === "bbox" || this.draft.tool === "ai-box")) {
      const n = this.draft.node;
      const box = { x: n.x(), y: n.y(), width: n.width(), height: n.height() };
      const tool = this.draft.tool;
      this.cancelDraft();
      if (box.width < MIN_BOX || box.height < MIN_BOX) return;
      if (tool === "ai-box") this.app.samPrompt({ box: [box.x, box.y, box.x + box.width, box.y + box.height] });
      else this.app.addBox(box);
    }
  }

  updatePolyDraft(p) {
    const pts = this.draft.points.flat();
    this.draft.node.points(p ? [...pts, p.x, p.y] : pts);
    this.layer.batchDraw();
  }

  /** Enter / double-click: the polygon or polyline being drawn becomes a shape. */
  finishDraft() {
    const d = this.draft;
    if (!d) return false;
    if (d.tool === "keypoints") {
      this.cancelDraft();
      this.app.addShape({ type: "keypoints", geometry: { points: d.keypoints } });
      return true;
    }
    if (!d.points) return false;
    // A double-click adds the same point twice: drop repeats.
    const points = d.points.filter((p, i) => i === 0 || p[0] !== d.points[i - 1][0] || p[1] !== d.points[i - 1][1]);
    this.cancelDraft();
    if (d.tool === "polygon" && points.length >= 3) this.app.addShape({ type: "polygon", geometry: { polygons: [{ exterior: points, holes: [] }] } });
    else if (d.tool === "polyline" && points.length >= 2) this.app.addShape({ type: "polyline", geometry: { points } });
    else this.app.say(d.tool === "polygon" ? "A polygon needs 3 points." : "A polyline needs 2 points.");
    return true;
  }

  removeLastPoint() {
    if (!this.draft?.points?.length) return false;
    this.draft.points.pop();
    this.updatePolyDraft(null);
    return true;
  }

  cancelDraft() {
    if (!this.draft) return false;
    this.draft = null;
    this.draftGroup.destroyChildren();
    this.layer.batchDraw();
    return true;
  }

  addKeypoint(p) {
    const label = this.app.currentLabel();
    const names = label.keypoints?.names || [];
    if (!names.length) {
      this.app.say(`“${label.name}” has no keypoints defined; add them to the label.`);
      return;
    }
    if (!this.draft || this.draft.tool !== "keypoints") {
      this.cancelDraft();
      this.draft = { tool: "keypoints", keypoints: names.map((name) => ({ name, x: 0, y: 0, visibility: 0 })), next: 0 };
    }
    const kp = this.draft.keypoints[this.draft.next];
    Object.assign(kp, { x: p.x, y: p.y, visibility: 2 });
    this.draftGroup.add(new Konva.Circle({ x: p.x, y: p.y, radius: 4, fill: this.colorOf(label.name), strokeScaleEnabled: false }));
    this.draft.next += 1;
    this.layer.batchDraw();
    const left = names.length - this.draft.next;
    this.app.say(left ? `Next keypoint: ${names[this.draft.next]} (Enter to finish now)` : "All keypoints placed.");
    if (!left) this.finishDraft();
  }

  // --- brush and eraser ---------------------------------------------------------------------
  startPaint(p, tool) {
    const target = this.app.maskTarget(tool, p);
    if (!target) {
      this.app.say(tool === "eraser" ? "Select a mask (or click on one) to erase from it." : "Choose a class first.");
      return;
    }
    const { width, height } = this;
    const color = this.colorOf(target.class_name);
    let canvas;
    if (target.geometry?.rle) {
      const [h, w] = target.geometry.rle.size;
      canvas = maskToCanvas(countsToMask(target.geometry.rle.counts, w, h), w, h, color);
    } else {
      canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      if (target.geometry?.polygons) {
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = color;
        ctx.beginPath();
        for (const poly of target.geometry.polygons) {
          for (const ring of [poly.exterior, ...(poly.holes || [])]) {
            ctx.moveTo(ring[0][0], ring[0][1]);
            for (const [x, y] of ring.slice(1)) ctx.lineTo(x, y);
            ctx.closePath();
          }
        }
        ctx.fill("evenodd");
      }
    }
    const ctx = canvas.getContext("2d");
    ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    ctx.fillStyle = color;
    ctx.strokeStyle = color;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = this.app.state.brushSize;
    const preview = new Konva.Image({ image: canvas, width: canvas.width, height: canvas.height, opacity: 0.55, listening: false });
    // Hide the stored picture of this mask while its stroke is drawn on the live canvas.
    for (const node of this.shapesGroup.getChildren()) if (node.getAttr("shapeKey") === target.key) node.visible(false);
    this.draftGroup.add(preview);
    this.painting = { target, canvas, ctx, last: p, preview };
    this.dab(p);
  }

  dab(p) {
    const { ctx } = this.painting;
    ctx.beginPath();
    ctx.arc(p.x, p.y, this.app.state.brushSize / 2, 0, Math.PI * 2);
    ctx.fill();
  }

  paintTo(p) {
    const { ctx, last } = this.painting;
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    this.dab(p);
    this.painting.last = p;
    this.painting.preview.getLayer()?.batchDraw();
  }

  endPaint() {
    const { target, canvas } = this.painting;
    this.painting = null;
    this.draftGroup.destroyChildren();
    const mask = canvasToMask(canvas);
    const counts = maskToCounts(mask, canvas.width, canvas.height);
    this.app.setMask(target, maskArea(mask) ? { rle: { size: [canvas.height, canvas.width], counts } } : null);
  }
}

export { boxAt };
