// Upload page: every file goes up in resumable chunks (POST uploads, PATCH chunks with
// Upload-Offset, resume from the server's offset on 409), with its own progress bar; then
// one import of all of them (from-uploads), followed live over /ws/events/: the job's
// progress, and each file's outcome — accepted, duplicate, or refused with the reason.

import { api, el, errorText, formatBytes } from "./api.js";
import { followJob, listen, subscribe } from "./events.js";

const CHUNK = 4 * 1024 * 1024;

function fileRow(file) {
  const bar = el("progress", { max: String(file.size || 1), value: "0", "aria-label": `Upload of ${file.name}` });
  const result = el("span", { class: "muted", text: "waiting" });
  const row = el(
    "tr",
    { dataset: { file: file.name } },
    el("td", {}, file.webkitRelativePath || file.name),
    el("td", { class: "num" }, formatBytes(file.size)),
    el("td", {}, bar),
    el("td", { "data-result": "" }, result),
  );
  return { row, bar, result };
}

async function sendFile(projectId, file, ui) {
  const upload = await api(`projects/${projectId}/uploads`, {
    method: "POST",
    body: { filename: file.webkitRelativePath || file.name, size: file.size },
  });
  let offset = upload.offset || 0;
  ui.result.textContent = "uploading";
  while (offset < file.size) {
    const chunk = file.slice(offset, Math.min(offset + CHUNK, file.size));
    const response = await api(upload.upload_url, {
      method: "PATCH",
      body: chunk,
      headers: { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream", "Tus-Resumable": "1.0.0" },
      raw: true,
    });
    if (response.status === 409) {
      const body = await response.json();
      offset = body.offset; // resume where the server is
      continue;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.message || `chunk refused (${response.status})`);
    }
    offset = Number(response.headers.get("Upload-Offset") ?? offset + chunk.size);
    ui.bar.value = offset;
  }
  ui.bar.value = file.size;
  ui.result.textContent = "uploaded, waiting for the check";
  return upload.id;
}

function showOutcome(ui, file) {
  const cls = { accepted: "ok-text", refused: "error", duplicate: "warn-text" }[file.outcome] || "muted";
  const text =
    file.outcome === "refused"
      ? `refused: ${file.reason || file.code}`
      : file.outcome === "duplicate"
        ? `duplicate${file.reason ? `: ${file.reason}` : ""}`
        : file.outcome === "accepted"
          ? `accepted${file.task_id ? ` → task ${file.task_id}` : ""}`
          : file.outcome;
  ui.result.replaceChildren(el("span", { class: cls, text }));
  if (file.outcome === "refused") ui.row.classList.add("row-error");
}

export function initUpload() {
  const section = document.querySelector("[data-upload]");
  if (!section) return;
  const projectId = section.dataset.project;
  const form = section.querySelector("[data-upload-form]");
  const input = form.querySelector('input[type="file"]');
  const table = section.querySelector("[data-upload-files]");
  const status = section.querySelector("[data-upload-status]");
  const zone = section.querySelector("[data-dropzone]");
  let dropped = null;
  section.dataset.enhanced = "yes";

  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    dropped = [...event.dataTransfer.files];
    status.textContent = `${dropped.length} file(s) ready — press Upload.`;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = dropped || [...input.files];
    if (!files.length) {
      status.textContent = "Choose files first.";
      input.focus();
      return;
    }
    const button = form.querySelector("[data-upload-start]");
    button.disabled = true;
    table.hidden = false;
    const body = table.querySelector("tbody");
    body.replaceChildren();
    const rows = files.map((file) => {
      const ui = fileRow(file);
      body.append(ui.row);
      return { file, ui };
    });
    const ids = [];
    for (const { file, ui } of rows) {
      try {
        ids.push(await sendFile(projectId, file, ui));
      } catch (error) {
        ui.result.replaceChildren(el("span", { class: "error", text: `upload failed: ${errorText(error)}` }));
        ui.row.classList.add("row-error");
      }
    }
    if (!ids.length) {
      status.textContent = "Nothing was uploaded.";
      button.disabled = false;
      return;
    }
    const data = new FormData(form);
    const request = { upload_ids: ids };
    if (data.get("batch")) request.batch_id = Number(data.get("batch"));
    if (data.get("task_name")) request.task_name = data.get("task_name");
    let job;
    try {
      job = await api(`projects/${projectId}/imports/from-uploads`, { method: "POST", body: request });
    } catch (error) {
      status.textContent = errorText(error);
      button.disabled = false;
      return;
    }
    const importId = job.id;
    status.textContent = `Import ${importId}: checking files…`;
    const errors = section.querySelector("[data-live-errors]") || el("ul", { class: "row-errors", "data-live-errors": "" });
    form.after(errors);
    const final = await followJob(importId, (event) => {
      status.textContent = `Import ${importId}: ${event.status} ${event.total ? `${event.done}/${event.total}` : ""}`;
      errors.replaceChildren(...(event.errors || []).map((line) => el("li", { text: line })));
    });
    // Each file's outcome, matched by name.
    const outcomes = await api(`projects/${projectId}/imports/${importId}/files?limit=1000`);
    for (const file of outcomes.results || []) {
      const match = rows.find((r) => (r.file.webkitRelativePath || r.file.name) === file.name);
      if (match) showOutcome(match.ui, file);
    }
    const counts = (final.result && final.result.counts) || {};
    status.textContent = `Import ${importId} ${final.status}${final.message ? ` — ${final.message}` : ""}.`;
    if (counts.accepted !== undefined) status.textContent += ` ${counts.accepted} accepted, ${counts.refused || 0} refused.`;
    button.disabled = false;
    dropped = null;
    form.reset();
  });
}

/** Import history rows follow their job live (status and progress). */
export function initImportHistory() {
  const section = document.querySelector("[data-import-history]");
  if (!section) return;
  subscribe("project", Number(section.dataset.project));
  listen((event) => {
    if (event.type !== "job") return;
    const row = section.querySelector(`tr[data-job-id="${event.job_id}"]`);
    if (!row) return;
    row.querySelector("[data-job-status]").textContent = event.status;
    row.querySelector("[data-job-progress]").textContent = event.total ? `${event.done}/${event.total}` : "";
  });
}
