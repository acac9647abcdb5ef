"""Calls to a database server never block the hub: they wait in native threads."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nova_sim import green
from nova_sim.db import Database


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_a_call_waiting_on_a_row_lock_leaves_the_hub_free(backend, server_databases):
    url = server_databases.url(backend)
    db = Database(url)
    assert db.threaded
    # Another client holds the change counter's row lock: every write must wait for it.
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    holder = other.connect()
    holder.exec_driver_sql("SELECT value FROM change_sequence WHERE id = 1 FOR UPDATE")
    events = []

    def write() -> None:
        db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
        events.append("write done")

    writer = green.spawn(write)
    # The hub runs this greenthread (and would run any other) while the write waits...
    for _ in range(20):
        green.sleep(0)
    events.append("hub ran while the write waited")
    holder.rollback()  # ...and the write goes through once the lock is released
    writer.wait()
    holder.close()
    other.dispose()
    assert events == ["hub ran while the write waited", "write done"]
    assert [s["host"] for s in db.service_get_all()] == ["c1"]
    db.close()
