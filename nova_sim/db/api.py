"""The database API of the simulated cloud: one ``Database`` object over SQLite, MariaDB /
MySQL or PostgreSQL.

Owns every query the controller services (API, conductor, scheduler) run on services,
compute nodes, flavors, instances, instance faults, instance actions and their events,
request specs and server groups; placement's (providers, inventories, allocations,
claims) are in ``nova_sim.db.placement``, which ``Database`` inherits, and the
connection, transactions and retries in ``nova_sim.db.engine``. Must not know about RPC,
the hub's internals or HTTP. Computes never use it (as in Nova, they go through the
conductor).

Contract
========

``Database(url="sqlite://", clock=None, busy_timeout=30.0, sync=None, **options)``

- ``url``: an SQLAlchemy URL. ``"sqlite://"`` is a private in-memory database (a
  one-process cloud); ``"sqlite:////abs/path.db"`` / ``"sqlite:///rel.db"`` a file,
  opened in WAL mode so that the processes of one machine share it;
  ``"mysql+pymysql://root@127.0.0.1/nova"`` MariaDB or MySQL;
  ``"postgresql+psycopg://postgres@127.0.0.1/nova"`` PostgreSQL.
- ``clock``: a callable giving seconds since the epoch. The services pass
  ``nova_sim.green.wallclock`` so timestamps come from the hub's clock (under the virtual
  clock, a fixed epoch plus virtual seconds: repeatable runs). Default ``time.time``.
- ``busy_timeout``: seconds an SQLite write waits for another process's write lock
  before "database is locked" (which is then retried).
- ``sync``: ``True`` migrates the database to the newest schema revision first (what
  ``nova-sim db sync`` does); ``False`` only checks it is there and raises
  ``DatabaseSchemaError`` ("run `nova-sim db sync`") if not; ``None`` (default) syncs an
  in-memory database or an empty SQLite file, and checks anything else.
- ``options``: the ``[database]`` pool and retry options (``max_pool_size``,
  ``max_overflow``, ``pool_timeout``, ``connection_recycle_time``, ``max_retries``,
  ``retry_interval``, ``db_max_retries``, ``db_retry_interval``,
  ``db_max_retry_interval``, ``use_tpool``); ``Database.from_config`` reads them.

Rules every method follows:

- Rows are plain ``dict`` objects, JSON-able (they cross RPC as they are). Booleans are
  ``bool``; JSON columns (``flavor``, ``metadata``, ``extra_specs``, ``spec``...) are
  decoded; timestamps are ISO strings in UTC as Nova's database shows them,
  ``"2026-01-01T00:00:05.000000"`` (``format_timestamp`` / ``parse_timestamp`` convert).
- Every method is one transaction (a method called by another joins it) and never
  switches greenthreads inside it; a deadlock or lost connection runs it again (see
  ``nova_sim.db.engine``).
- ``Database.transactions`` counts transactions (reads and writes),
  ``Database.write_transactions`` the writes: benchmarks print them per boot.
- Unknown column names in ``values`` raise ``ValueError`` (typos fail loudly).
- Lookups of a missing row raise the ``nova_sim.exception`` class named in the docstring.

API at a glance (each method's docstring states its semantics and errors):

- plumbing: ``now()``, ``transaction()`` (several calls in one write), ``close()``,
  ``transactions`` / ``write_transactions``;
- services: ``service_create``, ``service_get``, ``service_get_by_host_and_binary``,
  ``service_get_all``, ``service_update``, ``service_heartbeat``, ``service_destroy``;
- compute nodes: ``compute_node_create_or_update``, ``compute_node_get_all``,
  ``compute_node_get_by_host_and_nodename``;
- flavors: ``ensure_default_flavors``, ``flavor_create``, ``flavor_get``,
  ``flavor_get_by_flavor_id``, ``flavor_get_by_name``, ``flavor_get_all``,
  ``flavor_destroy``; flavor access and changes (``nova_sim.db.flavor_access``):
  ``flavor_get_all_for_project``, ``flavor_get_for_project``,
  ``flavor_access_get_by_flavor_id``, ``flavor_access_add``, ``flavor_access_remove``,
  ``flavor_update``;
- instances: ``instance_create``, ``instance_get``, ``instance_get_all_by_filters``,
  ``instance_update`` (``expected_task_state`` / ``expected_vm_state``),
  ``instance_save`` (the same, answering only the written and state columns),
  ``instance_destroy``, ``instance_count``; faults: ``instance_fault_create``,
  ``instance_fault_get_by_instance_uuids``;
- actions: ``action_start``, ``action_finish``, ``action_get_by_request_id``,
  ``actions_get``, ``action_event_start``, ``action_event_finish``, ``action_events_get``;
- placement (``nova_sim.db.placement``): ``resource_provider_ensure``,
  ``resource_provider_get``, ``resource_providers_get_all``, ``resource_provider_delete``,
  ``usages_get``, ``provider_summaries``, ``allocations_get``, ``allocation_candidates``,
  ``claim_resources``, ``remove_allocations``; change tracking for caches:
  ``provider_changes``, ``changes_since``;
- key pairs (``nova_sim.db.keypairs``): ``key_pair_create``, ``key_pair_get``,
  ``key_pair_get_all_by_user``, ``key_pair_count_by_user``, ``key_pair_destroy``;
- aggregates (``nova_sim.db.aggregates``): ``aggregate_create``, ``aggregate_get``,
  ``aggregate_get_all``, ``aggregate_get_by_host``, ``aggregate_update``,
  ``aggregate_delete``, ``aggregate_host_add``, ``aggregate_host_remove``;
- security groups (``nova_sim.db.security_groups``): ``security_group_get_all``,
  ``security_group_get``, ``security_group_create``, ``security_group_update``,
  ``security_group_destroy``, ``security_group_rule_create``, ``security_group_rule_get``,
  ``security_group_rule_destroy``;
- server tags (``nova_sim.db.tags``): ``instance_tag_get``, ``instance_tag_set``,
  ``instance_tag_add``, ``instance_tag_delete``;
- quotas (``nova_sim.db.quotas``): ``quota_get_all``, ``quota_set``, ``quota_destroy_all``,
  ``quota_class_get_all``, ``quota_class_set``;
- request specs: ``request_spec_save``, ``request_spec_get``;
- server groups: ``server_group_create``, ``server_group_get``, ``server_group_get_all``,
  ``server_group_get_by_instance``, ``server_group_add_members``,
  ``server_group_member_hosts``, ``server_group_member_host_counts``,
  ``server_group_delete``;
- images (the image service's records): ``image_create``, ``image_get``,
  ``image_get_all``, ``image_update``, ``image_destroy``.

Simplifications (compared with Nova) are noted where they happen: one database instead of
the API / cell databases and placement's own; ``deleted`` is a boolean; the availability
zone of a host is a column of its service row instead of a host aggregate.
"""

from __future__ import annotations

import datetime
import functools
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db import migration
from nova_sim.db.aggregates import AggregateAPI
from nova_sim.db.engine import (
    Query,
    Row,
    decode,
    encode,
    in_list,
    list_params,
    list_size,
    parse_url,
    query,
    reader,
    statement,
    writer,
)
from nova_sim.db.flavor_access import FlavorAccessAPI
from nova_sim.db.floating_ips import FloatingIPAPI
from nova_sim.db.keypairs import KeypairAPI
from nova_sim.db.placement import _NEXT_CHANGE_RETURNING, RESOURCE_CLASSES, PlacementAPI
from nova_sim.db.quotas import QuotaAPI
from nova_sim.db.schema import (
    JSON_COLUMNS,
    JSON_DEFAULTS,
    compute_nodes,
    flavors,
    images,
    instance_actions,
    instance_actions_events,
    instance_faults,
    instance_group_member,
    instance_groups,
    instances,
    request_specs,
    services,
)
from nova_sim.db.security_groups import SecurityGroupAPI
from nova_sim.db.tags import TagAPI
from nova_sim.db.volumes import VolumeAPI
from nova_sim.exception import (
    DatabaseSchemaError,
    FlavorExists,
    MarkerNotFound,
    RequestSpecNotFound,
    ServerGroupNotFound,
)
from nova_sim.green.costs import hooks as costs

__all__ = [
    "DEFAULT_FLAVORS",
    "RESOURCE_CLASSES",
    "Database",
    "DatabaseSchemaError",
    "FlavorExists",
    "MarkerNotFound",
    "RequestSpecNotFound",
    "ServerGroupNotFound",
    "format_timestamp",
    "parse_timestamp",
    "parse_url",
]

_EPOCH = datetime.datetime(1970, 1, 1)

_last_formatted: tuple[float | None, str] = (None, "")


