"""Queues: FIFO hand-off, bounds, timeouts, task tracking, priority and LIFO order."""

import queue as stdlib_queue

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_sim import green


def test_fifo_and_waiting_getters_wake_in_order():
    q = green.Queue()
    got = []
    for name in "abc":
        green.spawn(lambda n: got.append((n, q.get())), name)
    green.sleep(0)
    for item in (1, 2, 3):
        q.put(item)
    green.sleep(0)
    assert got == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.parametrize("maxsize", [0, None])
def test_zero_or_none_maxsize_is_unbounded(maxsize):
    q = green.Queue(maxsize)
    for i in range(1000):
        q.put_nowait(i)
    assert q.qsize() == 1000 and not q.full()


def test_bounded_put_blocks_and_full_empty_exceptions():
    with green.virtual_time():
        q = green.LightQueue(2)
        q.put(1)
        q.put(2)
        assert q.full()
        with pytest.raises(stdlib_queue.Full):
            q.put_nowait(3)
        with pytest.raises(green.Full):
            q.put(3, timeout=1)
        assert green.now() == 1.0
        events = []
        green.spawn(lambda: (q.put(3), events.append("put 3 done")))
        green.sleep(0)
        assert q.putting() == 1
        assert q.get() == 1
        green.sleep(0)
        assert events == ["put 3 done"]
        assert [q.get(), q.get()] == [2, 3]
        with pytest.raises(stdlib_queue.Empty):
            q.get_nowait()
        with pytest.raises(green.Empty):
            q.get(timeout=2)
        assert green.now() == 3.0


def test_task_done_and_join():
    with green.virtual_time():
        q = green.Queue()
        done = []

        def worker():
            while True:
                item = q.get()
                green.sleep(1)
                done.append(item)
                q.task_done()

        green.spawn(worker)
        for i in range(3):
            q.put(i)
        q.join()
        assert done == [0, 1, 2]
        assert green.now() == 3.0
        with pytest.raises(ValueError):
            q.task_done()


def test_priority_and_lifo_order():
    pq = green.PriorityQueue()
    for item in (5, 1, 3):
        pq.put(item)
    assert [pq.get() for _ in range(3)] == [1, 3, 5]
    lq = green.LifoQueue()
    for item in (5, 1, 3):
        lq.put(item)
    assert [lq.get() for _ in range(3)] == [3, 1, 5]


def test_killed_getter_after_handoff_keeps_item():
    q = green.LightQueue()
    getter = green.spawn(q.get)
    green.sleep(0)
    q.put("precious")  # handed to the getter, which has not run yet
    getter.kill()
    assert q.get_nowait() == "precious"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "get"]), st.integers(0, 100)),
                max_size=60),
       st.integers(1, 5))
def test_queue_matches_a_model(operations, maxsize):
    """Non-blocking operations behave exactly like a bounded FIFO model."""
    q = green.Queue(maxsize)
    model = []
    for op, value in operations:
        if op == "put":
            if len(model) < maxsize:
                q.put_nowait(value)
                model.append(value)
            else:
                with pytest.raises(green.Full):
                    q.put_nowait(value)
        else:
            if model:
                assert q.get_nowait() == model.pop(0)
            else:
                with pytest.raises(green.Empty):
                    q.get_nowait()
        assert q.qsize() == len(model)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=12), st.integers(1, 3))
def test_semaphore_never_exceeds_its_value(holds, value):
    """However long each greenthread holds it, at most ``value`` are ever inside."""
    with green.virtual_time():
        sem = green.Semaphore(value)
        inside = [0]
        peak = [0]
        order = []

        def worker(i, hold):
            with sem:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
                order.append(i)
                green.sleep(hold)
                inside[0] -= 1

        threads = [green.spawn(worker, i, h) for i, h in enumerate(holds)]
        for t in threads:
            t.wait()
        assert peak[0] == min(value, len(holds))
        assert sorted(order) == list(range(len(holds)))
        assert sem.counter == value


@pytest.mark.parametrize("kind", ["LightQueue", "Queue", "PriorityQueue", "LifoQueue"])
def test_a_used_queue_is_freed_without_the_collector(kind):
    """No reference cycle in a queue (an RPC call makes one per reply): it goes as soon
    as the last reference does, even with the collector off."""
    import gc
    import weakref

    gc.disable()
    try:
        q = getattr(green, kind)()
        got = []
        green.spawn(lambda queue: got.append(queue.get()), q)
        green.sleep(0)  # the getter waits
        q.put(1)
        green.sleep(0)
        assert got == [1]
        ref = weakref.ref(q)
        del q
        assert ref() is None
    finally:
        gc.enable()
