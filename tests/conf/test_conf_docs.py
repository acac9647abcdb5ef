"""docs/configuration.md documents every option of every group, with its real default,
and no option that does not exist."""

from __future__ import annotations

import pathlib
import re

from nova_sim.conf.opts import list_opts

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `([a-z0-9_]+)` \| `([^`]*)` \|", re.MULTILINE)


def documented_default(opt) -> str:
    """An option's default as the doc's tables show it (the sample file's placeholder
    when the option has one)."""
    if opt.sample_default is not None:
        return str(opt.sample_default)
    if opt.default is None:
        return "None"
    if isinstance(opt.default, list):
        return ", ".join(opt.default) if opt.default else "(empty)"
    return str(opt.default)


def tables() -> dict[str, dict[str, str]]:
    """``{group: {option: default}}`` from the ``### [group]`` tables of the doc."""
    text = DOC.read_text()
    result = {}
    for section in text.split("\n### [")[1:]:
        group, _, body = section.partition("]")
        body = body.split("\n#", 1)[0]
        result[group] = dict(ROW.findall(body))
    return result


def test_every_option_is_in_the_configuration_doc_with_its_default():
    documented = tables()
    problems = []
    for group, opts in list_opts():
        name = group if isinstance(group, str) else group.name
        rows = documented.get(name)
        if rows is None:
            problems.append(f"no table for [{name}]")
            continue
        for opt in opts:
            if opt.dest not in rows:
                problems.append(f"[{name}] {opt.dest} is not documented")
            elif rows[opt.dest] != documented_default(opt):
                problems.append(f"[{name}] {opt.dest}: the doc says {rows[opt.dest]!r}, "
                                f"the default is {documented_default(opt)!r}")
        problems += [f"[{name}] {extra} is documented but is no option"
                     for extra in sorted(set(rows) - {opt.dest for opt in opts})]
    groups = {group if isinstance(group, str) else group.name for group, _ in list_opts()}
    problems += [f"[{extra}] is documented but is no group" for extra in set(documented) - groups]
    assert not problems, "docs/configuration.md: " + "; ".join(problems)


def test_the_table_parser_sees_the_rows():
    # The check above cannot pass vacuously: the tables are found and read.
    documented = tables()
    assert documented["DEFAULT"]["rpc_response_timeout"] == "60"
    assert documented["quota"]["instances"] == "10"
    assert sum(len(rows) for rows in documented.values()) == sum(
        len(opts) for _, opts in list_opts())
