"""Where the dashboard's figures come from: the compute API, the span store, the hub.

Owns ``Sources``: built from what runs in this process (a one-process ``Cloud``, or the
``ProcessService`` of ``nova-sim api`` in a multi-process cloud), it answers each JSON
endpoint with plain dicts:

- ``overview()``: services (through the compute API with an admin context: the same
  rows ``GET /os-services`` shows), hosts (``GET /os-hypervisors``), instances by
  ``vm_state`` / ``task_state`` and the latest ones, message and request rates;
- ``greenthreads()``: this process's greenthreads and pools (``greenthreads.snapshot``);
- ``requests()`` / ``request(id)``: recent requests and one request's spans, read from
  the span store as ``nova-sim trace show`` reads them, with the instance actions'
  events of that request.

It never changes anything and reads nothing an admin token could not read through the
API (plus this process's own runtime state and span files).
"""

from __future__ import annotations

import collections
import os
import time
from typing import Any

from nova_sim import context as nova_context
from nova_sim import exception, green
from nova_sim import trace as trace_api
from nova_sim.dashboard import greenthreads as greenthreads_module
from nova_sim.db.api import parse_timestamp
from nova_sim.green.greenpool import GreenPool

#: Seconds of samples the overview's rates are averaged over.
RATE_WINDOW = 5.0
#: How many instances the overview lists (the latest created).
LATEST_INSTANCES = 50


def _pools_of(owner: Any, prefix: str) -> list[tuple[str, GreenPool]]:
    """``owner``'s GreenPool attributes, named ``prefix: attribute``."""
    found = []
    for name, value in sorted(vars(owner).items()):
        if isinstance(value, GreenPool):
            found.append((f"{prefix}: {name.strip('_')}", value))
    return found


def _duration(span: dict[str, Any]) -> float:
    return (int(span.get("end") or 0) - int(span.get("start") or 0)) / 1e9


def _span_view(span: dict[str, Any]) -> dict[str, Any]:
    return {key: span.get(key) for key in (
        "span_id", "parent_id", "trace_id", "name", "kind", "service", "host",
        "greenthread", "start", "end", "status", "error", "request_id", "attributes",
        "events")}


def _instance_uuids(spans: list[dict[str, Any]]) -> list[str]:
    """Instance uuids named in the spans' attributes and events, in order."""
    seen: dict[str, None] = {}
    for span in spans:
        values = [span.get("attributes") or {}]
        values += [event.get("attributes") or {} for event in span.get("events") or ()]
        for attributes in values:
            uuid = attributes.get("instance_uuid") if isinstance(attributes, dict) else None
            if isinstance(uuid, str):
                seen.setdefault(uuid, None)
    return list(seen)


