"""Calls to a database server never block the hub: PyMySQL runs over green sockets and
psycopg waits for its socket in the hub, on the calling greenthread (``[database]
use_tpool = false``), or either driver runs in native threads (``use_tpool = true``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nova_sim import green
from nova_sim.db import Database
from nova_sim.db.engine import GREEN, THREADS

#: (backend, use_tpool, the mode the calls run in)
MODES = [
    pytest.param("mysql", False, GREEN, id="mysql-green"),
    pytest.param("mysql", True, THREADS, id="mysql-tpool"),
    pytest.param("postgresql", False, GREEN, id="postgresql-green"),
    pytest.param("postgresql", True, THREADS, id="postgresql-tpool"),
]


@pytest.mark.backends
@pytest.mark.parametrize(("backend", "use_tpool", "mode"), MODES)
def test_a_call_waiting_on_a_row_lock_leaves_the_hub_free(
    backend, use_tpool, mode, server_databases
):
    url = server_databases.url(backend)
    db = Database(url, use_tpool=use_tpool)
    assert db.mode == mode
    # Another client holds the change counter's row lock: every write must wait for it.
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    holder = other.connect()
    holder.exec_driver_sql("SELECT value FROM change_sequence WHERE id = 1 FOR UPDATE")
    events = []

    def write() -> None:
        db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
        events.append("write done")

    writer = green.spawn(write)
    # The hub runs this greenthread (and would run any other) while the write waits,
    # and its own calls run in transactions of their own (the write is not yet seen)...
    for _ in range(20):
        green.sleep(0)
    assert db.service_get_all() == []
    events.append("hub ran while the write waited")
    holder.rollback()  # ...and the write goes through once the lock is released
    writer.wait()
    holder.close()
    other.dispose()
    assert events == ["hub ran while the write waited", "write done"]
    assert [s["host"] for s in db.service_get_all()] == ["c1"]
    db.close()


@pytest.mark.backends
def test_green_calls_beyond_the_pool_wait_their_turn_in_the_hub(server_databases):
    # One connection, no overflow: eight greenthreads' transactions take turns on it
    # (the pool's own wait would block the hub's thread, and with it the holder).
    db = Database(server_databases.url("mysql"), max_pool_size=1, max_overflow=0)
    assert db.mode == GREEN
    in_call = [0]
    most = [0]

    def create(index: int) -> None:
        in_call[0] += 1
        most[0] = max(most[0], in_call[0])
        db.service_create({"binary": "nova-compute", "host": f"c{index}", "topic": "compute"})
        in_call[0] -= 1

    threads = [green.spawn(create, index) for index in range(8)]
    for thread in threads:
        thread.wait()
    assert most[0] == 8  # all eight were in a call at once, waiting in the hub
    assert sorted(s["host"] for s in db.service_get_all()) == [f"c{k}" for k in range(8)]
    assert db.engine.pool.checkedout() == 0
    db.close()


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_green_drivers_run_under_the_virtual_clock(backend, server_databases):
    # No descriptor can be waited for in a virtual-clock hub: the driver then waits as a
    # blocking one does, and the clock does not move.
    db = Database(server_databases.url(backend))
    assert db.mode == GREEN
    with green.virtual_time():
        start = green.now()
        db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
        assert [s["host"] for s in db.service_get_all()] == ["c1"]
        assert green.now() == start
    db.close()


@pytest.mark.backends
@pytest.mark.parametrize("use_tpool", [False, True], ids=["green", "tpool"])
def test_pymysql_does_not_build_a_tls_context_per_connection(use_tpool, server_databases):
    # PyMySQL >= 1.2 loads the CA bundle for every connection unless told that there is
    # no TLS: about 0.1 s holding the GIL. A URL without ssl_* options says so.
    db = Database(server_databases.url("mysql"), use_tpool=use_tpool)
    fairy = db.engine.raw_connection()
    try:
        assert fairy.driver_connection.ssl is False
    finally:
        fairy.close()
        db.close()


#: backend -> a query of the transactions' states, and the state of one waiting for a lock
LOCK_WAITS = {
    "mysql": ("SELECT trx_state FROM information_schema.innodb_trx", "LOCK WAIT"),
    "postgresql": ("SELECT wait_event_type FROM pg_stat_activity "
                   "WHERE datname = current_database()", "Lock"),
}


def wait_for_a_lock_wait(engine: sa.Engine) -> None:
    """Return once a transaction waits for a row lock (asked of the server between hub
    turns: the waiting call is another greenthread of this process)."""
    states_query, waiting = LOCK_WAITS[engine.dialect.name]
    with engine.connect() as watcher:
        for _ in range(1000):
            green.sleep(0.01)
            states = watcher.exec_driver_sql(states_query).scalars().all()
            watcher.rollback()  # each look in a transaction of its own
            if waiting in states:
                return
    raise AssertionError("no transaction came to wait for the lock")


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_a_green_call_killed_while_it_waits_leaves_no_broken_connection(
    backend, server_databases
):
    # One pooled connection: a greenthread killed in the middle of its transaction (it
    # waits for a row lock) gives its slot back at once, without talking to the server
    # again (its connection is half-way through an answer: it is closed, which rolls
    # the transaction back), and the next call gets a sound connection.
    url = server_databases.url(backend)
    db = Database(url, max_pool_size=1, max_overflow=0, pool_timeout=5)
    assert db.service_get_all() == []  # the pool's one connection is open
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    holder = other.connect()
    holder.exec_driver_sql("SELECT value FROM change_sequence WHERE id = 1 FOR UPDATE")
    try:
        writer = green.spawn(
            db.service_create, {"binary": "nova-compute", "host": "c1", "topic": "compute"})
        wait_for_a_lock_wait(other)
        writer.kill()
        assert db.service_get_all() == []  # while the lock is still held
    finally:
        holder.rollback()
        holder.close()
        other.dispose()
    db.service_create({"binary": "nova-compute", "host": "c2", "topic": "compute"})
    assert [s["host"] for s in db.service_get_all()] == ["c2"]
    db.close()


@pytest.mark.backends
@pytest.mark.parametrize("use_tpool", [False, True], ids=["green", "tpool"])
def test_a_call_ends_its_own_transaction_without_the_pools_rollback(
    use_tpool, server_databases, monkeypatch
):
    # The pool's reset on check-in is off: a call that commits sends no ROLLBACK (a
    # round trip for PyMySQL), and the connection goes back idle all the same.
    import pymysql.connections

    rollbacks = []
    rollback = pymysql.connections.Connection.rollback
    monkeypatch.setattr(pymysql.connections.Connection, "rollback",
                        lambda self: rollbacks.append(self) or rollback(self))
    db = Database(server_databases.url("mysql"), use_tpool=use_tpool, max_pool_size=1,
                  max_overflow=0)
    assert db.service_get_all() == []  # the first connection (SQLAlchemy's set-up on it)
    rollbacks.clear()
    db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
    assert [s["host"] for s in db.service_get_all()] == ["c1"]
    assert rollbacks == []
    fairy = db.engine.raw_connection()
    try:
        cursor = fairy.driver_connection.cursor()
        cursor.execute("SELECT count(*) FROM information_schema.innodb_trx "
                       "WHERE trx_mysql_thread_id = CONNECTION_ID()")
        assert cursor.fetchone()[0] == 0  # no transaction left open on the connection
    finally:
        fairy.close()
    # An error still rolls back.
    with pytest.raises(ValueError):
        db.service_create({"binary": "nova-compute", "host": "c2", "topic": "compute",
                           "no_such_column": 1})
    assert [s["host"] for s in db.service_get_all()] == ["c1"]
    db.close()


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_two_green_allocations_racing_for_one_address_both_get_one(
    backend, server_databases, monkeypatch
):
    # Two greenthreads (two API requests) each read the held addresses before either
    # inserts: both pick the same one, the unique address refuses the second insert, and
    # that allocation runs again and takes the next address (no error reaches the caller).
    from nova_sim.db import floating_ips

    db = Database(server_databases.url(backend))
    assert db.mode == GREEN
    real = db._tuples
    read = []

    def tuples(query, *args, **kwargs):
        rows = real(query, *args, **kwargs)
        if query is floating_ips._ADDRESSES and len(read) < 2:
            read.append(rows)
            while len(read) < 2:  # the first waits until the other has read too
                green.sleep(0)
        return rows

    monkeypatch.setattr(db, "_tuples", tuples)
    pool = ["172.24.4.2", "172.24.4.3"]
    allocations = [green.spawn(db.floating_ip_allocate, project, "net-1", pool)
                   for project in ("demo", "alt")]
    got = sorted(allocation.wait()["address"] for allocation in allocations)
    assert read == [[], []]  # both saw no held address
    assert got == pool
    db.close()
