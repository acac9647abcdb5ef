"""The database API of the simulated cloud: one ``Database`` object over SQLite.

Owns the schema and every query the controller services (API, conductor, scheduler) run:
services, compute nodes, flavors, instances, instance faults, instance actions and their
events, placement-like resource providers / inventories / allocations, request specs and
server groups. Must not know about RPC, the hub's internals or HTTP: it is plain
synchronous code over the stdlib ``sqlite3`` module. Computes never use it (as in Nova,
they go through the conductor).

Contract
========

``Database(url="sqlite://", clock=None, busy_timeout=30.0)``

- ``url``: ``"sqlite://"`` (or ``"sqlite:///:memory:"``) is a private in-memory database
  (a one-process cloud); ``"sqlite:////abs/path.db"`` / ``"sqlite:///rel.db"`` is a file,
  opened in WAL mode so that several processes (two schedulers, the API and the conductor)
  share it.
- ``clock``: a callable giving seconds since the epoch. The services pass
  ``nova_sim.green.wallclock`` so timestamps come from the hub's clock (under the virtual
  clock, a fixed epoch plus virtual seconds: repeatable runs). Default ``time.time``.
- ``busy_timeout``: seconds a write waits for another process's write lock before
  ``sqlite3.OperationalError("database is locked")`` is raised. The wait blocks the OS
  thread (and so the hub); transactions are short, so it is rarely felt.

Rules every method follows:

- Rows are plain ``dict`` objects, JSON-able (they cross RPC as they are). Booleans are
  ``bool``; JSON columns (``flavor``, ``metadata``, ``extra_specs``, ``spec``...) are
  decoded; timestamps are ISO strings in UTC as Nova's database shows them,
  ``"2026-01-01T00:00:05.000000"`` (``format_timestamp`` / ``parse_timestamp`` convert).
- Every method is one transaction, synchronous from start to end: no transaction ever stays
  open across a greenthread switch. Writes use ``BEGIN IMMEDIATE`` (the write lock is taken
  first, so a read-then-write such as a claim cannot be overtaken by another process).
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
  ``flavor_destroy``;
- instances: ``instance_create``, ``instance_get``, ``instance_get_all_by_filters``,
  ``instance_update`` (``expected_task_state`` / ``expected_vm_state``),
  ``instance_save`` (the same, answering only the written and state columns),
  ``instance_destroy``, ``instance_count``; faults: ``instance_fault_create``,
  ``instance_fault_get_by_instance_uuids``;
- actions: ``action_start``, ``action_finish``, ``action_get_by_request_id``,
  ``actions_get``, ``action_event_start``, ``action_event_finish``, ``action_events_get``;
- placement: ``resource_provider_ensure``, ``resource_provider_get``,
  ``resource_providers_get_all``, ``resource_provider_delete``, ``usages_get``,
  ``provider_summaries``, ``allocations_get``, ``allocation_candidates``,
  ``claim_resources``, ``remove_allocations``; change tracking for caches:
  ``provider_changes``, ``changes_since``;
- request specs: ``request_spec_save``, ``request_spec_get``;
- server groups: ``server_group_create``, ``server_group_get``, ``server_group_get_all``,
  ``server_group_get_by_instance``, ``server_group_add_members``,
  ``server_group_member_hosts``, ``server_group_member_host_counts``,
  ``server_group_delete``.

Simplifications (compared with Nova) are noted where they happen: one database instead of
the API / cell databases and placement's own; ``deleted`` is a boolean; placement's
consumer generations are replaced by "a claim replaces the consumer's allocations" and a
provider filter on ``remove_allocations``; the availability zone of a host is a column of
its service row instead of a host aggregate.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import sqlite3
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nova_sim import exception
from nova_sim.db.schema import BOOL_COLUMNS, JSON_COLUMNS, SCHEMA, SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "DatabaseSchemaError",
    "DEFAULT_FLAVORS",
    "MarkerNotFound",
    "RequestSpecNotFound",
    "ServerGroupNotFound",
    "format_timestamp",
    "parse_timestamp",
    "parse_url",
]

Row = dict[str, Any]

_EPOCH = datetime.datetime(1970, 1, 1)


class DatabaseSchemaError(RuntimeError):
    """The database file was made by another nova-sim version."""


class MarkerNotFound(exception.Invalid):
    msg_fmt = "Marker %(marker)s could not be found."


class RequestSpecNotFound(exception.NotFound):
    msg_fmt = "RequestSpec not found for instance %(instance_uuid)s"


class ServerGroupNotFound(exception.NotFound):
    msg_fmt = "Instance group %(group_uuid)s could not be found."


class FlavorExists(exception.Conflict):
    msg_fmt = "Flavor with %(key)s %(value)s already exists."


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


def parse_url(url: str) -> str:
    """``sqlite://`` -> ``":memory:"``; ``sqlite:////a/b.db`` -> ``/a/b.db``;
    ``sqlite:///b.db`` -> ``b.db``. Anything else raises ``ValueError``."""
    if not url.startswith("sqlite://"):
        raise ValueError(f"unsupported database URL {url!r} (only sqlite:// URLs)")
    rest = url[len("sqlite://"):]
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise ValueError(f"bad sqlite URL {url!r}: expected sqlite:///path")
    return rest[1:]


# Resource classes a compute node reports, and how they derive from its row.
RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")

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
# filter name -> column, matched as a Python regular expression (re.search), as Nova does.
_INSTANCE_REGEX_FILTERS = {
    "name": "display_name", "ip": "info_cache", "ip6": "info_cache", "hostname_re": "hostname",
}


#: The columns ``instance_save`` answers with besides the written ones.
INSTANCE_SAVE_COLUMNS = (
    "uuid", "vm_state", "task_state", "power_state", "host", "node", "launched_at",
    "terminated_at", "updated_at", "deleted",
)


def _accepted(expected: Any) -> list[Any] | None:
    """An expected state as a list of accepted values (None: no check)."""
    if expected is None:
        return None
    return list(expected) if isinstance(expected, (list, tuple, set)) else [expected]


def _state_conditions(
    instance_uuid: str, expected_task_state: Any, expected_vm_state: Any
) -> tuple[list[str], list[Any]]:
    """WHERE clauses and parameters for "the live instance, in the expected states"
    (a ``None`` among the accepted values matches NULL, as Nova's ``[None]``)."""
    where, params = ["uuid = ?", "deleted = 0"], [instance_uuid]
    for column, expected in (("task_state", expected_task_state), ("vm_state", expected_vm_state)):
        accepted = _accepted(expected)
        if accepted is None:
            continue
        named = [value for value in accepted if value is not None]
        alternatives = [f"{column} IN ({', '.join('?' * len(named))})"] if named else []
        if len(named) != len(accepted):
            alternatives.append(f"{column} IS NULL")
        where.append("(" + (" OR ".join(alternatives) or "0") + ")")
        params.extend(named)
    return where, params


