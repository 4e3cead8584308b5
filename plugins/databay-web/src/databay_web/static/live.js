// Live updates for databay-web's pages. The pages are complete without this script; it
// only polls their JSON twins (/api/...) and updates the cells marked with data-field.
// Everything it writes is text (textContent), never HTML.
"use strict";

(function () {
  const PERIOD = 2000;

  function pad(n) { return String(n).padStart(2, "0"); }
  function when(stamp) {
    if (stamp === null || stamp === undefined) return "-";
    const d = new Date(stamp * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function seconds(s) {
    if (s === null || s === undefined) return "-";
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    return s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`;
  }
  function count(n) { return n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US"); }
  function lookup(data, path) {
    return path.split(".").reduce((value, key) => (value === null || value === undefined ? value : value[key]), data);
  }
  function shown(field, value) {
    const last = field.split(".").pop();
    if (["started", "ended", "next_due"].includes(last)) return when(value);
    if (last === "duration") return seconds(value);
    if (typeof value === "number") return count(value);
    return value === null || value === undefined ? "-" : String(value);
  }
  function fill(scope, data) {
    for (const cell of scope.querySelectorAll("[data-field]")) {
      const value = lookup(data, cell.dataset.field);
      const target = cell.querySelector("a") || cell;
      const text = shown(cell.dataset.field, value);
      if (target.textContent !== text) target.textContent = text;
    }
  }

  const views = {
    overview(element, data) {
      const status = document.querySelector("[data-status]");
      if (status && status.textContent !== (data.planner_status || "")) status.textContent = data.planner_status || "";
      for (const [key, value] of Object.entries(data.totals)) {
        const cell = document.querySelector(`[data-total="${key}"]`);
        if (cell) cell.textContent = count(value);
      }
      for (const link of data.links) {
        const row = document.querySelector(`tr[data-link="${link.index}"]`);
        if (!row) continue;
        row.className = `state-${link.state.replace(/ /g, "-")}`;
        fill(row, link);
      }
    },
    link(element, data) { fill(element, data); },
    log(element, data) {
      const body = element.querySelector("tbody");
      for (const entry of data.entries) {
        const row = document.createElement("tr");
        row.className = `level-${entry.level}`;
        const link = entry.link === null ? "" : data.links[entry.link].name;
        const message = entry.traceback ? `${entry.message}\n${entry.traceback}` : entry.message;
        for (const text of [when(entry.time), entry.level, entry.logger, link]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        }
        const cell = document.createElement("td");
        const pre = document.createElement("pre");
        pre.textContent = message;
        cell.appendChild(pre);
        row.appendChild(cell);
        body.appendChild(row);
      }
      element.dataset.after = data.last;
    },
  };

  async function poll(element) {
    const view = views[element.dataset.view];
    let url = element.dataset.live;
    if (element.dataset.after !== undefined) url += `${url.includes("?") ? "&" : "?"}after=${element.dataset.after}`;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      view(element, await response.json());
      element.classList.remove("live-off");
    } catch (error) {
      element.classList.add("live-off");  // the server stopped, or the login ended: keep what is shown
    }
    setTimeout(() => poll(element), PERIOD);
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const element of document.querySelectorAll("[data-live]")) setTimeout(() => poll(element), PERIOD);
    for (const form of document.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (event) => { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
    }
  });
})();
