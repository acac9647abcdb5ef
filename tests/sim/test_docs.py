"""docs/simulation.md shows real output: the command it names prints exactly that."""

from __future__ import annotations

import os
import re
import shlex

from nova_sim.cmd.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_shown_output_is_what_the_command_prints(tmp_path, capsys, monkeypatch):
    with open(os.path.join(ROOT, "docs", "simulation.md"), encoding="utf-8") as stream:
        text = stream.read()
    found = re.search(r"<!-- simulate-output: (.+?) -->\n```\n(.*?)```", text, re.S)
    assert found, "the marked output block is missing"
    command, shown = shlex.split(found.group(1)), found.group(2)
    assert command[:2] == ["nova-sim", "simulate"]
    monkeypatch.chdir(tmp_path)  # the default output directory is relative
    argv = [os.path.join(ROOT, a) if a.startswith("etc/") else a for a in command[1:]]
    assert main(argv) == 0
    assert capsys.readouterr().out == shown


def test_readme_excerpt_comes_from_the_checked_output():
    with open(os.path.join(ROOT, "docs", "simulation.md"), encoding="utf-8") as stream:
        shown = re.search(r"<!-- simulate-output: .+? -->\n```\n(.*?)```", stream.read(),
                          re.S).group(1).splitlines()
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as stream:
        readme = stream.read()
    section = readme[readme.index("## Simulating a Rally task"):]
    excerpt = re.search(r"```\n(NovaServers.*?)```", section, re.S).group(1).splitlines()
    assert [line for line in excerpt if line != "..."]
    assert all(line in shown for line in excerpt if line != "...")
