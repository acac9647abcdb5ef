"""GreenPool and GreenPile: slots, blocking spawn, failures, inline spawn, ordering."""

import logging

from nova_sim import green


def test_running_and_free_as_jobs_come_and_go():
    with green.virtual_time():
        pool = green.GreenPool(3)
        snapshots = []
        for seconds in (1, 2, 3):
            pool.spawn(green.sleep, seconds)
        snapshots.append((pool.running(), pool.free()))
        green.sleep(1.5)
        snapshots.append((pool.running(), pool.free()))
        pool.waitall()
        snapshots.append((pool.running(), pool.free()))
        assert snapshots == [(3, 0), (2, 1), (0, 3)]
        assert green.now() == 3.0


def test_spawn_blocks_while_full_and_waiting_counts():
    with green.virtual_time():
        pool = green.GreenPool(1)
        events = []
        pool.spawn(green.sleep, 5)

        def spawner():
            pool.spawn(events.append, "second ran")
            events.append(("spawned at", green.now()))

        green.spawn(spawner)
        green.sleep(1)
        assert pool.waiting() == 1
        pool.waitall()
        green.sleep(0)
        assert events == [("spawned at", 5.0), "second ran"]


def test_free_returns_to_size_after_failures(caplog):
    pool = green.GreenPool(4)

    def bad():
        raise RuntimeError("job failed")

    with caplog.at_level(logging.ERROR):
        for _ in range(10):
            pool.spawn_n(bad)
        gts = [pool.spawn(bad) for _ in range(10)]
        pool.waitall()
    assert pool.free() == 4 and pool.running() == 0
    assert all(gt.dead for gt in gts)
    assert "job failed" in caplog.text


def test_member_spawning_into_own_full_pool_does_not_deadlock():
    pool = green.GreenPool(1)
    events = []

    def outer():
        events.append("outer")
        gt = pool.spawn(lambda: events.append("inner") or "inner result")
        events.append(gt.wait())
        pool.spawn_n(events.append, "inner_n")

    pool.spawn(outer).wait()
    assert events == ["outer", "inner", "inner result", "inner_n"]


def test_imap_and_starmap_keep_order():
    with green.virtual_time():
        pool = green.GreenPool(4)

        def slow_square(x):
            green.sleep(10 - x)
            return x * x

        assert list(pool.imap(slow_square, range(10))) == [x * x for x in range(10)]
        assert list(pool.starmap(lambda a, b: a + b, [(1, 2), (3, 4)])) == [3, 7]


def test_resize_lets_waiters_in():
    with green.virtual_time():
        pool = green.GreenPool(1)
        started = []
        for i in range(3):
            green.spawn(pool.spawn, lambda i=i: (started.append(i), green.sleep(10)))
        green.sleep(1)
        assert started == [0] and pool.waiting() == 2
        pool.resize(3)
        green.sleep(1)
        assert started == [0, 1, 2]


def test_greenpile_results_in_spawn_order():
    with green.virtual_time():
        pile = green.GreenPile(5)
        for delay in (3, 1, 2):
            pile.spawn(lambda d: (green.sleep(d), d)[1], delay)
        assert list(pile) == [3, 1, 2]
