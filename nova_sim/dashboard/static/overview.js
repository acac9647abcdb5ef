// Overview: services, hosts, instances and rates, updated live.
"use strict";

function renderOverview(data) {
  const up = data.services.filter(s => s.state === "up").length;
  const rates = data.rates || {};
  replace("cards",
    el("div", { class: "card" }, el("b", { id: "services-up" }, `${up}/${data.services.length}`),
      "services up"),
    el("div", { class: "card" }, el("b", {}, data.hosts.length), "compute hosts"),
    el("div", { class: "card" }, el("b", { id: "instance-total" }, data.instances.total),
      "instances"),
    el("div", { class: "card" }, el("b", {}, rate(rates.messages_per_s)), "RPC messages"),
    el("div", { class: "card" }, el("b", {}, rate(rates.requests_per_s)), "API requests"));
  replace("services", table(
    ["Binary", "Host", "State", "Status", "Forced down", "Heartbeat age#"],
    data.services.map(s => el("tr", { "data-service": `${s.binary}@${s.host}` },
      td(s.binary), td(s.host), td(s.state, s.state), td(s.status),
      td(s.forced_down ? "yes" : "no", s.forced_down ? "down" : null),
      td(seconds(s.heartbeat_age), "num")))));
  replace("hosts", table(
    ["Host", "State", "vCPUs", "RAM (MiB)", "Disk (GiB)", "VMs#"],
    data.hosts.map(h => el("tr", {},
      td(h.host), td(h.state, h.state), td(usage(h.vcpus_used, h.vcpus)),
      td(usage(h.memory_mb_used, h.memory_mb)), td(usage(h.local_gb_used, h.local_gb)),
      td(h.running_vms ?? "-", "num")))));
  replace("states", table(["vm_state", "task_state", "Count#"],
    data.instances.by_state.map(s => el("tr", {},
      td(s.vm_state), td(s.task_state), td(s.count, "num")))));
  replace("instances", table(["Name", "UUID", "Host", "vm_state", "task_state"],
    data.instances.latest.map(i => el("tr", { "data-uuid": i.uuid },
      td(i.name), td(i.uuid, "muted"), td(i.host || "-"),
      td(i.vm_state, "vm-state"), td(i.task_state || "-")))));
}

document.addEventListener("DOMContentLoaded", async () => {
  replace("main",
    el("div", { class: "cards", id: "cards" }),
    el("section", {}, el("h2", {}, "Services"), el("div", { id: "services" })),
    el("section", {}, el("h2", {}, "Hosts"), el("div", { id: "hosts" })),
    el("section", {}, el("h2", {}, "Instances by state"), el("div", { id: "states" })),
    el("section", {}, el("h2", {}, "Latest instances"), el("div", { id: "instances" })));
  if (STATIC) return;
  renderOverview(await getJSON("/api/overview"));
  live({ overview: renderOverview });
});
