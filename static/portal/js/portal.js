// Progressive enhancement shared by every page. Each feature loads only where its markup is.
import { initConfirmForms, initFormDialogs } from "./dialogs.js";
import { initShortcuts } from "./shortcuts.js";

// Organization switcher: submit on change; the "Switch" button stays for keyboard users'
// explicit choice only when scripts are off.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
for (const button of document.querySelectorAll("[data-autosubmit-fallback]")) {
  button.hidden = true;
}

initConfirmForms();
initFormDialogs();
initShortcuts();

if (document.querySelector("[data-reorder-list]")) {
  import("./labels.js").then((m) => m.initLabelReorder());
}
if (document.querySelector("textarea[data-attributes-editor]")) {
  import("./attributes.js").then((m) => m.initAttributeEditors());
}
if (document.querySelector("textarea[data-template-rows]")) {
  import("./template-editor.js").then((m) => m.initTemplateEditor());
}
if (document.querySelector("[data-copy]")) {
  import("./copy.js").then((m) => m.initCopyButtons());
}
if (document.querySelector("[data-upload], [data-import-history]")) {
  import("./upload.js").then((m) => {
    m.initUpload();
    m.initImportHistory();
  });
}
if (document.querySelector("[data-export-form]")) {
  import("./exports.js").then((m) => m.initExports());
}
if (document.querySelector("[data-stats-chart], [data-register-model]")) {
  import("./models.js").then((m) => m.initModels());
}
if (document.querySelector("[data-check-all]")) {
  import("./tasks-table.js").then((m) => m.initTaskTable());
}
