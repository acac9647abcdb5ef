"""Placement: resource providers, their inventories and usage, allocations and claims.

Owns the queries of the ``resource_providers``, ``inventories`` and ``allocations``
tables and the change sequence that lets the scheduler's caches catch up exactly. In Nova
placement is a service of its own with its own database; here it is one part of the
cloud's database, and ``nova_sim.db.api.Database`` offers these methods beside the rest.

Claims never overfill a provider, whatever the number of schedulers and on every backend:
a claim adds its amount with one conditional ``UPDATE inventories SET used = used + n
WHERE ... AND used + n <= capacity`` per resource class, which the database applies to the
row as it is when it takes the row's lock (SQLite's write lock, InnoDB's and
PostgreSQL's row locks), so two claims on one host are applied one after the other and
the second sees the first. A class that does not fit rolls the whole claim back.

Simplifications (compared with placement): consumer generations are replaced by "a claim
replaces the consumer's allocations" and a provider filter on ``remove_allocations``.

Must not know about RPC, the hub or HTTP.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import (
    DatabaseCore,
    Query,
    Row,
    query,
    reader,
    statement,
    writer,
)
from nova_sim.db.schema import allocations, change_sequence, inventories, resource_providers
from nova_sim.green.costs import hooks as costs

F = TypeVar("F", bound=Callable[..., Any])


def _placement_request(operation: str) -> Callable[[F], F]:
    """A placement request is an HTTP call in Nova: the cost model's hop (or nothing),
    before its transaction begins (never inside one: the hop may switch greenthreads)."""
    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            hop = costs.placement
            if hop is not None and self._local.connection is None:
                hop(operation)
            return method(self, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

#: Resource classes a compute node reports, and how they derive from its row.
RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")

_P, _I, _A = resource_providers.c, inventories.c, allocations.c
_bp = sa.bindparam

_PROVIDER_BY_UUID = Query(
    sa.select(_P.id, _P.generation).where(_P.uuid == _bp("rp_uuid"))
)
_INVENTORY_OF = Query(
    sa.select(
        _I.resource_class, _I.total, _I.reserved, _I.min_unit, _I.max_unit, _I.step_size,
        _I.allocation_ratio,
    ).where(_I.rp_id == _bp("rp_id"))
)
_PROVIDER_INSERT = Query(
    sa.insert(resource_providers).values(
        uuid=_bp("rp_uuid"), name=_bp("name"), generation=0, created_at=_bp("now"),
        updated_at=_bp("now"),
    )
)
_USED_BY_ALLOCATIONS = (
    sa.select(sa.func.coalesce(sa.func.sum(_A.used), 0))
    .where(_A.rp_uuid == _bp("rp_uuid"), _A.resource_class == _bp("rc"))
    .scalar_subquery()
)
_INVENTORY_UPDATE = Query(
    sa.update(inventories)
    .where(_I.rp_id == _bp("rp_id"), _I.resource_class == _bp("rc"))
    .values(
        total=_bp("total"), reserved=_bp("reserved"), min_unit=_bp("min_unit"),
        max_unit=_bp("max_unit"), step_size=_bp("step_size"),
        allocation_ratio=_bp("allocation_ratio"), capacity=_bp("capacity"),
    )
)
_INVENTORY_INSERT = Query(
    sa.insert(inventories).values(
        rp_id=_bp("rp_id"), resource_class=_bp("rc"), total=_bp("total"),
        reserved=_bp("reserved"), min_unit=_bp("min_unit"), max_unit=_bp("max_unit"),
        step_size=_bp("step_size"), allocation_ratio=_bp("allocation_ratio"),
        capacity=_bp("capacity"), used=_USED_BY_ALLOCATIONS,
    )
)
_INVENTORY_DELETE = Query(
    sa.delete(inventories).where(_I.rp_id == _bp("rp_id"), _I.resource_class == _bp("rc"))
)
_PROVIDER_RENAME = Query(
    sa.update(resource_providers)
    .where(_P.id == _bp("rp_id"))
    .values(updated_at=_bp("now"), name=_bp("name"))
)
_TOUCH_BY_ID = Query(
    sa.update(resource_providers)
    .where(_P.id == _bp("rp_id"))
    .values(change_seq=_bp("seq"), generation=_P.generation + 1)
)
_TOUCH_NEW = Query(
    sa.update(resource_providers).where(_P.id == _bp("rp_id")).values(change_seq=_bp("seq"))
)
_TOUCH_BY_UUID = Query(
    sa.update(resource_providers)
    .where(_P.uuid == _bp("rp_uuid"))
    .values(change_seq=_bp("seq"), generation=_P.generation + 1)
)
_NEXT_CHANGE = Query(
    sa.update(change_sequence)
    .where(change_sequence.c.id == 1)
    .values(value=change_sequence.c.value + 1)
)
_NEXT_CHANGE_RETURNING = Query(_NEXT_CHANGE.statement.returning(change_sequence.c.value))
_CURRENT_CHANGE = Query(sa.select(change_sequence.c.value).where(change_sequence.c.id == 1))
_CHANGED_PROVIDERS = Query(
    sa.select(
        _P.id, _P.uuid, _I.resource_class, _I.capacity, _I.used, _I.min_unit, _I.max_unit,
        _I.step_size,
    )
    .select_from(resource_providers.outerjoin(inventories, _I.rp_id == _P.id))
    .where(_P.change_seq > _bp("since"))
    .order_by(_P.change_seq)
)
_PROVIDER_COUNT = Query(sa.select(sa.func.count()).select_from(resource_providers))
_PROVIDER_GET = Query(
    sa.select(_P.id, _P.uuid, _P.name, _P.generation).where(_P.uuid == _bp("rp_uuid"))
)
_INVENTORY_ROWS = Query(sa.select(inventories).where(_I.rp_id == _bp("rp_id")))
_PROVIDERS_ALL = Query(sa.select(_P.uuid, _P.name, _P.generation).order_by(_P.id))
_PROVIDER_ID = sa.select(_P.id).where(_P.uuid == _bp("rp_uuid")).scalar_subquery()
_DELETE_INVENTORIES = Query(sa.delete(inventories).where(_I.rp_id == _PROVIDER_ID))
_DELETE_PROVIDER_ALLOCATIONS = Query(sa.delete(allocations).where(_A.rp_uuid == _bp("rp_uuid")))
_DELETE_PROVIDER = Query(sa.delete(resource_providers).where(_P.uuid == _bp("rp_uuid")))
_USAGES = Query(
    sa.select(_I.resource_class, _I.used)
    .select_from(inventories.join(resource_providers, _P.id == _I.rp_id))
    .where(_P.uuid == _bp("rp_uuid"))
    .order_by(_I.resource_class)
)
_SUMMARIES = Query(
    sa.select(
        _P.uuid, _I.resource_class, _I.total, _I.reserved, _I.allocation_ratio, _I.capacity,
        _I.used, _I.max_unit,
    )
    .select_from(inventories.join(resource_providers, _P.id == _I.rp_id))
    .order_by(_P.id, _I.resource_class)
)
_CLAIM_ONE = Query(
    sa.update(inventories)
    .where(
        _I.rp_id == _bp("rp_id"),
        _I.resource_class == _bp("rc"),
        _I.used + _bp("amount") <= _I.capacity,
        _I.min_unit <= _bp("amount"),
        _I.max_unit >= _bp("amount"),
        _bp("amount") % _I.step_size == 0,
    )
    .values(used=_I.used + _bp("amount"))
)
_ALLOCATION_INSERT = Query(
    sa.insert(allocations).values(
        consumer_uuid=_bp("consumer_uuid"), rp_uuid=_bp("rp_uuid"), resource_class=_bp("rc"),
        used=_bp("amount"), project_id=_bp("project_id"), user_id=_bp("user_id"),
        created_at=_bp("now"),
    )
)
_GIVE_BACK = Query(
    sa.update(inventories)
    .where(_I.resource_class == _bp("rc"), _I.rp_id == _PROVIDER_ID)
    .values(used=_I.used - _bp("amount"))
)


class _ClaimFailed(Exception):
    """Raised inside a claim's transaction to roll it back."""


