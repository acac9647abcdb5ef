"""Cost hooks: where a cost model charges time to the work of a simulated cloud.

Owns :data:`hooks`, the one registry of the process, and the list of places that call
it. Unlike instruments (observers, isolated and dropped when they raise), a cost hook is
part of the run: it may make the calling greenthread wait (a CPU core or a database that
is busy, a network hop), and an exception it raises propagates to the caller, so a
broken cost model aborts the run instead of silently measuring nothing.

The hooks (each attribute is ``None`` while no model is installed, so the fast path pays
one attribute read and a test of ``None``):

- ``delivery_delay(kind, target) -> float``: seconds a message spends on the wire before
  it is delivered; ``kind`` is ``"request"`` (to an RPC server, ``target`` its
  ``Target``) or ``"reply"`` (to a caller, ``target`` the reply queue's name). Called
  where a transport hands a message over (``RPCServer._deliver`` and
  ``Transport._on_reply``), which must not block: the delivery is postponed instead.
- ``dispatch(server, method)``: on the dispatching greenthread before the endpoint
  method runs; charges the method's CPU on the core of the process that owns ``server``
  (an ``RPCServer``), waiting while that core is busy.
- ``executor_pool_size(server) -> int | None``: the size of ``server``'s executor pool
  (None: the configured one), read when the server starts.
- ``transaction()``: before a database transaction begins (outside any open one,
  so waiting never holds a lock); charges its service time, waiting while the database
  is busy.
- ``placement(operation)``: before a placement request (``allocation_candidates``,
  ``claim_resources``, ``inventory``); a hop of its own, as those are HTTP calls.
- ``api_request(method, path)``: before the Compute API handles a request; charges the
  API process's CPU.
- ``work(owner, kind, name)``: on the greenthread of a unit of work outside any dispatch
  or API request, when it begins; charges its CPU on the core of ``owner``'s process
  (``owner`` is a service's manager, or ``"client"`` for the simulated Rally client).
  ``kind`` is ``"spawn"`` (a greenthread a service spawns for its own work, such as the
  compute's build; ``name`` its function's), ``"periodic"`` (a periodic task; ``name``
  the task's), ``"heartbeat"`` (a service group report; ``name`` the service's binary) or
  ``"client"`` (a request of the client; ``name`` its HTTP method). A unit lasts until the
  next one begins on the same greenthread or the greenthread ends.

Must not know about RPC, Nova or the simulator: callers pass what they have.
"""

from __future__ import annotations

from typing import Any, Callable

from nova_sim.green.hub import get_hub

HOOK_NAMES = ("delivery_delay", "dispatch", "executor_pool_size", "transaction",
              "placement", "api_request", "work")


class CostHooks:
    """The installed cost model's hook methods by name (None when not installed)."""

    def __init__(self) -> None:
        self.model: Any = None
        for name in HOOK_NAMES:
            setattr(self, name, None)

    def install(self, model: Any) -> None:
        """Make ``model`` the cost model (one at a time; its methods named in
        ``HOOK_NAMES`` become the hooks, missing ones stay None). Raises RuntimeError
        when another model is installed."""
        if self.model is not None and self.model is not model:
            raise RuntimeError(f"a cost model is already installed: {self.model!r}")
        self.model = model
        for name in HOOK_NAMES:
            setattr(self, name, getattr(model, name, None))

    def clear(self) -> None:
        """Uninstall the cost model: every hook is None again (zero cost)."""
        self.model = None
        for name in HOOK_NAMES:
            setattr(self, name, None)


#: The process's cost hooks (read ``hooks.<name>`` at each use, never copy it).
hooks = CostHooks()


def postpone_delivery(kind: str, target: Any, deliver: Callable[[Any], Any],
                      body: Any) -> bool:
    """Whether the installed model delays this delivery; if so ``deliver(body)`` runs in
    the hub after its ``delivery_delay`` (callers test ``hooks.delivery_delay`` first,
    so the fast path never calls this). Never blocks."""
    delay = hooks.delivery_delay
    if delay is None:
        return False
    seconds = delay(kind, target)
    if seconds <= 0:
        return False
    get_hub().call_later(seconds, deliver, body)
    return True
