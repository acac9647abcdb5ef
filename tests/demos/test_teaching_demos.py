"""The teaching demos 04-07 run and print their key lines.

Demo 4 runs on the real clock on purpose (about half a second: blocking is its subject);
the others run on the virtual clock and take a blink. One subprocess test checks that
``nova-sim demo N`` itself works end to end.
"""

from __future__ import annotations

import re

from nova_sim.demos import d04_blocking


def test_blocking_demo_detector_fires_only_on_time_sleep(capsys):
    d04_blocking.main()
    out = capsys.readouterr().out
    rounds = out.split("\n1. ")[1].split("\n2. ")
    green_round = rounds[0]
    blocking_round, patched_round = rounds[1].split("\n3. ")
    # the blocking detector really fired, naming the greenthread and the offending line
    assert "blocking detector reports: 1" in blocking_round
    assert "blocking detected: greenthread build_with_time_sleep has held the hub" in out
    assert "time.sleep(WORK)" in blocking_round
    assert "<- stalled" in blocking_round
    gaps = [int(gap) for gap in re.findall(r"longest gap between heartbeats: (\d+) ms", out)]
    assert len(gaps) == 3
    assert gaps[1] >= 140  # the heartbeat waited for the whole time.sleep(0.15)
    # cooperative waits (green sleep, patched time.sleep) never stall the heartbeat
    assert "<- stalled" not in green_round and "<- stalled" not in patched_round
    assert "sleep_bound_at_import is time.sleep -> False" in patched_round
    assert "OS_NOVA_DISABLE_EVENTLET_PATCHING" in out and "remove eventlet" in out