class PlacementAPI(DatabaseCore):
    """The placement part of the database API (``Database`` inherits it)."""

    # -- the change sequence -----------------------------------------------------------

    def _next_change(self) -> int:
        """Inside a write: take the next number of the change sequence (and with it the
        counter's row lock, held until the transaction ends)."""
        if self.dialect.update_returning:
            return self._scalar(_NEXT_CHANGE_RETURNING)
        self._execute(_NEXT_CHANGE)
        return self._scalar(_CURRENT_CHANGE)

    def _touch_provider(self, rp_id: int, bump_generation: bool = True) -> None:
        """Inside a write: the next change number for this provider (and a new generation)."""
        seq = self._next_change()
        self._execute(_TOUCH_BY_ID if bump_generation else _TOUCH_NEW,
                      {"seq": seq, "rp_id": rp_id})

    # -- providers and inventories -----------------------------------------------------

    @_placement_request("inventory")
    def resource_provider_ensure(
        self, rp_uuid: str, name: str, inventories: dict[str, Any]
    ) -> int:
        """Create the provider if missing and set its inventory; returns its generation.

        ``inventories`` maps a resource class to a total (int) or to a dict with ``total``
        and optionally ``reserved`` (0), ``min_unit`` (1), ``max_unit`` (total),
        ``step_size`` (1), ``allocation_ratio`` (1.0). Classes not listed are removed
        (their allocations stay, as usage). Usage is kept: a smaller total than the usage
        is accepted (placement refuses with InventoryInUse) and then no new claim fits.
        The generation is bumped only when something changed.
        """
        wanted: dict[str, tuple] = {}
        for resource_class, spec in sorted(inventories.items()):
            if not isinstance(spec, dict):
                spec = {"total": spec}
            total = int(spec["total"])
            wanted[resource_class] = (
                total,
                int(spec.get("reserved", 0)),
                int(spec.get("min_unit", 1)),
                int(spec.get("max_unit", total)),
                int(spec.get("step_size", 1)),
                float(spec.get("allocation_ratio", 1.0)),
            )
        # The periodic report rarely changes anything: look first without the write lock.
        generation = self._unchanged_generation(rp_uuid, wanted)
        if generation is not None:
            return generation
        return self._provider_write(rp_uuid, name, wanted)

    @reader
    def _unchanged_generation(self, rp_uuid: str, wanted: dict[str, tuple]) -> int | None:
        found = self._execute(_PROVIDER_BY_UUID, {"rp_uuid": rp_uuid}).fetchone()
        if found is not None and self._inventory_rows(found[0]) == wanted:
            return found[1]
        return None

    @writer
    def _provider_write(self, rp_uuid: str, name: str, wanted: dict[str, tuple]) -> int:
        now = self.now()
        found = self._execute(_PROVIDER_BY_UUID, {"rp_uuid": rp_uuid}).fetchone()
        if found is None:
            self._execute(_PROVIDER_INSERT, {"rp_uuid": rp_uuid, "name": name, "now": now})
            rp_id, generation = self._execute(
                _PROVIDER_BY_UUID, {"rp_uuid": rp_uuid}
            ).fetchone()
            self._touch_provider(rp_id, bump_generation=False)
        else:
            rp_id, generation = found
        current = self._inventory_rows(rp_id)
        changed = False
        for resource_class, spec in wanted.items():
            if current.get(resource_class) == spec:
                continue
            changed = True
            total, reserved, min_unit, max_unit, step_size, ratio = spec
            params = {
                "rp_id": rp_id, "rc": resource_class, "total": total, "reserved": reserved,
                "min_unit": min_unit, "max_unit": max_unit, "step_size": step_size,
                "allocation_ratio": ratio, "capacity": int((total - reserved) * ratio),
            }
            if resource_class in current:
                self._execute(_INVENTORY_UPDATE, params)
            else:
                self._execute(_INVENTORY_INSERT, {**params, "rp_uuid": rp_uuid})
        for resource_class in sorted(set(current) - set(wanted)):
            changed = True
            self._execute(_INVENTORY_DELETE, {"rp_id": rp_id, "rc": resource_class})
        if changed and found is not None:
            generation += 1
            self._touch_provider(rp_id)
            self._execute(_PROVIDER_RENAME, {"now": now, "name": name, "rp_id": rp_id})
        return generation

    def _inventory_rows(self, rp_id: int) -> dict[str, tuple]:
        """``{rc: (total, reserved, min_unit, max_unit, step_size, allocation_ratio)}``."""
        return {
            row[0]: (*row[1:6], float(row[6]))
            for row in self._execute(_INVENTORY_OF, {"rp_id": rp_id}).fetchall()
        }

    @reader
    def provider_changes(self, since: int = 0) -> tuple[int, dict[str, dict[str, Row]], int]:
        """What changed in placement after change number ``since`` (0: everything).

        Returns ``(seq, providers, count)``: ``seq`` the current change number (pass it
        as ``since`` next time), ``providers`` ``{rp_uuid: {rc: {capacity, used, min_unit,
        max_unit, step_size}}}`` with the *full* inventory of each provider whose
        inventory or usage changed, and ``count`` the number of providers (a cache that
        holds more has seen some deleted and should reload from 0). One read transaction.
        This is how the scheduler keeps its placement view fresh at the start of each
        request without reading every provider.
        """
        seq = self._scalar(_CURRENT_CHANGE)
        providers: dict[str, dict[str, Row]] = {}
        # Ordered by change_seq so that the index serves the incremental read (ORDER BY
        # id would scan every provider), then by id in Python.
        rows = self._tuples(_CHANGED_PROVIDERS, {"since": since})
        rows.sort(key=lambda row: row[0])
        for _id, rp_uuid, rc, capacity, used, min_unit, max_unit, step_size in rows:
            inventory = providers.setdefault(rp_uuid, {})
            if rc is not None:
                inventory[rc] = {
                    "capacity": capacity, "used": used, "min_unit": min_unit,
                    "max_unit": max_unit, "step_size": step_size,
                }
        return seq, providers, self._scalar(_PROVIDER_COUNT)

    @reader
    def resource_provider_get(self, rp_uuid: str) -> Row:
        """``{uuid, name, generation, inventories: {rc: {total, reserved, min_unit,
        max_unit, step_size, allocation_ratio, capacity, used}}}`` where ``capacity`` is
        ``int((total - reserved) * allocation_ratio)``; ``ComputeHostNotFound`` if the
        provider does not exist."""
        rows = self._rows("resource_providers", _PROVIDER_GET, {"rp_uuid": rp_uuid})
        if not rows:
            raise exception.ComputeHostNotFound(host=rp_uuid)
        provider = rows[0]
        rp_id = provider.pop("id")
        provider["inventories"] = {}
        for row in self._rows("inventories", _INVENTORY_ROWS, {"rp_id": rp_id}):
            row.pop("rp_id")
            provider["inventories"][row.pop("resource_class")] = row
        return provider

    @statement
    def resource_providers_get_all(self) -> list[Row]:
        """All providers as ``{uuid, name, generation}``, in creation order."""
        return self._rows("resource_providers", _PROVIDERS_ALL)

    @writer
    def resource_provider_delete(self, rp_uuid: str) -> None:
        """Delete a provider with its inventories and allocations (no error if absent)."""
        params = {"rp_uuid": rp_uuid}
        self._execute(_DELETE_INVENTORIES, params)
        self._execute(_DELETE_PROVIDER_ALLOCATIONS, params)
        self._execute(_DELETE_PROVIDER, params)

    @statement
    def usages_get(self, rp_uuid: str) -> dict[str, int]:
        """``{resource_class: used}`` on one provider (classes with inventory)."""
        return dict(self._tuples(_USAGES, {"rp_uuid": rp_uuid}))

    @statement
    def provider_summaries(self) -> dict[str, dict[str, Row]]:
        """Every provider's inventories with usage, in one query:
        ``{rp_uuid: {rc: {total, reserved, allocation_ratio, capacity, used, max_unit}}}``."""
        result: dict[str, dict[str, Row]] = {}
        for rp_uuid, rc, total, reserved, ratio, capacity, used, max_unit in self._tuples(
            _SUMMARIES
        ):
            result.setdefault(rp_uuid, {})[rc] = {
                "total": total, "reserved": reserved, "allocation_ratio": ratio,
                "capacity": capacity, "used": used, "max_unit": max_unit,
            }
        return result

    @statement
    def allocations_get(
        self, consumer_uuid: str | None = None, rp_uuid: str | None = None
    ) -> list[Row]:
        """Allocation rows (``consumer_uuid, rp_uuid, resource_class, used, project_id,
        user_id``) of one consumer and/or one provider (all if neither), in order."""
        params = {"consumer_uuid": consumer_uuid, "rp_uuid": rp_uuid}

        def build() -> sa.Select:
            select = sa.select(
                _A.consumer_uuid, _A.rp_uuid, _A.resource_class, _A.used, _A.project_id,
                _A.user_id,
            ).order_by(_A.id)
            if consumer_uuid is not None:
                select = select.where(_A.consumer_uuid == _bp("consumer_uuid"))
            if rp_uuid is not None:
                select = select.where(_A.rp_uuid == _bp("rp_uuid"))
            return select

        found = query(("allocations", consumer_uuid is None, rp_uuid is None), build)
        return self._rows("allocations", found, params)

    @_placement_request("allocation_candidates")
    @statement
    def allocation_candidates(
        self,
        resources: dict[str, int],
        limit: int | None = None,
        usage_of: tuple[str, ...] = (),
    ) -> list[Any]:
        """Uuids of the providers with room for all of ``resources`` (``{"VCPU": 1,
        "MEMORY_MB": 2048, "DISK_GB": 20}``), in creation order; one SQL query.

        Room means, per class: ``used + amount <= capacity`` (``capacity = int((total -
        reserved) * allocation_ratio)``), ``min_unit <= amount <= max_unit`` and
        ``amount % step_size == 0``. Classes with amount 0 are ignored; an empty request
        matches every provider. ``limit`` keeps the first ones (placement's
        ``max_placement_results``); the scan stops there, which is what keeps this fast
        on 10,000 providers.

        With ``usage_of`` (resource classes), each item is instead a tuple ``(rp_uuid,
        used_1, used_2, ...)`` giving the current usage of those classes (``None`` where
        the provider has no such inventory), so that the caller's view of the usage is as
        fresh as the candidates themselves, for the same query.
        """
        wanted = [(rc, int(amount)) for rc, amount in sorted(resources.items()) if amount]
        classes = tuple(rc for rc, _amount in wanted)
        params: dict[str, Any] = {"limit": int(limit) if limit is not None else None}
        for index, (rc, amount) in enumerate(wanted):
            params[f"rc{index}"] = rc
            params[f"amount{index}"] = amount
        for index, rc in enumerate(usage_of):
            params[f"usage{index}"] = rc
        found = query(
            ("candidates", len(wanted), tuple(classes.index(rc) if rc in classes else -1
                                              for rc in usage_of), limit is None),
            lambda: _candidates_statement(classes, usage_of, limit is not None),
        )
        rows = self._tuples(found, params)
        return rows if usage_of else [row[0] for row in rows]

    # -- claims ------------------------------------------------------------------------

    @_placement_request("claim_resources")
    def claim_resources(
        self,
        consumer_uuid: str,
        rp_uuid: str,
        resources: dict[str, int],
        project_id: str | None = None,
        user_id: str | None = None,
    ) -> bool:
        """Atomically allocate ``resources`` on ``rp_uuid`` for ``consumer_uuid``.

        One write transaction: the consumer's existing allocations are first released (a
        claim *replaces* them, as placement's PUT /allocations does, so a reschedule
        claims the alternate in one step), then each class is added only if it fits
        (``used + amount <= capacity``, ``min_unit`` / ``max_unit`` / ``step_size``), by
        one conditional UPDATE each. Returns True on success; False if any class does not
        fit or has no inventory, in which case nothing changed (the old allocations are
        kept too). Bumps the provider's generation on success. A deadlock with another
        claim is retried (see ``nova_sim.db.engine``).
        """
        wanted = [(rc, int(amount)) for rc, amount in sorted(resources.items()) if amount]
        try:
            self._claim(consumer_uuid, rp_uuid, wanted, project_id, user_id)
        except _ClaimFailed:
            return False
        return True

    @writer
    def _claim(
        self,
        consumer_uuid: str,
        rp_uuid: str,
        wanted: list[tuple[str, int]],
        project_id: str | None,
        user_id: str | None,
    ) -> None:
        # The change counter first: every placement writer takes its lock before any
        # inventory row's, so two claims cannot deadlock on each other's rows.
        seq = self._next_change()
        found = self._execute(_PROVIDER_BY_UUID, {"rp_uuid": rp_uuid}).fetchone()
        if found is None:
            raise _ClaimFailed()
        rp_id = found[0]
        self._release(consumer_uuid, None, seq)
        for rc, amount in wanted:
            if self._rowcount(_CLAIM_ONE, {"rp_id": rp_id, "rc": rc, "amount": amount}) != 1:
                raise _ClaimFailed()  # rolls back this claim (the released allocations too)
        now = self.now()
        self._executemany(_ALLOCATION_INSERT, [
            {"consumer_uuid": consumer_uuid, "rp_uuid": rp_uuid, "rc": rc, "amount": amount,
             "project_id": project_id, "user_id": user_id, "now": now}
            for rc, amount in wanted
        ])
        self._execute(_TOUCH_BY_ID, {"seq": seq, "rp_id": rp_id})

    def _release(self, consumer_uuid: str, rp_uuid: str | None, seq: int) -> int:
        """Inside a write: drop the consumer's allocations (on one provider if given) and
        give their usage back; the providers take change number ``seq``. Returns how many
        rows went."""
        only = rp_uuid is not None

        def where(table_columns: Any) -> list[sa.ColumnElement]:
            clauses = [table_columns.consumer_uuid == _bp("consumer_uuid")]
            if only:
                clauses.append(table_columns.rp_uuid == _bp("rp_uuid"))
            return clauses

        params = {"consumer_uuid": consumer_uuid, "rp_uuid": rp_uuid}
        rows = self._tuples(
            query(("release-read", only),
                  lambda: sa.select(_A.rp_uuid, _A.resource_class, _A.used).where(*where(_A))),
            params,
        )
        if not rows:
            return 0
        self._executemany(
            _GIVE_BACK, [{"amount": used, "rc": rc, "rp_uuid": rp} for rp, rc, used in rows]
        )
        self._execute(
            query(("release-delete", only), lambda: sa.delete(allocations).where(*where(_A))),
            params,
        )
        for rp in sorted({row[0] for row in rows}):
            self._execute(_TOUCH_BY_UUID, {"seq": seq, "rp_uuid": rp})
        return len(rows)

    @writer
    def remove_allocations(self, consumer_uuid: str, rp_uuid: str | None = None) -> bool:
        """Release the consumer's allocations (only those on ``rp_uuid`` when given, so a
        late cleanup by a failed host cannot drop the claim on the next alternate).
        Returns True if there was something to remove."""
        return self._release(consumer_uuid, rp_uuid, self._next_change()) > 0


