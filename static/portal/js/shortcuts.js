// Keyboard shortcuts: a key on an element with data-shortcut="key" activates it, and arrow
// keys move between the rows of lists marked data-keyboard-list.

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true'], dialog[open]");
}

export function initShortcuts() {
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    const trigger = document.querySelector(`[data-shortcut="${CSS.escape(event.key)}"]`);
    if (trigger) {
      event.preventDefault();
      trigger.click();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "j" && event.key !== "k") return;
    const list = event.target.closest("[data-keyboard-list]");
    if (!list) return;
    const rows = [...list.querySelectorAll("tr")];
    const row = event.target.closest("tr");
    const index = rows.indexOf(row);
    const next = rows[index + (event.key === "ArrowDown" || event.key === "j" ? 1 : -1)];
    const link = next && next.querySelector("a[href]");
    if (link) {
      event.preventDefault();
      link.focus();
    }
  });
}
