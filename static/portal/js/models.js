// Models page (managers): register a TorchScript model, run batch detection and show the
// results gallery, the stats-by-date chart (our own small SVG), and the records search.

import { api, el, errorText } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

/** Bars of images per day with a line of objects found, the last `days` days. */
export function drawStats(container, rows, days = 15) {
  const byDate = new Map(rows.map((r) => [r.stat_date, r]));
  const end = new Date();
  const series = [];
  for (let i = days - 1; i >= 0; i -= 1) {
    const d = new Date(end.getFullYear(), end.getMonth(), end.getDate() - i);
    const key = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    const row = byDate.get(key) || { record_count: 0, total_objects: 0 };
    series.push({ key, images: row.record_count, objects: row.total_objects });
  }
  const W = 560;
  const H = 200;
  const pad = { l: 34, r: 34, t: 12, b: 28 };
  const maxImages = Math.max(1, ...series.map((s) => s.images));
  const maxObjects = Math.max(1, ...series.map((s) => s.objects));
  const step = (W - pad.l - pad.r) / series.length;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "stats-svg", "aria-hidden": "true" });
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "axis" }));
  root.append(svg("text", { x: pad.l - 6, y: pad.t + 8, "text-anchor": "end", class: "tick" }, String(maxImages)));
  root.append(svg("text", { x: W - pad.r + 6, y: pad.t + 8, class: "tick obj" }, String(maxObjects)));
  const points = [];
  series.forEach((s, i) => {
    const x = pad.l + i * step;
    const h = ((H - pad.t - pad.b) * s.images) / maxImages;
    const bar = svg("rect", { x: x + step * 0.15, y: H - pad.b - h, width: step * 0.7, height: h, class: "bar" });
    bar.append(svg("title", {}, `${s.key}: ${s.images} images, ${s.objects} objects`));
    root.append(bar);
    points.push(`${x + step / 2},${H - pad.b - ((H - pad.t - pad.b) * s.objects) / maxObjects}`);
    if (i % 3 === 0 || i === series.length - 1) {
      root.append(svg("text", { x: x + step / 2, y: H - 8, "text-anchor": "middle", class: "tick" }, s.key.slice(5)));
    }
  });
  root.append(svg("polyline", { points: points.join(" "), class: "line" }));
  const legend = el(
    "p",
    { class: "legend small-text" },
    el("span", { class: "key bar-key" }),
    " images per day  ",
    el("span", { class: "key line-key" }),
    " objects found",
  );
  container.replaceChildren(root, legend);
  container.dataset.drawn = "yes";
}

function recordFigure(rec) {
  const img = rec.result_image_url
    ? el("img", { src: rec.result_image_url, alt: `${rec.image_name}: ${rec.object_count} objects`, width: "160", height: "120", loading: "lazy" })
    : el("div", { class: "noimage", text: rec.status === "failed" ? "failed" : "…" });
  const labels = (rec.labels || []).join(", ");
  return el(
    "figure",
    { class: "shot" },
    img,
    el(
      "figcaption",
      {},
      el("strong", {}, rec.image_name),
      el("br"),
      `${rec.object_count ?? 0} object(s)${labels ? ` · ${labels}` : ""}${rec.confidence != null ? ` · ${rec.confidence.toFixed(2)}` : ""}${rec.processing_ms != null ? ` · ${Math.round(rec.processing_ms)} ms` : ""}`,
      rec.error ? el("div", { class: "error small-text", text: rec.error }) : null,
    ),
  );
}

export function initModels() {
  const chart = document.querySelector("[data-stats-chart]");
  if (chart) drawStats(chart, JSON.parse(chart.dataset.stats || "[]"));

  const register = document.querySelector("[data-register-model]");
  register?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = register.querySelector("[data-register-status]");
    const data = new FormData(register);
    if (!data.get("make_default_detection")) data.delete("make_default_detection");
    try {
      JSON.parse(data.get("label_map"));
    } catch {
      status.textContent = "The label map is not valid JSON.";
      status.className = "small-text error";
      return;
    }
    status.textContent = "Uploading…";
    try {
      const model = await api("ml/models", { method: "POST", body: data });
      status.className = "small-text ok-text";
      status.textContent = `Registered ${model.name} v${model.version} (${model.status}); reload to see it checked.`;
    } catch (error) {
      status.className = "small-text error";
      status.textContent = errorText(error);
    }
  });

  const detect = document.querySelector("[data-run-detection]");
  detect?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = detect.querySelector("[data-detect-status]");
    const gallery = document.querySelector("[data-detect-gallery]");
    const form = new FormData();
    for (const file of detect.querySelector('input[name="images"]').files) form.append("images", file);
    const model = detect.querySelector('select[name="model_id"]').value;
    if (model) form.append("model_id", model);
    form.append("wait", "60");
    status.className = "small-text";
    status.textContent = "Running…";
    try {
      const run = await api("ml/inference-runs", { method: "POST", body: form });
      status.textContent = `Run ${run.id}: ${run.job.status}, ${run.records.length} image(s).`;
      gallery.replaceChildren(...run.records.map(recordFigure));
    } catch (error) {
      status.className = "small-text error";
      status.textContent = errorText(error);
    }
  });

  const search = document.querySelector("[data-record-search]");
  search?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(search)) if (value) params.set(key, value);
    params.set("limit", "48");
    const count = document.querySelector("[data-record-count]");
    try {
      const page = await api(`ml/inference-records?${params}`);
      document.querySelector("[data-record-gallery]").replaceChildren(...page.results.map(recordFigure));
      count.textContent = `${page.count} record(s) match.`;
    } catch (error) {
      count.textContent = errorText(error);
    }
  });
}
