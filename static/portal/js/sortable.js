// Reorder the rows of a table body by HTML5 drag and drop, or from the keyboard with
// Alt+ArrowUp / Alt+ArrowDown while focus is in a row. Calls onChange(row) after a move.

export function makeSortable(tbody, { onChange, handle = null } = {}) {
  let dragged = null;

  const clearMarks = () => {
    for (const row of tbody.querySelectorAll(".drop-before, .drop-after")) {
      row.classList.remove("drop-before", "drop-after");
    }
  };

  if (handle) {
    // Rows with inputs drag only from their handle, so text in the inputs stays selectable.
    tbody.addEventListener("pointerdown", (event) => {
      const row = event.target.closest("tr");
      if (row) row.draggable = Boolean(event.target.closest(handle));
    });
  }

  tbody.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("tr");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.labelId || "row");
  });

  tbody.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const row = event.target.closest("tr");
    if (!row || row === dragged || row.parentElement !== tbody) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearMarks();
    const box = row.getBoundingClientRect();
    row.classList.add(event.clientY < box.top + box.height / 2 ? "drop-before" : "drop-after");
  });

  tbody.addEventListener("drop", (event) => {
    if (!dragged) return;
    const row = event.target.closest("tr");
    if (!row || row === dragged || row.parentElement !== tbody) return;
    event.preventDefault();
    const box = row.getBoundingClientRect();
    if (event.clientY < box.top + box.height / 2) row.before(dragged);
    else row.after(dragged);
    const moved = dragged;
    clearMarks();
    onChange?.(moved);
  });

  tbody.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    if (dragged && handle) dragged.draggable = false;
    dragged = null;
    clearMarks();
  });

  tbody.addEventListener("keydown", (event) => {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    const row = event.target.closest("tr");
    if (!row || row.parentElement !== tbody) return;
    event.preventDefault();
    moveRow(row, event.key === "ArrowUp" ? -1 : 1, onChange, event.target);
  });
}

export function moveRow(row, step, onChange, keepFocus = null) {
  const sibling = step < 0 ? row.previousElementSibling : row.nextElementSibling;
  if (!sibling) return false;
  if (step < 0) sibling.before(row);
  else sibling.after(row);
  if (keepFocus) keepFocus.focus();
  onChange?.(row);
  return true;
}