def format_timestamp(seconds: float) -> str:
    """Seconds since the epoch -> ``"YYYY-MM-DDTHH:MM:SS.ffffff"`` (UTC, no zone suffix;
    rounded to the microsecond)."""
    global _last_formatted
    last_seconds, last_text = _last_formatted
    if seconds == last_seconds:  # the virtual clock repeats instants a lot
        return last_text
    micro = round(seconds * 1_000_000)
    whole, micro = divmod(micro, 1_000_000)
    t = time.gmtime(whole)
    text = "%04d-%02d-%02dT%02d:%02d:%02d.%06d" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, micro
    )
    _last_formatted = (seconds, text)  # one assignment: safe across threads
    return text


def parse_timestamp(text: str | None) -> float | None:
    """The inverse of ``format_timestamp`` (``None`` stays ``None``)."""
    if text is None:
        return None
    return (datetime.datetime.fromisoformat(text) - _EPOCH).total_seconds()


# devstack's default flavors (id, name, vcpus, memory_mb, root_gb).
DEFAULT_FLAVORS = (
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
)

_INSTANCE_SORT_KEYS = frozenset(
    {
        "created_at", "updated_at", "launched_at", "terminated_at", "display_name", "uuid",
        "id", "host", "node", "vm_state", "task_state", "power_state", "project_id",
        "user_id", "hostname", "availability_zone", "instance_type_id", "image_ref",
        "launch_index", "reservation_id", "key_name", "deleted_at",
    }
)

# instance_get_all_by_filters: filter name -> column, for exact (or IN-list) matches.
_INSTANCE_EXACT_FILTERS = {
    "uuid": "uuid", "project_id": "project_id", "user_id": "user_id", "host": "host",
    "node": "node", "vm_state": "vm_state", "task_state": "task_state",
    "power_state": "power_state", "image_ref": "image_ref", "image": "image_ref",
    "instance_type_id": "instance_type_id", "availability_zone": "availability_zone",
    "reservation_id": "reservation_id", "key_name": "key_name", "hostname": "hostname",
    "display_name": "display_name", "locked": "locked", "launched_on": "launched_on",
}
# filter name -> column, matched as a regular expression, as Nova does.
_INSTANCE_REGEX_FILTERS = {
    "name": "display_name", "ip": "info_cache", "ip6": "info_cache", "hostname_re": "hostname",
}

#: The columns ``instance_save`` answers with besides the written ones.
INSTANCE_SAVE_COLUMNS = (
    "uuid", "vm_state", "task_state", "power_state", "host", "node", "launched_at",
    "terminated_at", "updated_at", "deleted",
)

_S, _N, _F, _IN = services.c, compute_nodes.c, flavors.c, instances.c
_G, _M = instance_groups.c, instance_group_member.c
_bp = sa.bindparam

_SERVICE_BY_ID = Query(sa.select(services).where(_S.id == _bp("service_id")))
_SERVICE_BY_HOST_BINARY = Query(
    sa.select(services).where(
        _S.host == _bp("host"), _S.binary == _bp("binary"), _S.deleted == 0
    )
)
_HEARTBEAT = sa.update(services).where(_S.id == _bp("service_id")).values(
    report_count=_S.report_count + 1, last_seen_up=_bp("now"), updated_at=_bp("now"),
    change_seq=_bp("seq"),
)
_SERVICE_HEARTBEAT = Query(_HEARTBEAT)
_SERVICE_HEARTBEAT_RETURNING = Query(_HEARTBEAT.returning(*services.c))
_SERVICE_DESTROY = Query(
    sa.update(services)
    .where(_S.id == _bp("service_id"), _S.deleted == 0)
    .values(deleted=1, deleted_at=_bp("now"), updated_at=_bp("now"), change_seq=_bp("seq"))
)
_SERVICE_NODES_DESTROY = Query(
    sa.update(compute_nodes)
    .where(_N.service_id == _bp("service_id"), _N.deleted == 0)
    .values(deleted=1, deleted_at=_bp("now"), updated_at=_bp("now"), change_seq=_bp("seq"))
)
_NODE_BY_HOST_NODE = Query(
    sa.select(compute_nodes).where(
        _N.host == _bp("host"), _N.hypervisor_hostname == _bp("node"), _N.deleted == 0
    )
)
_FLAVOR_BY = {
    key: Query(sa.select(flavors).where(flavors.c[key] == _bp("value")))
    for key in ("id", "flavorid", "name")
}
_FLAVOR_EXISTS = Query(
    sa.select(_F.id).where(sa.or_(_F.flavorid == _bp("flavorid"), _F.name == _bp("name")))
)
_FLAVORS_ALL = Query(sa.select(flavors).order_by(_F.id))
_FLAVORS_PUBLIC = Query(sa.select(flavors).where(_F.is_public == _bp("public")).order_by(_F.id))
_FLAVOR_DELETE = Query(sa.delete(flavors).where(_F.flavorid == _bp("flavorid")))
_INSTANCE_BY_UUID = Query(sa.select(instances).where(_IN.uuid == _bp("uuid")))
_LIVE_INSTANCE = Query(sa.select(instances).where(_IN.uuid == _bp("uuid"), _IN.deleted == 0))
_INSTANCES_BY_HOST = Query(
    sa.select(instances)
    .where(_IN.host == _bp("host"), _IN.deleted == 0)
    .order_by(_IN.created_at.asc(), _IN.id.asc())
)
_INSTANCES_BY_HOST_NODE = Query(
    sa.select(instances)
    .where(_IN.host == _bp("host"), _IN.node == _bp("node"), _IN.deleted == 0)
    .order_by(_IN.created_at.asc(), _IN.id.asc())
)
_INSTANCE_SOFT_DELETE = Query(
    sa.update(instances)
    .where(_IN.uuid == _bp("uuid"))
    .values(deleted=1, deleted_at=_bp("now"), updated_at=_bp("now"))
)
_ACTIONS = instance_actions.c
_EVENTS = instance_actions_events.c
_ACTION_LATEST = Query(
    sa.select(instance_actions)
    .where(_ACTIONS.instance_uuid == _bp("uuid"), _ACTIONS.request_id == _bp("request_id"))
    .order_by(_ACTIONS.id.desc())
    .limit(1)
)
_ACTION_ID_LATEST = Query(
    sa.select(_ACTIONS.id)
    .where(_ACTIONS.instance_uuid == _bp("uuid"), _ACTIONS.request_id == _bp("request_id"))
    .order_by(_ACTIONS.id.desc())
    .limit(1)
)
_ACTIONS_OF = Query(
    sa.select(instance_actions)
    .where(_ACTIONS.instance_uuid == _bp("uuid"))
    .order_by(_ACTIONS.id.desc())
)
_EVENT_LATEST = Query(
    sa.select(instance_actions_events)
    .where(_EVENTS.action_id == _bp("action_id"), _EVENTS.event == _bp("event"))
    .order_by(_EVENTS.finish_time.is_(None).desc(), _EVENTS.id.desc())
    .limit(1)
)
_ACTION_ERROR = Query(
    sa.update(instance_actions)
    .where(_ACTIONS.id == _bp("action_id"))
    .values(message="Error", updated_at=_bp("now"))
)
_EVENTS_OF = Query(
    sa.select(instance_actions_events)
    .where(_EVENTS.action_id == _bp("action_id"))
    .order_by(_EVENTS.id.desc())
)
_SPEC_UPDATE = Query(
    sa.update(request_specs)
    .where(request_specs.c.instance_uuid == _bp("uuid"))
    .values(spec=_bp("spec"), updated_at=_bp("now"))
)
_SPEC_INSERT = Query(
    sa.insert(request_specs).values(
        instance_uuid=_bp("uuid"), spec=_bp("spec"), created_at=_bp("now"),
        updated_at=_bp("now"),
    )
)
_SPEC_GET = Query(
    sa.select(request_specs.c.spec).where(request_specs.c.instance_uuid == _bp("uuid"))
)
_IMAGE_GET = Query(
    sa.select(images).where(images.c.uuid == _bp("uuid"), images.c.deleted == 0)
)
_IMAGES_ALL = Query(sa.select(images).where(images.c.deleted == 0).order_by(images.c.id))
_IMAGE_DELETE = Query(
    sa.update(images)
    .where(images.c.uuid == _bp("uuid"), images.c.deleted == 0)
    .values(deleted=1, deleted_at=_bp("now"), updated_at=_bp("now"), status="deleted")
)
_GROUP_GET = Query(sa.select(instance_groups).where(_G.uuid == _bp("group"), _G.deleted == 0))
_GROUP_MEMBERS = Query(
    sa.select(_M.instance_uuid).where(_M.group_uuid == _bp("group")).order_by(_M.id)
)
_GROUPS_ALL = Query(sa.select(_G.uuid).where(_G.deleted == 0).order_by(_G.id))
_GROUPS_OF_PROJECT = Query(
    sa.select(_G.uuid).where(_G.deleted == 0, _G.project_id == _bp("project")).order_by(_G.id)
)
_GROUP_OF_INSTANCE = Query(
    sa.select(_M.group_uuid)
    .select_from(instance_group_member.join(instance_groups, _G.uuid == _M.group_uuid))
    .where(_M.instance_uuid == _bp("uuid"), _G.deleted == 0)
)
_MEMBER_INSERT = Query(
    sa.insert(instance_group_member).values(
        group_uuid=_bp("group"), instance_uuid=_bp("uuid"), created_at=_bp("now")
    )
)
_MEMBER_HOST_COUNTS = Query(
    sa.select(_IN.host, sa.func.count())
    .select_from(instance_group_member.join(instances, _IN.uuid == _M.instance_uuid))
    .where(_M.group_uuid == _bp("group"), _IN.deleted == 0, _IN.host.is_not(None))
    .group_by(_IN.host)
    .order_by(_IN.host)
)
_GROUP_DELETE = Query(
    sa.update(instance_groups)
    .where(_G.uuid == _bp("group"), _G.deleted == 0)
    .values(deleted=1, deleted_at=_bp("now"))
)
_GROUP_MEMBERS_DELETE = Query(
    sa.delete(instance_group_member).where(_M.group_uuid == _bp("group"))
)
_INSTANCE_MEMBERSHIP_DELETE = Query(
    sa.delete(instance_group_member).where(_M.instance_uuid == _bp("uuid"))
)
_HARD_DELETES = tuple(
    Query(built)
    for built in (
        sa.delete(instances).where(_IN.uuid == _bp("uuid")),
        sa.delete(instance_faults).where(instance_faults.c.instance_uuid == _bp("uuid")),
        sa.delete(instance_actions_events).where(
            _EVENTS.action_id.in_(
                sa.select(_ACTIONS.id).where(_ACTIONS.instance_uuid == _bp("uuid"))
            )
        ),
        sa.delete(instance_actions).where(_ACTIONS.instance_uuid == _bp("uuid")),
        sa.delete(request_specs).where(request_specs.c.instance_uuid == _bp("uuid")),
        sa.delete(instance_group_member).where(_M.instance_uuid == _bp("uuid")),
    )
)


