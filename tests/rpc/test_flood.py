"""Floods of requests no endpoint can serve (a version-skewed peer in a rolling upgrade):
they must not slow the server down, grow its memory or grow the failure replies.

Target: 1,600 unknown-method casts drain in under 2 s of CPU with under 20 MB of
memory growth; the 100th failure reply is the size of the first. On ``green://`` in one
process, on the virtual clock (so only the CPU the server spends is measured).
"""

from __future__ import annotations

import gc
import json
import logging
import time
import tracemalloc

import pytest

from nova_sim import green, rpc

FLOOD = 1600


class Conductor:
    target = rpc.Target(version="3.0")

    def ping(self, ctxt, arg=None):
        return arg


class Counter:
    """Counts finished dispatches and records the size of every reply sent."""

    def __init__(self):
        self.finished = 0
        self.reply_sizes = []

    def dispatch_finished(self, target, message, ctxt, result, error):
        self.finished += 1

    def reply_sent(self, target, message, reply):
        self.reply_sizes.append(len(json.dumps(reply)))


@pytest.fixture
def served():
    """A server on green:// with a counting instrument, and a client of it."""
    with green.virtual_time(seed=3):
        transport = rpc.get_transport("green://")
        server = rpc.RPCServer(transport, rpc.Target(topic="conductor", server="c1"),
                               [Conductor()])
        server.start()
        counter = Counter()
        rpc.add_instrument(counter)
        try:
            yield rpc.RPCClient(transport, rpc.Target(topic="conductor", version="3.0")), \
                counter
        finally:
            rpc.remove_instrument(counter)
            server.stop()


def _flood(client, counter, method="object_action_v99"):
    """Cast FLOOD requests for ``method`` and wait (on the hub) until all are served."""
    start = counter.finished
    for index in range(FLOOD):
        client.cast({}, method, index=index)
    for _ in range(FLOOD * 10):
        if counter.finished - start >= FLOOD:
            return
        green.sleep(0)
    raise AssertionError(f"only {counter.finished - start} of {FLOOD} casts were served")


def test_failure_replies_do_not_grow(served):
    client, counter = served
    for _ in range(100):
        with pytest.raises(rpc.NoSuchMethod):
            client.call({}, "nothere")
    for _ in range(100):
        with pytest.raises(rpc.UnsupportedVersion):
            client.prepare(version="4.0").call({}, "ping")
    no_such, unsupported = counter.reply_sizes[:100], counter.reply_sizes[100:]
    assert no_such[99] == no_such[0] and len(set(no_such)) == 1
    assert unsupported[99] == unsupported[0] and len(set(unsupported)) == 1


@pytest.mark.parametrize("version", [None, "4.0"], ids=["unknown-method", "wrong-version"])
def test_a_flood_of_unservable_casts_drains_fast_in_bounded_memory(served, version, caplog):
    client, counter = served
    if version:
        client = client.prepare(version=version)
    caplog.set_level(logging.ERROR)  # the flood's warnings are not what is measured
    _flood(client, counter)  # warm up: first-use costs are not growth

    cpu = time.process_time()
    _flood(client, counter)
    cpu = time.process_time() - cpu
    assert cpu < 2.0, f"{FLOOD} casts took {cpu:.2f} s of CPU to drain"

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _flood(client, counter)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 20 * 2**20, f"memory grew {growth / 2**20:.1f} MB over {FLOOD} casts"
    # the server still serves
    assert client.prepare(version="3.0").call({}, "ping", arg="alive") == "alive"
