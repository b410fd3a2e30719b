// The dashboard's own script: API forms and buttons, toasts, the phone menu, charts.
// Pages are rendered by the server; every change goes through the documented JSON API
// (/api/v1/…), with the session's CSRF token in the X-CSRF-Token header.
(function () {
  "use strict";
  const csrf = () => document.body.dataset.csrf || "";
  const lang = () => document.documentElement.lang || "zh-CN";
  const t = (zh, en) => (lang() === "en" ? en : zh);

  function toast(text, isError) {
    let box = document.getElementById("toast");
    if (!box) { box = document.createElement("div"); box.id = "toast"; document.body.appendChild(box); }
    const msg = document.createElement("div");
    msg.className = "msg" + (isError ? " error" : "");
    msg.setAttribute("role", isError ? "alert" : "status");
    msg.textContent = text;
    box.appendChild(msg);
    setTimeout(() => msg.remove(), isError ? 8000 : 3000);
  }
  window.qzToast = toast;

  // Sends JSON to the API; resolves with the parsed body, rejects with {status, error}.
  async function api(method, url, body) {
    const init = { method, headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const response = await fetch(url, init);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { raw: text }; }
    if (!response.ok) throw { status: response.status, error: (data && data.error) || { message: text || response.statusText } };
    return data;
  }
  window.qzApi = api;

  // Collects a form into JSON: name="a.b" nests; data-type="number|bool|json|list" converts;
  // empty optional fields (data-optional) are left out.
  function formJson(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.name === "_csrf") continue;
      if ((el.type === "radio") && !el.checked) continue;
      let value;
      const type = el.dataset.type;
      if (el.type === "checkbox") value = el.checked;
      else value = el.value;
      if (el.type !== "checkbox" && value === "" && el.dataset.optional !== undefined) continue;
      if (type === "number") value = value === "" ? null : Number(value);
      else if (type === "bool") value = value === true || value === "true";
      else if (type === "json") value = value === "" ? null : JSON.parse(value);
      else if (type === "list") value = value.split(/[\n,，]/).map((s) => s.trim()).filter(Boolean);
      let target = out;
      const path = el.name.split(".");
      for (const key of path.slice(0, -1)) target = target[key] = target[key] || {};
      target[path[path.length - 1]] = value;
    }
    return out;
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error[data-generated]").forEach((e) => e.remove());
    form.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
  }

  // Shows an API error: each problem next to the field whose data-path (or name) matches.
  function showError(form, failure) {
    const error = failure.error || {};
    let placed = 0;
    const problems = error.problems || (error.field ? [{ path: error.field, message: error.message }] : []);
    for (const p of problems) {
      const el = form && (form.querySelector(`[data-path="${CSS.escape(p.path)}"]`) || form.querySelector(`[name="${CSS.escape(p.path)}"]`));
      if (!el) continue;
      el.classList.add("invalid");
      const note = document.createElement("div");
      note.className = "field-error"; note.dataset.generated = ""; note.textContent = p.message;
      el.insertAdjacentElement("afterend", note);
      placed++;
    }
    if (placed < problems.length || problems.length === 0) toast(error.message || t("操作失败", "failed"), true);
  }

  function after(el, data) {
    const then = el.dataset.then || "reload";
    if (el.dataset.done) toast(el.dataset.done);
    if (then === "reload") setTimeout(() => location.reload(), el.dataset.done ? 400 : 0);
    else if (then.startsWith("/")) location.href = then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent((data && data[k]) ?? ""));
    else if (then === "none") {}
    document.dispatchEvent(new CustomEvent("qz:done", { detail: { element: el, data } }));
  }

  // <form data-api="/api/v1/…" data-method="POST" data-then="reload|none|/path/{id}" data-confirm="…">
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    clearErrors(form);
    const submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    try {
      let body;
      try { body = form.dataset.body ? JSON.parse(form.dataset.body) : formJson(form); }
      catch (e) { toast(t("格式错误：", "Malformed: ") + e.message, true); return; }
      const data = await api(form.dataset.method || "POST", form.dataset.api, body);
      after(form, data);
    } catch (failure) { showError(form, failure); }
    finally { if (submit) submit.disabled = false; }
  });

  // <button data-api="/api/v1/…" data-method="POST" data-body='{"…"}' data-confirm="…">
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-api]");
    if (button && !button.form) {
      event.preventDefault();
      if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
      button.disabled = true;
      try {
        const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
        after(button, await api(button.dataset.method || "POST", button.dataset.api, body));
      } catch (failure) { showError(null, failure); }
      finally { button.disabled = false; }
      return;
    }
    const toggle = event.target.closest(".menu-toggle");
    if (toggle) document.querySelector(".nav")?.classList.toggle("open");
  });

  // <div class="chart" data-chart="/api/v1/…" data-kind="line|bar|heatmap" data-x="day" data-series="messages:消息,active:活跃">
  // or data-option='{…echarts option…}' for a ready option.
  function drawCharts(root) {
    if (!window.echarts) return;
    const dark = window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches;
    root.querySelectorAll(".chart[data-option], .chart[data-chart]").forEach(async (el) => {
      if (el.dataset.drawn) return;
      el.dataset.drawn = "1";
      let option;
      if (el.dataset.option) option = JSON.parse(el.dataset.option);
      else {
        try { option = window.qzChartOption(el, await api("GET", el.dataset.chart)); }
        catch (failure) { el.textContent = (failure.error && failure.error.message) || t("图表加载失败", "chart failed to load"); return; }
      }
      const chart = echarts.init(el, dark ? "dark" : null, { renderer: "svg" });
      chart.setOption(option);
      window.addEventListener("resize", () => chart.resize());
    });
  }
  // Default translation of an API answer into a chart option; pages may replace it.
  window.qzChartOption = window.qzChartOption || function (el, data) {
    const rows = Array.isArray(data) ? data : (data.rows || data.items || data.weeks || data.days || []);
    const x = el.dataset.x || "day";
    const series = (el.dataset.series || "").split(",").filter(Boolean).map((s) => s.split(":"));
    return {
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: rows.map((r) => r[x]) }, yAxis: { type: "value" },
      series: series.map(([key, name]) => ({ name: name || key, type: el.dataset.kind || "line", smooth: true, data: rows.map((r) => r[key]) })),
    };
  };
  document.addEventListener("DOMContentLoaded", () => drawCharts(document));
  document.addEventListener("htmx:afterSettle", (e) => drawCharts(e.target));
  document.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = csrf(); });
})();
