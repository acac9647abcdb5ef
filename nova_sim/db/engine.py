"""How nova-sim talks to its SQL server: engines, compiled statements, transactions,
retries and the thread pool.

Owns the plumbing under ``nova_sim.db.api.Database`` and ``nova_sim.db.placement``:

- **URLs and engines.** ``[database] connection`` is an SQLAlchemy URL: ``sqlite://``
  (private, in memory), ``sqlite:///PATH`` (a file shared by the processes of one
  machine, in WAL mode), ``mysql+pymysql://USER:PASS@HOST/DB`` (MariaDB or MySQL) or
  ``postgresql+psycopg://USER@HOST/DB``. ``create_engine`` builds the SQLAlchemy engine
  with the pool options of ``[database]``.
- **Statements built once.** Every statement is an SQLAlchemy Core construct (``select``,
  ``update``, ``insert``...), compiled for the engine's dialect the first time it runs and
  then executed as that SQL string straight on the DBAPI connection (``Query``): the
  dialect writes the SQL, and a heartbeat pays for neither compilation nor SQLAlchemy's
  result machinery. Statements whose shape depends on the call (filters, column lists)
  are cached by their shape (``query(key, build)``).
- **Transactions.** A public database method is decorated ``@reader`` (a consistent
  snapshot), ``@writer`` (one write transaction; on SQLite ``BEGIN IMMEDIATE``, so a
  read-then-write cannot be overtaken) or ``@statement`` (one statement: on SQLite it
  runs in autocommit mode, saving the BEGIN / COMMIT round trips of a hot path). A method
  called from another joins its transaction. Only in green mode (below) does a
  transaction stay open while its greenthread waits for the server.
- **Retries** as oslo.db's ``wrap_db_retry``: a deadlock, a lock wait timeout, "database
  is locked" or a lost connection rolls the transaction back and runs the whole method
  again after ``db_retry_interval`` seconds (doubling up to ``db_max_retry_interval``),
  at most ``db_max_retries`` times (-1: no limit); then the error is logged and raised.
  A lost connection is thrown away and a new one taken from the pool.
- **The hub never blocks on a socket.** Three modes (``DatabaseCore.mode``):
  ``GREEN`` for PyMySQL and psycopg without ``use_tpool`` (Nova's default, as it runs
  under eventlet): PyMySQL reads and writes a ``nova_sim.green.io`` socket, psycopg waits
  for its socket through ``trampoline`` (``nova_sim.db.green_psycopg``), so each call runs
  on the calling greenthread on a pooled connection and yields to the hub whenever it
  waits for the server; a semaphore keeps the calls at most as many as the pool's
  connections. ``THREADS`` for PyMySQL over TLS and any URL with ``use_tpool``: each
  call runs in a native thread (``nova_sim.green.tpool``) on a pooled connection, and
  only the calling greenthread waits. ``DIRECT`` for SQLite
  without ``use_tpool``: calls run on the caller's thread on one connection kept for the
  ``Database``'s life. On the virtual clock every call runs to its end without
  switching greenthreads (green sockets then wait as blocking ones do).

Must not know about RPC, HTTP or the services.
"""

from __future__ import annotations

import functools
import json
import logging
import operator
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from nova_sim.db.schema import BOOL_COLUMNS, JSON_COLUMNS
from nova_sim.green.costs import hooks as costs
from nova_sim.green.hub import getcurrent

LOG = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
Row = dict[str, Any]

#: Nova's (oslo.db's) defaults for the [database] options this module reads.
DEFAULTS = {
    "max_pool_size": 5,
    "max_overflow": 50,
    "pool_timeout": None,
    "connection_recycle_time": 3600,
    "max_retries": 10,
    "retry_interval": 10,
    "db_max_retries": 20,
    "db_retry_interval": 1.0,
    "db_max_retry_interval": 10.0,
    "use_tpool": False,
}


