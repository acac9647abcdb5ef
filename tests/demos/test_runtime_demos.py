"""The runtime demos (01-03) run and print their key lines."""

from nova_sim.demos import d01_greenlet_switch, d02_spawn, d03_greenpool


def test_greenlet_demo_prints_12_56_34_and_never_78(capsys):
    d01_greenlet_switch.main()
    out = capsys.readouterr().out
    printed = [line.strip() for line in out.splitlines()]
    numbers = [line for line in printed if line in {"12", "34", "56", "78"}]
    assert numbers == ["12", "56", "34"]
    assert "Printed: 12, 56, 34" in out
    assert "Why 78 never prints" in out


def test_spawn_demo_shows_results_errors_and_cancel(capsys):
    d02_spawn.main()
    out = capsys.readouterr().out
    assert "gt.wait() -> 'vm-1 is ACTIVE'" in out
    assert "gt.wait() raised RuntimeError(no valid host)" in out
    assert "spawn_n returned None" in out
    assert "vm-never.dead=True" in out
    assert "vm-never: start" not in out
    assert "t= 14.5s  three builds" in out


def test_greenpool_demo_shows_slots(capsys):
    d03_greenpool.main()
    out = capsys.readouterr().out
    assert "running=3 free=0 waiting=1  job-a finished" in out
    assert "t= 1.0s  running=3 free=0 waiting=0  spawn(job-d) returned" in out
    assert "running=0 free=3 waiting=0  waitall() returned" in out
    assert "[40960, 20480, 81920]" in out
