// nova-sim dashboard: what every page shares (no library, no build step).
"use strict";

// A static export (nova-sim simulate --out DIR) sets window.NOVA_STATIC: no live server.
const STATIC = Boolean(window.NOVA_STATIC);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function replace(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children.flat());
  return node;
}

function seconds(value) {
  if (value === null || value === undefined) return "-";
  if (value < 1e-3) return (value * 1e6).toFixed(0) + " \u00b5s";
  if (value < 1) return (value * 1e3).toFixed(1) + " ms";
  if (value < 120) return value.toFixed(1) + " s";
  return (value / 60).toFixed(1) + " min";
}

function bytes(value) {
  if (value === null || value === undefined) return "-";
  return value < 1024 ? value + " B" : (value / 1024).toFixed(1) + " KiB";
}

function rate(value) {
  return value === null || value === undefined ? "-" : value.toFixed(1) + "/s";
}

function usage(used, total) {
  const fraction = total ? Math.min(1, used / total) : 0;
  const filled = el("span", {});
  // through the CSSOM: the Content-Security-Policy refuses style attributes
  filled.style.width = `${(fraction * 100).toFixed(0)}%`;
  return el("span", { class: "usage", "data-fraction": fraction.toFixed(3) },
    el("span", { class: "bar" }, filled), `${used} / ${total}`);
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map(h =>
      el("th", { class: h.endsWith("#") ? "num" : null }, h.replace(/#$/, ""))))),
    el("tbody", {}, rows));
}

function td(value, cls) { return el("td", { class: cls }, value); }

async function getJSON(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" } });
  if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
  return answer.json();
}

function setStatus(text, cls) {
  const node = document.getElementById("status");
  if (node) { node.textContent = text; node.className = cls || ""; }
}

// Subscribe to the live stream: handlers maps a topic to a function of its data.
function live(handlers) {
  if (STATIC) { setStatus("static export", "stopped"); return null; }
  const topics = Object.keys(handlers).join(",");
  const source = new EventSource(`/api/events?topics=${topics}`);
  for (const [topic, handler] of Object.entries(handlers)) {
    source.addEventListener(topic, event => {
      setStatus("live " + new Date().toLocaleTimeString(), "live");
      handler(JSON.parse(event.data));
    });
  }
  source.onopen = () => setStatus("live", "live");
  source.onerror = () => setStatus("disconnected (retrying)", "stopped");
  return source;
}

function requestLink(requestId) {
  if (!requestId) return "-";
  return el("a", { class: "rid", href: `/requests#${encodeURIComponent(requestId)}` },
    requestId);
}

// The header's links: a static export has only the simulation page.
document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === page) link.classList.add("active");
    if (STATIC && link.dataset.page !== "simulation") link.classList.add("disabled");
  }
});