def backend_of(url: str) -> str:
    """``"sqlite"``, ``"mysql"`` or ``"postgresql"`` for a URL; ``ValueError`` for any
    other (or a malformed one)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as error:
        raise ValueError(f"bad database URL {url!r}: {error}") from None
    backend = parsed.get_backend_name()
    if backend == "mariadb":
        backend = "mysql"
    if backend not in ("sqlite", "mysql", "postgresql"):
        raise ValueError(
            f"unsupported database URL {url!r} (sqlite://, mysql+pymysql:// or "
            f"postgresql+psycopg://)"
        )
    return backend


def parse_url(url: str) -> str:
    """The SQLite file of a ``sqlite://`` URL: ``sqlite://`` -> ``":memory:"``;
    ``sqlite:////a/b.db`` -> ``/a/b.db``; ``sqlite:///b.db`` -> ``b.db``. Server URLs
    come back unchanged; an unsupported URL raises ``ValueError``."""
    if backend_of(url) != "sqlite":
        return url
    database = sa.engine.make_url(url).database
    return database if database and database != ":memory:" else ":memory:"


def is_memory(url: str) -> bool:
    """True for a private in-memory SQLite database."""
    return backend_of(url) == "sqlite" and parse_url(url) == ":memory:"


def _sqlite_on_connect(busy_timeout: float, memory: bool) -> Callable[..., None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: transactions are begun explicitly (BEGIN
        # IMMEDIATE for writes), and a lone statement is its own transaction.
        dbapi_connection.isolation_level = None
        if memory:
            dbapi_connection.execute("PRAGMA synchronous=OFF")
        else:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")

    return on_connect


def create_engine(url: str, busy_timeout: float = 30.0, **options: Any) -> sa.Engine:
    """An SQLAlchemy engine for ``url`` with the [database] pool options.

    ``options``: ``max_pool_size``, ``max_overflow``, ``pool_timeout``,
    ``connection_recycle_time`` (Nova's names; missing ones take Nova's defaults). An
    in-memory SQLite database is one connection shared by every caller (so that all see
    the same database); an SQLite file gets a small pool (one connection per thread that
    uses it at once). ``busy_timeout``: seconds an SQLite write waits for another
    process's lock. Servers are not contacted until the first call.
    """
    settings = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    backend = backend_of(url)
    if backend == "sqlite":
        memory = is_memory(url)
        engine = sa.create_engine(
            url,
            poolclass=sa_pool.StaticPool if memory else sa_pool.QueuePool,
            connect_args={"check_same_thread": False, "timeout": busy_timeout},
            **({} if memory else {"pool_size": 1, "max_overflow": 20}),
        )
        sa.event.listen(engine, "connect", _sqlite_on_connect(busy_timeout, memory))
        return engine
    pool_options: dict[str, Any] = {
        "pool_size": settings["max_pool_size"],
        "max_overflow": settings["max_overflow"],
        "pool_recycle": settings["connection_recycle_time"],
        "pool_pre_ping": False,
        # Every call ends its own transaction (a commit, or a rollback on an error; a
        # green call interrupted in the middle of an answer throws its connection away),
        # so the pool's rollback on check-in would only cost PyMySQL a round trip per
        # transaction (psycopg skips it on an idle connection).
        "pool_reset_on_return": None,
    }
    if settings["pool_timeout"] is not None:
        pool_options["pool_timeout"] = settings["pool_timeout"]
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    parsed = sa.engine.make_url(url)
    if parsed.get_driver_name() == "pymysql" and not _asks_for_tls(parsed):
        # PyMySQL >= 1.2 otherwise builds a TLS context for every new connection (to try
        # TLS if the server offers it, without checking its certificate): loading the CA
        # bundle holds the GIL for about 0.1 s, which stalls every greenthread.
        connect_args["ssl_disabled"] = True
    engine = sa.create_engine(url, connect_args=connect_args, **pool_options)
    if green_driver(url, settings["use_tpool"]):
        sa.event.listen(engine, "do_connect", _green_pymysql_connect if backend == "mysql"
                        else _green_psycopg_connect)
    return engine


def green_driver(url: str, use_tpool: bool) -> bool:
    """True when calls to ``url`` run on the caller's greenthread, waiting for the server
    in the hub, unless ``use_tpool``: PyMySQL (pure Python) over a green socket, as Nova
    runs it under eventlet (TLS, ``ssl_*`` in the URL, needs a real socket: such URLs use
    the thread pool), and psycopg 3 through its non-blocking libpq calls
    (``nova_sim.db.green_psycopg``)."""
    if use_tpool:
        return False
    backend = backend_of(url)
    parsed = sa.engine.make_url(url)
    if backend == "postgresql":
        return parsed.get_driver_name() == "psycopg"
    return (backend == "mysql" and parsed.get_driver_name() == "pymysql"
            and not _asks_for_tls(parsed))


def _asks_for_tls(parsed: sa.engine.URL) -> bool:
    """True when a URL sets any TLS option (``ssl_ca``, ``ssl_disabled``...)."""
    return any(key.startswith("ssl") for key in parsed.query)


def _green_pymysql_connect(_dialect: Any, _record: Any, cargs: tuple, cparams: dict) -> Any:
    """SQLAlchemy's ``do_connect`` for green PyMySQL: the driver's connection over a
    ``nova_sim.green.io`` socket, so that its reads and writes wait in the hub."""
    import socket

    import pymysql

    from nova_sim.green.io import connect_green

    connection = pymysql.connect(*cargs, **cparams, defer_connect=True)
    timeout = cparams.get("connect_timeout", 10)
    try:
        if connection.unix_socket:
            sock = connect_green(connection.unix_socket, socket.AF_UNIX, timeout)
        else:
            sock = connect_green((connection.host, connection.port), None, timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError as error:  # as PyMySQL reports it: refused, unreachable, timed out
        raise pymysql.err.OperationalError(
            2003, f"Can't connect to MySQL server on {connection.host!r} ({error})"
        ) from error
    connection.connect(sock)  # PyMySQL closes the socket if the handshake fails
    return connection


def _green_psycopg_connect(_dialect: Any, _record: Any, cargs: tuple, cparams: dict) -> Any:
    """SQLAlchemy's ``do_connect`` for green psycopg (``nova_sim.db.green_psycopg``)."""
    from nova_sim.db import green_psycopg

    return green_psycopg.connect(*cargs, **cparams)


