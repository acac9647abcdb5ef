// Simulation: a finished `nova-sim simulate --out DIR` run's figures and plots (the
// static export writes them into DIR/dashboard/simulation-data.js).
"use strict";

function renderSimulation(run) {
  const parts = [el("section", {}, el("h2", { id: "sim-title" }, run.title),
    el("p", { class: "muted" }, run.summary))];
  for (const workload of run.workloads) {
    const plots = el("div", { class: "plot" });
    // The plots are SVG that matplotlib drew when the run was exported (not user input).
    plots.innerHTML = workload.plots.join("\n");
    parts.push(el("section", { class: "workload" }, el("h2", {}, workload.scenario),
      el("pre", {}, workload.response_table), el("pre", {}, workload.sla_table),
      plots, el("h2", {}, "Nova's side"), el("pre", {}, workload.nova)));
  }
  if (run.repeat) parts.push(el("section", {}, el("h2", {}, "Over the seeds"),
    el("pre", {}, run.repeat)));
  replace("main", parts);
}

document.addEventListener("DOMContentLoaded", () => {
  if (window.SIMULATION) {
    renderSimulation(window.SIMULATION);
    setStatus("a finished run (static pages)", "");
    return;
  }
  replace("main", el("section", {}, el("h2", {}, "No simulation here"),
    el("p", {}, "A running cloud has no simulation run. Run one with ",
      el("code", {}, "nova-sim simulate TASK --out DIR"), " and open ",
      el("code", {}, "DIR/dashboard/simulation.html"), " in a browser.")));
  setStatus("", "");
});
