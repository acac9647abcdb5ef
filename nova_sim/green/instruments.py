"""Instruments: optional observers, and the one way the runtime and the RPC layer call them.

Owns :class:`Instruments`, a registry of observers for a fixed set of *hooks* (method
names). The hub has one (``spawned``, ``switched``, ``exited``, ``timer_fired``,
``io_wait``); the RPC layer has one for the whole process (``message_sent``,
``message_received``...; see ``nova_sim.rpc.instruments``). Tracing, the blocking
detector, the teaching demos and tests are instruments. An instrument is any object
with some of the hook methods; the ones it lacks are not called.

How a hook is called
--------------------
For each hook the registry has an attribute of that name: ``None`` while no installed
instrument has the hook, else the function to call (the instrument's own bound method
when one instrument has it, a function calling each in turn when several do). It is
rebuilt on every change, so a caller reads it at the moment of the call, from the
registry object (never copy it into a module global: it would go stale)::

    hook = hub.instruments.spawned
    if hook is not None:
        try:
            hook(gt)
        except Exception as error:
            hub.instruments.failed("spawned", hook, error)

With no instrument installed, that is one attribute read and a test of ``None``; with
instruments, ``try`` costs nothing until something raises.

Isolation (as trio isolates its instruments): an instrument is an observer, so its bugs
must not break what it observes. One whose hook raises an ``Exception`` is logged
with its traceback, once, and removed from the registry; the code it observed goes on.
A ``BaseException`` (``GreenletExit``, ``KeyboardInterrupt``, ``SystemExit``) is not
swallowed: a kill or a Ctrl-C while a hook runs still reaches its target.

Must not know about RPC, Nova or the hub's loop: the hub and the RPC layer each own a
registry; this module only calls hooks.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

LOG = logging.getLogger(__name__)


class Instruments:
    """Installed instruments for ``hooks``, and per hook the function to call (or None).

    ``name`` says whose instruments they are in log lines ("hub", "RPC").
    ``on_change``, when given, is called with the registry after every change (the hub
    uses it to switch ``greenlet.settrace`` on and off).
    """

    def __init__(self, hooks: tuple[str, ...], name: str,
                 on_change: Callable[[Instruments], None] | None = None):
        self.hooks = hooks
        self.name = name
        self.installed: list[Any] = []
        self._on_change = on_change
        # hook -> (the function in the hook's attribute, the one instrument it calls)
        self._sole: dict[str, tuple[Callable[..., Any], Any]] = {}
        for hook in hooks:
            setattr(self, hook, None)

    def __iter__(self):
        return iter(list(self.installed))

    def __len__(self) -> int:
        return len(self.installed)

    def __contains__(self, instrument: Any) -> bool:
        return instrument in self.installed

    def add(self, instrument: Any) -> None:
        """Install ``instrument`` (installing it again does nothing)."""
        if instrument not in self.installed:
            self.installed.append(instrument)
        self._refresh()

    def remove(self, instrument: Any) -> None:
        """Uninstall ``instrument``; one that is not installed is ignored."""
        if instrument in self.installed:
            self.installed.remove(instrument)
        self._refresh()

    def clear(self) -> None:
        """Uninstall every instrument."""
        self.installed.clear()
        self._refresh()

    def having(self, hook: str) -> list[Any]:
        """The installed instruments that have ``hook``, in installation order."""
        return [instrument for instrument in self.installed
                if getattr(instrument, hook, None) is not None]

    def failed(self, hook: str, function: Callable[..., Any], error: Exception) -> None:
        """``function`` (what the ``hook`` attribute held) raised ``error``: log it with
        its traceback and remove the instrument it belongs to."""
        sole = self._sole.get(hook)
        instrument = sole[1] if sole is not None and sole[0] is function \
            else getattr(function, "__self__", function)
        self._drop(instrument, hook, error)

    def guarded(self, hook: str, instrument: Any) -> Callable[..., None]:
        """``instrument``'s ``hook`` as a function that never raises an Exception (it
        logs and removes the instrument instead): for callers that cannot catch, such as
        a ``greenlet.settrace`` function."""
        method = getattr(instrument, hook)

        def call(*args: Any) -> None:
            try:
                method(*args)
            except Exception as error:
                self._drop(instrument, hook, error)

        return call

    def _drop(self, instrument: Any, hook: str, error: Exception) -> None:
        LOG.error("%s instrument %r failed in %s and was removed", self.name, instrument,
                  hook, exc_info=error)
        self.remove(instrument)

    def _refresh(self) -> None:
        self._sole.clear()
        for hook in self.hooks:
            having = self.having(hook)
            if not having:
                function = None
            elif len(having) == 1:
                function = getattr(having[0], hook)
                self._sole[hook] = (function, having[0])
            else:
                function = self._each(hook, having)
            setattr(self, hook, function)
        if self._on_change is not None:
            self._on_change(self)

    def _each(self, hook: str, having: list[Any]) -> Callable[..., None]:
        calls = tuple(self.guarded(hook, instrument) for instrument in having)

        def call_each(*args: Any) -> None:
            for call in calls:
                call(*args)

        return call_each