def _regexp(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    try:
        return re.search(pattern, str(value)) is not None
    except re.error:
        return False


class Database:
    """The cloud's state in one SQLite database; see the module docstring for the contract.

    Thread model: one OS thread per ``Database`` (all greenthreads of a process share it);
    every method runs to completion without switching greenthreads.
    """

    def __init__(
        self,
        url: str = "sqlite://",
        clock: Callable[[], float] | None = None,
        busy_timeout: float = 30.0,
    ):
        self.url = url
        self.path = parse_url(url)
        self.clock = clock or time.time
        self.busy_timeout = busy_timeout
        self.transactions = 0
        self.write_transactions = 0
        self._depth = 0
        self._columns: dict[str, tuple[str, ...]] = {}
        self._conn = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.create_function("REGEXP", 2, _regexp, deterministic=True)
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        else:
            self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise
        for table in (
            "services", "compute_nodes", "flavors", "instances", "instance_faults",
            "instance_actions", "instance_actions_events", "resource_providers",
            "inventories", "allocations", "request_specs", "instance_groups",
        ):
            info = self._conn.execute(f"PRAGMA table_info({table})").fetchall()
            self._columns[table] = tuple(column[1] for column in info)

    def _create_schema(self) -> None:
        """Create the tables (if missing) in one transaction; refuse a file made by
        another schema version."""
        with self._write():
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            has_tables = self._conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            if has_tables and version != SCHEMA_VERSION:
                raise DatabaseSchemaError(
                    f"{self.path} holds a database of another nova-sim version (schema "
                    f"{version}, expected {SCHEMA_VERSION}); remove it or use another "
                    f"[database] connection"
                )
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # ----------------------------------------------------------------------------------
    # Plumbing
    # ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (an in-memory database is gone afterwards)."""
        self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def now(self) -> str:
        """The current time on this database's clock, as a stored timestamp string."""
        return format_timestamp(self.clock())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """Run several API calls as one write transaction (``BEGIN IMMEDIATE``): all of
        them or none (an exception rolls everything back). For start-up and bulk loads;
        keep it short and never switch greenthreads inside."""
        with self._write():
            yield self

    def _write(self) -> _Transaction:
        """A ``BEGIN IMMEDIATE`` transaction; a nested use is a savepoint inside it (an
        error rolls back only the nested part before propagating)."""
        return _Transaction(self, True)

    def _read(self) -> _Transaction:
        """A read transaction (a consistent snapshot for several SELECTs); inside another
        transaction it simply joins it."""
        return _Transaction(self, False)

    def _select(self, table: str, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run one SELECT (its own transaction unless inside one) and decode the rows."""
        if not self._depth:
            self.transactions += 1
        return self._fetch(table, self._conn.execute(sql, tuple(params)))

    def _fetch(self, table: str, cursor: sqlite3.Cursor) -> list[Row]:
        """The cursor's rows as decoded dicts."""
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=False)) for values in cursor.fetchall()]
        return self._decode(table, rows)

    @staticmethod
    def _decode(table: str, rows: list[Row]) -> list[Row]:
        json_columns = JSON_COLUMNS.get(table, ())
        bool_columns = BOOL_COLUMNS.get(table, ())
        if json_columns or bool_columns:
            for row in rows:
                for name in json_columns:
                    value = row.get(name)
                    if value == "{}":  # the common empty values, without the parser
                        row[name] = {}
                    elif value == "[]":
                        row[name] = []
                    elif isinstance(value, str):
                        row[name] = json.loads(value)
                for name in bool_columns:
                    if name in row and row[name] is not None:
                        row[name] = bool(row[name])
        return rows

    def _encode(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        """Check column names and JSON-encode the JSON columns."""
        columns = self._columns[table]
        unknown = [name for name in values if name not in columns]
        if unknown:
            raise ValueError(f"unknown column(s) for {table}: {', '.join(sorted(unknown))}")
        encoded = dict(values)
        for name in JSON_COLUMNS.get(table, ()):
            if name in encoded and encoded[name] is not None:
                encoded[name] = json.dumps(encoded[name], sort_keys=True)
        for name in BOOL_COLUMNS.get(table, ()):
            if name in encoded and encoded[name] is not None:
                encoded[name] = int(bool(encoded[name]))
        return encoded

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        encoded = self._encode(table, values)
        names = list(encoded)
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        return self._conn.execute(sql, [encoded[n] for n in names]).lastrowid

    def _write_statement(self, table: str, sql: str, params: Iterable[Any]) -> list[Row]:
        """One write statement ending in ``RETURNING *``; outside a transaction it is its
        own (SQLite wraps a lone statement in one, taking the write lock like ``BEGIN
        IMMEDIATE``), which saves the BEGIN / COMMIT round trips on the hot paths."""
        if not self._depth:
            self.transactions += 1
            self.write_transactions += 1
        return self._fetch(table, self._conn.execute(sql, tuple(params)))

    def _insert_returning(self, table: str, values: dict[str, Any]) -> Row:
        """Insert one row in one statement and return it, decoded."""
        encoded = self._encode(table, values)
        names = list(encoded)
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)}) RETURNING *"
        )
        return self._write_statement(table, sql, [encoded[n] for n in names])[0]

    def _update_where(
        self, table: str, values: dict[str, Any], where: str, params: Iterable[Any]
    ) -> int:
        encoded = self._encode(table, values)
        if not encoded:
            return self._conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {where}", tuple(params)
            ).fetchone()[0]
        assignments = ", ".join(f"{name} = ?" for name in encoded)
        cursor = self._conn.execute(
            f"UPDATE {table} SET {assignments} WHERE {where}",
            [*encoded.values(), *params],
        )
        return cursor.rowcount

    def _next_change(self) -> int:
        """Inside a write: the next number of the change sequence."""
        return self._conn.execute(
            "UPDATE change_sequence SET value = value + 1 WHERE id = 1 RETURNING value"
        ).fetchone()[0]

    @staticmethod
    def _new_uuid() -> str:
        try:
            from nova_sim import green

            return green.random_uuid()
        except (ImportError, AttributeError):
            return str(uuid_module.uuid4())

    # ----------------------------------------------------------------------------------
    # Services
    # ----------------------------------------------------------------------------------

    def service_create(self, values: dict[str, Any]) -> Row:
        """Create a service row (``binary``, ``host``, ``topic`` at least) and return it.

        ``report_count`` starts at 0 and ``last_seen_up`` at ``None``.
        """
        values = dict(values)
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        values.setdefault("uuid", self._new_uuid())
        with self._write():
            values["change_seq"] = self._next_change()
            service_id = self._insert("services", values)
            return self._service_get(service_id)

    def _service_get(self, service_id: int) -> Row:
        rows = self._select("services", "SELECT * FROM services WHERE id = ?", (service_id,))
        if not rows:
            raise exception.ServiceNotFound(service_id=service_id)
        return rows[0]

    def service_get(self, service_id: int) -> Row:
        """The service with this id (deleted ones too); ``ServiceNotFound`` if none."""
        return self._service_get(service_id)

    def service_get_by_host_and_binary(self, host: str, binary: str) -> Row:
        """The live service ``binary`` on ``host``; ``ComputeHostNotFound`` if none
        (Nova raises HostBinaryNotFound; for nova-compute it is the same 404)."""
        rows = self._select(
            "services",
            "SELECT * FROM services WHERE host = ? AND binary = ? AND deleted = 0",
            (host, binary),
        )
        if not rows:
            raise exception.ComputeHostNotFound(host=host)
        return rows[0]

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
        where, params = ["1" if include_deleted else "deleted = 0"], []
        if updated_since is not None:
            where.append("updated_at >= ?")
            params.append(updated_since)
        if binary is not None:
            where.append("binary = ?")
            params.append(binary)
        if host is not None:
            where.append("host = ?")
            params.append(host)
        if disabled is not None:
            where.append("disabled = ?")
            params.append(int(disabled))
        return self._select(
            "services", f"SELECT * FROM services WHERE {' AND '.join(where)} ORDER BY id", params
        )

    def service_update(self, service_id: int, values: dict[str, Any]) -> Row:
        """Update columns (``disabled``, ``disabled_reason``, ``forced_down``...) and return
        the row; ``updated_at`` is set unless given. ``ServiceNotFound`` if none."""
        values = dict(values)
        values.setdefault("updated_at", self.now())
        with self._write():
            values["change_seq"] = self._next_change()
            if not self._update_where("services", values, "id = ?", (service_id,)):
                raise exception.ServiceNotFound(service_id=service_id)
            return self._service_get(service_id)

    def service_heartbeat(self, service_id: int) -> Row:
        """One heartbeat: ``report_count += 1``, ``last_seen_up = updated_at = now``.

        Returns the row; ``ServiceNotFound`` if there is no such service.
        """
        now = self.now()
        with self._write():
            cursor = self._conn.execute(
                "UPDATE services SET report_count = report_count + 1, last_seen_up = ?, "
                "updated_at = ?, change_seq = ? WHERE id = ?",
                (now, now, self._next_change(), service_id),
            )
            if not cursor.rowcount:
                raise exception.ServiceNotFound(service_id=service_id)
            return self._service_get(service_id)

    def service_destroy(self, service_id: int) -> None:
        """Soft-delete a service and its compute nodes (``ServiceNotFound`` if none)."""
        now = self.now()
        with self._write():
            seq = self._next_change()
            cursor = self._conn.execute(
                "UPDATE services SET deleted = 1, deleted_at = ?, updated_at = ?, "
                "change_seq = ? WHERE id = ? AND deleted = 0",
                (now, now, seq, service_id),
            )
            if not cursor.rowcount:
                raise exception.ServiceNotFound(service_id=service_id)
            self._conn.execute(
                "UPDATE compute_nodes SET deleted = 1, deleted_at = ?, updated_at = ?, "
                "change_seq = ? WHERE service_id = ? AND deleted = 0",
                (now, now, seq, service_id),
            )

    # ----------------------------------------------------------------------------------
    # Compute nodes
    # ----------------------------------------------------------------------------------

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
        with self._write():
            values["change_seq"] = self._next_change()
            changes = {name: value for name, value in values.items() if name != "uuid"}
            encoded = self._encode("compute_nodes", changes)
            assignments = [f"{name} = ?" for name in encoded]
            params: list[Any] = list(encoded.values())
            # Derived figures from the new values where given, else the stored ones (the
            # right-hand sides of an UPDATE see the row as it was).
            for free, total, used in (
                ("free_ram_mb", "memory_mb", "memory_mb_used"),
                ("free_disk_gb", "local_gb", "local_gb_used"),
            ):
                if free not in values:
                    assignments.append(f"{free} = COALESCE(?, {total}) - COALESCE(?, {used})")
                    params.extend((values.get(total), values.get(used)))
            rows = self._write_statement(
                "compute_nodes",
                f"UPDATE compute_nodes SET {', '.join(assignments)} WHERE host = ? "
                "AND hypervisor_hostname = ? AND deleted = 0 RETURNING *",
                [*params, host, values["hypervisor_hostname"]],
            )
            if rows:
                return rows[0]
            values.setdefault("uuid", self._new_uuid())
            values.setdefault("created_at", now)
            values.setdefault(
                "free_ram_mb", values.get("memory_mb", 0) - values.get("memory_mb_used", 0)
            )
            values.setdefault(
                "free_disk_gb", values.get("local_gb", 0) - values.get("local_gb_used", 0)
            )
            return self._insert_returning("compute_nodes", values)

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
        where, params = ["1" if include_deleted else "deleted = 0"], []
        if host is not None:
            where.append("host = ?")
            params.append(host)
        if updated_since is not None:
            where.append("updated_at >= ?")
            params.append(updated_since)
        return self._select(
            "compute_nodes",
            f"SELECT * FROM compute_nodes WHERE {' AND '.join(where)} ORDER BY id",
            params,
        )

    def compute_node_get_by_host_and_nodename(self, host: str, nodename: str) -> Row:
        """The live node; ``ComputeHostNotFound`` if none."""
        rows = self._select(
            "compute_nodes",
            "SELECT * FROM compute_nodes WHERE host = ? AND hypervisor_hostname = ? "
            "AND deleted = 0",
            (host, nodename),
        )
        if not rows:
            raise exception.ComputeHostNotFound(host=f"{host}/{nodename}")
        return rows[0]

    # ----------------------------------------------------------------------------------
    # Flavors
    # ----------------------------------------------------------------------------------

    def flavor_create(self, values: dict[str, Any]) -> Row:
        """Create a flavor (``name``, ``vcpus``, ``memory_mb`` required; ``flavorid``
        defaults to a new uuid). ``FlavorExists`` on a duplicate name or flavorid."""
        values = dict(values)
        values.setdefault("flavorid", self._new_uuid())
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        with self._write():
            for key in ("flavorid", "name"):
                found = self._conn.execute(
                    f"SELECT 1 FROM flavors WHERE {key} = ?", (values[key],)
                ).fetchone()
                if found:
                    raise FlavorExists(key=key, value=values[key])
            flavor_id = self._insert("flavors", values)
            return self._select("flavors", "SELECT * FROM flavors WHERE id = ?", (flavor_id,))[0]

    def ensure_default_flavors(self) -> list[Row]:
        """Create devstack's m1.tiny .. m1.xlarge (flavorids "1".."5") where missing.

        Returns all flavors. Safe to call from several processes at once.
        """
        with self._write():
            for flavorid, name, vcpus, memory_mb, root_gb in DEFAULT_FLAVORS:
                exists = self._conn.execute(
                    "SELECT 1 FROM flavors WHERE flavorid = ? OR name = ?", (flavorid, name)
                ).fetchone()
                if not exists:
                    self.flavor_create(
                        {
                            "flavorid": flavorid, "name": name, "vcpus": vcpus,
                            "memory_mb": memory_mb, "root_gb": root_gb,
                        }
                    )
        return self.flavor_get_all()

    def flavor_get(self, flavor_id: int) -> Row:
        """The flavor by its internal integer ``id``; ``FlavorNotFound`` if none."""
        rows = self._select("flavors", "SELECT * FROM flavors WHERE id = ?", (flavor_id,))
        if not rows:
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        return rows[0]

    def flavor_get_by_flavor_id(self, flavorid: str) -> Row:
        """The flavor by its API id (``"1"`` for m1.tiny); ``FlavorNotFound`` if none."""
        rows = self._select(
            "flavors", "SELECT * FROM flavors WHERE flavorid = ?", (str(flavorid),)
        )
        if not rows:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        return rows[0]

    def flavor_get_by_name(self, name: str) -> Row:
        """The flavor by name; ``FlavorNotFound`` if none."""
        rows = self._select("flavors", "SELECT * FROM flavors WHERE name = ?", (name,))
        if not rows:
            raise exception.FlavorNotFound(flavor_id=name)
        return rows[0]

    def flavor_get_all(self, is_public: bool | None = None) -> list[Row]:
        """All flavors (optionally only public / private ones), ordered by id."""
        if is_public is None:
            return self._select("flavors", "SELECT * FROM flavors ORDER BY id")
        return self._select(
            "flavors", "SELECT * FROM flavors WHERE is_public = ? ORDER BY id", (int(is_public),)
        )

    def flavor_destroy(self, flavorid: str) -> None:
        """Delete a flavor by API id (instances keep their snapshot); ``FlavorNotFound``."""
        with self._write():
            cursor = self._conn.execute("DELETE FROM flavors WHERE flavorid = ?", (flavorid,))
            if not cursor.rowcount:
                raise exception.FlavorNotFound(flavor_id=flavorid)

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
        values.setdefault("uuid", self._new_uuid())
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        flavor = values.get("flavor")
        if isinstance(flavor, dict):
            values.setdefault("instance_type_id", flavor.get("id"))
            for key in ("vcpus", "memory_mb", "root_gb", "ephemeral_gb"):
                values.setdefault(key, flavor.get(key))
        try:
            return self._insert_returning("instances", values)
        except sqlite3.IntegrityError:
            raise exception.InstanceExists(name=values["uuid"])

    def instance_get(self, instance_uuid: str, read_deleted: str = "no") -> Row:
        """The instance; ``InstanceNotFound`` if none (or deleted, unless
        ``read_deleted`` is ``"yes"``)."""
        rows = self._select(
            "instances", "SELECT * FROM instances WHERE uuid = ?", (instance_uuid,)
        )
        if not rows or (rows[0]["deleted"] and read_deleted == "no"):
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        if read_deleted == "only" and not rows[0]["deleted"]:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return rows[0]

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
        host, node, vm_state,
        task_state, power_state, image_ref (or ``image``), instance_type_id,
        availability_zone, reservation_id, key_name, hostname, display_name, locked,
        launched_on; regular expressions (``re.search``) for ``name`` (display_name) and
        ``ip`` / ``ip6`` (the network info); ``changes-since`` / ``changes-before``
        (timestamp strings compared with updated_at); ``metadata`` (dict: every key/value
        present). Unknown filters raise ``InvalidInput``.

        Sort: ``sort_keys`` / ``sort_dirs`` (``"asc"``/``"desc"``), default created_at
        desc then id desc (Nova's), ``id`` is always the last tie-breaker. ``marker`` is
        the uuid of the last instance of the previous page (``MarkerNotFound`` if it does
        not match the filters' result); ``limit`` caps the page.
        """
        filters = dict(filters or {})
        where: list[str] = []
        params: list[Any] = []
        deleted = filters.pop("deleted", False)
        if deleted is not None and deleted != "any":
            where.append("deleted = ?")
            params.append(int(bool(deleted)))
        metadata = filters.pop("metadata", None)
        changes_since = filters.pop("changes-since", filters.pop("changes_since", None))
        changes_before = filters.pop("changes-before", filters.pop("changes_before", None))
        if changes_since is not None:
            where.append("updated_at >= ?")
            params.append(changes_since)
        if changes_before is not None:
            where.append("updated_at <= ?")
            params.append(changes_before)
        for name, value in sorted(filters.items()):
            if name in _INSTANCE_EXACT_FILTERS:
                column = _INSTANCE_EXACT_FILTERS[name]
                if isinstance(value, (list, tuple, set, frozenset)):
                    values = list(value)
                    non_null = [v for v in values if v is not None]
                    clauses = []
                    if non_null:
                        clauses.append(f"{column} IN ({', '.join('?' for _ in non_null)})")
                        params.extend(int(v) if isinstance(v, bool) else v for v in non_null)
                    if len(non_null) != len(values):
                        clauses.append(f"{column} IS NULL")
                    where.append("(" + " OR ".join(clauses or ["0"]) + ")")
                elif value is None:
                    where.append(f"{column} IS NULL")
                else:
                    where.append(f"{column} = ?")
                    params.append(int(value) if isinstance(value, bool) else value)
            elif name in _INSTANCE_REGEX_FILTERS:
                where.append(f"{_INSTANCE_REGEX_FILTERS[name]} REGEXP ?")
                params.append(str(value))
            else:
                raise exception.InvalidInput(reason=f"unknown instance filter {name!r}")
        where_sql = " AND ".join(where) if where else "1"

        keys = [sort_keys] if isinstance(sort_keys, str) else list(sort_keys or ["created_at"])
        dirs = [sort_dirs] if isinstance(sort_dirs, str) else list(sort_dirs or [])
        order = []
        for index, key in enumerate(keys):
            if key not in _INSTANCE_SORT_KEYS:
                raise exception.InvalidInput(reason=f"invalid sort key {key!r}")
            direction = (dirs[index] if index < len(dirs) else (dirs[0] if dirs else "desc"))
            if direction not in ("asc", "desc"):
                raise exception.InvalidInput(reason=f"invalid sort direction {direction!r}")
            order.append(f"{key} {direction.upper()}")
        if "id" not in keys:
            last = dirs[0] if dirs else "desc"
            order.append(f"id {last.upper()}")
        order_sql = ", ".join(order)

        base = (
            f"SELECT *, ROW_NUMBER() OVER (ORDER BY {order_sql}) AS _position "
            f"FROM instances WHERE {where_sql}"
        )
        sql = f"WITH ordered AS ({base}) SELECT * FROM ordered"
        query_params = list(params)
        if marker is not None:
            with self._read():
                found = self._conn.execute(
                    f"WITH ordered AS ({base}) SELECT _position FROM ordered WHERE uuid = ?",
                    [*params, marker],
                ).fetchone()
                if found is None:
                    raise MarkerNotFound(marker=marker)
                rows = self._page(sql + " WHERE _position > ?", [*query_params, found[0]],
                                  limit, metadata)
            return rows
        return self._page(sql, query_params, limit, metadata)

    def _page(
        self, sql: str, params: list[Any], limit: int | None, metadata: dict | None
    ) -> list[Row]:
        sql += " ORDER BY _position"
        if limit is not None and not metadata:
            sql += " LIMIT ?"
            params = [*params, int(limit)]
        rows = self._select("instances", sql, params)
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
        where, params = _state_conditions(instance_uuid, expected_task_state, expected_vm_state)
        encoded = self._encode("instances", values)
        assignments = ", ".join(f"{name} = ?" for name in encoded)
        # The check and the write are one statement (one transaction); the read below
        # only explains a refusal.
        rows = self._write_statement(
            "instances",
            f"UPDATE instances SET {assignments} WHERE {' AND '.join(where)} RETURNING *",
            [*encoded.values(), *params],
        )
        if rows:
            return rows[0]
        with self._read():
            rows = self._select(
                "instances", "SELECT * FROM instances WHERE uuid = ?", (instance_uuid,)
            )
            if not rows or rows[0]["deleted"]:
                raise exception.InstanceNotFound(instance_id=instance_uuid)
            for column, expected in (
                ("task_state", expected_task_state), ("vm_state", expected_vm_state)
            ):
                wanted = _accepted(expected)
                if wanted is not None and rows[0][column] not in wanted:
                    raise exception.UnexpectedTaskStateError(
                        instance_uuid=instance_uuid,
                        expected=wanted,
                        actual=rows[0][column],
                        column=column,
                    )
            # Another process changed and restored the state between the two statements:
            # report the conflict rather than guess.
            raise exception.UnexpectedTaskStateError(
                instance_uuid=instance_uuid, expected=_accepted(expected_task_state),
                actual=rows[0]["task_state"], column="task_state",
            )

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
        encoded = self._encode("instances", values)
        where, params = _state_conditions(instance_uuid, expected_task_state, expected_vm_state)
        answered = list(dict.fromkeys((*INSTANCE_SAVE_COLUMNS, *encoded)))
        if not self._depth:
            self.transactions += 1
            self.write_transactions += 1
        found = self._conn.execute(
            f"UPDATE instances SET {', '.join(f'{name} = ?' for name in encoded)} "
            f"WHERE {' AND '.join(where)} RETURNING {', '.join(answered)}",
            [*encoded.values(), *params],
        ).fetchone()
        if found is None:
            # Nothing matched: instance_update finds out why (InstanceNotFound or
            # UnexpectedTaskStateError); its own update matches nothing either.
            row = self.instance_update(
                instance_uuid, values, expected_task_state, expected_vm_state
            )
            return {name: row.get(name) for name in answered}
        row = dict(zip(answered, found, strict=True))
        row["deleted"] = bool(row["deleted"])
        for name in JSON_COLUMNS["instances"]:
            if name in row:
                row[name] = values[name]
        return row

    def instance_destroy(self, instance_uuid: str, hard: bool = False) -> Row:
        """Soft-delete the instance (``deleted=True``, ``deleted_at=now``) and return its
        last row; ``hard=True`` removes the row and its faults, actions and request spec.
        ``InstanceNotFound`` if there is no live instance. Allocations are not touched
        (call ``remove_allocations``)."""
        now = self.now()
        with self._write():
            rows = self._select(
                "instances",
                "SELECT * FROM instances WHERE uuid = ? AND deleted = 0",
                (instance_uuid,),
            )
            if not rows:
                raise exception.InstanceNotFound(instance_id=instance_uuid)
            if hard:
                self._conn.execute("DELETE FROM instances WHERE uuid = ?", (instance_uuid,))
                self._conn.execute(
                    "DELETE FROM instance_faults WHERE instance_uuid = ?", (instance_uuid,)
                )
                self._conn.execute(
                    "DELETE FROM instance_actions_events WHERE action_id IN "
                    "(SELECT id FROM instance_actions WHERE instance_uuid = ?)",
                    (instance_uuid,),
                )
                self._conn.execute(
                    "DELETE FROM instance_actions WHERE instance_uuid = ?", (instance_uuid,)
                )
                self._conn.execute(
                    "DELETE FROM request_specs WHERE instance_uuid = ?", (instance_uuid,)
                )
                self._conn.execute(
                    "DELETE FROM instance_group_member WHERE instance_uuid = ?",
                    (instance_uuid,),
                )
                row = rows[0]
                row.update(deleted=True, deleted_at=now)
                return row
            self._conn.execute(
                "UPDATE instances SET deleted = 1, deleted_at = ?, updated_at = ? "
                "WHERE uuid = ?",
                (now, now, instance_uuid),
            )
            self._conn.execute(
                "DELETE FROM instance_group_member WHERE instance_uuid = ?", (instance_uuid,)
            )
            return self._select(
                "instances", "SELECT * FROM instances WHERE uuid = ?", (instance_uuid,)
            )[0]

    def instance_count(self, filters: dict[str, Any] | None = None) -> int:
        """How many instances match (``project_id``/``host``/``deleted`` filters only)."""
        filters = dict(filters or {})
        where, params = ["deleted = ?"], [int(bool(filters.pop("deleted", False)))]
        for name in ("project_id", "user_id", "host", "node", "vm_state"):
            if name in filters:
                where.append(f"{name} = ?")
                params.append(filters.pop(name))
        if filters:
            raise exception.InvalidInput(reason=f"unknown filters {sorted(filters)}")
        if not self._depth:
            self.transactions += 1
        return self._conn.execute(
            f"SELECT COUNT(*) FROM instances WHERE {' AND '.join(where)}", params
        ).fetchone()[0]

    # ----------------------------------------------------------------------------------
    # Instance faults
    # ----------------------------------------------------------------------------------

    def instance_fault_create(self, values: dict[str, Any]) -> Row:
        """Record a fault (``instance_uuid``, ``code``, ``message``, ``details``, ``host``);
        ``created_at`` defaults to now. Returns the row."""
        values = dict(values)
        values.setdefault("created_at", self.now())
        return self._insert_returning("instance_faults", values)

    def instance_fault_get_by_instance_uuids(
        self, instance_uuids: Iterable[str], latest: bool = True
    ) -> dict[str, list[Row]]:
        """``{uuid: [faults newest first]}`` for each uuid (empty list: no fault);
        ``latest=True`` keeps only the newest fault of each (what the API shows)."""
        uuids = list(instance_uuids)
        result: dict[str, list[Row]] = {u: [] for u in uuids}
        if not uuids:
            return result
        rows = self._select(
            "instance_faults",
            f"SELECT * FROM instance_faults WHERE instance_uuid IN "
            f"({', '.join('?' for _ in uuids)}) ORDER BY id DESC",
            uuids,
        )
        for row in rows:
            faults = result[row["instance_uuid"]]
            if not latest or not faults:
                faults.append(row)
        return result

    # ----------------------------------------------------------------------------------
    # Instance actions and events
    # ----------------------------------------------------------------------------------

    def action_start(self, values: dict[str, Any]) -> Row:
        """Start an action (``instance_uuid``, ``request_id``, ``action``, ``project_id``,
        ``user_id``); ``start_time`` defaults to now. Returns the row."""
        values = dict(values)
        now = self.now()
        values.setdefault("start_time", now)
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        return self._insert_returning("instance_actions", values)

    def _action_get(self, instance_uuid: str, request_id: str) -> Row:
        rows = self._select(
            "instance_actions",
            "SELECT * FROM instance_actions WHERE instance_uuid = ? AND request_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (instance_uuid, request_id),
        )
        if not rows:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid
            )
        return rows[0]

    def action_finish(
        self, instance_uuid: str, request_id: str, message: str | None = None
    ) -> Row:
        """Finish the action: ``finish_time = now`` and ``message`` when given (Nova
        writes "Error" when an event failed). ``InstanceActionNotFound`` if none."""
        now = self.now()
        with self._write():
            action = self._action_get(instance_uuid, request_id)
            values: dict[str, Any] = {"finish_time": now, "updated_at": now}
            if message is not None:
                values["message"] = message
            self._update_where("instance_actions", values, "id = ?", (action["id"],))
            action.update(values)
            return action

    def action_get_by_request_id(self, instance_uuid: str, request_id: str) -> Row:
        """The action of this request on this instance; ``InstanceActionNotFound``."""
        return self._action_get(instance_uuid, request_id)

    def actions_get(self, instance_uuid: str) -> list[Row]:
        """The instance's actions, newest first (the API's os-instance-actions list)."""
        return self._select(
            "instance_actions",
            "SELECT * FROM instance_actions WHERE instance_uuid = ? ORDER BY id DESC",
            (instance_uuid,),
        )

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
        now = self.now()
        rows = self._write_statement(
            "instance_actions_events",
            "INSERT INTO instance_actions_events (action_id, event, start_time, host, "
            "details, created_at, updated_at) SELECT id, ?, ?, ?, ?, ?, ? "
            "FROM instance_actions WHERE instance_uuid = ? AND request_id = ? "
            "ORDER BY id DESC LIMIT 1 RETURNING *",
            (event, now, host, details, now, now, instance_uuid, request_id),
        )
        if not rows:
            raise exception.InstanceActionNotFound(
                request_id=request_id, instance_uuid=instance_uuid
            )
        return rows[0]

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
        with self._write():
            action = self._action_get(instance_uuid, request_id)
            rows = self._select(
                "instance_actions_events",
                "SELECT * FROM instance_actions_events WHERE action_id = ? AND event = ? "
                "ORDER BY finish_time IS NULL DESC, id DESC LIMIT 1",
                (action["id"], event),
            )
            if not rows:
                raise exception.InstanceActionNotFound(
                    request_id=request_id, instance_uuid=instance_uuid
                )
            values = {
                "finish_time": now, "result": result, "traceback": traceback, "updated_at": now
            }
            self._update_where("instance_actions_events", values, "id = ?", (rows[0]["id"],))
            if result.lower() == "error":
                self._conn.execute(
                    "UPDATE instance_actions SET message = 'Error', updated_at = ? WHERE id = ?",
                    (now, action["id"]),
                )
            rows[0].update(values)
            return rows[0]

    def action_events_get(self, action_id: int) -> list[Row]:
        """The events of an action, newest first."""
        return self._select(
            "instance_actions_events",
            "SELECT * FROM instance_actions_events WHERE action_id = ? ORDER BY id DESC",
            (action_id,),
        )

    # ----------------------------------------------------------------------------------
    # Placement: resource providers, inventories, allocations
    # ----------------------------------------------------------------------------------

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
        wanted_inventory = {}
        for resource_class, spec in sorted(inventories.items()):
            if not isinstance(spec, dict):
                spec = {"total": spec}
            total = int(spec["total"])
            wanted_inventory[resource_class] = (
                total,
                int(spec.get("reserved", 0)),
                int(spec.get("min_unit", 1)),
                int(spec.get("max_unit", total)),
                int(spec.get("step_size", 1)),
                float(spec.get("allocation_ratio", 1.0)),
            )
        # The periodic report rarely changes anything: look first without the write lock.
        with self._read():
            found = self._conn.execute(
                "SELECT id, generation FROM resource_providers WHERE uuid = ?", (rp_uuid,)
            ).fetchone()
            if found is not None and self._inventory_rows(found[0]) == wanted_inventory:
                return found[1]
        now = self.now()
        with self._write():
            found = self._conn.execute(
                "SELECT id, generation FROM resource_providers WHERE uuid = ?", (rp_uuid,)
            ).fetchone()
            changed = False
            if found is None:
                rp_id = self._conn.execute(
                    "INSERT INTO resource_providers (uuid, name, generation, created_at, "
                    "updated_at) VALUES (?, ?, 0, ?, ?)",
                    (rp_uuid, name, now, now),
                ).lastrowid
                generation = 0
                self._touch_providers("id = ?", (rp_id,), bump_generation=False)
            else:
                rp_id, generation = found
            current = self._inventory_rows(rp_id)
            for resource_class, wanted in wanted_inventory.items():
                if current.get(resource_class) == wanted:
                    continue
                changed = True
                capacity = int((wanted[0] - wanted[1]) * wanted[5])
                self._conn.execute(
                    "INSERT INTO inventories (rp_id, resource_class, total, reserved, "
                    "min_unit, max_unit, step_size, allocation_ratio, capacity, used) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT SUM(used) FROM "
                    "allocations WHERE rp_uuid = ? AND resource_class = ?), 0)) "
                    "ON CONFLICT (rp_id, resource_class) DO UPDATE SET "
                    "total = excluded.total, reserved = excluded.reserved, "
                    "min_unit = excluded.min_unit, max_unit = excluded.max_unit, "
                    "step_size = excluded.step_size, "
                    "allocation_ratio = excluded.allocation_ratio, capacity = excluded.capacity",
                    (rp_id, resource_class, *wanted, capacity, rp_uuid, resource_class),
                )
            for resource_class in sorted(set(current) - set(inventories)):
                changed = True
                self._conn.execute(
                    "DELETE FROM inventories WHERE rp_id = ? AND resource_class = ?",
                    (rp_id, resource_class),
                )
            if changed and found is not None:
                generation += 1
                self._touch_providers("id = ?", (rp_id,))
                self._conn.execute(
                    "UPDATE resource_providers SET updated_at = ?, name = ? WHERE id = ?",
                    (now, name, rp_id),
                )
            return generation

    def _inventory_rows(self, rp_id: int) -> dict[str, tuple]:
        """``{rc: (total, reserved, min_unit, max_unit, step_size, allocation_ratio)}``."""
        return {
            row[0]: row[1:]
            for row in self._conn.execute(
                "SELECT resource_class, total, reserved, min_unit, max_unit, step_size, "
                "allocation_ratio FROM inventories WHERE rp_id = ?",
                (rp_id,),
            )
        }

    def _touch_providers(
        self, where: str, params: Iterable[Any], bump_generation: bool = True
    ) -> None:
        """Inside a write: take the next change sequence number for these providers
        (and bump their generation)."""
        seq = self._next_change()
        generation = ", generation = generation + 1" if bump_generation else ""
        self._conn.execute(
            f"UPDATE resource_providers SET change_seq = ?{generation} WHERE {where}",
            (seq, *params),
        )

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
        with self._read():
            seq = self._conn.execute(
                "SELECT value FROM change_sequence WHERE id = 1"
            ).fetchone()[0]
            providers: dict[str, dict[str, Row]] = {}
            # Ordered by change_seq so that the index serves the incremental read (ORDER
            # BY id would make SQLite scan every provider), then by id in Python.
            rows = self._conn.execute(
                "SELECT p.id, p.uuid, i.resource_class, i.capacity, i.used, i.min_unit, "
                "i.max_unit, i.step_size FROM resource_providers p LEFT JOIN inventories i "
                "ON i.rp_id = p.id WHERE p.change_seq > ? ORDER BY p.change_seq",
                (since,),
            ).fetchall()
            rows.sort(key=lambda row: row[0])
            for _id, rp_uuid, rc, capacity, used, min_unit, max_unit, step_size in rows:
                inventory = providers.setdefault(rp_uuid, {})
                if rc is not None:
                    inventory[rc] = {
                        "capacity": capacity, "used": used, "min_unit": min_unit,
                        "max_unit": max_unit, "step_size": step_size,
                    }
            count = self._conn.execute("SELECT COUNT(*) FROM resource_providers").fetchone()[0]
            return seq, providers, count

    def resource_provider_get(self, rp_uuid: str) -> Row:
        """``{uuid, name, generation, inventories: {rc: {total, reserved, min_unit,
        max_unit, step_size, allocation_ratio, capacity, used}}}`` where ``capacity`` is
        ``int((total - reserved) * allocation_ratio)``; ``ComputeHostNotFound`` if the
        provider does not exist."""
        with self._read():
            rows = self._select(
                "resource_providers",
                "SELECT id, uuid, name, generation FROM resource_providers WHERE uuid = ?",
                (rp_uuid,),
            )
            if not rows:
                raise exception.ComputeHostNotFound(host=rp_uuid)
            provider = rows[0]
            rp_id = provider.pop("id")
            provider["inventories"] = {}
            for row in self._select(
                "inventories", "SELECT * FROM inventories WHERE rp_id = ?", (rp_id,)
            ):
                row.pop("rp_id")
                provider["inventories"][row.pop("resource_class")] = row
            return provider

    def resource_providers_get_all(self) -> list[Row]:
        """All providers as ``{uuid, name, generation}``, in creation order."""
        return self._select(
            "resource_providers",
            "SELECT uuid, name, generation FROM resource_providers ORDER BY id",
        )

    def resource_provider_delete(self, rp_uuid: str) -> None:
        """Delete a provider with its inventories and allocations (no error if absent)."""
        with self._write():
            self._conn.execute(
                "DELETE FROM inventories WHERE rp_id = "
                "(SELECT id FROM resource_providers WHERE uuid = ?)",
                (rp_uuid,),
            )
            self._conn.execute("DELETE FROM allocations WHERE rp_uuid = ?", (rp_uuid,))
            self._conn.execute("DELETE FROM resource_providers WHERE uuid = ?", (rp_uuid,))

    def usages_get(self, rp_uuid: str) -> dict[str, int]:
        """``{resource_class: used}`` on one provider (classes with inventory)."""
        if not self._depth:
            self.transactions += 1
        return {
            rc: used
            for rc, used in self._conn.execute(
                "SELECT i.resource_class, i.used FROM inventories i JOIN resource_providers p "
                "ON p.id = i.rp_id WHERE p.uuid = ? ORDER BY i.resource_class",
                (rp_uuid,),
            )
        }

    def provider_summaries(self) -> dict[str, dict[str, Row]]:
        """Every provider's inventories with usage, in one query:
        ``{rp_uuid: {rc: {total, reserved, allocation_ratio, capacity, used, max_unit}}}``."""
        if not self._depth:
            self.transactions += 1
        result: dict[str, dict[str, Row]] = {}
        for rp_uuid, rc, total, reserved, ratio, capacity, used, max_unit in self._conn.execute(
            "SELECT p.uuid, i.resource_class, i.total, i.reserved, i.allocation_ratio, "
            "i.capacity, i.used, i.max_unit FROM inventories i "
            "JOIN resource_providers p ON p.id = i.rp_id ORDER BY p.id, i.resource_class"
        ):
            result.setdefault(rp_uuid, {})[rc] = {
                "total": total, "reserved": reserved, "allocation_ratio": ratio,
                "capacity": capacity, "used": used, "max_unit": max_unit,
            }
        return result

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
        with self._read():
            seq, providers, count = self.provider_changes(since)
            services = self._select(
                "services",
                "SELECT * FROM services WHERE change_seq > ? AND binary = ? "
                + ("" if since else "AND deleted = 0 ") + "ORDER BY change_seq",
                (since, binary),
            )
            nodes = self._select(
                "compute_nodes",
                "SELECT * FROM compute_nodes WHERE change_seq > ? "
                + ("" if since else "AND deleted = 0 ") + "ORDER BY change_seq",
                (since,),
            )
            services.sort(key=lambda row: row["id"])
            nodes.sort(key=lambda row: row["id"])
            return {
                "seq": seq, "services": services, "compute_nodes": nodes,
                "providers": providers, "provider_count": count,
            }

    def allocations_get(
        self, consumer_uuid: str | None = None, rp_uuid: str | None = None
    ) -> list[Row]:
        """Allocation rows (``consumer_uuid, rp_uuid, resource_class, used, project_id,
        user_id``) of one consumer and/or one provider (all if neither), in order."""
        where, params = [], []
        if consumer_uuid is not None:
            where.append("consumer_uuid = ?")
            params.append(consumer_uuid)
        if rp_uuid is not None:
            where.append("rp_uuid = ?")
            params.append(rp_uuid)
        where_sql = " AND ".join(where) if where else "1"
        return self._select(
            "allocations",
            "SELECT consumer_uuid, rp_uuid, resource_class, used, project_id, user_id "
            f"FROM allocations WHERE {where_sql} ORDER BY id",
            params,
        )

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
        if not self._depth:
            self.transactions += 1
        columns, joins, clauses, params = ["p.uuid"], [], [], []
        for index, (rc, _amount) in enumerate(wanted):
            alias = f"i{index}"
            # CROSS JOIN keeps providers as the outer loop (SQLite never reorders it):
            # rows come in provider order, so ORDER BY costs nothing and LIMIT stops early.
            joins.append(
                f"CROSS JOIN inventories {alias} ON {alias}.rp_id = p.id "
                f"AND {alias}.resource_class = ?"
            )
            params.append(rc)
            clauses.append(
                f"{alias}.used + ? <= {alias}.capacity AND {alias}.min_unit <= ? "
                f"AND {alias}.max_unit >= ? AND ? % {alias}.step_size = 0"
            )
        clause_params = [a for _, amount in wanted for a in (amount, amount, amount, amount)]
        requested = {rc: f"i{index}" for index, (rc, _amount) in enumerate(wanted)}
        for index, rc in enumerate(usage_of):
            if rc in requested:
                columns.append(f"{requested[rc]}.used")
                continue
            alias = f"u{index}"
            columns.append(f"{alias}.used")
            joins.append(
                f"LEFT JOIN inventories {alias} ON {alias}.rp_id = p.id "
                f"AND {alias}.resource_class = ?"
            )
            params.append(rc)
        sql = f"SELECT {', '.join(columns)} FROM resource_providers p {' '.join(joins)}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY p.id"
        params.extend(clause_params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._conn.execute(sql, params).fetchall()
        return rows if usage_of else [row[0] for row in rows]

    def claim_resources(
        self,
        consumer_uuid: str,
        rp_uuid: str,
        resources: dict[str, int],
        project_id: str | None = None,
        user_id: str | None = None,
    ) -> bool:
        """Atomically allocate ``resources`` on ``rp_uuid`` for ``consumer_uuid``.

        One ``BEGIN IMMEDIATE`` transaction (two processes on one file queue on the write
        lock, up to ``busy_timeout``): the consumer's existing allocations are first
        released (a claim *replaces* them, as placement's PUT /allocations does, so a
        reschedule claims the alternate in one step), then each class is added only if
        it fits (``used + amount <= capacity``, ``min_unit`` / ``max_unit`` /
        ``step_size``). Returns True on success; False if any class does not fit or has
        no inventory, in which case nothing changed (the old allocations are kept too).
        Bumps the provider's generation on success.
        """
        wanted = [(rc, int(amount)) for rc, amount in sorted(resources.items()) if amount]
        now = self.now()
        try:
            with self._write():
                found = self._conn.execute(
                    "SELECT id FROM resource_providers WHERE uuid = ?", (rp_uuid,)
                ).fetchone()
                if found is None:
                    raise _ClaimFailed()
                rp_id = found[0]
                self._release(consumer_uuid, None)
                for rc, amount in wanted:
                    cursor = self._conn.execute(
                        "UPDATE inventories SET used = used + ? WHERE rp_id = ? "
                        "AND resource_class = ? AND used + ? <= capacity "
                        "AND min_unit <= ? AND max_unit >= ? AND ? % step_size = 0",
                        (amount, rp_id, rc, amount, amount, amount, amount),
                    )
                    if cursor.rowcount != 1:
                        # Rolls back this claim's changes (the released allocations too).
                        raise _ClaimFailed()
                self._conn.executemany(
                    "INSERT INTO allocations (consumer_uuid, rp_uuid, resource_class, used, "
                    "project_id, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (consumer_uuid, rp_uuid, rc, amount, project_id, user_id, now)
                        for rc, amount in wanted
                    ],
                )
                self._touch_providers("id = ?", (rp_id,))
        except _ClaimFailed:
            return False
        return True

    def _release(self, consumer_uuid: str, rp_uuid: str | None) -> int:
        """Inside a write: drop the consumer's allocations (on one provider if given) and
        give their usage back. Returns how many rows went."""
        where, params = "consumer_uuid = ?", [consumer_uuid]
        if rp_uuid is not None:
            where += " AND rp_uuid = ?"
            params.append(rp_uuid)
        rows = self._conn.execute(
            f"SELECT rp_uuid, resource_class, used FROM allocations WHERE {where}", params
        ).fetchall()
        if not rows:
            return 0
        self._conn.executemany(
            "UPDATE inventories SET used = used - ? WHERE resource_class = ? AND rp_id = "
            "(SELECT id FROM resource_providers WHERE uuid = ?)",
            [(used, rc, rp) for rp, rc, used in rows],
        )
        self._conn.execute(f"DELETE FROM allocations WHERE {where}", params)
        for rp in sorted({row[0] for row in rows}):
            self._touch_providers("uuid = ?", (rp,))
        return len(rows)

    def remove_allocations(self, consumer_uuid: str, rp_uuid: str | None = None) -> bool:
        """Release the consumer's allocations (only those on ``rp_uuid`` when given, so a
        late cleanup by a failed host cannot drop the claim on the next alternate).
        Returns True if there was something to remove."""
        with self._write():
            return self._release(consumer_uuid, rp_uuid) > 0

    # ----------------------------------------------------------------------------------
    # Request specs
    # ----------------------------------------------------------------------------------

    def request_spec_save(self, instance_uuid: str, spec: dict[str, Any]) -> Row:
        """Create or replace the request spec (any JSON-able dict) of an instance."""
        now = self.now()
        return self._write_statement(
            "request_specs",
            "INSERT INTO request_specs (instance_uuid, spec, created_at, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (instance_uuid) DO UPDATE SET "
            "spec = excluded.spec, updated_at = excluded.updated_at RETURNING *",
            (instance_uuid, json.dumps(spec, sort_keys=True), now, now),
        )[0]

    def request_spec_get(self, instance_uuid: str) -> dict[str, Any]:
        """The spec dict saved for the instance; ``RequestSpecNotFound`` if none."""
        rows = self._select(
            "request_specs", "SELECT spec FROM request_specs WHERE instance_uuid = ?",
            (instance_uuid,),
        )
        if not rows:
            raise RequestSpecNotFound(instance_uuid=instance_uuid)
        return rows[0]["spec"]

    # ----------------------------------------------------------------------------------
    # Server groups
    # ----------------------------------------------------------------------------------

    def server_group_create(self, values: dict[str, Any], members: Iterable[str] = ()) -> Row:
        """Create a server group (``name``, ``policy`` "affinity" | "anti-affinity" |
        "soft-affinity" | "soft-anti-affinity", ``project_id``, ``user_id``, ``rules``);
        returns it with ``members`` (a list of instance uuids)."""
        values = dict(values)
        values.setdefault("uuid", self._new_uuid())
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        if values.get("policy") not in (
            "affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"
        ):
            raise exception.InvalidInput(reason=f"invalid policy {values.get('policy')!r}")
        with self._write():
            self._insert("instance_groups", values)
            if members:
                self.server_group_add_members(values["uuid"], members)
            return self.server_group_get(values["uuid"])

    def server_group_get(self, group_uuid: str) -> Row:
        """The live group with ``members``; ``ServerGroupNotFound`` if none."""
        with self._read():
            rows = self._select(
                "instance_groups",
                "SELECT * FROM instance_groups WHERE uuid = ? AND deleted = 0",
                (group_uuid,),
            )
            if not rows:
                raise ServerGroupNotFound(group_uuid=group_uuid)
            group = rows[0]
            group["members"] = [
                row[0]
                for row in self._conn.execute(
                    "SELECT instance_uuid FROM instance_group_member WHERE group_uuid = ? "
                    "ORDER BY id",
                    (group_uuid,),
                )
            ]
            return group

    def server_group_get_all(self, project_id: str | None = None) -> list[Row]:
        """Live groups (of one project when given), with members, in creation order."""
        with self._read():
            if project_id is None:
                rows = self._conn.execute(
                    "SELECT uuid FROM instance_groups WHERE deleted = 0 ORDER BY id"
                ).fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT uuid FROM instance_groups WHERE deleted = 0 AND project_id = ? "
                    "ORDER BY id",
                    (project_id,),
                ).fetchall()
            return [self.server_group_get(row[0]) for row in rows]

    def server_group_get_by_instance(self, instance_uuid: str) -> Row | None:
        """The group an instance belongs to, or ``None``."""
        with self._read():
            found = self._conn.execute(
                "SELECT m.group_uuid FROM instance_group_member m JOIN instance_groups g "
                "ON g.uuid = m.group_uuid WHERE m.instance_uuid = ? AND g.deleted = 0",
                (instance_uuid,),
            ).fetchone()
            return self.server_group_get(found[0]) if found else None

    def server_group_add_members(self, group_uuid: str, instance_uuids: Iterable[str]) -> None:
        """Add instances to a group (already-members are ignored)."""
        now = self.now()
        with self._write():
            self._conn.executemany(
                "INSERT OR IGNORE INTO instance_group_member (group_uuid, instance_uuid, "
                "created_at) VALUES (?, ?, ?)",
                [(group_uuid, u, now) for u in instance_uuids],
            )

    def server_group_member_hosts(
        self, group_uuid: str, exclude: Iterable[str] = ()
    ) -> list[str]:
        """Sorted distinct hosts of the group's live members (instances not in
        ``exclude``), as the affinity filters need."""
        excluded = list(exclude)
        sql = (
            "SELECT DISTINCT i.host FROM instance_group_member m JOIN instances i "
            "ON i.uuid = m.instance_uuid WHERE m.group_uuid = ? AND i.deleted = 0 "
            "AND i.host IS NOT NULL"
        )
        params: list[Any] = [group_uuid]
        if excluded:
            sql += f" AND i.uuid NOT IN ({', '.join('?' for _ in excluded)})"
            params.extend(excluded)
        if not self._depth:
            self.transactions += 1
        return sorted(row[0] for row in self._conn.execute(sql, params))

    def server_group_member_host_counts(self, group_uuid: str) -> dict[str, int]:
        """``{host: number of the group's live members on it}`` (anti-affinity's
        ``max_server_per_host`` and the soft-affinity weighers count them)."""
        if not self._depth:
            self.transactions += 1
        return {
            host: count
            for host, count in self._conn.execute(
                "SELECT i.host, COUNT(*) FROM instance_group_member m JOIN instances i "
                "ON i.uuid = m.instance_uuid WHERE m.group_uuid = ? AND i.deleted = 0 "
                "AND i.host IS NOT NULL GROUP BY i.host ORDER BY i.host",
                (group_uuid,),
            )
        }

    def server_group_delete(self, group_uuid: str) -> None:
        """Soft-delete a group and drop its members; ``ServerGroupNotFound`` if none."""
        now = self.now()
        with self._write():
            cursor = self._conn.execute(
                "UPDATE instance_groups SET deleted = 1, deleted_at = ? "
                "WHERE uuid = ? AND deleted = 0",
                (now, group_uuid),
            )
            if not cursor.rowcount:
                raise ServerGroupNotFound(group_uuid=group_uuid)
            self._conn.execute(
                "DELETE FROM instance_group_member WHERE group_uuid = ?", (group_uuid,)
            )


class _Transaction:
    """The context manager behind ``Database._write`` / ``_read`` (a class rather than a
    generator: it is entered a dozen times per boot)."""

    __slots__ = ("db", "write", "savepoint")

    def __init__(self, db: Database, write: bool):
        self.db = db
        self.write = write
        self.savepoint: str | None = None

    def __enter__(self) -> sqlite3.Connection:
        db = self.db
        if db._depth:
            if self.write:
                self.savepoint = f"sp{db._depth}"
                db._conn.execute(f"SAVEPOINT {self.savepoint}")
            db._depth += 1
            return db._conn
        db.transactions += 1
        if self.write:
            db.write_transactions += 1
            db._conn.execute("BEGIN IMMEDIATE")
        else:
            db._conn.execute("BEGIN")
        db._depth = 1
        return db._conn

    def __exit__(self, kind, value, traceback) -> None:
        db = self.db
        db._depth -= 1
        if self.savepoint is not None:
            if kind is not None:
                db._conn.execute(f"ROLLBACK TO {self.savepoint}")
            db._conn.execute(f"RELEASE {self.savepoint}")
        elif not db._depth:
            if kind is not None and self.write:
                db._conn.execute("ROLLBACK")
            else:
                db._conn.execute("COMMIT")


class _ClaimFailed(Exception):
    """Raised inside ``claim_resources`` to roll its transaction back."""