def _positional(compiled: Query, dialect: Any) -> tuple[str, tuple[str, ...], dict]:
    """``(sql, bind names in order, literal values)`` of a statement for a positional
    DBAPI (SQLite's ``qmark``), to run on the DBAPI connection itself."""
    sql, names, defaults = compiled.compiled(dialect)
    if names is None:
        raise TypeError(f"{dialect.name} does not take positional parameters")
    return sql, names, defaults


def _accepted(expected: Any) -> list[Any] | None:
    """An expected state as a list of accepted values (None: no check)."""
    if expected is None:
        return None
    return list(expected) if isinstance(expected, (list, tuple, set)) else [expected]


def _state_where(
    expected_task_state: Any, expected_vm_state: Any
) -> tuple[tuple, dict[str, Any]]:
    """(shape, parameters) of "the live instance ``:uuid``, in the expected states" (a
    ``None`` among the accepted values matches NULL, as Nova's ``[None]``); the shape
    goes to ``_state_clauses``."""
    if expected_task_state is None and expected_vm_state is None:
        return (), {}
    shape: list[tuple[str, int, bool]] = []
    params: dict[str, Any] = {}
    for column, expected in (("task_state", expected_task_state), ("vm_state", expected_vm_state)):
        accepted = _accepted(expected)
        if accepted is None:
            continue
        named = [value for value in accepted if value is not None]
        size = list_size(len(named)) if named else 0
        shape.append((column, size, len(named) != len(accepted)))
        if named:
            params.update(list_params(f"s_{column}", named, size))
    return tuple(shape), params


def _state_clauses(shape: tuple) -> list[sa.ColumnElement]:
    """The WHERE clauses of a ``_state_where`` shape."""
    clauses = [_IN.uuid == _bp("uuid"), _IN.deleted == 0]
    for column, size, with_null in shape:
        alternatives = [in_list(_IN[column], f"s_{column}", size)] if size else []
        if with_null:
            alternatives.append(_IN[column].is_(None))
        clauses.append(sa.or_(*alternatives) if alternatives else sa.false())
    return clauses


@functools.lru_cache(maxsize=512)
def _instance_update(
    names: tuple[str, ...], shape: tuple, answered: tuple[str, ...], returning: bool
) -> Query:
    """The state-checked UPDATE of ``names`` (bind ``v_NAME``), answering ``answered``
    when the dialect can."""
    update = sa.update(instances).where(*_state_clauses(shape)).values(
        {name: _bp(f"v_{name}") for name in names}
    )
    return Query(update.returning(*(_IN[c] for c in answered)) if returning else update)


_ALL_INSTANCE_COLUMNS = tuple(instances.c.keys())
_DERIVED_FREE = (
    ("free_ram_mb", "memory_mb", "memory_mb_used"),
    ("free_disk_gb", "local_gb", "local_gb_used"),
)


@functools.lru_cache(maxsize=256)
def _node_update(names: tuple[str, ...], returning: bool) -> tuple[Query, tuple]:
    """The UPDATE of a compute node's ``names`` columns (bind ``v_NAME``), keyed by
    ``w_host`` / ``w_node``, and the (total, used) pairs whose free figure it derives
    (bind ``d_TOTAL`` / ``d_USED``: the new value or None for the stored one)."""
    derived = tuple((total, used) for free, total, used in _DERIVED_FREE if free not in names)
    assignments: dict[str, Any] = {name: _bp(f"v_{name}") for name in names}
    # Derived figures from the new values where given, else the stored ones (the
    # right-hand sides of an UPDATE see the row as it was).
    for free, total, used in _DERIVED_FREE:
        if (total, used) in derived:
            assignments[free] = sa.func.coalesce(
                _bp(f"d_{total}", type_=sa.Integer), _N[total]
            ) - sa.func.coalesce(_bp(f"d_{used}", type_=sa.Integer), _N[used])
    update = (
        sa.update(compute_nodes)
        .where(_N.host == _bp("w_host"), _N.hypervisor_hostname == _bp("w_node"), _N.deleted == 0)
        .values(assignments)
    )
    return Query(update.returning(*compute_nodes.c) if returning else update), derived


