"""The example trace: one boot through the REST API of a one-process cloud, traced.

Owns the scenario behind the shipped ``docs/trace-example/`` files and the trace tests:
a seeded virtual clock, a cloud of ``computes`` hosts (``green://``, SQLite in memory,
periodic tasks off), a tracer installed for the run, and ``POST /v2.1/servers`` sent to
the compute API's WSGI application in-process (no socket: the virtual clock cannot wait on
one), then a wait until the server is ACTIVE. Same seed, same bytes.

It lives beside ``Cloud`` (not in the tracer package, which knows nothing of the
services) so that the tests, the docs and the commands above can all use it.

    .venv/bin/python -m nova_sim.deploy.trace_example docs/trace-example
"""

from __future__ import annotations

import contextvars
import json
import os
import sys
from typing import Any, Callable

import webob

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.api.app import APIApplication
from nova_sim.deploy.cloud import Cloud, new_conf
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.trace import cli, store
from nova_sim.trace.model import TraceSet
from nova_sim.trace.tracer import Tracer


def boot(seed: int = 1, computes: int = 2, spawn_latency: str = "fixed:1.5",
         record_switches: bool = False, servers: int = 1,
         inspect: Callable[[Any, list[str]], Any] | None = None,
         ) -> tuple[list[dict], list[str]]:
    """Run the scenario; returns (span-file records, the request ids of the boots).

    ``inspect(cloud, uuids)``, when given, runs once the servers are ACTIVE, before the
    cloud stops (tests read the database there). Raises TimeoutError if a server does
    not become ACTIVE within 600 virtual seconds.
    """
    # A fresh context: a request context left current by earlier code must not leak in.
    return contextvars.Context().run(_boot, seed, computes, spawn_latency, record_switches,
                                     servers, inspect)


def _boot(seed: int, computes: int, spawn_latency: str, record_switches: bool,
          servers: int, inspect: Callable[[Any, list[str]], Any] | None,
          ) -> tuple[list[dict], list[str]]:
    conf = new_conf()
    conf.set_override("spawn_latency", spawn_latency, group="fake_driver")
    conf.set_override("host", "controller")
    request_ids: list[str] = []
    with green.virtual_time(seed=seed):
        tracer = Tracer(service="nova-sim", host="controller", seed=seed,
                        record_switches=record_switches,
                        context_getter=nova_context.get_current).install()
        try:
            cloud = Cloud(conf=conf, computes=computes, periodic_enable=False).start()
            app = APIApplication(cloud.api, conf)
            uuids = []
            for number in range(servers):
                request = webob.Request.blank("/v2.1/servers", method="POST")
                request.headers["X-Auth-Token"] = "admin:admin"
                request.content_type = "application/json"
                request.body = json.dumps({"server": {
                    "name": f"vm{number + 1}", "imageRef": CIRROS_IMAGE_ID,
                    "flavorRef": "2"}}).encode()
                response = request.get_response(app)
                if response.status_int != 202:
                    raise RuntimeError(f"boot refused: {response.status} {response.text}")
                request_ids.append(response.headers["x-openstack-request-id"])
                uuids.append(response.json["server"]["id"])
            for uuid in uuids:
                cloud.wait_for_instance(uuid, "active")
            if inspect is not None:
                inspect(cloud, uuids)
            cloud.stop()
        finally:
            tracer.uninstall()
    return tracer.records(), request_ids


def write_example(directory: str, seed: int = 1, picture: bool = True) -> dict[str, str]:
    """Write the docs' example files into ``directory``: the span file
    (``boot.jsonl``), ``boot.perfetto.json``, ``boot.mmd``, ``boot.otlp.json``,
    ``boot.osprofiler.json``, ``boot.txt``, and ``boot.perfetto.png`` (the timeline
    drawn by ``picture.py``; needs matplotlib; ``picture=False`` skips it). Returns the
    paths by format."""
    records, request_ids = boot(seed=seed)
    os.makedirs(directory, exist_ok=True)
    traces = TraceSet(store.merge(records)).select(request_id=request_ids[0])
    wanted = set(traces.trace_ids())
    kept = []
    for record in store.merge(records):
        if record.get("type") == "process":
            record = dict(record, pid=0)  # the OS process id would differ every run
        elif record.get("type") == "span" and record["trace_id"] not in wanted:
            continue
        kept.append(record)
    paths = {"spans": store.write(kept, os.path.join(directory, "boot.jsonl"))}
    names = {"perfetto": "boot.perfetto.json", "mermaid": "boot.mmd",
             "otlp": "boot.otlp.json", "osprofiler": "boot.osprofiler.json",
             "text": "boot.txt"}
    for fmt, name in names.items():
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(cli.render(traces, fmt))
        paths[fmt] = path
    if not picture:
        return paths
    try:
        from nova_sim.trace import picture as drawing
    except ImportError:  # matplotlib is the docs extra
        return paths
    paths["png"] = drawing.draw_perfetto(paths["perfetto"],
                                        os.path.join(directory, "boot.perfetto.png"))
    return paths


if __name__ == "__main__":
    for fmt, path in write_example(sys.argv[1] if len(sys.argv) > 1 else ".").items():
        print(f"{fmt:10} {path}")
