// Tasks table: "select all" for the bulk form and a live count of ticked tasks.

export function initTaskTable() {
  const all = document.querySelector("[data-check-all]");
  const count = document.querySelector("[data-selected-count]");
  if (!all) return;
  const boxes = () => [...document.querySelectorAll(`input[name="${all.dataset.checkAll}"][form]`)];
  const update = () => {
    const ticked = boxes().filter((b) => b.checked).length;
    if (count) count.textContent = ticked ? `${ticked} task(s) selected.` : "Tick tasks in the table.";
    all.checked = ticked > 0 && ticked === boxes().length;
    all.indeterminate = ticked > 0 && ticked < boxes().length;
  };
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
    update();
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches?.(`input[name="${all.dataset.checkAll}"]`)) update();
  });
  update();
}