# ----------------------------------------------------------------------------------------
# Compiled statements
# ----------------------------------------------------------------------------------------


class Query:
    """An SQLAlchemy Core statement compiled once per dialect.

    ``compiled(dialect)`` returns ``(sql, names, defaults)``: the SQL text in the DBAPI's
    parameter style, the bind names in order for a positional style (``None`` for a named
    one: the parameters are passed as a dict), and the values bound inside the statement
    itself (literals such as ``deleted = 0``). ``plan(dialect)`` is what a call runs:
    the SQL, a function that turns the parameters' dict into the DBAPI's positional tuple
    in C (``operator.itemgetter``; None for a named style), the defaults, and the result
    columns' names once a call has seen them.
    """

    __slots__ = ("statement", "_by_dialect", "plans")

    def __init__(self, statement: sa.Executable):
        self.statement = statement
        self._by_dialect: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}
        #: dialect name -> [sql, getter, defaults, result column names or None]
        self.plans: dict[str, list] = {}

    def compiled(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None, dict]:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(
                dialect=dialect, compile_kwargs={"render_postcompile": True}
            )
            names = tuple(compiled.positiontup) if compiled.positional else None
            defaults = {
                name: value for name, value in compiled.params.items() if value is not None
            }
            found = (compiled.string, names, defaults)
            self._by_dialect[dialect.name] = found
        return found

    def plan(self, dialect: sa.Dialect) -> list:
        found = self.plans.get(dialect.name)
        if found is None:
            sql, names, defaults = self.compiled(dialect)
            found = self.plans[dialect.name] = [sql, _positional(names), defaults, None]
        return found


def _empty(_params: Any) -> tuple:
    return ()


