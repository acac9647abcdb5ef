"""The serializer interface: how contexts and arguments become wire data and back.

Owns ``Serializer`` (oslo.messaging's interface: ``serialize_entity``,
``deserialize_entity``, ``serialize_context``, ``deserialize_context``) and the default
``NoOpSerializer``. Services plug in their own (``nova_sim.context.RequestContextSerializer``);
this module must not know about Nova's contexts or objects.
"""

from __future__ import annotations

from typing import Any, Callable

_context_provider: Callable[[], Any] | None = None


def set_context_provider(provider: Callable[[], Any] | None) -> None:
    """Install the hook that gives the current context when a caller passes ``None``.

    The service layer installs ``nova_sim.context.get_current``; the RPC layer never
    imports it. ``None`` uninstalls it.
    """
    global _context_provider
    _context_provider = provider


class Serializer:
    """Base class: turn entities and contexts into JSON-able data and back.

    A serializer whose ``serialize_entity`` and ``deserialize_entity`` give every entity
    back as it is may say so with an instance attribute ``passes_entities = True``:
    clients and dispatchers then skip those calls (one per argument and result of every
    message).
    """

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        """Return ``entity`` as JSON-able data (called for each argument and result)."""
        raise NotImplementedError

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        """Rebuild an entity from its wire data."""
        raise NotImplementedError

    def serialize_context(self, ctxt: Any) -> dict:
        """Return the context as a flat dict (sent as ``_context_<key>`` keys)."""
        raise NotImplementedError

    def deserialize_context(self, ctxt: dict) -> Any:
        """Rebuild the context the endpoint method receives as its first argument."""
        raise NotImplementedError


class NoOpSerializer(Serializer):
    """Entities pass through; a context is a dict, an object with ``to_dict()`` or None
    (then the context the installed provider gives, if any; see set_context_provider)."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: Any) -> dict:
        if ctxt is None:
            ctxt = _context_provider() if _context_provider is not None else None
            if ctxt is None:
                return {}
        if isinstance(ctxt, dict):
            return ctxt
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict) -> Any:
        return ctxt


def passes_entities(serializer: Serializer) -> bool:
    """True when ``serializer`` gives every entity back unchanged both ways: a
    ``NoOpSerializer`` itself (not a subclass, which may override them), or one that
    says so in its instance's ``passes_entities`` (see ``Serializer``)."""
    return type(serializer) is NoOpSerializer or (
        vars(serializer).get("passes_entities") is True)
