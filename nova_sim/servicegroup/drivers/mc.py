"""The in-memory service-group driver (``servicegroup_driver = mc``, after Nova's
memcache driver, ``nova/servicegroup/drivers/mc.py``).

Owns ``MemoryCache`` (a key-value store with expiry on the hub's clock, standing in for
memcached; one per hub, shared by every service of a one-process cloud) and ``McDriver``.
Every ``report_interval`` seconds (the first after ``INITIAL_REPORTING_DELAY``) a service
sets the key ``<topic>:<host>`` to the current time, expiring after
``service_down_time``; a service is up while its key exists. No RPC and no database
write: that is the point of the driver (and why the services table's ``report_count`` and
``last_seen_up`` stand still under it). Setting a key never blocks, so the heartbeat runs
in the hub's timer callback (no greenthread per heartbeat). The store lives in the
process, so services in other processes do not see it: multi-process clouds use ``db``.
Must not know about the managers.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Callable

from nova_sim import green
from nova_sim.servicegroup.drivers.base import Driver

LOG = logging.getLogger(__name__)


class MemoryCache:
    """Keys with values that expire, on the hub's clock (memcached's ``set(key, value,
    time=...)`` and ``get``)."""

    __slots__ = ("_items", "_clock")

    def __init__(self, clock: Callable[[], float]):
        self._items: dict[str, tuple[Any, float]] = {}
        self._clock = clock

    def set(self, key: str, value: Any, expire: float) -> None:
        """Store ``value`` under ``key`` for ``expire`` seconds."""
        self._items[key] = (value, self._clock() + expire)

    def get(self, key: str) -> Any:
        """The value of ``key``, or None when it is missing or expired (then dropped). A
        value set for ``expire`` seconds is still there exactly ``expire`` seconds later
        (the database driver's rule: up while ``now - last_seen_up <= service_down_time``)."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] < self._clock():
            del self._items[key]
            return None
        return item[0]

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error if missing)."""
        self._items.pop(key, None)


# hub -> its MemoryCache
_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_cache() -> MemoryCache:
    """The current hub's ``MemoryCache`` (created on first use)."""
    hub = green.get_hub()
    cache = _caches.get(hub)
    if cache is None:
        cache = _caches[hub] = MemoryCache(hub.clock)
    return cache


def service_key(topic: str, host: str) -> str:
    """The cache key of a service (Nova's ``"%(topic)s:%(host)s"``)."""
    return f"{topic}:{host}"


class McDriver(Driver):
    """Heartbeats into the hub's ``MemoryCache``."""

    uses_service_rows = False
    report_blocks = False

    def __init__(self, conf: Any = None, cache: MemoryCache | None = None):
        super().__init__(conf)
        self._cache = cache

    @property
    def cache(self) -> MemoryCache:
        """The store (the current hub's unless one was given)."""
        if self._cache is None:
            self._cache = get_cache()
        return self._cache

    def report_state(self, service: Any) -> None:
        """One heartbeat of ``service``: set its key (never raises)."""
        ref = service.service_ref
        if ref is None:
            return
        try:
            self.cache.set(service_key(ref["topic"], ref["host"]), green.wallclock(),
                           self.service_down_time)
        except Exception:  # noqa: BLE001 - memcached errors are logged, as in Nova
            LOG.exception("Heartbeat of %s on %s failed", service.binary, service.host)

    def is_up(self, service_ref: dict[str, Any]) -> bool:
        """True while the service's key has not expired."""
        return self.host_is_up(service_ref.get("topic") or "", service_ref.get("host") or "")

    def host_is_up(self, topic: str, host: str) -> bool:
        """``is_up`` for the service of ``topic`` on ``host`` (no row needed)."""
        return self.cache.get(service_key(topic, host)) is not None
