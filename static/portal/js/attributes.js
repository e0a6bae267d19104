// Attribute schema editor: turns the JSON textarea of a label form into rows (name, type,
// options or range, required). The textarea stays the value that is submitted; keys the
// rows don't show (default, step, max_length) are kept as they were.

const TYPES = ["select", "multiselect", "checkbox", "number", "text"];

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

export function initAttributeEditors() {
  for (const textarea of document.querySelectorAll("textarea[data-attributes-editor]")) {
    let schema;
    try {
      schema = textarea.value.trim() ? JSON.parse(textarea.value) : [];
    } catch {
      continue; // invalid JSON: leave the textarea for the person to fix (the server says what is wrong)
    }
    if (!Array.isArray(schema)) continue;
    enhance(textarea, schema);
  }
}

function enhance(textarea, schema) {
  const editor = el("div", { className: "attr-editor" });
  const rows = el("div", { className: "attr-rows" });
  const add = el("button", { type: "button", className: "small", textContent: "Add attribute" });
  const toggle = el("button", { type: "button", className: "link small-text", textContent: "Edit as JSON" });
  editor.append(
    el("div", { className: "attr-row attr-head", ariaHidden: "true" }, [
      el("span", { textContent: "Name" }),
      el("span", { textContent: "Type" }),
      el("span", { textContent: "Options / range" }),
      el("span", { textContent: "" }),
      el("span", { textContent: "" }),
    ]),
    rows,
    el("div", {}, [add, document.createTextNode(" "), toggle]),
  );
  textarea.hidden = true;
  textarea.after(editor);
  const label = document.querySelector(`label[for="${textarea.id}"]`);
  if (label) label.id ||= `${textarea.id}-label`;

  const serialize = () => {
    [...rows.children].forEach((row, index) => {
      for (const node of row.querySelectorAll("[data-label-base]")) {
        node.setAttribute("aria-label", node.dataset.labelBase.replace("#", String(index + 1)));
      }
    });
    const out = [];
    for (const row of rows.children) {
      const spec = { ...row._spec };
      spec.name = row.querySelector("[data-k=name]").value.trim();
      spec.type = row.querySelector("[data-k=type]").value;
      const extra = row.querySelector("[data-k=extra]").value;
      delete spec.options;
      if (spec.type === "select" || spec.type === "multiselect") {
        spec.options = extra.split(",").map((s) => s.trim()).filter(Boolean);
        delete spec.min;
        delete spec.max;
      } else if (spec.type === "number") {
        const [lo, hi] = extra.split(/[,–-]/).map((s) => s.trim());
        if (lo !== undefined && lo !== "" && !Number.isNaN(Number(lo))) spec.min = Number(lo); else delete spec.min;
        if (hi !== undefined && hi !== "" && !Number.isNaN(Number(hi))) spec.max = Number(hi); else delete spec.max;
      } else {
        delete spec.min;
        delete spec.max;
      }
      if (spec.type !== "number") delete spec.step;
      if (spec.type !== "text") delete spec.max_length;
      if (spec.default !== undefined && spec.type !== row._spec.type) delete spec.default;
      const required = row.querySelector("[data-k=required]").checked;
      if (required) spec.required = true;
      else delete spec.required;
      if (spec.name) out.push(spec);
    }
    textarea.value = out.length ? JSON.stringify(out, null, 2) : "";
  };

  const addRow = (spec) => {
    const index = rows.children.length + 1;
    const name = el("input", { value: spec.name || "", required: true });
    name.dataset.k = "name";
    name.dataset.labelBase = "Attribute # name";
    name.setAttribute("aria-label", `Attribute ${index} name`);
    const type = el("select", {}, TYPES.map((t) => el("option", { value: t, textContent: t, selected: t === spec.type })));
    type.dataset.k = "type";
    type.dataset.labelBase = "Attribute # type";
    type.setAttribute("aria-label", `Attribute ${index} type`);
    const extra = el("input", {
      value:
        spec.type === "number"
          ? [spec.min ?? "", spec.max ?? ""].join(spec.min !== undefined || spec.max !== undefined ? ", " : "")
          : (spec.options || []).join(", "),
    });
    extra.dataset.k = "extra";
    const describe = () => {
      const t = type.value;
      extra.disabled = t === "checkbox" || t === "text";
      extra.placeholder = t === "number" ? "min, max" : t.includes("select") ? "option, option, …" : "";
      extra.setAttribute("aria-label", `Attribute ${index} ${t === "number" ? "range (min, max)" : "options, comma separated"}`);
    };
    describe();
    type.addEventListener("change", describe);
    const required = el("input", { type: "checkbox", checked: Boolean(spec.required) });
    required.dataset.k = "required";
    const requiredLabel = el("label", {}, [required, document.createTextNode("required")]);
    const remove = el("button", { type: "button", className: "small danger-outline", textContent: "Remove" });
    remove.dataset.labelBase = "Remove attribute #";
    remove.setAttribute("aria-label", `Remove attribute ${index}`);
    const row = el("div", { className: "attr-row" }, [name, type, extra, requiredLabel, remove]);
    row._spec = { ...spec };
    remove.addEventListener("click", () => {
      row.remove();
      serialize();
      add.focus();
    });
    rows.append(row);
    return row;
  };

  for (const spec of schema) addRow(typeof spec === "object" && spec ? spec : {});
  editor.addEventListener("input", serialize);
  editor.addEventListener("change", serialize);
  add.addEventListener("click", () => {
    const row = addRow({ type: "select" });
    row.querySelector("[data-k=name]").focus();
  });
  toggle.addEventListener("click", () => {
    serialize();
    textarea.hidden = false;
    editor.remove();
    textarea.focus();
  });
  textarea.form.addEventListener("submit", () => {
    if (editor.isConnected) serialize();
  });
}
