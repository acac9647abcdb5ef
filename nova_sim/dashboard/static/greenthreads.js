// Greenthreads: what each greenthread of the process does and waits on, and the pools.
"use strict";

function stateText(t) {
  if (t.state === "sleeping") return `sleeping, wakes in ${seconds(t.wakes_in)}`;
  if (t.state === "blocked") {
    const timeout = t.timeout_in !== undefined ? `, times out in ${seconds(t.timeout_in)}` : "";
    return `blocked on ${t.blocked_on}${timeout}`;
  }
  return t.state;
}

function renderGreenthreads(data) {
  const states = Object.entries(data.states).map(([k, v]) => `${v} ${k}`).join(", ");
  replace("summary", `process ${data.pid}: ${data.greenthreads.length} greenthreads (${states});`
    + ` ${data.idle_runners} idle runners; snapshot took ${seconds(data.took)}`);
  replace("threads", table(
    ["Service", "Greenthread", "Started by", "Pool", "State", "Waiting in", "Where"],
    data.greenthreads.map(t => el("tr", { "data-state": t.state, "data-origin": t.origin },
      td(t.service || "-"), td(t.method ? `${t.name}: ${t.method}` : t.name),
      td(t.origin), td(t.pool || "-"), td(stateText(t), t.state === "blocked" ? "warn" : null),
      td(t.detail || "-", "muted"), td(t.where || "-", "muted")))));
  replace("scheduled", table(["Service", "Function", "Started by", "Starts in#"],
    data.scheduled.map(s => el("tr", {}, td(s.service || "-"), td(s.name), td(s.origin),
      td(seconds(s.starts_in), "num")))));
  replace("pools", table(["Pool", "Size#", "Running#", "Free#", "Waiting#"],
    data.pools.map(p => el("tr", {}, td(p.name), td(p.size, "num"), td(p.running, "num"),
      td(p.free, "num"), td(p.waiting, "num")))));
  replace("blocking", data.blocking.length
    ? data.blocking.map(text => el("pre", { class: "warn" }, text))
    : el("p", { class: "muted" }, "No blocking detected: the hub has answered the "
      + "dashboard's detector within its resolution (1 s) since the dashboard started."));
}

document.addEventListener("DOMContentLoaded", async () => {
  replace("main",
    el("p", { id: "summary", class: "muted" }),
    el("section", {}, el("h2", {}, "Greenthreads"), el("div", { class: "scroll", id: "threads" })),
    el("section", {}, el("h2", {}, "Scheduled starts (timers)"), el("div", { id: "scheduled" })),
    el("section", {}, el("h2", {}, "Pools"), el("div", { id: "pools" })),
    el("section", {}, el("h2", {}, "Blocking detector"), el("div", { id: "blocking" })));
  if (STATIC) return;
  renderGreenthreads(await getJSON("/api/greenthreads"));
  live({ greenthreads: renderGreenthreads });
});
