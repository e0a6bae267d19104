// Template editor: the label rows of a template as an editable table (colour, name,
// maskid, category, aliases), reordered by drag and drop or Alt+↑/↓, top row painted on
// top. Serialised into the JSON textarea that the form submits; attribute schemas and
// keypoints of each row are kept as they are.
import { makeSortable } from "./sortable.js";

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

export function initTemplateEditor() {
  const textarea = document.querySelector("textarea[data-template-rows]");
  let rows;
  try {
    rows = JSON.parse(textarea.value || "[]");
  } catch {
    return; // invalid JSON stays editable as text; the server explains the error
  }
  if (!Array.isArray(rows)) return;
  rows = [...rows].sort((a, b) => (b?.z_order ?? 0) - (a?.z_order ?? 0));

  const tbody = el("tbody");
  const table = el("table", { className: "row-editor" }, [
    el("thead", {}, [
      el("tr", {}, ["", "Colour", "Name", "maskid", "Category", "Aliases", ""].map((t) => el("th", { textContent: t }))),
    ]),
    tbody,
  ]);
  table.setAttribute("aria-label", "Label rows, top layer first; Alt+↑/↓ moves a row");
  const add = el("button", { type: "button", className: "small", textContent: "Add label" });
  const toggle = el("button", { type: "button", className: "link small-text", textContent: "Edit as JSON" });
  const editor = el("div", { className: "template-rows" }, [table, el("div", { className: "actions" }, [add, toggle])]);
  textarea.hidden = true;
  const help = document.getElementById(`${textarea.id}_helptext`);
  if (help) help.hidden = true;
  textarea.after(editor);

  // Row numbers in the accessible names follow the rows as they move.
  const renumber = () => {
    [...tbody.children].forEach((tr, index) => {
      for (const node of tr.querySelectorAll("[data-label-base]")) {
        node.setAttribute("aria-label", `${node.dataset.labelBase} row ${index + 1}`);
      }
    });
  };

  const serialize = () => {
    renumber();
    const trs = [...tbody.children];
    textarea.value = JSON.stringify(
      trs.map((tr, index) => {
        const get = (k) => tr.querySelector(`[data-k=${k}]`).value.trim();
        const row = { ...tr._row, name: get("name"), color: get("color"), category: get("category") };
        const maskid = get("maskid");
        row.maskid = maskid === "" ? null : Number(maskid);
        row.aliases = get("aliases").split(",").map((s) => s.trim()).filter(Boolean);
        row.z_order = trs.length - 1 - index; // top row painted on top
        if (row.maskid === null) delete row.maskid;
        return row;
      }),
      null,
      2,
    );
  };

  const addRow = (row) => {
    const n = tbody.children.length + 1;
    const input = (k, props, label) => {
      const node = el("input", props);
      node.dataset.k = k;
      node.dataset.labelBase = `${label} of`;
      node.setAttribute("aria-label", `${label} of row ${n}`);
      return node;
    };
    const remove = el("button", { type: "button", className: "small danger-outline", textContent: "Remove" });
    remove.dataset.labelBase = "Remove";
    remove.setAttribute("aria-label", `Remove row ${n}`);
    const handle = el("span", { className: "drag-handle", textContent: "⠿", title: "Drag to reorder" });
    handle.setAttribute("aria-hidden", "true");
    const tr = el("tr", {}, [
      el("td", {}, [handle]),
      el("td", {}, [input("color", { type: "color", value: row.color || "#2f6fed" }, "Colour")]),
      el("td", {}, [input("name", { value: row.name || "", required: true }, "Name")]),
      el("td", {}, [input("maskid", { type: "number", min: 0, max: 255, value: row.maskid ?? "" }, "maskid")]),
      el("td", {}, [input("category", { value: row.category || "" }, "Category")]),
      el("td", {}, [input("aliases", { value: (row.aliases || []).join(", ") }, "Aliases")]),
      el("td", {}, [remove]),
    ]);
    tr._row = { ...row };
    remove.addEventListener("click", () => {
      tr.remove();
      serialize();
      add.focus();
    });
    tbody.append(tr);
    return tr;
  };

  rows.forEach((row) => addRow(row && typeof row === "object" ? row : {}));
  makeSortable(tbody, { onChange: serialize, handle: ".drag-handle" });
  editor.addEventListener("input", serialize);
  add.addEventListener("click", () => {
    // New rows go on top; an empty maskid takes the next free one on save.
    const tr = addRow({ name: "", color: "#2f6fed" });
    tbody.prepend(tr);
    serialize();
    tr.querySelector("[data-k=name]").focus();
  });
  toggle.addEventListener("click", () => {
    serialize();
    textarea.hidden = false;
    if (help) help.hidden = false;
    editor.remove();
    textarea.focus();
  });
  textarea.form.addEventListener("submit", () => {
    if (editor.isConnected) serialize();
  });
}
