// Requests: recent requests; one request's spans as a waterfall across services and
// greenthreads, with the RPC arrows from each sender's span to the receiver's.
"use strict";

const LABEL = 520;
const BAR_ROW = 20;

function renderList(data) {
  if (!data.requests.length) {
    replace("list", el("p", { class: "muted" }, data.traced ? "No request yet."
      : "No request traced yet (tracing is off: [trace] enabled = true turns it on)."));
    return;
  }
  replace("list", table(["Request", "What", "Service", "Duration#", "Status"],
    data.requests.map(r => el("tr", {},
      td(el("a", { class: "rid", href: `#${encodeURIComponent(r.request_id)}` }, r.request_id)),
      td(r.what || "-"), td(r.service || "-"),
      td(r.duration === null ? "-" : seconds(r.duration), "num"),
      td(r.status || "-", r.status === "error" ? "down" : null)))));
}

function waterfall(data) {
  const spans = data.spans;
  const t0 = data.start;
  const total = Math.max(1, data.end - data.start);
  const width = 1200;
  const scale = ns => LABEL + ((ns - t0) / total) * (width - LABEL - 10);
  const height = 30 + spans.length * BAR_ROW;
  const row = new Map(spans.map((s, i) => [s.span_id, i]));
  const picture = svg("svg", { width, height, id: "waterfall", viewBox: `0 0 ${width} ${height}` });
  picture.append(svg("defs", {}, svg("marker", { id: "rpc-head", markerWidth: 7, markerHeight: 7,
    refX: 6, refY: 3.5, orient: "auto" }, svg("path", { d: "M0,0 L7,3.5 L0,7 z", fill: "#c4320a" }))));
  picture.append(svg("text", { x: LABEL, y: 14 }, `0`));
  picture.append(svg("text", { x: width - 10, y: 14, "text-anchor": "end" },
    seconds(total / 1e9)));
  spans.forEach((span, i) => {
    const y = 24 + i * BAR_ROW;
    const depth = data.depths[span.span_id] || 0;
    const x1 = scale(span.start);
    const x2 = Math.max(x1 + 2, scale(span.end));
    const kind = span.status === "error" ? "error" : span.kind;
    const group = svg("g", { class: "span", "data-span-id": span.span_id, "data-name": span.name,
      "data-service": `${span.service}@${span.host}` });
    group.append(svg("title", {}, `${span.name}\n${span.service}@${span.host} ${span.greenthread}\n`
      + `${seconds((span.end - span.start) / 1e9)} at +${seconds((span.start - t0) / 1e9)}`
      + (span.error ? `\n${span.error}` : "")));
    group.append(svg("text", { x: 4, y: y + 12 }, `${span.service}@${span.host} ${span.greenthread}`));
    const nameX = 190 + Math.min(depth, 12) * 8;
    const room = Math.floor((LABEL - 12 - nameX) / 6.3);
    const name = span.name.length > room ? span.name.slice(0, room - 1) + "\u2026" : span.name;
    group.append(svg("text", { x: nameX, y: y + 12 }, name));
    group.append(svg("rect", { x: x1, y: y + 2, width: x2 - x1, height: BAR_ROW - 6,
      class: `span-rect ${kind}` }));
    picture.append(group);
  });
  for (const link of data.arrows) {
    const from = spans[row.get(link.from)];
    const to = spans[row.get(link.to)];
    const y1 = 24 + row.get(link.from) * BAR_ROW + BAR_ROW / 2;
    const y2 = 24 + row.get(link.to) * BAR_ROW + 4;
    const x1 = scale(from.start);
    const x2 = scale(to.start);
    picture.append(svg("path", { class: "rpc-arrow", "data-from": link.from, "data-to": link.to,
      d: `M${x1},${y1} C${x1 + 20},${y1} ${x2 - 20},${y2} ${x2},${y2}`,
      "marker-end": "url(#rpc-head)" }));
  }
  return picture;
}

function renderActions(actions) {
  if (!actions.length) return el("p", { class: "muted" }, "No instance action of this request.");
  return actions.map(action => el("div", {},
    el("p", {}, `${action.action} on ${action.instance_uuid}: ${action.message || "ok"}`),
    table(["Event", "Host", "Start", "Finish", "Result"], action.events.map(e => el("tr", {},
      td(e.event), td(e.host || "-"), td(e.start_time || "-"), td(e.finish_time || "-"),
      td(e.result || "-", e.result === "Error" ? "down" : null))))));
}

async function showRequest(requestId) {
  if (!requestId) { replace("request", el("p", { class: "muted" }, "Pick a request.")); return; }
  let data;
  try {
    data = await getJSON(`/api/requests/${encodeURIComponent(requestId)}`);
  } catch (error) {
    replace("request", el("p", { class: "down" }, `No trace of ${requestId} (yet).`));
    return;
  }
  replace("request",
    el("p", {}, el("b", { id: "request-id" }, data.request_id), ` \u2014 ${data.spans.length} spans, `,
      seconds((data.end - data.start) / 1e9), " ",
      el("a", { href: `/messages?request_id=${encodeURIComponent(data.request_id)}` },
        "its messages")),
    el("div", { class: "scroll" }, waterfall(data)),
    el("h2", {}, "Instance action events"), renderActions(data.actions),
    el("h2", {}, "As nova-sim trace show prints it"), el("pre", {}, data.text));
}

async function refresh() {
  renderList(await getJSON("/api/requests"));
}

document.addEventListener("DOMContentLoaded", async () => {
  replace("main",
    el("section", {}, el("h2", {}, "Request"), el("div", { id: "request" })),
    el("section", {}, el("div", { class: "toolbar" }, el("h2", {}, "Recent requests"),
      el("button", { id: "refresh", onclick: refresh }, "Refresh")),
      el("div", { class: "scroll", id: "list" })));
  if (STATIC) return;
  window.addEventListener("hashchange", () =>
    showRequest(decodeURIComponent(location.hash.slice(1))));
  await refresh();
  await showRequest(decodeURIComponent(location.hash.slice(1)));
  setStatus("", "");
});
