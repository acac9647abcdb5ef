"""What the greenthreads of this process are doing: a snapshot of the hub, read-only.

Owns ``snapshot(hub, pools)``: every live greenthread with its name, how it was started,
the service it works for and its state, the hub's scheduled starts (a periodic task or a
``spawn_after`` between two runs has no greenthread yet: it is a timer), and the pools.
Nothing here runs unless a page asks: the hub keeps no record for it. What a snapshot
says is read off what the hub holds anyway:

- *how it was started*: a ``GreenThread`` says (``origin``: ``spawn`` or ``spawn_after``);
  a job without one is ``spawn_n``'s. A job running an RPC server's
  dispatch loop is an *RPC dispatch* (with the method it dispatches), one running a
  ``nova_sim.periodic`` loop a *periodic* task (the function, bound methods included, is
  found in the runner's frames);
- *the service*: ``nova_sim.trace.current_service`` in the greenthread's own context
  (services set it around their start-up; what they spawn inherits it);
- *the state*: ``running`` (the greenthread taking the snapshot), ``ready`` (in the hub's
  ready queue), ``sleeping`` (with the time it wakes: its timer), or ``blocked`` on what
  its innermost frame outside the hub's machinery waits in (an ``Event``, a queue, a
  semaphore, a pool slot, another greenthread, a socket...), with the line of code that
  waits.

Must not change what it looks at.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from nova_sim.green import greenthread as greenthread_module
from nova_sim.green import hub as hub_module
from nova_sim.green import io as green_io
from nova_sim.green.greenpool import GreenPool
from nova_sim.trace import current_service

_GREEN_DIR = os.path.dirname(hub_module.__file__)
# The machinery between a blocking primitive and the hub: frames skipped.
_MACHINERY = {os.path.join(_GREEN_DIR, name) for name in ("hub.py", "waiting.py")}
_GREEN_FILES = _MACHINERY | {
    os.path.join(_GREEN_DIR, name)
    for name in ("io.py", "event.py", "queue.py", "semaphore.py", "greenthread.py",
                 "greenpool.py", "timeout.py")}
_RUN_JOB = hub_module._run_job.__code__
_SLEEP = greenthread_module.sleep.__code__
_TRAMPOLINE = green_io.trampoline.__code__

#: What a blocked greenthread waits on, by the primitive's class.
_WHAT = {"Event": "event", "LightQueue": "queue", "Queue": "queue",
         "PriorityQueue": "queue", "LifoQueue": "queue", "Semaphore": "semaphore",
         "BoundedSemaphore": "semaphore", "GreenThread": "greenthread",
         "GreenPool": "pool slot", "GreenSocket": "socket", "GreenPile": "greenthreads"}


def _qualname(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return name or type(func).__name__


def _frames_here() -> list:
    """The running greenthread's own frames, innermost first."""
    frames = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def _frames(g: Any) -> list:
    """The suspended greenlet's frames, innermost first."""
    frames = []
    frame = getattr(g, "gr_frame", None)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def _job_of(frames: list) -> tuple[Any, Any]:
    """``(func, context)`` of the spawn_n job a runner runs, from its ``_run_job``
    frame; (None, None) when not found."""
    for frame in frames:
        if frame.f_code is _RUN_JOB:
            local = frame.f_locals
            return local.get("func"), local.get("context")
    return None, None


def _origin(func: Any, default: str) -> tuple[str, str]:
    """``(origin, name)`` of a job running ``func`` (see the module docstring)."""
    owner = getattr(func, "__self__", None)
    module = getattr(func, "__module__", "") or ""
    name = _qualname(func)
    looped = getattr(owner, "function", None)  # a looping call: name what it calls
    if callable(looped):
        name = f"{name}({_qualname(looped)})"
    if owner is not None and name.endswith("RPCServer._process_loop"):
        target = getattr(owner, "target", None)
        topic = getattr(target, "topic", None)
        server = getattr(target, "server", None)
        where = f"{topic}.{server}" if server else f"{topic}"
        return "rpc dispatch", f"RPC server {where}"
    if module == "nova_sim.periodic" or module.endswith(".periodic"):
        return "periodic", name
    return default, name


def _dispatching(frames: list) -> str | None:
    """The RPC method an RPC dispatch greenthread is in, if any."""
    for frame in frames:
        if frame.f_code.co_name == "_process" and "request" in frame.f_locals:
            request = frame.f_locals.get("request")
            if isinstance(request, dict):
                return request.get("method")
    return None


def _where(frame: Any) -> str:
    code = frame.f_code
    module = frame.f_globals.get("__name__", os.path.basename(code.co_filename))
    return f"{module}.{code.co_name}:{frame.f_lineno}"


def _blocked_on(frames: list) -> tuple[str, str | None, str | None]:
    """``(what, detail, where)`` a suspended greenthread waits in."""
    for index, frame in enumerate(frames):
        code = frame.f_code
        if code.co_filename in _MACHINERY:
            continue
        caller = next((f for f in frames[index:] if f.f_code.co_filename not in _GREEN_FILES),
                      None)
        where = _where(caller) if caller is not None else None
        if code is _SLEEP:
            return "sleep", None, where
        if code is _TRAMPOLINE:
            local = frame.f_locals
            fd = local.get("fileno", local.get("fd"))
            return "socket", f"fd {fd} {'read' if local.get('read') else 'write'}", where
        owner = frame.f_locals.get("self")
        if owner is not None and code.co_filename in _GREEN_FILES:
            kind = type(owner).__name__
            what = "pool to finish" if code.co_name == "waitall" else _WHAT.get(kind, kind)
            return what, f"{kind}.{code.co_name} at 0x{id(owner):x}", where
        return "other", code.co_name, _where(frame)
    return "other", None, None


