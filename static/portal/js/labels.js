// Labels page: reorder the z-order by drag and drop or keyboard and save at once through
// the reorder service (POST order=ids, top first). The ↑/↓ buttons work without scripts.
import { makeSortable, moveRow } from "./sortable.js";

export function initLabelReorder() {
  const table = document.querySelector("[data-reorder-list]");
  const tbody = table.querySelector("tbody");
  const form = document.querySelector("[data-reorder-form]");
  const status = document.querySelector("[data-reorder-status]");

  const rows = () => [...tbody.querySelectorAll("tr[data-label-id]")];

  const refresh = () => {
    const all = rows();
    all.forEach((row, index) => {
      row.setAttribute("aria-label", `${row.dataset.labelName}, position ${index + 1} of ${all.length}`);
      const up = row.querySelector("[data-move='up']");
      const down = row.querySelector("[data-move='down']");
      if (up) up.disabled = index === 0;
      if (down) down.disabled = index === all.length - 1;
    });
  };

  const save = async (moved) => {
    refresh();
    moved.classList.remove("moved");
    void moved.offsetWidth; // restart the highlight animation
    moved.classList.add("moved");
    const data = new FormData(form);
    data.set("order", rows().map((row) => row.dataset.labelId).join(","));
    status.textContent = "Saving order…";
    table.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
      const position = rows().indexOf(moved) + 1;
      status.textContent = `Order saved: ${moved.dataset.labelName} is now at position ${position}.`;
      table.dataset.saved = String(Number(table.dataset.saved || 0) + 1);
    } catch (error) {
      status.textContent = `The order could not be saved (${error.message}); reloading.`;
      window.location.reload();
    } finally {
      table.removeAttribute("aria-busy");
    }
  };

  makeSortable(tbody, { onChange: save });
  table.dataset.enhanced = "yes";

  // The ↑/↓ buttons move in place instead of reloading the page.
  tbody.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    event.preventDefault();
    const row = button.closest("tr");
    moveRow(row, button.dataset.move === "up" ? -1 : 1, save);
    const again = row.querySelector(`[data-move='${button.dataset.move}']`);
    (again && !again.disabled ? again : row).focus();
  });
}
