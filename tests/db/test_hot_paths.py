"""The database's hot paths of an idle cloud have the effects of the general ones.

``service_heartbeat`` runs as pre-compiled statements on the DBAPI connection of a
private in-memory database (and through ``@writer`` anywhere else);
``instance_get_all_by_host`` is the one-statement read behind every audit. Each is
compared here with the general path on the same data.
"""

from __future__ import annotations

import pytest

from nova_sim import exception
from nova_sim.db import Database
from nova_sim.green.costs import hooks as cost_hooks


class FakeClock:
    def __init__(self, start: float = 1767225600.0):  # 2026-01-01T00:00:00
        self.value = start

    def __call__(self) -> float:
        return self.value


def _beats(db: Database, clock: FakeClock) -> list:
    """Three services, heartbeats and a missing one; what each step left behind."""
    ids = [
        db.service_create({"binary": "nova-compute", "host": f"c{n}", "topic": "compute",
                           "uuid": f"service-{n}"})["id"]
        for n in range(3)
    ]
    seen = []
    for step in range(4):
        clock.value += 10
        before = (db.transactions, db.write_transactions, db.changes_since(0)["seq"])
        row = db.service_heartbeat(ids[step % 3])
        after = (db.transactions, db.write_transactions, db.changes_since(0)["seq"])
        seen.append((row, after[0] - before[0], after[1] - before[1], after[2] - before[2]))
    seq = db.changes_since(0)["seq"]
    with pytest.raises(exception.ServiceNotFound):
        db.service_heartbeat(999)
    # a failed heartbeat writes nothing, not even a change number
    seen.append(("missing", db.changes_since(0)["seq"] - seq))
    seen.append(db.changes_since(seen[-2][0]["change_seq"] - 1)["services"])
    seen.append(db.service_get_all())
    return seen


def test_heartbeat_fast_path_has_the_writer_paths_effects(tmp_path):
    memory_clock, file_clock = FakeClock(), FakeClock()
    memory = Database("sqlite://", clock=memory_clock)
    on_file = Database(f"sqlite:///{tmp_path / 'nova.db'}", clock=file_clock)
    try:
        assert memory.memory and not on_file.memory  # the fast path, and the general one
        fast, general = _beats(memory, memory_clock), _beats(on_file, file_clock)
        # each took its own path
        assert memory._heartbeat_statements is not None
        assert on_file._heartbeat_statements is None
    finally:
        memory.close()
        on_file.close()
    assert fast == general
    row, transactions, writes, seq_step = fast[0]
    assert (transactions, writes, seq_step) == (2, 1, 1)  # the beat, and our read of seq
    assert row["report_count"] == 1
    assert row["last_seen_up"] == row["updated_at"] == "2026-01-01T00:00:10.000000"
    assert fast[3][0]["report_count"] == 2  # the first service's second beat
    assert fast[4] == ("missing", 0)


def test_heartbeat_with_a_cost_model_takes_the_writer_path():
    charged = []

    class Model:
        def transaction(self):
            charged.append(1)

    db = Database("sqlite://", clock=FakeClock())
    service = db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
    cost_hooks.install(Model())
    try:
        assert db.service_heartbeat(service["id"])["report_count"] == 1
    finally:
        cost_hooks.clear()
        db.close()
    assert charged == [1]  # the transaction's service time was charged


def test_instances_by_host_are_the_filters_answer():
    clock = FakeClock()
    db = Database("sqlite://", clock=clock)
    try:
        for index in range(8):
            clock.value += 1 if index % 3 else 0  # some share a created_at: id breaks ties
            db.instance_create({
                "display_name": f"vm-{index}", "host": "c1" if index % 2 else "c2",
                "node": "n1" if index % 4 < 2 else "n2",
            })
        db.instance_destroy(db.instance_get_all_by_filters({"host": "c1"})[0]["uuid"])
        for host in ("c1", "c2", "c3"):
            for node in (None, "n1", "n2"):
                filters = {"host": host} if node is None else {"host": host, "node": node}
                expected = db.instance_get_all_by_filters(
                    filters, sort_keys=["created_at"], sort_dirs=["asc"])
                assert db.instance_get_all_by_host(host, node) == expected
        assert len(db.instance_get_all_by_host("c1")) == 3  # one of four deleted
        assert db.instance_get_all_by_host("c3") == []
    finally:
        db.close()
