"""nova-sim demo: discovery from file names and docstrings, lookup, running main()."""

from __future__ import annotations

import types

import pytest

from nova_sim.cmd import demo


@pytest.fixture
def demos_dir(tmp_path):
    (tmp_path / "d01_greenlet_switch.py").write_text(
        '"""Greenlet switching: 12, 56, 34 and never 78.\n\nMore text."""\n'
        "def main():\n    print('12')\n")
    (tmp_path / "d02_spawn.py").write_text('"""spawn vs spawn_n."""\ndef main(argv):\n    pass\n')
    (tmp_path / "d10_spawn_after.py").write_text("def main():\n    pass\n")
    (tmp_path / "d03_broken.py").write_text('"""Broken"""\ndef (:\n')
    (tmp_path / "helpers.py").write_text('"""not a demo"""\n')
    (tmp_path / "__init__.py").write_text("")
    return tmp_path


def test_discover_orders_by_number_and_reads_titles(demos_dir):
    found = demo.discover(demos_dir)
    assert [(d.number, d.slug) for d in found] == [
        (1, "greenlet_switch"), (2, "spawn"), (3, "broken"), (10, "spawn_after")]
    assert found[0].title == "Greenlet switching: 12, 56, 34 and never 78."
    assert found[0].module == "nova_sim.demos.d01_greenlet_switch"
    assert found[2].title.startswith("(cannot read")
    assert found[3].title == "(no title)"


def test_format_list(demos_dir):
    text = demo.format_list(demo.discover(demos_dir))
    assert "  01  greenlet_switch  Greenlet switching" in text
    assert "  10  spawn_after" in text
    assert demo.format_list([]).startswith("No demos found")


@pytest.mark.parametrize(
    "name, slug",
    [("1", "greenlet_switch"), ("01", "greenlet_switch"), ("d01", "greenlet_switch"),
     ("greenlet-switch", "greenlet_switch"), ("greenlet", "greenlet_switch"),
     ("d01_greenlet_switch", "greenlet_switch"), ("spawn", "spawn"), ("10", "spawn_after"),
     ("spawn_a", "spawn_after")],
)
def test_find(demos_dir, name, slug):
    assert demo.find(name, demo.discover(demos_dir)).slug == slug


def test_find_errors(demos_dir):
    found = demo.discover(demos_dir)
    with pytest.raises(LookupError, match="no demo named"):
        demo.find("7", found)
    with pytest.raises(LookupError, match="no demo named"):
        demo.find("nothing", found)


def test_run_calls_main_with_or_without_arguments(monkeypatch):
    calls = []
    without = types.ModuleType("nova_sim.demos.d98_x")
    without.main = lambda: calls.append("no args") or 3
    with_args = types.ModuleType("nova_sim.demos.d99_y")
    with_args.main = lambda argv: calls.append(argv)
    monkeypatch.setitem(__import__("sys").modules, "nova_sim.demos.d98_x", without)
    monkeypatch.setitem(__import__("sys").modules, "nova_sim.demos.d99_y", with_args)
    assert demo.run(demo.Demo(98, "x", "nova_sim.demos.d98_x", "X"), []) == 3
    assert demo.run(demo.Demo(99, "y", "nova_sim.demos.d99_y", "Y"), ["--fast"]) == 0
    assert calls == ["no args", ["--fast"]]
    with pytest.raises(demo.DemoArgumentsError):
        demo.run(demo.Demo(98, "x", "nova_sim.demos.d98_x", "X"), ["extra"])
    with pytest.raises(demo.DemoImportError):
        demo.run(demo.Demo(97, "z", "nova_sim.demos.d97_missing", "Z"), [])


def test_every_shipped_demo_has_a_title_and_a_main():
    import ast

    for found in demo.discover():
        assert not found.title.startswith("("), found
        path = demo._demos_directory() / (found.module.rsplit(".", 1)[-1] + ".py")
        tree = ast.parse(path.read_text())
        assert any(isinstance(node, ast.FunctionDef) and node.name == "main"
                   for node in tree.body), found
