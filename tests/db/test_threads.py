"""Calls to a database server never block the hub: PyMySQL runs over green sockets on
the calling greenthread (``[database] use_tpool = false``), or any driver runs in native
threads (``use_tpool = true``, and psycopg always)."""

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
    pytest.param("postgresql", False, THREADS, id="postgresql"),
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
def test_green_pymysql_runs_under_the_virtual_clock(server_databases):
    # No descriptor can be waited for in a virtual-clock hub: the driver's socket then
    # waits as a blocking one does, and the clock does not move.
    db = Database(server_databases.url("mysql"))
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
