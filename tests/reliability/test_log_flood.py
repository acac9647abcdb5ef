"""A flood of log lines is rate-limited with oslo.log's options: 1,600 unknown-method
casts (one WARNING each) with ``rate_limit_burst = 10`` per ``rate_limit_interval = 1``
second write at most 11 lines a second (the burst, then oslo.log's one ERROR line saying
it drops), and lines at ``rate_limit_except_level`` or above still all get through."""

from __future__ import annotations

import io
import logging
import time

import pytest
from rpc.test_flood import FLOOD, _flood, served  # noqa: F401 (the fixture)

from nova_sim import conf as nova_conf
from nova_sim import log

pytestmark = [pytest.mark.slow, pytest.mark.reliability]


@pytest.fixture
def log_stream():
    conf = nova_conf.new_conf()
    conf.set_override("rate_limit_interval", 1)
    conf.set_override("rate_limit_burst", 10)
    conf.set_override("rate_limit_except_level", "ERROR")
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    log.setup(conf, "nova-sim-test", stream=stream)
    try:
        yield stream
    finally:
        log.reset()
        root.setLevel(level)


def test_a_flood_of_unservable_casts_is_rate_limited(served, log_stream):  # noqa: F811
    client, counter = served
    started = time.monotonic()
    _flood(client, counter)
    elapsed = time.monotonic() - started
    lines = log_stream.getvalue().splitlines()
    dispatch = [line for line in lines if "Cannot dispatch" in line]
    dropped = [line for line in lines if "Logging rate limit: drop after 10 records/1 sec"
               in line]
    intervals = int(elapsed) + 1  # each interval lets the burst (and one ERROR) through
    print(f"\n{FLOOD} casts in {elapsed:.2f} s: {len(dispatch)} lines about them, "
          f"{len(dropped)} rate-limit lines")
    assert dispatch and dropped
    assert len(dispatch) <= 10 * intervals and len(dropped) <= intervals
    logging.getLogger("nova_sim.test").error("an error is never dropped")
    assert "an error is never dropped" in log_stream.getvalue()