def _candidates_statement(
    classes: tuple[str, ...], usage_of: tuple[str, ...], limited: bool
) -> sa.Select:
    """The allocation candidates query for these classes (bind names ``rcN``,
    ``amountN``, ``usageN``, ``limit``)."""
    columns: list[Any] = [_P.uuid]
    source: Any = resource_providers
    clauses: list[Any] = []
    requested = {}
    for index, _rc in enumerate(classes):
        alias = inventories.alias(f"i{index}")
        requested[_rc] = alias
        amount = _bp(f"amount{index}")
        # Providers stay the outer loop: rows come in provider order, so ORDER BY costs
        # nothing and LIMIT stops the scan early.
        source = source.join(
            alias, sa.and_(alias.c.rp_id == _P.id, alias.c.resource_class == _bp(f"rc{index}"))
        )
        clauses += [
            alias.c.used + amount <= alias.c.capacity,
            alias.c.min_unit <= amount,
            alias.c.max_unit >= amount,
            amount % alias.c.step_size == 0,
        ]
    for index, rc in enumerate(usage_of):
        if rc in requested:
            columns.append(requested[rc].c.used)
            continue
        alias = inventories.alias(f"u{index}")
        columns.append(alias.c.used)
        source = source.outerjoin(
            alias, sa.and_(alias.c.rp_id == _P.id, alias.c.resource_class == _bp(f"usage{index}"))
        )
    select = sa.select(*columns).select_from(source).where(*clauses).order_by(_P.id)
    if limited:
        select = select.limit(_bp("limit", type_=sa.Integer))
    return select


__all__ = ["RESOURCE_CLASSES", "PlacementAPI"]
