// The rulebook pages' script (served at /rulebook/editor.js). The template form is generated
// on the server from the settings schema; this script puts the fields' values into the whole
// rulebook (embedded in #rulebook-base) right before dash.js sends it with
// PUT /api/v1/rulebook, so fields the form does not show are kept as they are. The TOML
// editors send their text to the TOML routes and list the problems with their lines.
(function () {
  "use strict";
  const t = (zh, en) => (document.documentElement.lang === "en" ? en : zh);

  function setAt(root, key, value) {
    let target = root;
    for (const part of key.slice(0, -1)) {
      if (typeof target[part] !== "object" || target[part] === null || Array.isArray(target[part])) target[part] = {};
      target = target[part];
    }
    target[key[key.length - 1]] = value;
  }

  function deleteAt(root, key) {
    let target = root;
    for (const part of key.slice(0, -1)) {
      if (typeof target !== "object" || target === null) return;
      target = target[part];
    }
    if (target && typeof target === "object") delete target[key[key.length - 1]];
  }

  class FieldError extends Error {
    constructor(el, message) { super(message); this.el = el; }
  }

  // A field's value by its data-type. Values that do not parse are sent as written, so the
  // server reports them at their key path (next to the field).
  function read(el) {
    const type = el.dataset.type;
    if (type === "bool") return el.checked;
    const text = el.value;
    if (text === "" && el.dataset.null !== undefined) return null;
    if (type === "number") {
      const n = Number(text);
      return text.trim() === "" || Number.isNaN(n) ? text : n;
    }
    if (type === "lines") return text.split("\n").map((s) => s.trim()).filter(Boolean);
    if (type === "numbers") {
      return text.split(/[\s,，]+/).filter(Boolean).map((s) => (Number.isNaN(Number(s)) ? s : Number(s)));
    }
    if (type === "json") {
      try { return JSON.parse(text); } catch (e) { throw new FieldError(el, t("JSON 格式错误：", "Malformed JSON: ") + e.message); }
    }
    return text;
  }

  // The whole rulebook with the form's values.
  function collect(form) {
    const base = JSON.parse(document.getElementById("rulebook-base").textContent);
    const book = base.rulebook;
    for (const entry of form.querySelectorAll("[data-entry].removed")) deleteAt(book, JSON.parse(entry.dataset.entry));
    for (const el of form.querySelectorAll("[data-key]")) {
      if (el.closest("template") || el.closest(".removed")) continue;
      setAt(book, JSON.parse(el.dataset.key), read(el));
    }
    for (const list of form.querySelectorAll("[data-array]")) {
      if (list.closest("template") || list.closest(".removed")) continue;
      const items = [...list.children].filter((row) => row.classList.contains("row-item")).map((row, i) => {
        const item = JSON.parse(row.dataset.orig || "{}");
        for (const el of row.querySelectorAll("[data-sub]")) {
          const sub = JSON.parse(el.dataset.sub);
          el.dataset.path = list.dataset.arrayPath + `[${i}]` + sub.map((k) => "." + k).join("");
          setAt(item, sub, read(el));
        }
        return item;
      });
      setAt(book, JSON.parse(list.dataset.array), items);
    }
    return { book, version: base.version };
  }

  function showLocalError(form, failure) {
    form.querySelectorAll(".field-error[data-generated]").forEach((e) => e.remove());
    const note = document.createElement("div");
    note.className = "field-error"; note.dataset.generated = ""; note.textContent = failure.message;
    failure.el.classList.add("invalid");
    failure.el.insertAdjacentElement("afterend", note);
    failure.el.focus();
  }

  // Runs before dash.js's submit handler (capture phase): fills in the body it sends.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-rulebook-form]");
    if (!form) return;
    try {
      const { book } = collect(form);
      form.dataset.body = JSON.stringify(book);
      const note = form.querySelector("[data-note]");
      form.dataset.api = form.dataset.apiBase + (note && note.value.trim() ? "&note=" + encodeURIComponent(note.value.trim()) : "");
    } catch (failure) {
      event.preventDefault();
      event.stopImmediatePropagation();
      if (failure instanceof FieldError) showLocalError(form, failure);
      else window.qzToast(String(failure.message || failure), true);
    }
  }, true);

  // TOML editors: the text as the body; problems listed under the editor with their lines.
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-toml-api]");
    if (!form) return;
    event.preventDefault();
    const list = form.querySelector("ul.problems");
    const area = form.querySelector("textarea");
    list.replaceChildren();
    area.classList.remove("invalid");
    const submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    try {
      const response = await fetch(form.dataset.tomlApi, {
        method: "PUT", credentials: "same-origin", body: area.value,
        headers: { "Content-Type": "application/toml", "Accept": "application/json", "X-CSRF-Token": document.body.dataset.csrf || "" },
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        const error = data.error || {};
        area.classList.add("invalid");
        for (const p of error.problems || []) {
          const item = document.createElement("li");
          item.className = "field-error";
          const code = document.createElement("code");
          code.textContent = p.path;
          item.append(code, " ", p.message);
          list.appendChild(item);
        }
        window.qzToast(error.message || t("保存失败", "Saving failed"), true);
        return;
      }
      if (form.dataset.done) window.qzToast(form.dataset.done);
      setTimeout(() => location.reload(), 400);
    } catch (e) {
      window.qzToast(String(e), true);
    } finally {
      if (submit) submit.disabled = false;
    }
  });

  // Rows (the level ladder…) and entries by id (FAQ entries…).
  document.addEventListener("click", (event) => {
    const addRow = event.target.closest(".add-row");
    if (addRow) {
      const field = addRow.closest(".rows");
      const list = field.querySelector("[data-array]");
      list.appendChild(field.querySelector("template").content.firstElementChild.cloneNode(true));
      return;
    }
    const removeRow = event.target.closest(".remove-row");
    if (removeRow) { removeRow.closest(".row-item").remove(); return; }
    const removeEntry = event.target.closest(".remove-entry");
    if (removeEntry) {
      const entry = removeEntry.closest("[data-entry]");
      entry.classList.toggle("removed");
      removeEntry.textContent = entry.classList.contains("removed") ? t("撤销删除", "Keep entry") : t("删除此条", "Remove entry");
      return;
    }
    const addEntry = event.target.closest(".add-entry");
    if (addEntry) {
      const field = addEntry.closest(".entries");
      const input = field.querySelector(".new-entry-id");
      const id = input.value.trim();
      if (!id) { input.focus(); return; }
      const existing = JSON.parse(field.dataset.entries).concat([id]);
      if ([...field.querySelectorAll("[data-entry]")].some((e) => e.dataset.entry === JSON.stringify(existing))) {
        window.qzToast(t("已有这个 id", "That id exists already"), true);
        return;
      }
      const entry = field.querySelector("template").content.firstElementChild.cloneNode(true);
      const dotted = /^[A-Za-z0-9_-]+$/.test(id) ? id : JSON.stringify(id);
      for (const el of [entry, ...entry.querySelectorAll("*")]) {
        for (const attr of ["data-key", "data-entry"]) {
          if (el.hasAttribute(attr)) el.setAttribute(attr, JSON.stringify(JSON.parse(el.getAttribute(attr)).map((k) => (k === "__ID__" ? id : k))));
        }
        for (const attr of ["data-path", "data-field"]) {
          if (el.hasAttribute(attr)) el.setAttribute(attr, el.getAttribute(attr).replace(".__ID__", "." + dotted));
        }
      }
      entry.querySelector("legend code").textContent = id;
      field.insertBefore(entry, field.querySelector("template"));
      input.value = "";
    }
  });
})();