def _service_of(context: Any) -> str | None:
    if context is None:
        return None
    try:
        service = context.get(current_service)
    except Exception:  # noqa: BLE001 - not a Context
        return None
    return f"{service[0]}@{service[1]}" if service else None


def _timers(hub: Any) -> tuple[dict[int, float], list[tuple[float, Any]]]:
    """Deadlines of sleeping greenlets (by id) and the scheduled starts (timers that
    will start a greenthread or a job), from the hub's timer heap."""
    sleeping: dict[int, float] = {}
    starts: list[tuple[float, Any]] = []
    start_task = hub.start_task
    for entry in list(hub.timers):
        deadline, _seq, callback, argument = entry
        if callback is None:
            continue
        if getattr(callback, "__name__", None) == "switch":
            owner = getattr(callback, "__self__", None)
            if owner is not None:
                sleeping[id(owner)] = deadline
        elif callback == start_task:
            starts.append((deadline, argument))
    return sleeping, starts


def _ready(hub: Any) -> set[int]:
    ready = set()
    for entry in list(hub.ready):
        switch = entry[0]
        owner = getattr(switch, "__self__", None)
        if owner is not None and getattr(switch, "__name__", None) == "switch":
            ready.add(id(owner))
    return ready


def _pool_of(g: Any, pools: dict[int, str]) -> str | None:
    pool = getattr(g, "pool", None)
    return pools.get(id(pool)) if pool is not None else None


def _describe(g: Any, hub: Any, current: Any, ready: set[int], sleeping: dict[int, float],
              pools: dict[int, str], owners: dict[int, str]) -> dict[str, Any]:
    frames = _frames(g) if g is not current else _frames_here()
    gt = getattr(g, "gt", None)
    func, context = _job_of(frames)
    if gt is not None and getattr(gt, "_func", None) is not None:
        func, context = gt._func, gt._context
        origin, name = _origin(func, gt.origin)
    else:
        origin, name = _origin(func, "spawn_n")
    if gt is not None and gt.name:
        name = f"{name} ({gt.name})"
    service = _service_of(context) or owners.get(id(getattr(func, "__self__", None)))
    entry: dict[str, Any] = {"id": f"0x{id(gt or g):x}", "name": name, "origin": origin,
                             "service": service, "pool": _pool_of(g, pools)}
    method = _dispatching(frames) if origin == "rpc dispatch" else None
    if method:
        entry["method"] = method
    if g is current:
        entry.update(state="running")
    elif id(g) in ready:
        entry.update(state="ready")
    else:
        what, detail, where = _blocked_on(frames)
        entry["where"] = where
        if what == "sleep" or (id(g) in sleeping and what == "other"):
            entry["state"] = "sleeping"
            wakes = sleeping.get(id(g))
            entry["wakes_in"] = None if wakes is None else max(0.0, wakes - hub.clock())
        else:
            entry["state"] = "blocked"
            entry["blocked_on"] = what
            entry["detail"] = detail
            if id(g) in sleeping:
                entry["timeout_in"] = max(0.0, sleeping[id(g)] - hub.clock())
    return entry


def _scheduled(hub: Any, starts: list[tuple[float, Any]]) -> list[dict[str, Any]]:
    out = []
    now = hub.clock()
    for deadline, task in sorted(starts, key=lambda item: item[0]):
        if type(task) is tuple:  # a spawn_n job: (context, func, args, kwargs, pool)
            origin, name = _origin(task[1], "spawn_n_after")
            context = task[0]
        else:
            origin, name = _origin(getattr(task, "_func", None), "spawn_after")
            context = getattr(task, "_context", None)
        out.append({"name": name, "origin": origin, "service": _service_of(context),
                    "starts_in": max(0.0, deadline - now)})
    return out


def pool_view(name: str, pool: GreenPool) -> dict[str, Any]:
    """One pool: its size, jobs running, free slots, spawners waiting."""
    return {"name": name, "size": pool.size, "running": pool.running(),
            "free": pool.free(), "waiting": pool.waiting()}


def snapshot(hub: Any, pools: list[tuple[str, GreenPool]],
             blocking_reports: list[str] | None = None,
             owners: dict[int, str] | None = None) -> dict[str, Any]:
    """The process's greenthreads, scheduled starts and pools (see the module
    docstring); ``blocking_reports``: the blocking detectors' warnings; ``owners``: by
    ``id``, the name of what runs a greenthread's method (a WSGI server: "nova-api"),
    for greenthreads that work for no service."""
    started = time.perf_counter()
    current = hub_module.getcurrent()
    ready = _ready(hub)
    sleeping, starts = _timers(hub)
    by_id = {id(pool): name for name, pool in pools}
    idle = {id(runner) for runner in hub.idle_runners}
    threads = []
    for g in list(hub.live):
        if id(g) in idle or g.dead:
            continue
        threads.append(_describe(g, hub, current, ready, sleeping, by_id, owners or {}))
    threads.sort(key=lambda t: (t["service"] or "~", t["origin"], t["name"], t["id"]))
    states: dict[str, int] = {}
    for thread in threads:
        states[thread["state"]] = states.get(thread["state"], 0) + 1
    return {
        "pid": os.getpid(),
        "greenthreads": threads,
        "states": states,
        "idle_runners": len(idle),
        "scheduled": _scheduled(hub, starts),
        "pools": [pool_view(name, pool) for name, pool in pools],
        "blocking": list(blocking_reports or []),
        "took": time.perf_counter() - started,
    }
