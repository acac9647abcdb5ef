"""Deadlocks, lock waits and lost connections are retried as oslo.db's wrap_db_retry does:
with a doubling wait, up to a limit, then the error is logged and raised."""

from __future__ import annotations

import logging
import sqlite3

import pytest
import sqlalchemy as sa

from nova_sim import green
from nova_sim.db import Database

SERVICE = {"binary": "nova-compute", "host": "c1", "topic": "compute"}


def _lock(path):
    """Another process's write lock on the SQLite file (its own connection)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_locked_sqlite_file_is_retried_with_backoff_then_reported(tmp_path, caplog):
    path = tmp_path / "cloud.db"
    url = f"sqlite:///{path}"
    Database(url).close()  # create the schema
    with green.virtual_time():
        db = Database(url, busy_timeout=0, db_max_retries=3, db_retry_interval=0.5,
                      db_max_retry_interval=1.0)
        holder = _lock(path)
        started = green.now()
        with caplog.at_level(logging.ERROR, logger="nova_sim.db.engine"):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                db.service_create(SERVICE)
        # waits of 0.5, 1.0 (doubled) and 1.0 (the cap): three retries, then the error
        assert green.now() - started == pytest.approx(2.5)
        assert "service_create failed after 3 retries" in caplog.text
        holder.rollback()
        holder.close()
        db.close()


def test_a_lock_released_while_waiting_lets_the_retry_succeed(tmp_path):
    path = tmp_path / "cloud.db"
    url = f"sqlite:///{path}"
    Database(url).close()
    with green.virtual_time():
        db = Database(url, busy_timeout=0, db_retry_interval=1.0)
        holder = _lock(path)
        green.spawn_after(1.5, holder.rollback)  # the other writer commits meanwhile
        before = db.write_transactions
        service = db.service_create(SERVICE)
        # attempts at 0 (locked), 1 (locked), then 1 + 2 = 3 (the lock went at 1.5)
        assert service["host"] == "c1" and green.now() == pytest.approx(3.0)
        assert db.write_transactions == before + 3  # two refused attempts, one that won
        assert [s["host"] for s in db.service_get_all()] == ["c1"]
        holder.close()
        db.close()


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_a_lost_server_connection_is_replaced_and_the_call_retried(backend, server_databases):
    url = server_databases.url(backend)
    db = Database(url, db_retry_interval=0.01)
    db.service_create(SERVICE)
    # The server drops every connection of this database (a restart, a failover).
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        if backend == "mysql":
            ids = connection.exec_driver_sql(
                "SELECT id FROM information_schema.processlist WHERE db = DATABASE() "
                "AND id <> CONNECTION_ID()"
            ).scalars().all()
            for connection_id in ids:
                connection.exec_driver_sql(f"KILL {connection_id}")
        else:
            ids = connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "datname = current_database() AND pid <> pg_backend_pid()"
            ).scalars().all()
    admin.dispose()
    assert ids, "the test should have cut at least one connection"
    assert [s["host"] for s in db.service_get_all()] == ["c1"]
    db.close()