def _positional(names: tuple[str, ...] | None) -> Callable[[dict], tuple] | None:
    """The function that picks ``names`` out of a parameters' dict, as a tuple."""
    if names is None:
        return None
    if not names:
        return _empty
    if len(names) == 1:
        pick = operator.itemgetter(names[0])
        return lambda params: (pick(params),)
    return operator.itemgetter(*names)


_QUERIES: dict[Hashable, Query] = {}


def query(key: Hashable, build: Callable[[], sa.Executable]) -> Query:
    """The ``Query`` cached under ``key``, built by ``build()`` the first time. The key
    must name the statement's shape (the table, the columns, how many values in a list):
    two statements of one key must differ only in their bound values."""
    found = _QUERIES.get(key)
    if found is None:
        found = _QUERIES[key] = Query(build())
    return found


def list_size(count: int) -> int:
    """How many bind parameters an ``in_list`` of ``count`` values gets: the next power
    of two, so that lists of many lengths share a few compiled statements."""
    size = 1
    while size < count:
        size *= 2
    return size


def in_list(column: sa.ColumnElement, prefix: str, size: int) -> sa.ColumnElement:
    """``column IN (:prefix0, :prefix1, ...)`` with ``size`` bind parameters (from
    ``list_size``; fill them with ``list_params``)."""
    return column.in_([sa.bindparam(f"{prefix}{index}") for index in range(size)])


def list_params(prefix: str, values: Sequence[Any], size: int) -> dict[str, Any]:
    """The parameters of an ``in_list`` of ``size``: the values, then NULLs (which
    match nothing)."""
    padded = list(values) + [None] * (size - len(values))
    return {f"{prefix}{index}": value for index, value in enumerate(padded)}


# ----------------------------------------------------------------------------------------
# Transactions and retries
# ----------------------------------------------------------------------------------------

READ, WRITE, STATEMENT = "read", "write", "statement"


