// Our own modal dialogs: in-page confirmation of dangerous actions (never window.confirm),
// and small form dialogs (rename, copy). Native <dialog>.showModal() makes the page inert
// and closes on Esc; we add a Tab focus trap and give focus back to the opener.

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])",
].join(",");

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.hidden && el.getClientRects().length > 0);
}

function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = focusables(dialog);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });
}

export function openModal(dialog, { opener = document.activeElement, initialFocus = null } = {}) {
  if (!dialog.dataset.trapped) {
    trapFocus(dialog);
    dialog.dataset.trapped = "yes";
  }
  dialog.addEventListener(
    "close",
    () => {
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    },
    { once: true },
  );
  dialog.returnValue = "";
  dialog.showModal();
  const target = initialFocus || dialog.querySelector("[autofocus]") || focusables(dialog)[0];
  if (target) target.focus();
}

function needsConfirmation(form) {
  if (form.dataset.confirmed === "yes") return false;
  if (form.hasAttribute("data-confirm")) return true;
  const when = form.dataset.confirmWhen; // e.g. "mode=replace"
  if (when) {
    const [name, value] = when.split("=");
    return new FormData(form).get(name) === value;
  }
  return false;
}

export function initConfirmForms() {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog) return;
  const title = dialog.querySelector("#confirm-title");
  const body = dialog.querySelector("#confirm-body");
  const accept = dialog.querySelector("[data-confirm-accept]");
  const cancel = dialog.querySelector("[data-confirm-cancel]");

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !needsConfirmation(form)) return;
    event.preventDefault();
    const submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    title.textContent = form.dataset.confirmTitle || "Are you sure?";
    body.replaceChildren();
    const template = form.querySelector("template[data-confirm-body]");
    if (template) body.append(template.content.cloneNode(true));
    accept.textContent = form.dataset.confirmButton || "Confirm";
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue !== "confirm") return;
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "confirmed";
        input.value = "yes";
        form.append(input);
        form.dataset.confirmed = "yes";
        form.requestSubmit(submitter);
      },
      { once: true },
    );
    // Focus starts on Cancel: Enter or Esc right away never destroys anything.
    openModal(dialog, { opener: submitter || document.activeElement, initialFocus: cancel });
  });
}

export function initFormDialogs() {
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (!dialog) return; // no dialog on this page: the link works as a link
      event.preventDefault();
      const form = dialog.querySelector("form");
      if (opener.dataset.dialogAction) form.action = opener.dataset.dialogAction;
      for (const [key, value] of Object.entries(opener.dataset)) {
        if (!key.startsWith("dialogValue")) continue;
        const name = key.slice("dialogValue".length).toLowerCase();
        const field = form.querySelector(`[data-dialog-field="${name}"]`);
        if (field) field.value = value;
      }
      openModal(dialog, { opener });
      const first = dialog.querySelector("[data-dialog-field]");
      if (first) first.select();
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) closer.closest("dialog")?.close();
  });
}
