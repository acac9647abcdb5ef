"""docs/configuration.md documents every option of every group."""

from __future__ import annotations

import pathlib

from nova_sim.conf.opts import list_opts

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_option_is_in_the_configuration_doc():
    text = DOC.read_text()
    missing = []
    for group, opts in list_opts():
        name = group if isinstance(group, str) else group.name
        section = text.split(f"### [{name}]", 1)
        if len(section) != 2:
            missing.append(f"[{name}]")
            continue
        body = section[1].split("\n### ", 1)[0]
        missing += [f"[{name}] {opt.dest}" for opt in opts if f"| `{opt.dest}` |" not in body]
    assert not missing, f"not in docs/configuration.md: {missing}"
