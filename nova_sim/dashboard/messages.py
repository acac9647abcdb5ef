"""The RPC traffic the dashboard shows: an RPC-layer instrument keeping recent messages.

Owns ``MessageLog``, installed with ``nova_sim.rpc.add_instrument`` while a dashboard
runs. Each hook appends or completes one small record, and nothing is encoded on the
RPC path: a message's size (its JSON, as ``wire.encode`` would write it) is worked out
when a page first asks for the record, from the message dict the record keeps.

A record (``MessageLog.since`` gives them as dicts) is one arrow of the sequence
diagram: ``kind`` (``call``, ``cast``, ``fanout`` or ``reply``), ``method``, ``source``
and ``target`` lanes, ``time`` (seconds since the epoch), ``latency`` (seconds: a
call's round trip on its reply, a cast's delivery once a server of this process took
it; None until known), ``size`` (bytes), ``request_id`` and ``msg_id``.

A lane names a service: ``nova-api``, ``nova-conductor``, ``nova-scheduler`` (one lane
per binary) and ``nova-compute@HOST`` (one per compute host); a fanout goes to the lane
``nova-compute@*`` (the page draws it to every compute). The sender's lane is the
service whose RPC dispatch the sending code runs in, else the service it works for
(``nova_sim.trace.current_service``), else ``nova-api`` (the API's request
greenthreads). Knows the RPC layer's hooks, nothing of the services.
"""

from __future__ import annotations

import contextvars
import itertools
import json
from collections import deque
from typing import Any

from nova_sim import green
from nova_sim.trace import current_service

#: How many records are kept (the oldest go first).
KEEP = 2000

_SEQ, _TIME, _KIND, _METHOD, _SOURCE, _TARGET, _LATENCY, _SIZE, _REQUEST, _MSG_ID, \
    _MESSAGE = range(11)


def lane(binary: str, host: str | None) -> str:
    """The lane of service ``binary`` on ``host`` (see the module docstring)."""
    if binary == "nova-compute":
        return f"{binary}@{host or '*'}"
    return binary


def target_lane(target: Any, fanout: bool = False) -> str:
    """The lane an RPC ``target`` (topic, server) reaches."""
    topic = target.topic or "rpc"
    binary = topic if topic.startswith("nova") else f"nova-{topic}"
    return lane(binary, None if fanout else target.server)


#: The lane of the RPC server whose dispatch the running code is in (set by the
#: ``dispatch_started`` hook on the dispatching greenthread, inherited by what it spawns).
_dispatching: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nova_sim_dashboard_lane", default=None)


def _sender() -> str:
    dispatching = _dispatching.get()
    if dispatching is not None:
        return dispatching
    service = current_service.get()
    return lane(*service) if service is not None else "nova-api"


def _size(message: Any) -> int | None:
    try:
        return len(json.dumps(message, default=str, separators=(", ", ": ")))
    except (TypeError, ValueError):
        return None


class MessageLog:
    """The RPC instrument (see the module docstring). ``total`` counts every message
    and reply seen (what the overview's rate is made of)."""

    def __init__(self, keep: int = KEEP):
        self.records: deque[list] = deque(maxlen=keep)
        self._seq = itertools.count(1)
        self.total = 0
        # message id -> the record of a call or cast not yet received / answered
        self._pending: dict[str, list] = {}

    # -- the RPC layer's hooks (each a few appends: they run for every message) ----------
    def message_sent(self, kind: str, target: Any, message: dict) -> None:
        get = message.get
        record = [next(self._seq), green.wallclock(), kind, get("method"), _sender(),
                  target_lane(target, kind == "fanout"), None, None,
                  get("_context_request_id"), get("_msg_id"), message]
        self._add(record)
        key = get("_msg_id") or get("_unique_id")
        if key is not None and kind != "fanout":
            if len(self._pending) > 10000:
                self._pending.clear()
            self._pending[key] = record

    def message_received(self, target: Any, message: dict) -> None:
        record = self._pending.get(message.get("_msg_id") or message.get("_unique_id"))
        if record is not None and record[_KIND] == "cast":
            self._pending.pop(message.get("_unique_id"), None)
            record[_LATENCY] = green.wallclock() - record[_TIME]
            if record[_TARGET].endswith("@*"):
                record[_TARGET] = target_lane(target)

    def dispatch_started(self, target: Any, message: dict, ctxt: Any) -> None:
        # the dispatching greenthread's own context (a copy): no reset needed
        _dispatching.set(target_lane(target))

    def reply_received(self, target: Any, message: dict, reply: dict | None) -> None:
        record = self._pending.pop(message.get("_msg_id"), None)
        if record is None:
            return
        now = green.wallclock()
        record[_LATENCY] = now - record[_TIME]
        self._add([next(self._seq), now, "reply", record[_METHOD], record[_TARGET],
                   record[_SOURCE], record[_LATENCY], None, record[_REQUEST],
                   record[_MSG_ID], reply if reply is not None else {"timeout": True}])

    def _add(self, record: list) -> None:
        self.records.append(record)
        self.total += 1

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def as_dict(record: list) -> dict[str, Any]:
        """One record as the pages read it (its size worked out on first reading)."""
        if record[_SIZE] is None and record[_MESSAGE] is not None:
            record[_SIZE] = _size(record[_MESSAGE])
        return {"seq": record[_SEQ], "time": record[_TIME], "kind": record[_KIND],
                "method": record[_METHOD], "source": record[_SOURCE],
                "target": record[_TARGET], "latency": record[_LATENCY],
                "size": record[_SIZE], "request_id": record[_REQUEST],
                "msg_id": record[_MSG_ID]}

    def since(self, seq: int = 0, request_id: str | None = None,
              limit: int = 500) -> list[dict[str, Any]]:
        """Records after ``seq`` (of one request when ``request_id``), oldest first, at
        most the ``limit`` latest."""
        chosen = [record for record in self.records if record[_SEQ] > seq
                  and (request_id is None or record[_REQUEST] == request_id)]
        return [self.as_dict(record) for record in chosen[-limit:]]

    def last_seq(self) -> int:
        """The sequence number of the latest record (0: none yet)."""
        return self.records[-1][_SEQ] if self.records else 0