@functools.lru_cache(maxsize=256)
def _save_columns(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``instance_save``'s answer for written ``names``: every column it answers, and
    those read back from the row (the JSON ones are answered from the values given)."""
    answered = tuple(dict.fromkeys((*INSTANCE_SAVE_COLUMNS, *names)))
    return answered, tuple(c for c in answered if c not in JSON_COLUMNS["instances"])


def options_from_config(conf: Any) -> dict[str, Any]:
    """The pool, retry and thread options of ``conf``'s [database] group, as ``Database``
    and ``nova_sim.db.engine.create_engine`` take them."""
    group = conf.database
    return {
        name: getattr(group, name)
        for name in (
            "max_pool_size", "max_overflow", "pool_timeout", "connection_recycle_time",
            "max_retries", "retry_interval", "db_max_retries", "db_retry_interval",
            "db_max_retry_interval", "use_tpool",
        )
    }


def _new_uuid() -> str:
    from nova_sim import green

    return green.random_uuid()


class Database(PlacementAPI, KeypairAPI, FlavorAccessAPI, QuotaAPI, AggregateAPI,
               SecurityGroupAPI, TagAPI, FloatingIPAPI, VolumeAPI):
    """The cloud's state in one SQL database; see the module docstring for the contract.

    Thread model (``mode``, see ``nova_sim.db.engine``): SQLite (and any backend on the
    virtual clock) runs every call on the caller's thread without switching greenthreads;
    PyMySQL runs each call on the calling greenthread over green sockets, yielding while
    the server works; psycopg, or any URL with ``use_tpool``, runs each call in a native
    pool thread while only the calling greenthread waits.
    """

    #: ``service_heartbeat``'s statements for the DBAPI connection, and the columns of
    #: its answer (both made on first use)
    _heartbeat_statements: tuple | None = None
    _heartbeat_columns: tuple[str, ...] | None = None

    def __init__(
        self,
        url: str = "sqlite://",
        clock: Callable[[], float] | None = None,
        busy_timeout: float = 30.0,
        sync: bool | None = None,
        **options: Any,
    ):
        super().__init__(url, clock=clock, busy_timeout=busy_timeout, **options)
        try:
            self._prepare_schema(sync)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_config(
        cls,
        conf: Any,
        url: str | None = None,
        clock: Callable[[], float] | None = None,
        sync: bool | None = None,
    ) -> Database:
        """A ``Database`` opened from the ``[database]`` options of ``conf`` (``url``
        overrides ``connection``)."""
        return cls(
            url or conf.database.connection, clock=clock,
            busy_timeout=conf.database.busy_timeout, sync=sync, **options_from_config(conf),
        )

    def _prepare_schema(self, sync: bool | None) -> None:
        """Sync or check the schema (see ``sync`` in the module docstring)."""
        with self.engine.connect() as connection:
            if sync is None:
                sync = self.memory or (
                    self.sqlite and not sa.inspect(connection).get_table_names()
                )
            if sync:
                if self.sqlite and not self.memory:
                    # Two processes starting on one new file: the second waits here and
                    # then finds the schema in place.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                migration.upgrade(connection)
                connection.commit()
            else:
                migration.check(connection, self.url)

    # ----------------------------------------------------------------------------------
    # Plumbing
    # ----------------------------------------------------------------------------------

    def now(self) -> str:
        """The current time on this database's clock, as a stored timestamp string."""
        return format_timestamp(self.clock())

    def _fill(self, table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
        """A new row's values with the empty JSON documents it needs, encoded."""
        encoded = encode(table, values)
        for name, empty in JSON_DEFAULTS.get(table.name, {}).items():
            if encoded.get(name) is None:
                encoded[name] = empty
        return encoded

    def _create(self, table: sa.Table, values: dict[str, Any]) -> Row:
        """Insert a new row (raw values) and return it, decoded; one statement where the
        dialect can answer an INSERT with its row."""
        encoded = self._fill(table, values)
        names = tuple(encoded)
        if self.dialect.insert_returning:
            returning = query(
                ("insert-row", table.name, names),
                lambda: sa.insert(table)
                .values({n: _bp(n) for n in names})
                .returning(*table.c),
            )
            return self._rows(table.name, returning, encoded)[0]
        return self._select_by_id(table, self._insert(table, encoded))

    # ----------------------------------------------------------------------------------
    # Services
    # ----------------------------------------------------------------------------------

    @writer
    def service_create(self, values: dict[str, Any]) -> Row:
        """Create a service row (``binary``, ``host``, ``topic`` at least) and return it.

        ``report_count`` starts at 0 and ``last_seen_up`` at ``None``.
        """
        values = dict(values)
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        values.setdefault("uuid", _new_uuid())
        values["change_seq"] = self._next_change()
        return self._select_by_id(services, self._insert(services, encode(services, values)))

    def _service_get(self, service_id: int) -> Row:
        rows = self._rows("services", _SERVICE_BY_ID, {"service_id": service_id})
        if not rows:
            raise exception.ServiceNotFound(service_id=service_id)
        return rows[0]

    @statement
    def service_get(self, service_id: int) -> Row:
        """The service with this id (deleted ones too); ``ServiceNotFound`` if none."""
        return self._service_get(service_id)

    @statement
    def service_get_by_host_and_binary(self, host: str, binary: str) -> Row:
        """The live service ``binary`` on ``host``; ``ComputeHostNotFound`` if none
        (Nova raises HostBinaryNotFound; for nova-compute it is the same 404)."""
        rows = self._rows("services", _SERVICE_BY_HOST_BINARY, {"host": host, "binary": binary})
        if not rows:
            raise exception.ComputeHostNotFound(host=host)
        return rows[0]

    @statement
    def service_get_all(
        self,
        binary: str | None = None,
        disabled: bool | None = None,
        host: str | None = None,
        updated_since: str | None = None,
        include_deleted: bool = False,
    ) -> list[Row]:
        """Live services (deleted ones too with ``include_deleted``), optionally only of
        one ``binary`` / ``host`` / disabled state, or only those with ``updated_at >=
        updated_since`` (a timestamp string: heartbeats, updates and deletes all set
        ``updated_at``), ordered by id."""
        params = {
            "binary": binary, "host": host, "since": updated_since,
            "disabled": None if disabled is None else int(disabled),
        }
        shape = (include_deleted, *(value is None for value in params.values()))

        def build() -> sa.Select:
            select = sa.select(services).order_by(_S.id)
            if not include_deleted:
                select = select.where(_S.deleted == 0)
            if updated_since is not None:
                select = select.where(_S.updated_at >= _bp("since"))
            if binary is not None:
                select = select.where(_S.binary == _bp("binary"))
            if host is not None:
                select = select.where(_S.host == _bp("host"))
            if disabled is not None:
                select = select.where(_S.disabled == _bp("disabled"))
            return select

        return self._rows("services", query(("services", shape), build), params)

    @writer
    def service_update(self, service_id: int, values: dict[str, Any]) -> Row:
        """Update columns (``disabled``, ``disabled_reason``, ``forced_down``...) and return
        the row; ``updated_at`` is set unless given. ``ServiceNotFound`` if none."""
        values = dict(values)
        values.setdefault("updated_at", self.now())
        values["change_seq"] = self._next_change()
        matched = self._update(
            services, encode(services, values), "id", lambda: _S.id == _bp("service_id"),
            {"service_id": service_id},
        )
        if not matched:
            raise exception.ServiceNotFound(service_id=service_id)
        return self._service_get(service_id)

    def service_heartbeat(self, service_id: int) -> Row:
        """One heartbeat: ``report_count += 1``, ``last_seen_up = updated_at = now``.

        Returns the row; ``ServiceNotFound`` if there is no such service.

        One write transaction of two statements: the change counter's ``UPDATE ...
        RETURNING`` and the row's. On a private in-memory database with no cost model
        (one connection, no other process, no retry ever needed) the two run as
        pre-compiled statements on the DBAPI connection, the hot path of an idle cloud.
        """
        if (self.memory and costs.transaction is None and self._local.connection is None
                and self.dialect.update_returning):
            return self._service_heartbeat_direct(service_id)
        return self._service_heartbeat(service_id)

    def _service_heartbeat_direct(self, service_id: int) -> Row:
        """``service_heartbeat`` on the direct connection: BEGIN IMMEDIATE, the two
        statements, COMMIT (what ``@writer`` does, minus its retry loop)."""
        statements = self._heartbeat_statements
        if statements is None:
            statements = self._heartbeat_statements = (
                _positional(_NEXT_CHANGE_RETURNING, self.dialect),
                _positional(_SERVICE_HEARTBEAT_RETURNING, self.dialect),
            )
        (next_sql, next_order, next_defaults), (beat_sql, beat_order, beat_defaults) = statements
        now = self.now()
        connection = self._direct_connection()
        self.transactions += 1
        self.write_transactions += 1
        connection.execute("BEGIN IMMEDIATE")
        try:
            seq = connection.execute(
                next_sql, [next_defaults[name] for name in next_order]).fetchone()[0]
            values = {**beat_defaults, "now": now, "seq": seq, "service_id": service_id}
            cursor = connection.execute(beat_sql, [values[name] for name in beat_order])
            found = cursor.fetchone()
            if found is None:
                raise exception.ServiceNotFound(service_id=service_id)
            names = self._heartbeat_columns
            if names is None:
                names = self._heartbeat_columns = tuple(d[0] for d in cursor.description)
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return decode("services", [dict(zip(names, found, strict=True))])[0]

    @writer
    def _service_heartbeat(self, service_id: int) -> Row:
        params = {"now": self.now(), "seq": self._next_change(), "service_id": service_id}
        if self.dialect.update_returning:
            rows = self._rows("services", _SERVICE_HEARTBEAT_RETURNING, params)
            if not rows:
                raise exception.ServiceNotFound(service_id=service_id)
            return rows[0]
        if not self._rowcount(_SERVICE_HEARTBEAT, params):
            raise exception.ServiceNotFound(service_id=service_id)
        return self._service_get(service_id)

    @writer
    def service_destroy(self, service_id: int) -> None:
        """Soft-delete a service and its compute nodes (``ServiceNotFound`` if none)."""
        params = {"now": self.now(), "seq": self._next_change(), "service_id": service_id}
        if not self._rowcount(_SERVICE_DESTROY, params):
            raise exception.ServiceNotFound(service_id=service_id)
        self._execute(_SERVICE_NODES_DESTROY, params)

    # ----------------------------------------------------------------------------------
    # Compute nodes
    # ----------------------------------------------------------------------------------

    @writer
    def compute_node_create_or_update(self, values: dict[str, Any]) -> Row:
        """Create or update the node keyed by (``host``, ``hypervisor_hostname``).

        ``hypervisor_hostname`` defaults to ``host``; a new node gets ``uuid`` from
        ``values`` or a fresh one (the resource provider of the node uses the same uuid).
        ``free_ram_mb`` / ``free_disk_gb`` are derived from the totals and the used
        figures unless given. ``updated_at`` is always set to now. Returns the row.
        """
        values = dict(values)
        host = values["host"]
        values.setdefault("hypervisor_hostname", host)
        now = self.now()
        values["updated_at"] = now
        values["change_seq"] = self._next_change()
        changes = encode(compute_nodes, values)
        changes.pop("uuid", None)
        update, derived = _node_update(tuple(changes), bool(self.dialect.update_returning))
        params = {f"v_{name}": value for name, value in changes.items()}
        for total, used in derived:
            params[f"d_{total}"] = values.get(total)
            params[f"d_{used}"] = values.get(used)
        params["w_host"] = host
        params["w_node"] = values["hypervisor_hostname"]
        if self.dialect.update_returning:
            rows = self._rows("compute_nodes", update, params)
            if rows:
                return rows[0]
        elif self._rowcount(update, params):
            return self._rows(
                "compute_nodes", _NODE_BY_HOST_NODE,
                {"host": host, "node": values["hypervisor_hostname"]},
            )[0]
        values.setdefault("uuid", _new_uuid())
        values.setdefault("created_at", now)
        values.setdefault(
            "free_ram_mb", values.get("memory_mb", 0) - values.get("memory_mb_used", 0)
        )
        values.setdefault(
            "free_disk_gb", values.get("local_gb", 0) - values.get("local_gb_used", 0)
        )
        return self._create(compute_nodes, values)

    @statement
    def compute_node_get_all(
        self,
        host: str | None = None,
        updated_since: str | None = None,
        include_deleted: bool = False,
    ) -> list[Row]:
        """Live compute nodes (deleted ones too with ``include_deleted``) ordered by id;
        only those of ``host``, or only those with ``updated_at >= updated_since`` (a
        timestamp string) when given. ``stats`` is a dict (Nova's compute node stats:
        ``num_instances``, ``io_workload``, ``failed_builds``...)."""

        def build() -> sa.Select:
            select = sa.select(compute_nodes).order_by(_N.id)
            if not include_deleted:
                select = select.where(_N.deleted == 0)
            if host is not None:
                select = select.where(_N.host == _bp("host"))
            if updated_since is not None:
                select = select.where(_N.updated_at >= _bp("since"))
            return select

        shape = ("nodes", host is None, updated_since is None, include_deleted)
        return self._rows(
            "compute_nodes", query(shape, build), {"host": host, "since": updated_since}
        )

    @statement
    def compute_node_get_by_host_and_nodename(self, host: str, nodename: str) -> Row:
        """The live node; ``ComputeHostNotFound`` if none."""
        rows = self._rows("compute_nodes", _NODE_BY_HOST_NODE, {"host": host, "node": nodename})
        if not rows:
            raise exception.ComputeHostNotFound(host=f"{host}/{nodename}")
        return rows[0]

    # ----------------------------------------------------------------------------------
    # Flavors
    # ----------------------------------------------------------------------------------

    @writer
    def flavor_create(self, values: dict[str, Any]) -> Row:
        """Create a flavor (``name``, ``vcpus``, ``memory_mb`` required; ``flavorid``
        defaults to a new uuid). ``FlavorExists`` on a duplicate name or flavorid."""
        values = dict(values)
        values.setdefault("flavorid", _new_uuid())
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        for key in ("flavorid", "name"):
            if self._rows("flavors", _FLAVOR_BY[key], {"value": values[key]}):
                raise FlavorExists(key=key, value=values[key])
        return self._select_by_id(flavors, self._insert(flavors, self._fill(flavors, values)))

    def ensure_default_flavors(self) -> list[Row]:
        """Create devstack's m1.tiny .. m1.xlarge (flavorids "1".."5") where missing.

        Returns all flavors. Safe to call from several processes at once.
        """
        self._ensure_default_flavors()
        return self.flavor_get_all()

    @writer
    def _ensure_default_flavors(self) -> None:
        for flavorid, name, vcpus, memory_mb, root_gb in DEFAULT_FLAVORS:
            if self._scalar(_FLAVOR_EXISTS, {"flavorid": flavorid, "name": name}) is None:
                self.flavor_create(
                    {
                        "flavorid": flavorid, "name": name, "vcpus": vcpus,
                        "memory_mb": memory_mb, "root_gb": root_gb,
                    }
                )

    def _flavor_by(self, key: str, value: Any) -> Row:
        rows = self._rows("flavors", _FLAVOR_BY[key], {"value": value})
        if not rows:
            raise exception.FlavorNotFound(flavor_id=value)
        return rows[0]

    @statement
    def flavor_get(self, flavor_id: int) -> Row:
        """The flavor by its internal integer ``id``; ``FlavorNotFound`` if none."""
        return self._flavor_by("id", flavor_id)

    @statement
    def flavor_get_by_flavor_id(self, flavorid: str) -> Row:
        """The flavor by its API id (``"1"`` for m1.tiny); ``FlavorNotFound`` if none."""
        return self._flavor_by("flavorid", str(flavorid))

    @statement
    def flavor_get_by_name(self, name: str) -> Row:
        """The flavor by name; ``FlavorNotFound`` if none."""
        return self._flavor_by("name", name)

    @statement
    def flavor_get_all(self, is_public: bool | None = None) -> list[Row]:
        """All flavors (optionally only public / private ones), ordered by id."""
        if is_public is None:
            return self._rows("flavors", _FLAVORS_ALL)
        return self._rows("flavors", _FLAVORS_PUBLIC, {"public": int(is_public)})

    @writer
    def flavor_destroy(self, flavorid: str) -> None:
        """Delete a flavor by API id (instances keep their snapshot); ``FlavorNotFound``."""
        if not self._rowcount(_FLAVOR_DELETE, {"flavorid": flavorid}):
            raise exception.FlavorNotFound(flavor_id=flavorid)
        self._flavor_access_delete_all(flavorid)

    # ----------------------------------------------------------------------------------
    # Instances
    # ----------------------------------------------------------------------------------

    def instance_create(self, values: dict[str, Any]) -> Row:
        """Create an instance row and return it.

        ``uuid`` defaults to a fresh one; ``created_at`` / ``updated_at`` to now; the
        ``flavor`` snapshot (a flavor row dict) also fills ``instance_type_id``, ``vcpus``,
        ``memory_mb``, ``root_gb`` and ``ephemeral_gb`` when those are not given.
        ``InstanceExists`` when the uuid is taken.
        """
        values = dict(values)
        values.setdefault("uuid", _new_uuid())
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        flavor = values.get("flavor")
        if isinstance(flavor, dict):
            values.setdefault("instance_type_id", flavor.get("id"))
            for key in ("vcpus", "memory_mb", "root_gb", "ephemeral_gb"):
                values.setdefault(key, flavor.get(key))
        try:
            return self._instance_insert(values)
        except self.dialect.loaded_dbapi.IntegrityError:
            raise exception.InstanceExists(name=values["uuid"])

    @statement
    def _instance_insert(self, values: dict[str, Any]) -> Row:
        return self._create(instances, values)

    @statement
    def instance_get(self, instance_uuid: str, read_deleted: str = "no") -> Row:
        """The instance; ``InstanceNotFound`` if none (or deleted, unless
        ``read_deleted`` is ``"yes"``)."""
        rows = self._rows("instances", _INSTANCE_BY_UUID, {"uuid": instance_uuid})
        if not rows or (rows[0]["deleted"] and read_deleted == "no"):
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        if read_deleted == "only" and not rows[0]["deleted"]:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return rows[0]

    @statement
    def instance_get_all_by_host(self, host: str, node: str | None = None) -> list[Row]:
        """The live instances on ``host`` (and ``node`` when given), oldest first
        (``created_at``, then ``id``): Nova's ``instance_get_all_by_host[_and_node]``,
        what a compute's ``InstanceList.get_by_host`` reads. The same rows as
        ``instance_get_all_by_filters({"host": host[, "node": node]}, sort_keys=
        ["created_at"], sort_dirs=["asc"])`` in one indexed statement: every audit of
        every host reads it, most of them finding nothing."""
        if node is None:
            return self._rows("instances", _INSTANCES_BY_HOST, {"host": host})
        return self._rows("instances", _INSTANCES_BY_HOST_NODE, {"host": host, "node": node})

    @reader
    def instance_get_all_by_filters(  # noqa: C901 - one case per kind of Nova's filters
        self,
        filters: dict[str, Any] | None = None,
        limit: int | None = None,
        marker: str | None = None,
        sort_keys: Iterable[str] | str | None = None,
        sort_dirs: Iterable[str] | str | None = None,
    ) -> list[Row]:
        """Instances matching ``filters``, sorted, one page of them.

        Filters: ``deleted`` (bool; absent: only live instances; ``None`` or ``"any"``:
        both), exact matches (a list value means "any of") on uuid, project_id, user_id,
        host, node, vm_state, task_state, power_state, image_ref (or ``image``),
        instance_type_id, availability_zone, reservation_id, key_name, hostname,
        display_name, locked, launched_on; regular expressions for ``name``
        (display_name) and ``ip`` / ``ip6`` (the network info), in the database's
        dialect (Python's ``re.search`` on SQLite); ``changes-since`` /
        ``changes-before`` (timestamp strings compared with updated_at); ``metadata``
        (dict: every key/value present). Unknown filters raise ``InvalidInput``.

        Sort: ``sort_keys`` / ``sort_dirs`` (``"asc"``/``"desc"``), default created_at
        desc then id desc (Nova's), ``id`` is always the last tie-breaker. ``marker`` is
        the uuid of the last instance of the previous page (``MarkerNotFound`` if it does
        not match the filters' result); ``limit`` caps the page.
        """
        filters = dict(filters or {})
        shape: list[tuple] = []
        params: dict[str, Any] = {}
        deleted = filters.pop("deleted", False)
        if deleted is not None and deleted != "any":
            shape.append(("deleted",))
            params["deleted"] = int(bool(deleted))
        metadata = filters.pop("metadata", None)
        changes_since = filters.pop("changes-since", filters.pop("changes_since", None))
        changes_before = filters.pop("changes-before", filters.pop("changes_before", None))
        if changes_since is not None:
            shape.append(("since",))
            params["since"] = changes_since
        if changes_before is not None:
            shape.append(("before",))
            params["before"] = changes_before
        for index, (name, value) in enumerate(sorted(filters.items())):
            prefix = f"f{index}_"
            if name in _INSTANCE_EXACT_FILTERS:
                column = _INSTANCE_EXACT_FILTERS[name]
                if isinstance(value, (list, tuple, set, frozenset)):
                    values = list(value)
                    named = [int(v) if isinstance(v, bool) else v for v in values
                             if v is not None]
                    size = list_size(len(named)) if named else 0
                    shape.append(("in", column, prefix, size, len(named) != len(values)))
                    if named:
                        params.update(list_params(prefix, named, size))
                elif value is None:
                    shape.append(("null", column))
                else:
                    shape.append(("eq", column, prefix))
                    params[prefix] = int(value) if isinstance(value, bool) else value
            elif name in _INSTANCE_REGEX_FILTERS:
                shape.append(("regex", _INSTANCE_REGEX_FILTERS[name], prefix))
                params[prefix] = str(value)
            else:
                raise exception.InvalidInput(reason=f"unknown instance filter {name!r}")

        keys = [sort_keys] if isinstance(sort_keys, str) else list(sort_keys or ["created_at"])
        dirs = [sort_dirs] if isinstance(sort_dirs, str) else list(sort_dirs or [])
        order: list[tuple[str, str]] = []
        for index, key in enumerate(keys):
            if key not in _INSTANCE_SORT_KEYS:
                raise exception.InvalidInput(reason=f"invalid sort key {key!r}")
            direction = dirs[index] if index < len(dirs) else (dirs[0] if dirs else "desc")
            if direction not in ("asc", "desc"):
                raise exception.InvalidInput(reason=f"invalid sort direction {direction!r}")
            order.append((key, direction))
        if "id" not in keys:
            order.append(("id", dirs[0] if dirs else "desc"))
        paged = limit is not None and not metadata
        if paged:
            params["limit"] = int(limit)
        key = ("instances", tuple(shape), tuple(order), marker is not None, paged)
        if marker is not None:
            params["marker"] = marker
            found = self._scalar(
                query(("marker", *key[1:3]), lambda: _marker_position(shape, order)), params
            )
            if found is None:
                raise MarkerNotFound(marker=marker)
            params["position"] = found
        rows = self._rows(
            "instances", query(key, lambda: _instances_page(shape, order, marker, paged)),
            params,
        )
        for row in rows:
            row.pop("_position", None)
        if metadata:
            rows = [
                row for row in rows
                if all(row["metadata"].get(k) == v for k, v in metadata.items())
            ]
            if limit is not None:
                rows = rows[: int(limit)]
        return rows

    @statement
    def instance_update(
        self,
        instance_uuid: str,
        values: dict[str, Any],
        expected_task_state: Any = None,
        expected_vm_state: Any = None,
    ) -> Row:
        """Atomically update an instance and return the new row.

        ``expected_task_state`` / ``expected_vm_state``: ``None`` means "no check";
        otherwise a value or a list of values the current state must be one of (a list
        holding ``None`` accepts no task state, as Nova's ``expected_task_state=[None]``).
        The check and the write are one statement, so two racing updates cannot both
        pass. Raises ``InstanceNotFound`` (no live instance) or
        ``UnexpectedTaskStateError`` (state check failed; nothing written).
        ``updated_at`` is set to now unless given.
        """
        values = dict(values)
        values.setdefault("updated_at", self.now())
        found = self._conditional_update(
            instance_uuid, encode(instances, values), expected_task_state, expected_vm_state,
            _ALL_INSTANCE_COLUMNS,
        )
        if found is not None:
            return found
        self._explain_refusal(instance_uuid, expected_task_state, expected_vm_state)
        raise AssertionError("unreachable")

    def _conditional_update(
        self,
        instance_uuid: str,
        encoded: dict[str, Any],
        expected_task_state: Any,
        expected_vm_state: Any,
        answered: tuple[str, ...],
    ) -> Row | None:
        """Inside a transaction: the state-checked UPDATE of ``encoded`` values; the
        ``answered`` columns of the new row (decoded), or None if nothing matched."""
        shape, params = _state_where(expected_task_state, expected_vm_state)
        params["uuid"] = instance_uuid
        for name, value in encoded.items():
            params[f"v_{name}"] = value
        returning = self.dialect.update_returning
        update = _instance_update(tuple(encoded), shape, answered, returning)
        if returning:
            rows = self._rows("instances", update, params)
            return rows[0] if rows else None
        if not self._rowcount(update, params):
            return None
        select = query(
            ("instance-columns", answered),
            lambda: sa.select(*(_IN[c] for c in answered)).where(_IN.uuid == _bp("uuid")),
        )
        return self._rows("instances", select, {"uuid": instance_uuid})[0]

    def _explain_refusal(
        self, instance_uuid: str, expected_task_state: Any, expected_vm_state: Any
    ) -> None:
        """After a state-checked update matched nothing: raise why."""
        rows = self._rows("instances", _INSTANCE_BY_UUID, {"uuid": instance_uuid})
        if not rows or rows[0]["deleted"]:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        for column, expected in (
            ("task_state", expected_task_state), ("vm_state", expected_vm_state)
        ):
            wanted = _accepted(expected)
            if wanted is not None and rows[0][column] not in wanted:
                raise exception.UnexpectedTaskStateError(
                    instance_uuid=instance_uuid, expected=wanted, actual=rows[0][column],
                    column=column,
                )
        # Another process changed and restored the state between the two statements:
        # report the conflict rather than guess.
        raise exception.UnexpectedTaskStateError(
            instance_uuid=instance_uuid, expected=_accepted(expected_task_state),
            actual=rows[0]["task_state"], column="task_state",
        )

    @statement
    def instance_save(
        self,
        instance_uuid: str,
        values: dict[str, Any],
        expected_task_state: Any = None,
        expected_vm_state: Any = None,
    ) -> Row:
        """``instance_update`` (same checks, same errors, one statement) answering only
        the written columns and ``INSTANCE_SAVE_COLUMNS``: no JSON column is read back.

        The conductor's ``object_action`` (Instance.save from a compute) uses it: the
        compute only needs to see what it wrote and the state fields.
        """
        values = dict(values)
        values.setdefault("updated_at", self.now())
        encoded = encode(instances, values)
        answered, plain = _save_columns(tuple(values))
        found = self._conditional_update(
            instance_uuid, encoded, expected_task_state, expected_vm_state, plain
        )
        if found is None:
            self._explain_refusal(instance_uuid, expected_task_state, expected_vm_state)
        for name in answered:
            if name not in found:
                found[name] = values[name]
        return found

    @writer
    def instance_destroy(self, instance_uuid: str, hard: bool = False) -> Row:
        """Soft-delete the instance (``deleted=True``, ``deleted_at=now``) and return its
        last row; ``hard=True`` removes the row and its faults, actions and request spec.
        ``InstanceNotFound`` if there is no live instance. Allocations are not touched
        (call ``remove_allocations``)."""
        now = self.now()
        params = {"uuid": instance_uuid, "now": now}
        rows = self._rows("instances", _LIVE_INSTANCE, params)
        if not rows:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        if hard:
            for delete in _HARD_DELETES:
                self._execute(delete, params)
            row = rows[0]
            row.update(deleted=True, deleted_at=now)
            return row
        self._execute(_INSTANCE_SOFT_DELETE, params)
        self._execute(_INSTANCE_MEMBERSHIP_DELETE, params)
        return self._rows("instances", _INSTANCE_BY_UUID, params)[0]

    @statement
    def instance_count(self, filters: dict[str, Any] | None = None) -> int:
        """How many instances match (``project_id``/``host``/``deleted`` filters only)."""
        filters = dict(filters or {})
        params = {"deleted": int(bool(filters.pop("deleted", False)))}
        names = []
        for name in ("project_id", "user_id", "host", "node", "vm_state"):
            if name in filters:
                names.append(name)
                params[name] = filters.pop(name)
        if filters:
            raise exception.InvalidInput(reason=f"unknown filters {sorted(filters)}")
        count = query(
            ("instance-count", tuple(names)),
            lambda: sa.select(sa.func.count()).select_from(instances).where(
                _IN.deleted == _bp("deleted"), *(_IN[name] == _bp(name) for name in names)
            ),
        )
        return self._scalar(count, params)

    # ----------------------------------------------------------------------------------
    # Instance faults
    # ----------------------------------------------------------------------------------

    @statement
    def instance_fault_create(self, values: dict[str, Any]) -> Row:
        """Record a fault (``instance_uuid``, ``code``, ``message``, ``details``, ``host``);
        ``created_at`` defaults to now. Returns the row."""
        values = dict(values)
        values.setdefault("created_at", self.now())
        return self._create(instance_faults, values)

    @statement
    def instance_fault_get_by_instance_uuids(
        self, instance_uuids: Iterable[str], latest: bool = True
    ) -> dict[str, list[Row]]:
        """``{uuid: [faults newest first]}`` for each uuid (empty list: no fault);
        ``latest=True`` keeps only the newest fault of each (what the API shows)."""
        uuids = list(instance_uuids)
        result: dict[str, list[Row]] = {u: [] for u in uuids}
        if not uuids:
            return result
        size = list_size(len(uuids))
        faults = query(
            ("faults-of", size),
            lambda: sa.select(instance_faults)
            .where(in_list(instance_faults.c.instance_uuid, "u", size))
            .order_by(instance_faults.c.id.desc()),
        )
        for row in self._rows("instance_faults", faults, list_params("u", uuids, size)):
            found = result[row["instance_uuid"]]
            if not latest or not found:
                found.append(row)
        return result

    # ----------------------------------------------------------------------------------
    # Instance actions and events
    # ----------------------------------------------------------------------------------

    @statement
    def action_start(self, values: dict[str, Any]) -> Row:
        """Start an action (``instance_uuid``, ``request_id``, ``action``, ``project_id``,
        ``user_id``); ``start_time`` defaults to now. Returns the row."""
        values = dict(values)
        now = self.now()
        values.setdefault("start_time", now)
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        return self._create(instance_actions, values)

    def _action_get(self, instance_uuid: str, request_id: str) -> Row:
        rows = self._rows(
            "instance_actions", _ACTION_LATEST, {"uuid": instance_uuid, "request_id": request_id}
        )
        if not rows:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid
            )
        return rows[0]

    @writer
    def action_finish(
        self, instance_uuid: str, request_id: str, message: str | None = None
    ) -> Row:
        """Finish the action: ``finish_time = now`` and ``message`` when given (Nova
        writes "Error" when an event failed). ``InstanceActionNotFound`` if none."""
        now = self.now()
        action = self._action_get(instance_uuid, request_id)
        values: dict[str, Any] = {"finish_time": now, "updated_at": now}
        if message is not None:
            values["message"] = message
        self._update(
            instance_actions, values, "id", lambda: _ACTIONS.id == _bp("row_id"),
            {"row_id": action["id"]},
        )
        action.update(values)
        return action

    @statement
    def action_get_by_request_id(self, instance_uuid: str, request_id: str) -> Row:
        """The action of this request on this instance; ``InstanceActionNotFound``."""
        return self._action_get(instance_uuid, request_id)

    @statement
    def actions_get(self, instance_uuid: str) -> list[Row]:
        """The instance's actions, newest first (the API's os-instance-actions list)."""
        return self._rows("instance_actions", _ACTIONS_OF, {"uuid": instance_uuid})

    @statement
    def action_event_start(
        self,
        instance_uuid: str,
        request_id: str,
        event: str,
        host: str | None = None,
        details: str | None = None,
    ) -> Row:
        """Start an event (e.g. ``compute__do_build_and_run_instance``) of the action of
        ``request_id``; returns the event row. ``InstanceActionNotFound`` if no action."""
        action_id = self._scalar(
            _ACTION_ID_LATEST, {"uuid": instance_uuid, "request_id": request_id}
        )
        if action_id is None:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid
            )
        now = self.now()
        return self._create(instance_actions_events, {
            "action_id": action_id, "event": event, "start_time": now, "host": host,
            "details": details, "created_at": now, "updated_at": now,
        })

    @writer
    def action_event_finish(
        self,
        instance_uuid: str,
        request_id: str,
        event: str,
        result: str = "Success",
        traceback: str | None = None,
    ) -> Row:
        """Finish the newest unfinished event named ``event``: ``finish_time``, ``result``
        ("Success" / "Error"), ``traceback``. An "Error" also sets the action's message to
        "Error", as Nova does. Returns the event row; ``InstanceActionNotFound`` if the
        action or event is missing."""
        now = self.now()
        action = self._action_get(instance_uuid, request_id)
        rows = self._rows(
            "instance_actions_events", _EVENT_LATEST, {"action_id": action["id"], "event": event}
        )
        if not rows:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid
            )
        values = {"finish_time": now, "result": result, "traceback": traceback, "updated_at": now}
        self._update(
            instance_actions_events, values, "id", lambda: _EVENTS.id == _bp("row_id"),
            {"row_id": rows[0]["id"]},
        )
        if result.lower() == "error":
            self._execute(_ACTION_ERROR, {"now": now, "action_id": action["id"]})
        rows[0].update(values)
        return rows[0]

    @statement
    def action_events_get(self, action_id: int) -> list[Row]:
        """The events of an action, newest first."""
        return self._rows("instance_actions_events", _EVENTS_OF, {"action_id": action_id})

    # ----------------------------------------------------------------------------------
    # Placement's change tracking, with the services and nodes
    # ----------------------------------------------------------------------------------

    @reader
    def changes_since(self, since: int = 0, binary: str = "nova-compute") -> dict[str, Any]:
        """Everything a host cache needs that changed after change number ``since``
        (0: everything), read in one snapshot (one read transaction).

        Returns ``{"seq": current change number (pass it as ``since`` next time),
        "services": [service rows of ``binary`` changed, deleted ones included],
        "compute_nodes": [node rows changed, deleted ones included],
        "providers": {rp_uuid: full inventory, as ``provider_changes``},
        "provider_count": number of providers}``; rows in id order. This is how the
        scheduler refreshes its HostStates at the start of each request, exactly and
        without reading what did not change.
        """
        seq, providers, count = self.provider_changes(since)
        live = not since

        def build_services() -> sa.Select:
            select = sa.select(services).where(
                _S.change_seq > _bp("since"), _S.binary == _bp("binary")
            )
            return (select.where(_S.deleted == 0) if live else select).order_by(_S.change_seq)

        def build_nodes() -> sa.Select:
            select = sa.select(compute_nodes).where(_N.change_seq > _bp("since"))
            return (select.where(_N.deleted == 0) if live else select).order_by(_N.change_seq)

        params = {"since": since, "binary": binary}
        found_services = self._rows(
            "services", query(("changed-services", live), build_services), params
        )
        nodes = self._rows("compute_nodes", query(("changed-nodes", live), build_nodes), params)
        found_services.sort(key=lambda row: row["id"])
        nodes.sort(key=lambda row: row["id"])
        return {
            "seq": seq, "services": found_services, "compute_nodes": nodes,
            "providers": providers, "provider_count": count,
        }

    # ----------------------------------------------------------------------------------
    # Request specs
    # ----------------------------------------------------------------------------------

    @writer
    def request_spec_save(self, instance_uuid: str, spec: dict[str, Any]) -> Row:
        """Create or replace the request spec (any JSON-able dict) of an instance."""
        params = {
            "uuid": instance_uuid, "spec": json.dumps(spec, sort_keys=True), "now": self.now()
        }
        if not self._rowcount(_SPEC_UPDATE, params):
            self._execute(_SPEC_INSERT, params)
        return self._rows(
            "request_specs",
            query(("spec-row",), lambda: sa.select(request_specs).where(
                request_specs.c.instance_uuid == _bp("uuid"))),
            params,
        )[0]

    @statement
    def request_spec_get(self, instance_uuid: str) -> dict[str, Any]:
        """The spec dict saved for the instance; ``RequestSpecNotFound`` if none."""
        rows = self._rows("request_specs", _SPEC_GET, {"uuid": instance_uuid})
        if not rows:
            raise RequestSpecNotFound(instance_uuid=instance_uuid)
        return rows[0]["spec"]

    # ----------------------------------------------------------------------------------
    # Server groups
    # ----------------------------------------------------------------------------------

    @writer
    def server_group_create(self, values: dict[str, Any], members: Iterable[str] = ()) -> Row:
        """Create a server group (``name``, ``policy`` "affinity" | "anti-affinity" |
        "soft-affinity" | "soft-anti-affinity", ``project_id``, ``user_id``, ``rules``);
        returns it with ``members`` (a list of instance uuids)."""
        values = dict(values)
        values.setdefault("uuid", _new_uuid())
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        if values.get("policy") not in (
            "affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"
        ):
            raise exception.InvalidInput(reason=f"invalid policy {values.get('policy')!r}")
        self._insert(instance_groups, self._fill(instance_groups, values))
        if members:
            self.server_group_add_members(values["uuid"], members)
        return self.server_group_get(values["uuid"])

    @reader
    def server_group_get(self, group_uuid: str) -> Row:
        """The live group with ``members``; ``ServerGroupNotFound`` if none."""
        rows = self._rows("instance_groups", _GROUP_GET, {"group": group_uuid})
        if not rows:
            raise ServerGroupNotFound(group_uuid=group_uuid)
        group = rows[0]
        group["members"] = [row[0] for row in self._tuples(_GROUP_MEMBERS, {"group": group_uuid})]
        return group

    @reader
    def server_group_get_all(self, project_id: str | None = None) -> list[Row]:
        """Live groups (of one project when given), with members, in creation order."""
        if project_id is None:
            found = self._tuples(_GROUPS_ALL)
        else:
            found = self._tuples(_GROUPS_OF_PROJECT, {"project": project_id})
        return [self.server_group_get(row[0]) for row in found]

    @reader
    def server_group_get_by_instance(self, instance_uuid: str) -> Row | None:
        """The group an instance belongs to, or ``None``."""
        found = self._scalar(_GROUP_OF_INSTANCE, {"uuid": instance_uuid})
        return self.server_group_get(found) if found else None

    @writer
    def server_group_add_members(self, group_uuid: str, instance_uuids: Iterable[str]) -> None:
        """Add instances to a group (already-members are ignored)."""
        now = self.now()
        present = {row[0] for row in self._tuples(_GROUP_MEMBERS, {"group": group_uuid})}
        for instance_uuid in dict.fromkeys(instance_uuids):
            if instance_uuid not in present:
                self._execute(
                    _MEMBER_INSERT, {"group": group_uuid, "uuid": instance_uuid, "now": now}
                )

    @statement
    def server_group_member_hosts(
        self, group_uuid: str, exclude: Iterable[str] = ()
    ) -> list[str]:
        """Sorted distinct hosts of the group's live members (instances not in
        ``exclude``), as the affinity filters need."""
        excluded = list(exclude)
        size = list_size(len(excluded)) if excluded else 0

        def build() -> sa.Select:
            select = (
                sa.select(_IN.host)
                .distinct()
                .select_from(instance_group_member.join(instances, _IN.uuid == _M.instance_uuid))
                .where(_M.group_uuid == _bp("group"), _IN.deleted == 0, _IN.host.is_not(None))
            )
            if size:
                select = select.where(sa.not_(in_list(_IN.uuid, "x", size)))
            return select

        params = {"group": group_uuid, **(list_params("x", excluded, size) if size else {})}
        if size:
            # NOT IN with a NULL is never true: pad with a value no instance has.
            params.update({k: "" for k, v in params.items() if v is None})
        return sorted(row[0] for row in self._tuples(query(("member-hosts", size), build),
                                                     params))

    @statement
    def server_group_member_host_counts(self, group_uuid: str) -> dict[str, int]:
        """``{host: number of the group's live members on it}`` (anti-affinity's
        ``max_server_per_host`` and the soft-affinity weighers count them)."""
        return dict(self._tuples(_MEMBER_HOST_COUNTS, {"group": group_uuid}))

    @writer
    def server_group_delete(self, group_uuid: str) -> None:
        """Soft-delete a group and drop its members; ``ServerGroupNotFound`` if none."""
        params = {"group": group_uuid, "now": self.now()}
        if not self._rowcount(_GROUP_DELETE, params):
            raise ServerGroupNotFound(group_uuid=group_uuid)
        self._execute(_GROUP_MEMBERS_DELETE, params)


    # ----------------------------------------------------------------------------------
    # Images
    # ----------------------------------------------------------------------------------

    @writer
    def image_create(self, values: dict[str, Any]) -> Row:
        """Create an image record (``uuid`` given or new; ``status`` default "queued";
        ``properties`` a dict of strings) and return it."""
        values = dict(values)
        values.setdefault("uuid", _new_uuid())
        values.setdefault("status", "queued")
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        return self._create(images, values)

    @statement
    def image_get(self, image_uuid: str) -> Row:
        """The live image ``image_uuid``; ``ImageNotFound`` if none."""
        rows = self._rows("images", _IMAGE_GET, {"uuid": image_uuid})
        if not rows:
            raise exception.ImageNotFound(image_id=image_uuid)
        return rows[0]

    @statement
    def image_get_all(self) -> list[Row]:
        """Every live image, oldest first."""
        return self._rows("images", _IMAGES_ALL)

    @writer
    def image_update(self, image_uuid: str, values: dict[str, Any]) -> Row:
        """Update a live image (``updated_at`` now unless given) and return it;
        ``ImageNotFound`` if none."""
        values = dict(values)
        values.setdefault("updated_at", self.now())
        encoded = encode(images, values)
        names = tuple(encoded)
        update = query(
            ("image-update", names),
            lambda: sa.update(images)
            .where(images.c.uuid == _bp("uuid"), images.c.deleted == 0)
            .values({name: _bp(f"v_{name}") for name in names}),
        )
        params = {"uuid": image_uuid, **{f"v_{k}": v for k, v in encoded.items()}}
        if not self._rowcount(update, params):
            raise exception.ImageNotFound(image_id=image_uuid)
        return self.image_get(image_uuid)

    @writer
    def image_destroy(self, image_uuid: str) -> None:
        """Soft-delete an image (status "deleted"); ``ImageNotFound`` if none."""
        params = {"uuid": image_uuid, "now": self.now()}
        if not self._rowcount(_IMAGE_DELETE, params):
            raise exception.ImageNotFound(image_id=image_uuid)


