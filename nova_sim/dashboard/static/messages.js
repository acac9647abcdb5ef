// Messages: a live sequence diagram of the RPC traffic between services.
"use strict";

const SHOWN = 300;      // messages drawn at most (the latest)
const LANE_WIDTH = 190;
const ROW = 24;
const TOP = 20;
const state = { messages: [], paused: false, held: [], filter: "", lanes: [] };

function laneOrder(name) {
  const order = ["nova-api", "nova-conductor", "nova-scheduler"];
  const index = order.indexOf(name);
  return index >= 0 ? `${index}` : `9${name}`;
}

function lanesOf(messages) {
  const lanes = new Set(state.lanes);
  for (const m of messages) {
    for (const lane of [m.source, m.target]) {
      if (!lane.endsWith("@*")) lanes.add(lane);
    }
  }
  return [...lanes].sort((a, b) => laneOrder(a).localeCompare(laneOrder(b)));
}

function targetsOf(message, lanes) {
  if (!message.target.endsWith("@*")) return [message.target];
  const prefix = message.target.slice(0, -1);
  const all = lanes.filter(lane => lane.startsWith(prefix));
  return all.length ? all : [message.target];
}

function label(m) {
  const parts = [m.method || "?"];
  if (m.kind !== "reply") parts.push(m.kind);
  if (m.size !== null) parts.push(bytes(m.size));
  if (m.latency !== null) parts.push(seconds(m.latency));
  return parts.join("  ");
}

function arrow(x1, x2, y, kind, title, message) {
  const group = svg("g", { class: "msg", "data-kind": kind, "data-method": message.method,
    "data-request-id": message.request_id || "" });
  group.append(svg("title", {}, title));
  if (x1 === x2) {
    group.append(svg("path", { d: `M${x1},${y - 6} h24 v10 h-24`, class: kind, fill: "none",
      "marker-end": "url(#head)" }));
  } else {
    group.append(svg("line", { x1, y1: y, x2, y2: y, class: kind, "stroke-width": 1.5,
      "marker-end": "url(#head)" }));
  }
  const middle = x1 === x2 ? x1 + 30 : (x1 + x2) / 2;
  group.append(svg("text", { x: middle, y: y - 4, "text-anchor": x1 === x2 ? "start" : "middle" },
    label(message)));
  group.addEventListener("click", () => showDetail(message));
  return group;
}

function showDetail(m) {
  replace("detail", table(["Field", "Value"], Object.entries(m).map(([k, v]) =>
    el("tr", {}, td(k), td(k === "request_id" ? requestLink(v) : (v ?? "-")))))); 
}

function draw() {
  const wanted = state.filter;
  const shown = state.messages.filter(m => !wanted || m.request_id === wanted).slice(-SHOWN);
  const lanes = lanesOf(shown);
  const x = lane => 80 + lanes.indexOf(lane) * LANE_WIDTH;
  const height = TOP + shown.length * ROW + 20;
  const width = 80 + Math.max(lanes.length, 1) * LANE_WIDTH;
  const picture = svg("svg", { width, height, id: "sequence", viewBox: `0 0 ${width} ${height}` });
  picture.append(svg("defs", {}, svg("marker", { id: "head", markerWidth: 8, markerHeight: 8,
    refX: 7, refY: 4, orient: "auto" }, svg("path", { d: "M0,0 L8,4 L0,8 z", fill: "#555" }))));
  // the lanes' names stay in view above the scrolling diagram
  const header = svg("svg", { width, height: 24, id: "lanes" });
  for (const lane of lanes) {
    header.append(svg("text", { x: x(lane), y: 16, "text-anchor": "middle",
      class: "lane-label" }, lane));
    picture.append(svg("line", { x1: x(lane), y1: 0, x2: x(lane), y2: height, class: "lane" }));
  }
  replace("lane-names", header);
  shown.forEach((m, index) => {
    const y = TOP + index * ROW;
    const time = new Date(m.time * 1000).toLocaleTimeString();
    for (const target of targetsOf(m, lanes)) {
      const title = `${time} ${m.kind} ${m.method} ${m.source} -> ${target}`
        + (m.request_id ? ` (${m.request_id})` : "");
      picture.append(arrow(x(m.source), x(target) ?? x(m.source), y, m.kind, title, m));
    }
  });
  replace("diagram", picture);
  replace("count", `${shown.length} message(s) shown` + (state.paused
    ? `, paused (${state.held.length} waiting)` : ""));
  const box = document.getElementById("diagram");
  if (!state.paused) box.scrollTop = box.scrollHeight;
}

function add(messages) {
  if (state.paused) { state.held.push(...messages); replace("count",
    `paused (${state.held.length} waiting)`); return; }
  state.messages.push(...messages);
  if (state.messages.length > 2000) state.messages.splice(0, state.messages.length - 2000);
  draw();
}

async function load() {
  const query = state.filter ? `?request_id=${encodeURIComponent(state.filter)}` : "";
  const data = await getJSON(`/api/messages${query}`);
  state.messages = data.messages;
  draw();
}

document.addEventListener("DOMContentLoaded", async () => {
  const pause = el("button", { id: "pause", onclick: () => {
    state.paused = !state.paused;
    pause.textContent = state.paused ? "Resume" : "Pause";
    if (state.paused) replace("count", "paused (0 waiting)");
    else { const held = state.held; state.held = []; add(held); }
  } }, "Pause");
  const filter = el("input", { type: "text", id: "filter", placeholder: "filter by request id (req-...)" });
  filter.addEventListener("change", () => { state.filter = filter.value.trim(); load(); });
  state.filter = new URLSearchParams(location.search).get("request_id") || "";
  filter.value = state.filter;
  replace("main",
    el("div", { class: "toolbar" }, pause, filter, el("span", { id: "count", class: "muted" })),
    el("section", {}, el("h2", {}, "RPC sequence (call, cast, fanout, reply)"),
      el("div", { id: "lane-names" }), el("div", { class: "scroll", id: "diagram" })),
    el("section", {}, el("h2", {}, "Message"), el("div", { id: "detail", class: "muted" },
      "Click an arrow.")));
  if (STATIC) return;
  const overview = await getJSON("/api/overview");
  state.lanes = overview.services.map(s =>
    s.binary === "nova-compute" ? `${s.binary}@${s.host}` : s.binary);
  if (!state.lanes.includes("nova-api")) state.lanes.unshift("nova-api");
  await load();
  live({ messages: data => add(data.messages) });
});