class Sources:
    """The dashboard's data (see the module docstring).

    ``compute_api``: the compute API object (``nova_sim.compute.api.API``);
    ``services``: the service objects of this process (to name their pools);
    ``servers``: ``(name, green WSGI server)`` pairs whose requests are counted;
    ``conf``: the configuration (``[trace] output_dir``); ``messages``: the
    ``MessageLog``.
    """

    def __init__(self, compute_api: Any, conf: Any, messages: Any,
                 services: list[Any] | None = None,
                 servers: list[tuple[str, Any]] | None = None):
        self.compute_api = compute_api
        self.conf = conf
        self.messages = messages
        self.services = list(services or [])
        self.servers = list(servers or [])
        self.hub = green.get_hub()
        #: by id, the name of other objects whose methods greenthreads run
        self.owners: dict[int, str] = {}
        #: the blocking detector's reports (the dashboard's ``HubWatchdog`` fills them)
        self.blocking_reports: collections.deque[str] = collections.deque(maxlen=20)
        self._samples: collections.deque[tuple[float, int, int]] = collections.deque(
            maxlen=64)
        self._clock = time.monotonic  # the rates' clock (real time, as the counters run)
        self._traces_key: Any = None
        self._traces: Any = None

    @classmethod
    def of(cls, running: Any, conf: Any, messages: Any) -> Sources:
        """The sources of a started ``Cloud`` or ``nova-sim api`` ``ProcessService``."""
        api_service = getattr(running, "api_service", None)
        if api_service is None and getattr(running, "binary", None) == "nova-api":
            api_service = running.service
        compute_api = getattr(running, "api", None)
        if compute_api is None and api_service is not None:
            compute_api = api_service.compute_api
        services = [s for s in (getattr(running, "conductor", None),
                                getattr(running, "scheduler", None)) if s is not None]
        services += list(getattr(running, "computes", {}).values())
        servers = []
        if api_service is not None and api_service.server is not None:
            servers.append(("nova-api", api_service.server))
        return cls(compute_api, conf, messages, services, servers)

    # -- pools and greenthreads ---------------------------------------------------------
    def pools(self) -> list[tuple[str, GreenPool]]:
        """Every pool of this process's services and servers, named."""
        found = []
        for service in self.services:
            prefix = f"{service.binary}@{service.host}"
            rpcserver = getattr(service, "rpcserver", None)
            pool = getattr(rpcserver, "_pool", None)
            if isinstance(pool, GreenPool):
                found.append((f"{prefix}: RPC executor", pool))
            manager = getattr(service, "manager", None)
            if manager is not None:
                found += _pools_of(manager, prefix)
        for name, server in self.servers:
            found.append((f"{name}: WSGI connections", server.pool))
        return found

    def greenthreads(self) -> dict[str, Any]:
        """This process's greenthreads, scheduled starts, pools and blocking reports."""
        from nova_sim.green import debug

        reports = list(self.blocking_reports)
        detector = debug._detector
        if detector is not None:
            reports += detector.reports[-20:]
        owners = {id(server): name for name, server in self.servers}
        owners.update(self.owners)
        return greenthreads_module.snapshot(self.hub, self.pools(), reports, owners)

    # -- overview -----------------------------------------------------------------------
    def sample(self) -> None:
        """Record the message and request counters now (the rates are made of these)."""
        requests = sum(server.requests for name, server in self.servers
                       if name != "dashboard")  # the API's, not the dashboard's own
        self._samples.append((self._clock(), self.messages.total, requests))

    def rates(self) -> dict[str, float | None]:
        """Messages and API requests per second over the last ``RATE_WINDOW`` seconds
        of samples (None until two samples exist)."""
        samples = self._samples
        if len(samples) < 2:
            return {"messages_per_s": None, "requests_per_s": None}
        last = samples[-1]
        first = next((s for s in samples if last[0] - s[0] <= RATE_WINDOW), samples[0])
        if first is last:
            first = samples[-2]
        span = last[0] - first[0] or 1e-9
        return {"messages_per_s": (last[1] - first[1]) / span,
                "requests_per_s": (last[2] - first[2]) / span}

    def _admin(self) -> Any:
        return nova_context.get_admin_context()

    def overview(self) -> dict[str, Any]:
        """Services, hosts, instances and rates (see the module docstring)."""
        ctxt = self._admin()
        api = self.compute_api
        now = green.wallclock()
        services = []
        for row in api.service_list(ctxt):
            last = row.get("last_seen_up") or row.get("updated_at") or row.get("created_at")
            services.append({
                "id": row["id"], "binary": row["binary"], "host": row["host"],
                "state": row["state"], "status": row["status"],
                "forced_down": bool(row.get("forced_down")),
                "heartbeat_age": None if last is None else now - parse_timestamp(last),
            })
        hosts = []
        for node in api.hypervisor_list(ctxt):
            hosts.append({
                "host": node["host"], "state": node["state"], "status": node["status"],
                "vcpus": node["vcpus"], "vcpus_used": node["vcpus_used"],
                "memory_mb": node["memory_mb"], "memory_mb_used": node["memory_mb_used"],
                "local_gb": node["local_gb"], "local_gb_used": node["local_gb_used"],
                "running_vms": node.get("running_vms"),
            })
        instances = api.db.instance_get_all_by_filters({"deleted": False})
        by_state: collections.Counter[tuple[str, str]] = collections.Counter(
            (row["vm_state"], row["task_state"] or "-") for row in instances)
        latest = sorted(instances, key=lambda row: (str(row.get("created_at")), row["id"]),
                        reverse=True)[:LATEST_INSTANCES]
        return {
            "time": now,
            "services": services,
            "hosts": hosts,
            "instances": {
                "total": len(instances),
                "by_state": [{"vm_state": vm, "task_state": task, "count": count}
                             for (vm, task), count in sorted(by_state.items())],
                "latest": [{"uuid": row["uuid"], "name": row.get("display_name"),
                            "host": row.get("host"), "vm_state": row["vm_state"],
                            "task_state": row["task_state"],
                            "created_at": row.get("created_at")} for row in latest],
            },
            "rates": self.rates(),
            "messages_total": self.messages.total,
        }

    # -- requests (the span store) ------------------------------------------------------
    def _trace_set(self) -> Any:
        """The span store as a ``TraceSet``, read again only when a file or this
        process's tracer changed."""
        from nova_sim.trace import store
        from nova_sim.trace.model import TraceSet

        tracer = trace_api.get_tracer()
        if tracer is not None and getattr(tracer, "output_dir", None):
            tracer.flush()
        directory = store.output_dir(self.conf)
        key: list[Any] = [tracer.count if tracer is not None else None]
        if os.path.isdir(directory):
            for name in sorted(os.listdir(directory)):
                try:
                    stat = os.stat(os.path.join(directory, name))
                except OSError:
                    continue
                key.append((name, stat.st_size, stat.st_mtime_ns))
        if key != self._traces_key or self._traces is None:
            self._traces = TraceSet(store.load(self.conf))
            self._traces_key = key
        return self._traces

    def requests(self, limit: int = 100) -> dict[str, Any]:
        """Recent requests, newest first: API requests from the span store (id,
        what, service, start, duration, status), or, when nothing is traced, the request
        ids seen on RPC messages."""
        from nova_sim.trace.model import _is_request

        traces = self._trace_set()
        # a compute API call made in code has no request id on its first span: its
        # trace's messages carry the context's
        ids: dict[str, str] = {}
        for span in traces.spans:
            if span.get("request_id"):
                ids.setdefault(span["trace_id"], span["request_id"])
        rows: list[dict[str, Any]] = []
        for span in traces.spans:
            request_id = span.get("request_id") or ids.get(span["trace_id"])
            if not request_id or not _is_request(span, reads=True):
                continue
            attributes = span.get("attributes") or {}
            what = span["name"]
            if span["name"] == "wsgi.request":
                what = f"{attributes.get('method', '')} {attributes.get('path', '')}".strip()
            rows.append({"request_id": request_id, "what": what,
                         "service": span["service"], "start": span["start"],
                         "duration": _duration(span), "status": span.get("status"),
                         "code": attributes.get("status")})
        rows.sort(key=lambda row: int(row["start"] or 0), reverse=True)
        traced = bool(rows)
        if not traced:
            seen: dict[str, None] = {}
            for record in reversed(self.messages.records):
                if record[8]:
                    seen.setdefault(record[8], None)
            rows = [{"request_id": rid, "what": None, "service": None, "start": None,
                     "duration": None, "status": None, "code": None} for rid in seen]
        return {"traced": traced, "requests": rows[:limit]}

    def request(self, request_id: str) -> dict[str, Any] | None:
        """One request's spans (the traces holding a span of ``request_id``), the RPC
        arrows between them, its text rendering (``nova-sim trace show``) and the
        instance action events of that request; None when no span has it."""
        from nova_sim.trace import text

        chosen = self._trace_set().select(request_id=request_id)
        if not len(chosen):
            return None
        spans = chosen.spans
        by_id = chosen.by_id
        arrows = [{"from": span["parent_id"], "to": span["span_id"]} for span in spans
                  if span.get("kind") in ("server", "consumer")
                  and span.get("parent_id") in by_id]
        start, end = chosen.bounds()
        return {"request_id": request_id, "start": start, "end": end,
                "spans": [_span_view(span) for span in spans], "arrows": arrows,
                "depths": {span["span_id"]: chosen.depth(span) for span in spans},
                "text": text.render(chosen),
                "actions": self._actions(request_id, _instance_uuids(spans))}

    def _actions(self, request_id: str, uuids: list[str]) -> list[dict[str, Any]]:
        ctxt = self._admin()
        actions = []
        for uuid in uuids:
            try:
                action = self.compute_api.action_get(ctxt, uuid, request_id)
            except exception.NovaException:
                continue
            actions.append({
                "instance_uuid": uuid, "action": action.get("action"),
                "start_time": action.get("start_time"),
                "finish_time": action.get("finish_time"),
                "message": action.get("message"),
                "events": [{"event": event.get("event"), "start_time": event.get("start_time"),
                            "finish_time": event.get("finish_time"),
                            "result": event.get("result"), "host": event.get("host")}
                           for event in action.get("events") or ()],
            })
        return actions
