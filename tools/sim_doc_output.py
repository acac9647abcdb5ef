"""Rewrite docs/simulation.md's checked ``simulate-output`` block with what its command
prints now, and the README's excerpt of it (the lines the README already shows, taken
from the new output by their first words).

    .venv/bin/python tools/sim_doc_output.py

tests/sim/test_docs.py fails while either differs from the program's output.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nova_sim.cmd.main import main  # noqa: E402

BLOCK = re.compile(r"(<!-- simulate-output: (.+?) -->\n```\n)(.*?)(```)", re.S)


def _output(command: str) -> str:
    argv = shlex.split(command)[1:]
    argv = [os.path.join(ROOT, a) if a.startswith("etc/") else a for a in argv]
    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as where:
        previous = os.getcwd()
        os.chdir(where)  # the default output directory is relative
        try:
            with contextlib.redirect_stdout(printed):
                status = main(argv)
        finally:
            os.chdir(previous)
    if status != 0:
        raise SystemExit(f"{command!r} exited with {status}")
    return printed.getvalue()


def _refresh_excerpt(readme: str, shown: list[str]) -> str:
    start = readme.index("## Simulating a Rally task")
    found = re.search(r"```\n(NovaServers.*?)```", readme[start:], re.S)
    lines = []
    for line in found.group(1).splitlines():
        if line == "...":
            lines.append(line)
            continue
        key = line.split("|")[1].strip() if line.startswith("|") else line.split(" ")[0]
        match = [new for new in shown if (new.split("|")[1].strip() if new.startswith("|")
                                          else new.split(" ")[0]) == key]
        lines.append(match[0] if match else line)
    begin, end = start + found.start(1), start + found.end(1)
    return readme[:begin] + "\n".join(lines) + "\n" + readme[end:]


def rewrite() -> None:
    """Write the block and the excerpt with the command's output of now."""
    path = os.path.join(ROOT, "docs", "simulation.md")
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    found = BLOCK.search(text)
    output = _output(found.group(2))
    text = text[:found.start(3)] + output + text[found.end(3):]
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    readme_path = os.path.join(ROOT, "README.md")
    with open(readme_path, encoding="utf-8") as stream:
        readme = stream.read()
    with open(readme_path, "w", encoding="utf-8") as stream:
        stream.write(_refresh_excerpt(readme, output.splitlines()))


if __name__ == "__main__":
    rewrite()
