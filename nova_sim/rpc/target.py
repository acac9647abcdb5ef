"""Target: where a message goes, and what an endpoint or server answers to.

Owns the ``Target`` value object (oslo.messaging's fields and meaning). Must not know
about transports or the wire.
"""

from __future__ import annotations

from typing import Any

_FIELDS = ("exchange", "topic", "namespace", "version", "server", "fanout")


class Target:
    """A destination (client side) or a subscription (server side).

    - ``topic``: the service's topic (``compute``); a server consumes ``topic`` (shared
      with its peers) and ``topic.server``.
    - ``server``: send to this server only (queue ``topic.server``).
    - ``fanout``: send to every server of the topic (exchange ``topic_fanout``).
    - ``exchange``: the topic exchange; ``None`` means the transport's ``control_exchange``.
    - ``namespace`` / ``version``: the RPC interface an endpoint implements or a message
      asks for (``version`` is ``"major.minor"``).
    """

    __slots__ = _FIELDS + ("accepted_namespaces",)

    def __init__(
        self,
        topic: str | None = None,
        server: str | None = None,
        fanout: bool = False,
        exchange: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        legacy_namespaces: list[str] | None = None,
    ):
        self.topic = topic
        self.server = server
        self.fanout = bool(fanout)
        self.exchange = exchange
        self.namespace = namespace
        self.version = version
        self.accepted_namespaces = [namespace] + list(legacy_namespaces or [])

    def __call__(self, **overrides: Any) -> Target:
        """A copy with some fields replaced (``target(server="host1")``)."""
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(overrides)
        return Target(**values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Target):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in _FIELDS))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)}" for name in _FIELDS if getattr(self, name)
        )
        return f"<Target {shown}>"
