// Exports page: the scope's own fields appear with their choice, segmentation outputs and
// opacity only for segmentation results; a started export is followed live and its row gets
// a Download link when the archive is ready.

import { api, el, errorText, formatBytes } from "./api.js";
import { followJob } from "./events.js";

function syncForm(form) {
  const scope = form.querySelector('input[name="scope"]:checked')?.value || "all";
  for (const block of form.querySelectorAll("[data-scope-for]")) block.hidden = block.dataset.scopeFor !== scope;
  const format = form.querySelector('select[name="format"]').value;
  for (const block of form.querySelectorAll("[data-format-only]")) block.hidden = block.dataset.formatOnly !== format;
}

function exportRow(exp) {
  return el(
    "tr",
    { dataset: { exportId: exp.id, jobId: exp.job_id || "" } },
    el("td", {}, String(exp.id)),
    el("td", {}, exp.format),
    el(
      "td",
      {},
      el("span", { class: `badge job-${exp.status}`, "data-job-status": "", text: exp.status }),
      " ",
      el("progress", { max: "1", value: "0", "data-job-bar": "", "aria-label": `Export ${exp.id} progress` }),
    ),
    el("td", { class: "num" }, String(exp.frame_count ?? 0)),
    el("td", { class: "num" }, formatBytes(exp.size_bytes || 0)),
    el("td", {}, (exp.created_by && (exp.created_by.username || exp.created_by)) || "—"),
    el("td", {}, new Date(exp.created_at).toLocaleString()),
    el("td", { "data-download-cell": "" }),
  );
}

function follow(row, exportId, jobId) {
  const badge = row.querySelector("[data-job-status]");
  const bar = row.querySelector("[data-job-bar]");
  return followJob(jobId, (event) => {
    badge.textContent = event.status;
    badge.className = `badge job-${event.status}`;
    if (bar && event.total) {
      bar.max = event.total;
      bar.value = event.done;
    }
  }).then(async (final) => {
    bar?.remove();
    const exp = await api(`exports/${exportId}`);
    row.children[3].textContent = String(exp.frame_count ?? 0);
    row.children[4].textContent = formatBytes(exp.size_bytes || 0);
    if (final.status === "succeeded") {
      row.querySelector("[data-download-cell]").replaceChildren(
        el("a", { class: "button small", href: `/api/v1/exports/${exportId}/download`, download: "" }, "Download"),
      );
    } else {
      row.children[2].append(el("div", { class: "error small-text", text: final.message || final.status }));
    }
    return final;
  });
}

export function initExports() {
  const form = document.querySelector("[data-export-form]");
  if (!form) return;
  const projectId = form.dataset.project;
  const status = form.querySelector("[data-export-status]");
  const opacity = form.querySelector('input[name="mix_opacity"]');
  const shown = form.querySelector("[data-opacity-value]");
  opacity?.addEventListener("input", () => (shown.textContent = opacity.value));
  form.addEventListener("change", () => syncForm(form));
  syncForm(form);
  form.dataset.enhanced = "yes";

  // Exports still running when the page opened are followed too.
  for (const row of document.querySelectorAll("tr[data-export-id]")) {
    if (row.querySelector("[data-job-bar]") && row.dataset.jobId) follow(row, row.dataset.exportId, Number(row.dataset.jobId));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const scopeKind = data.get("scope");
    const scope = {};
    const num = (name) => (data.get(name) ? Number(data.get(name)) : null);
    if (scopeKind === "range") Object.assign(scope, { frame_start: num("frame_start"), frame_end: num("frame_end") });
    if (scopeKind === "frame") Object.assign(scope, { task_id: num("task_id"), frame: num("frame") });
    if (scopeKind === "batch") scope.batch_id = num("batch_id");
    if (scopeKind === "status") scope.statuses = data.getAll("statuses");
    const format = data.get("format");
    const options = {};
    if (format === "segmentation_results") {
      options.outputs = data.getAll("outputs");
      options.mix_opacity = Number(data.get("mix_opacity"));
    }
    status.textContent = "Starting…";
    let exp;
    try {
      exp = await api(`projects/${projectId}/exports`, {
        method: "POST",
        body: { format, scope, options, include_images: data.get("include_images") === "on" },
      });
    } catch (error) {
      status.textContent = errorText(error);
      status.classList.add("error");
      return;
    }
    status.classList.remove("error");
    status.textContent = `Export ${exp.id} started.`;
    let table = document.querySelector("[data-export-list]");
    if (!table) {
      document.querySelector("[data-export-empty]")?.remove();
      table = el(
        "table",
        { class: "table compact", "aria-label": "Exports", "data-export-list": "" },
        el("thead", {}, el("tr", {}, ...["#", "Format", "Status", "Frames", "Size", "By", "When", ""].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody"),
      );
      document.querySelector("#downloads-title").after(table);
    }
    const row = exportRow(exp);
    table.querySelector("tbody").prepend(row);
    const jobId = exp.job_id || (exp.job && exp.job.id);
    const final = await follow(row, exp.id, jobId);
    status.textContent = `Export ${exp.id} ${final.status}.`;
  });
}