def _transactional(mode: str) -> Callable[[F], F]:
    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: DatabaseCore, *args: Any, **kwargs: Any) -> Any:
            if self._local.connection is not None:  # called by another method: join it
                return method(self, *args, **kwargs)
            return self._call(method, mode, args, kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


#: A method that is one read transaction (a consistent snapshot).
reader = _transactional(READ)
#: A method that is one write transaction (all or nothing).
writer = _transactional(WRITE)
#: A method that runs one statement (on SQLite, in autocommit mode: no BEGIN / COMMIT).
statement = _transactional(STATEMENT)


class _Local(threading.local):
    """Per thread: the connection of the transaction under way (None between calls)."""

    connection: Any = None


class _GreenLocal:
    """Per greenthread: the connection of the transaction under way (None between calls).
    In green mode a transaction's greenthread yields while it waits on the server, and
    others run their own transactions meanwhile."""

    __slots__ = ("_by_greenlet",)

    def __init__(self) -> None:
        self._by_greenlet: dict[Any, Any] = {}

    @property
    def connection(self) -> Any:
        return self._by_greenlet.get(getcurrent())

    @connection.setter
    def connection(self, value: Any) -> None:
        if value is None:
            self._by_greenlet.pop(getcurrent(), None)
        else:
            self._by_greenlet[getcurrent()] = value


#: How calls run (``DatabaseCore.mode``): on the caller's thread on one connection
#: (SQLite); in native threads of ``nova_sim.green.tpool`` on pooled connections; or on
#: the caller's greenthread on pooled connections over green sockets (PyMySQL).
DIRECT, THREADS, GREEN = "direct", "threads", "green"


class DatabaseCore:
    """The connection, transactions, retries and statement execution of one database.

    Subclasses (``Database``) add the API methods. ``transactions`` counts transactions
    (each outermost method call is one), ``write_transactions`` the writes.
    """

    def __init__(
        self,
        url: str = "sqlite://",
        clock: Callable[[], float] | None = None,
        busy_timeout: float = 30.0,
        **options: Any,
    ):
        self.url = url
        self.backend = backend_of(url)
        self.path = parse_url(url)
        self.clock = clock or time.time
        self.busy_timeout = busy_timeout
        self.options = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        self.transactions = 0
        self.write_transactions = 0
        self.engine = create_engine(url, busy_timeout=busy_timeout, **self.options)
        self.dialect = self.engine.dialect
        self._dialect_name = self.dialect.name
        self.sqlite = self.backend == "sqlite"
        self.memory = is_memory(url)
        # A server is a socket: the hub must not wait on it. A private in-memory database
        # has one connection, which threads cannot share.
        use_tpool = bool(self.options["use_tpool"])
        if green_driver(url, use_tpool):
            self.mode = GREEN
        elif (not self.sqlite or use_tpool) and not self.memory:
            self.mode = THREADS
        else:
            self.mode = DIRECT
        self._local: Any = _GreenLocal() if self.mode == GREEN else _Local()
        # Green mode: at most as many calls at once as the pool has connections, so that
        # a greenthread never blocks the hub's thread in the pool's own wait.
        overflow = int(self.options["max_overflow"])
        self._slots: Any = None
        if self.mode == GREEN and overflow >= 0:
            from nova_sim.green import Semaphore

            self._slots = Semaphore(int(self.options["max_pool_size"]) + overflow)
        self._dedicated: Any = None  # the pool's wrapper of the direct-mode connection
        self._raw: Any = None  # and its DBAPI connection
        self._closed = False

    # -- connections ------------------------------------------------------------------

    @property
    def threaded(self) -> bool:
        """True when calls run in native threads (``mode == THREADS``)."""
        return self.mode == THREADS

    def _checkout(self) -> Any:
        """A pooled connection (the pool's wrapper), retrying a refused connect as
        ``max_retries`` / ``retry_interval`` say (-1: forever)."""
        attempt = 0
        refused = (sa.exc.OperationalError, self.dialect.loaded_dbapi.OperationalError)
        while True:
            try:
                return self.engine.raw_connection()
            except refused as error:  # refused, unreachable, starting up
                limit = int(self.options["max_retries"])
                if limit != -1 and attempt >= limit:
                    raise
                attempt += 1
                LOG.warning("database connection failed (%s); retrying in %ss (%d/%s)",
                            getattr(error, "orig", error), self.options["retry_interval"],
                            attempt, limit)
                self._sleep(float(self.options["retry_interval"]))

    def _direct_connection(self) -> Any:
        """The DBAPI connection of direct mode (opened on first use)."""
        raw = self._raw
        if raw is None:
            self._dedicated = self._checkout()
            raw = self._raw = self._dedicated.driver_connection
        return raw

    def close(self) -> None:
        """Return the connection and close the pool (an in-memory database is gone)."""
        if self._closed:
            return
        self._closed = True
        if self._dedicated is not None:
            try:
                self._dedicated.close()
            finally:
                self._dedicated = self._raw = None
        self.engine.dispose()

    def __enter__(self) -> DatabaseCore:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- one call, with retries --------------------------------------------------------

    def _call(self, method: Callable[..., Any], mode: str, args: tuple, kwargs: dict) -> Any:
        charge = costs.transaction
        if charge is not None:  # the cost model's service time, before the transaction
            charge()
        attempt = 0
        interval = float(self.options["db_retry_interval"])
        while True:
            # Counted here, on the caller's thread (the hub's), not in a pool thread.
            self.transactions += 1
            if mode == WRITE:
                self.write_transactions += 1
            try:
                if self.mode == DIRECT:
                    return self._attempt_direct(method, mode, args, kwargs)
                if self.mode == THREADS:
                    from nova_sim.green import tpool

                    return tpool.execute(self._attempt_pooled, method, mode, args, kwargs)
                return self._attempt_green(method, mode, args, kwargs)
            except Exception as error:
                reason = self._retryable(error)
                if reason is None:
                    raise
                limit = int(self.options["db_max_retries"])
                if limit != -1 and attempt >= limit:
                    LOG.error("database call %s failed after %d retries: %s",
                              method.__name__, attempt, error)
                    raise
                attempt += 1
                LOG.debug("database %s in %s; retry %d in %.2fs", reason, method.__name__,
                          attempt, interval)
                self._sleep(interval)
                interval = min(interval * 2, float(self.options["db_max_retry_interval"]))

    @staticmethod
    def _sleep(seconds: float) -> None:
        from nova_sim import green

        green.sleep(seconds)

    def _attempt_direct(self, method: Callable, mode: str, args: tuple, kwargs: dict) -> Any:
        connection = self._direct_connection()
        try:
            return self._in_transaction(connection, method, mode, args, kwargs)
        except Exception as error:
            if self._is_disconnect(error, connection) and self._dedicated is not None:
                error.nova_sim_disconnect = True  # type: ignore[attr-defined]
                self._dedicated.invalidate()
                self._dedicated = self._raw = None
            raise

    def _attempt_pooled(self, method: Callable, mode: str, args: tuple, kwargs: dict) -> Any:
        fairy = self._checkout()
        try:
            return self._in_transaction(fairy.driver_connection, method, mode, args, kwargs)
        except Exception as error:
            if self._is_disconnect(error, fairy.driver_connection):
                error.nova_sim_disconnect = True  # type: ignore[attr-defined]
                fairy.invalidate()
            raise
        except BaseException:
            if self.mode == GREEN:
                # Killed or timed out while it waited for the server: the connection may
                # be in the middle of an answer. Closing it rolls the transaction back.
                fairy.invalidate()
            raise
        finally:
            fairy.close()

    def _attempt_green(self, method: Callable, mode: str, args: tuple, kwargs: dict) -> Any:
        slots = self._slots
        if slots is None:
            return self._attempt_pooled(method, mode, args, kwargs)
        timeout = self.options["pool_timeout"]
        if timeout is None:
            timeout = 30.0  # SQLAlchemy's default, which oslo.db keeps when unset
        if not slots.acquire(timeout=timeout):
            raise sa.exc.TimeoutError(
                f"no database connection free after {timeout}s (max_pool_size + "
                f"max_overflow = {self.options['max_pool_size'] + self.options['max_overflow']})"
            )
        try:
            return self._attempt_pooled(method, mode, args, kwargs)
        finally:
            slots.release()

    def _in_transaction(
        self, connection: Any, method: Callable, mode: str, args: tuple, kwargs: dict
    ) -> Any:
        local = self._local
        sqlite = self.sqlite
        if sqlite:
            if mode == WRITE:
                connection.execute("BEGIN IMMEDIATE")
            elif mode == READ:
                connection.execute("BEGIN")
        local.connection = connection
        try:
            result = method(self, *args, **kwargs)
        except BaseException as error:
            local.connection = None
            if self.mode == GREEN and not isinstance(error, Exception):
                raise  # interrupted in the middle of a call: the caller closes the connection
            try:
                if not sqlite:
                    connection.rollback()
                elif connection.in_transaction:
                    connection.execute("ROLLBACK")
            except Exception:  # the connection may be gone: the error below says why
                pass
            raise
        local.connection = None
        if not sqlite:
            _commit(connection)
        elif mode != STATEMENT or connection.in_transaction:
            connection.execute("COMMIT")
        return result

    def _retryable(self, error: BaseException) -> str | None:
        """"deadlock" or "disconnect" when a new attempt may succeed, else None."""
        if not isinstance(error, self.dialect.loaded_dbapi.Error):
            return None
        if getattr(error, "nova_sim_disconnect", False) or self._is_disconnect(error):
            return "disconnect"
        if self.sqlite:
            text = str(error)
            return "lock" if "database is locked" in text or "is busy" in text else None
        code = error.args[0] if self.backend == "mysql" and error.args else None
        if code in (1213, 1205):  # deadlock found; lock wait timeout exceeded
            return "deadlock"
        if getattr(error, "sqlstate", None) in ("40P01", "40001"):
            return "deadlock"
        return None

    def is_duplicate_entry(self, error: BaseException) -> bool:
        """True when ``error`` (a DB-API error, or SQLAlchemy's wrapping of one) is a
        unique constraint refusing a row (oslo.db's ``DBDuplicateEntry``): MySQL's 1062,
        PostgreSQL's 23505, SQLite's "UNIQUE constraint failed"."""
        error = getattr(error, "orig", None) or error
        if not isinstance(error, self.dialect.loaded_dbapi.IntegrityError):
            return False
        if self.sqlite:
            return "UNIQUE constraint failed" in str(error)
        if self.backend == "mysql":
            return bool(error.args) and error.args[0] == 1062
        return getattr(error, "sqlstate", None) == "23505"

    def _is_disconnect(self, error: BaseException, connection: Any = None) -> bool:
        """True when ``error`` means the connection is gone (the server restarted, cut
        it, or the network failed): the dialect's judgement, and PostgreSQL's
        connection-exception and shutdown states."""
        if not isinstance(error, self.dialect.loaded_dbapi.Error):
            return False
        sqlstate = getattr(error, "sqlstate", None) or ""
        if sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03"):
            return True
        try:
            return bool(self.dialect.is_disconnect(error, connection, None))
        except Exception:  # noqa: BLE001 - a dialect that cannot tell: not a disconnect
            return False

    def transaction(self) -> _Transaction:
        """Run several API calls as one write transaction: all of them or none (an
        exception rolls everything back). For start-up and bulk loads: it runs on the
        calling thread, with no retry, and must not switch greenthreads inside."""
        return _Transaction(self)

    # -- statements --------------------------------------------------------------------

    def _execute(self, query: Query, params: dict[str, Any] | None = None) -> Any:
        """Run a compiled statement on the current transaction's connection; returns the
        DBAPI cursor."""
        plan = query.plans.get(self._dialect_name) or query.plan(self.dialect)
        defaults = plan[2]
        if defaults:
            params = {**defaults, **params} if params else defaults
        connection = self._local.connection
        positional = plan[1]
        if positional is not None:
            values = positional(params) if params else ()
            if self.sqlite:
                return connection.execute(plan[0], values)
            cursor = connection.cursor()
            cursor.execute(plan[0], values)
            return cursor
        cursor = connection.cursor()
        cursor.execute(plan[0], params or None)
        return cursor

    def _executemany(self, query: Query, many: Sequence[dict[str, Any]]) -> None:
        """Run a compiled statement once per parameters' dict of ``many`` in one driver
        call (SQLite loops in C; PyMySQL sends one multi-row INSERT)."""
        if not many:
            return
        plan = query.plans.get(self._dialect_name) or query.plan(self.dialect)
        defaults = plan[2]
        if defaults:
            many = [{**defaults, **params} for params in many]
        positional = plan[1]
        rows = [positional(params) for params in many] if positional is not None else many
        connection = self._local.connection
        if self.sqlite:
            connection.executemany(plan[0], rows)
        else:
            connection.cursor().executemany(plan[0], rows)

    def _rows(self, table: str, query: Query, params: dict[str, Any] | None = None) -> list[Row]:
        """Run a SELECT (or a RETURNING statement) and decode its rows as dicts."""
        cursor = self._execute(query, params)
        plan = query.plans[self._dialect_name]
        names = plan[3]
        if names is None:
            names = plan[3] = tuple(d[0] for d in cursor.description)
        rows = [dict(zip(names, values, strict=False)) for values in cursor.fetchall()]
        return decode(table, rows)

    def _scalar(self, query: Query, params: dict[str, Any] | None = None) -> Any:
        """The first column of the first row (None if no row)."""
        found = self._execute(query, params).fetchone()
        return None if found is None else found[0]

    def _tuples(self, query: Query, params: dict[str, Any] | None = None) -> list[tuple]:
        return [tuple(row) for row in self._execute(query, params).fetchall()]

    def _rowcount(self, query: Query, params: dict[str, Any] | None = None) -> int:
        return self._execute(query, params).rowcount

    def _insert(self, table: sa.Table, values: dict[str, Any]) -> int:
        """Insert one row of encoded ``values``; returns its id."""
        names = tuple(values)
        if self.backend == "postgresql":
            returning = query(
                ("insert-id", table.name, names),
                lambda: sa.insert(table)
                .values({n: sa.bindparam(n) for n in names})
                .returning(table.c.id),
            )
            return self._scalar(returning, values)
        plain = query(
            ("insert", table.name, names),
            lambda: sa.insert(table).values({n: sa.bindparam(n) for n in names}),
        )
        return self._execute(plain, values).lastrowid

    def _select_by_id(self, table: sa.Table, row_id: int) -> Row:
        by_id = query(
            ("by-id", table.name),
            lambda: sa.select(table).where(table.c.id == sa.bindparam("row_id")),
        )
        return self._rows(table.name, by_id, {"row_id": row_id})[0]

    def _insert_returning(self, table: sa.Table, values: dict[str, Any]) -> Row:
        """Insert one row of raw ``values`` (encoded here) and return it, decoded."""
        return self._select_by_id(table, self._insert(table, encode(table, values)))

    def _update(
        self,
        table: sa.Table,
        values: dict[str, Any],
        where_key: Hashable,
        where: Callable[[], sa.ColumnElement],
        params: dict[str, Any],
    ) -> int:
        """UPDATE ``table`` SET encoded ``values`` WHERE ``where()`` (whose bind names
        are in ``params``; ``where_key`` names its shape); returns the matched rows."""
        names = tuple(values)
        update = query(
            ("update", table.name, names, where_key),
            lambda: sa.update(table)
            .where(where())
            .values({n: sa.bindparam(f"v_{n}") for n in names}),
        )
        return self._rowcount(
            update, {**params, **{f"v_{n}": value for n, value in values.items()}}
        )


def _commit(connection: Any) -> None:
    """Commit on a server's DBAPI connection; if the commit fails, roll back (the pool
    does not: see ``create_engine``) so that the connection goes back idle, and raise."""
    try:
        connection.commit()
    except Exception:
        try:
            connection.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone: the error says why
            pass
        raise


class _Transaction:
    """``DatabaseCore.transaction()``: one write transaction on the calling thread."""

    def __init__(self, db: DatabaseCore):
        self.db = db
        self.fairy: Any = None
        self.outer = False

    def __enter__(self) -> DatabaseCore:
        db = self.db
        local = db._local
        if local.connection is not None:
            return db
        self.outer = True
        if db.mode != DIRECT:
            self.fairy = db._checkout()
            connection = self.fairy.driver_connection
        else:
            connection = db._direct_connection()
        db.transactions += 1
        db.write_transactions += 1
        if db.sqlite:
            connection.execute("BEGIN IMMEDIATE")
        local.connection = connection
        return db

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if not self.outer:
            return
        db = self.db
        local = db._local
        connection, local.connection = local.connection, None
        try:
            if kind is not None:
                if db.sqlite:
                    connection.execute("ROLLBACK")
                else:
                    connection.rollback()
            elif db.sqlite:
                connection.execute("COMMIT")
            else:
                _commit(connection)
        finally:
            if self.fairy is not None:
                self.fairy.close()


# ----------------------------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------------------------


def decode(table: str, rows: list[Row]) -> list[Row]:
    """Decode JSON columns and show flag columns as ``bool``, in place; returns ``rows``."""
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


#: table name -> its columns' names (``encode``'s check)
_COLUMN_NAMES: dict[str, frozenset[str]] = {}


def encode(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """Check column names (``ValueError`` on an unknown one) and encode JSON and flag
    columns for storage."""
    columns = _COLUMN_NAMES.get(table.name)
    if columns is None:
        columns = _COLUMN_NAMES[table.name] = frozenset(table.c.keys())
    if not columns.issuperset(values):
        unknown = [name for name in values if name not in columns]
        raise ValueError(f"unknown column(s) for {table.name}: {', '.join(sorted(unknown))}")
    encoded = dict(values)
    for name in JSON_COLUMNS.get(table.name, ()):
        if name in encoded and encoded[name] is not None:
            encoded[name] = json.dumps(encoded[name], sort_keys=True)
    for name in BOOL_COLUMNS.get(table.name, ()):
        if name in encoded and encoded[name] is not None:
            encoded[name] = int(bool(encoded[name]))
    return encoded
