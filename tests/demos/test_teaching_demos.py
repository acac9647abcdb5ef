"""The teaching demos run and print their key lines (demos 1-3 through `nova-sim demo`).

Demo 4 runs on the real clock on purpose (about half a second: blocking is its subject);
the others run on the virtual clock and take a blink. One subprocess test checks that
``nova-sim demo N`` itself works end to end.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from nova_sim.demos import d04_blocking, d05_periodic, d06_rpc, d07_boot_trace


def test_blocking_demo_detector_fires_only_on_time_sleep(capsys):
    d04_blocking.main()
    out = capsys.readouterr().out
    blocking_round, patched_round = out.split("\n2. ")[1].split("\n3. ")
    # the blocking detector really fired, naming the greenthread and the offending line
    assert "blocking detector reports: 1" in blocking_round
    assert "blocking detected: greenthread build_with_time_sleep has held the hub" in out
    assert "time.sleep(WORK)" in blocking_round
    assert "<- stalled" in blocking_round
    gaps = [int(gap) for gap in re.findall(r"longest gap between heartbeats: (\d+) ms", out)]
    assert len(gaps) == 3
    assert gaps[1] >= 140  # the heartbeat waited for the whole time.sleep(0.15)
    # cooperative waits (green sleep, patched time.sleep) do not stall the heartbeat
    # (compared, not thresholded: a loaded machine may delay any round a little)
    assert gaps[0] < gaps[1] and gaps[2] < gaps[1]
    # the detector's figure is explained, beside the block's real length
    assert "is how long the greenthread had run when the watchdog first found it past " \
        "0.06s, not the length of the block" in " ".join(blocking_round.split())
    assert "This block\n    lasted 150 ms (time.sleep(0.15)); the heartbeat waited " \
        f"{gaps[1]} ms." in blocking_round
    assert "sleep_bound_at_import is time.sleep -> False" in patched_round
    assert "OS_NOVA_DISABLE_EVENTLET_PATCHING" in out and "remove eventlet" in out


def test_rpc_demo_shows_call_cast_fanout_timeout_and_remote_errors(capsys):
    d06_rpc.main()
    out = capsys.readouterr().out
    # call: the request dict on the wire, the reply, the result
    assert "--> call ping to exchange nova, routing key compute.compute1" in out
    for key in ('"method": "ping"', '"_msg_id": ', '"_reply_q": "reply_',
                '"_context_request_id": "req-', '"_context_user_id": "alice"'):
        assert key in out
    assert "call returned {'pong': 'hello', 'host': 'compute1'}" in out
    # cast: returns before the work starts; no reply fields
    cast = out.split("2. cast:")[1].split("3. fanout:")[0]
    assert cast.index("cast returned") < cast.index("compute2: build_and_run_instance(vm-1)")
    assert "\"_msg_id\"" not in cast and "<-- reply" not in cast
    assert "compute1: build_and_run_instance(vm-2)" in cast  # round robin on 'compute'
    # fanout reaches all three servers
    fanout = out.split("3. fanout:")[1].split("4. timeouts:")[0]
    assert all(f"compute{n}: refresh_cache('flavor changed')" in fanout for n in (1, 2, 3))
    # timeouts on the virtual clock
    assert "t=  8.5s  MessagingTimeout after 5.0s" in out
    assert "compute9 has no server: MessagingTimeout after 5.0s" in out
    # remote errors
    assert "re-raised as the builtin ValueError: 16 vCPUs do not fit on compute1" in out
    assert '"class": "ValueError"' in out
    assert "RemoteError (exc_type='FlavorTooBig'" in out
    assert "unknown method -> NoSuchMethod" in out
    assert "newer major version -> UnsupportedVersion" in out
    assert "Traceback" not in out


def test_rpc_demo_is_repeatable(capsys):
    d06_rpc.main()
    first = capsys.readouterr().out
    d06_rpc.main()
    assert capsys.readouterr().out == first


@pytest.mark.parametrize("number, key_line", [
    ("1", "\n    def test2() -> None:\n        print(56)\n"),  # the source it explains
    # the unhandled exception logged in one tidy line, the logging set up by nova-sim
    ("2", "\n    logged: ERROR unhandled exception in greenthread running "
          "main.<locals>.broken: RuntimeError: no valid host\n"),
    ("3", "4, 2 and 8 s, all at once, so imap returns after the longest,\n  8 s after "
          "t=3.0s:\n  t=11.0s"),
    ("5", "compute2 is DOWN at t="),
    ("6", "call returned {'pong': 'hello', 'host': 'compute1'}"),
])
def test_nova_sim_demo_command_runs_a_demo(number, key_line):
    done = subprocess.run([sys.executable, "-m", "nova_sim.cmd.main", "demo", number],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert key_line in done.stdout
    assert done.stderr == ""  # no log noise, no traceback


def test_periodic_demo_compute_goes_down_after_service_down_time(capsys):
    d05_periodic.main()
    out = capsys.readouterr().out
    # heartbeats every report_interval, first after 5 s; computes through the conductor
    assert re.search(r"t=   5.0s  heartbeat of nova-compute +on compute2 report_count=1 +"
                     r"\(an RPC call to the conductor\)", out)
    assert re.search(r"t=  15.0s  heartbeat of nova-compute +on compute2 report_count=2", out)
    assert "compute1 periodic pass: ran update_available_resource" in out
    # the compute really goes down after service_down_time, not before
    last = float(re.search(r"compute2 killed; its last heartbeat was at t=([\d.]+)s",
                           out).group(1))
    down = float(re.search(r"compute2 is DOWN at t=([\d.]+)s", out).group(1))
    assert 60 < down - last <= 61
    assert "silent for  55s: still up" in out
    assert "os-services now: compute1 up, compute2 down, compute3 up" in out
    # and the scheduler skips it
    assert "ComputeFilter: compute2 ignored: has not been heard from in a while" in out
    placed = re.search(r"4 servers ACTIVE on (.*); on compute2: 0", out).group(1)
    assert set(placed.split(", ")) <= {"compute1", "compute3"}
    assert "compute2 is UP again" in out


def _arrow(line: str) -> tuple[int, int, str]:
    """(start column, end column, head) of the arrow drawn on a diagram line."""
    body = line[9:]
    head = ">" if ">" in body else "<"
    dashes = [i for i, c in enumerate(body) if c in "-.<>"]
    return dashes[0], dashes[-1], head


def test_boot_trace_demo_draws_api_conductor_scheduler_compute(capsys):
    d07_boot_trace.main()
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("  t (s)"))
    columns = {name: header.index(name) + len(name) // 2 - 9
               for name in ("nova-api", "nova-conductor", "nova-scheduler", "nova-compute")}

    def row(label: str) -> int:
        return next(i for i, line in enumerate(lines)
                    if re.search(r"[|*>]\s+" + re.escape(label), line))

    steps = [row("cast schedule_and_build_instances"), row("call select_destinations"),
             row("reply to select_destinations"), row("cast build_and_run_instance"),
             row("call object_action (Instance.save)"), row("driver.spawn (")]
    assert steps == sorted(steps)  # API -> conductor -> scheduler -> conductor -> compute
    start, end, head = _arrow(lines[steps[0]])
    assert (head, start < columns["nova-api"] + 2, end > columns["nova-conductor"] - 2) == \
        (">", True, True)
    start, end, head = _arrow(lines[steps[1]])
    assert head == ">" and abs(start - columns["nova-conductor"]) <= 2
    assert abs(end - columns["nova-scheduler"]) <= 2
    assert _arrow(lines[steps[2]])[2] == "<"
    start, end, head = _arrow(lines[steps[3]])
    assert head == ">" and abs(end - columns["nova-compute"]) <= 2
    start, end, head = _arrow(lines[steps[4]])  # a compute's save is a call to the conductor
    assert head == "<" and abs(start - columns["nova-conductor"]) <= 2
    assert "runs on greenthread" in out
    states = re.findall(r"instance\.state (\w+) / (\w+)", out.split("The server is")[0])
    assert states == [("building", "scheduling"), ("building", "None"),
                      ("building", "networking"), ("building", "block_device_mapping"),
                      ("building", "spawning"), ("active", "None")]
    assert "The server is ACTIVE on compute" in out


def test_boot_trace_demo_is_repeatable(capsys):
    d07_boot_trace.main()
    first = capsys.readouterr().out
    d07_boot_trace.main()
    assert capsys.readouterr().out == first