# ----------------------------------------------------------------------------------------
# instance_get_all_by_filters' statements, built from a filter shape
# ----------------------------------------------------------------------------------------


def _filter_clauses(shape: list[tuple]) -> list[sa.ColumnElement]:
    clauses: list[sa.ColumnElement] = []
    for item in shape:
        kind = item[0]
        if kind == "deleted":
            clauses.append(_IN.deleted == _bp("deleted"))
        elif kind == "since":
            clauses.append(_IN.updated_at >= _bp("since"))
        elif kind == "before":
            clauses.append(_IN.updated_at <= _bp("before"))
        elif kind == "in":
            _kind, column, prefix, size, with_null = item
            alternatives = [in_list(_IN[column], prefix, size)] if size else []
            if with_null:
                alternatives.append(_IN[column].is_(None))
            clauses.append(sa.or_(*alternatives) if alternatives else sa.false())
        elif kind == "null":
            clauses.append(_IN[item[1]].is_(None))
        elif kind == "eq":
            clauses.append(_IN[item[1]] == _bp(item[2]))
        else:  # regex
            clauses.append(_IN[item[1]].regexp_match(_bp(item[2])))
    return clauses


def _ordered(shape: list[tuple], order: list[tuple[str, str]]) -> sa.Subquery:
    """The matching instances with their ``_position`` in the sort order."""
    ordering = [_IN[key].desc() if direction == "desc" else _IN[key].asc()
                for key, direction in order]
    return (
        sa.select(instances, sa.func.row_number().over(order_by=ordering).label("_position"))
        .where(*_filter_clauses(shape))
        .subquery("ordered")
    )


def _marker_position(shape: list[tuple], order: list[tuple[str, str]]) -> sa.Select:
    ordered = _ordered(shape, order)
    return sa.select(ordered.c._position).where(ordered.c.uuid == _bp("marker"))


def _instances_page(
    shape: list[tuple], order: list[tuple[str, str]], marker: str | None, paged: bool
) -> sa.Select:
    ordered = _ordered(shape, order)
    select = sa.select(ordered).order_by(ordered.c._position)
    if marker is not None:
        select = select.where(ordered.c._position > _bp("position"))
    if paged:
        select = select.limit(_bp("limit", type_=sa.Integer))
    return select

