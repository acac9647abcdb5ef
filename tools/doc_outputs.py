"""Command outputs in the docs, produced by the program: check them, or regenerate them.

Usage (from the repository root)::

    .venv/bin/python tools/doc_outputs.py            # check: exit 1 and a diff if one differs
    .venv/bin/python tools/doc_outputs.py --write    # regenerate them (`make docs-outputs`)
    .venv/bin/python tools/doc_outputs.py --only demo docs/tutorial.md

A checked output is a fenced block right after a marker comment (invisible once rendered)::

    <!-- output: demo; mask real-time -->
    ```console
    $ .venv/bin/nova-sim demo 4
    ...what the command prints...
    ```

A marker and its block may be indented alike (inside a list item). The block's first
line, ``$ COMMAND`` (continued on the next lines while they end with
``\\``), is what ran, from the repository root, as a reader types it (``.venv/bin/`` stands
for the directory of the Python running this tool). A block without a ``$`` line shows
what the ``python`` block above it prints. The marker's first word names the group the
block belongs to:

- ``demo``, ``python``, ``shell``: a command run on its own;
- ``cloud``: a command run against one cloud per document, started by the block whose
  command is ``make run`` (``nova-sim run --demo-boots 3`` on a free port, state in a
  temporary directory); its output is what ``make run`` prints up to the demo's last
  line. Other ``cloud`` commands reach that cloud: ``OS_CLIENT_CONFIG_FILE`` points at
  its clouds.yaml, and ``127.0.0.1:8774`` in a command becomes its address. In what
  they print, its address and clouds.yaml read as ``make run``'s on the default port
  (``127.0.0.1:8774``, ``$PWD/etc/nova-sim/clouds.yaml``; the dashboard, also on a free
  port, reads as ``127.0.0.1:8780``).

Options after ``;`` choose what is shown (a ``...`` line stands for lines left out):
``head N`` (the first N lines), ``span N REGEX`` (N lines from the first that matches;
repeatable), ``grep REGEX`` (lines matching; repeatable); a line shows when any of them
chooses it. ``mask NAME[,NAME]`` names what varies from run to run, replaced
on both sides before comparing (the doc keeps the values of the run that wrote it):

- ``ids``: UUIDs, request ids, 32-hex ids (message, trace ids), ``0x`` addresses;
- ``times``: ISO timestamps;
- ``real-time``: figures measured on the real clock (a number followed by ``s`` or
  ``ms``, ``gtN`` greenthread numbers) and the blocking detector's verdicts, which
  depend on the machine's load; runs of spaces count as one (the figures' widths vary);
  a block with it is retried up to 3 times;
- ``hosts``: which compute a server landed on (``computeN``).

Trailing spaces are ignored. Nothing else is masked: virtual-time output is exact.
"""

from __future__ import annotations

import argparse
import difflib
import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/tutorial.md", "docs/api.md"]
MARKER = re.compile(r"^<!-- output: (?P<group>[\w-]+)(?P<options>.*?) -->\s*$")
VENV_PREFIX = ".venv/bin/"
CLOUD_END = re.compile(r"^demo: (done|boots failed|cannot show the trace)")

MASKS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "ids": [
        (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
         "<uuid>"),
        (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
        (re.compile(r"0x[0-9a-f]{6,}"), "0x<address>"),
    ],
    "times": [
        (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?"), "<timestamp>"),
    ],
    "real-time": [
        (re.compile(r"[ =+(]*\d+(\.\d+)?\s*(ms|s)\b"), " <n>\\2"),
        (re.compile(r"\bgt\d+\b"), "gt<n>"),
        (re.compile(r"  <- stalled: .*$"), ""),
        (re.compile(r"reports: \d+"), "reports: <n>"),
        (re.compile(r"  +"), " "),
    ],
    "hosts": [(re.compile(r"\bcompute\d\b"), "compute<n>")],
}


@dataclass
class Block:
    """One checked output of a document."""

    path: pathlib.Path
    group: str
    options: str
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    prompt: list[str]  # the "$ command" lines (empty: the python block above)
    shown: list[str]  # the output lines as the document has them
    source: str | None = None  # the python block above, for prompt-less blocks
    indent: str = ""  # a block inside a list item is indented
    heads: int | None = None
    greps: list[re.Pattern[str]] = field(default_factory=list)
    spans: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        text = " ".join(line.rstrip("\\").strip() for line in self.prompt)
        return text[1:].strip() if text.startswith("$") else text

    @property
    def where(self) -> str:
        try:
            name = self.path.relative_to(ROOT)
        except ValueError:
            name = self.path
        return f"{name}:{self.start}"


def _closing_fence(lines: list[str], start: int, indent: str) -> int:
    for index in range(start, len(lines)):
        if lines[index] == indent + "```":
            return index
    raise ValueError(f"line {start}: a fence that is never closed")


def parse(path: pathlib.Path) -> list[Block]:
    """The checked blocks of a document (ValueError for a malformed marker)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    last_python: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        indent = line[:len(line) - len(line.lstrip())]
        if line.strip().startswith("```python"):
            close = _closing_fence(lines, index + 1, indent)
            last_python = "\n".join(x[len(indent):] for x in lines[index + 1:close]) + "\n"
            index = close + 1
            continue
        match = MARKER.match(line.strip())
        if not match:
            index += 1
            continue
        if index + 1 >= len(lines) or not lines[index + 1].startswith(indent + "```"):
            raise ValueError(f"{path}:{index + 1}: an output marker must precede a fence")
        close = _closing_fence(lines, index + 2, indent)
        body = [x[len(indent):] for x in lines[index + 2:close]]
        prompt: list[str] = []
        if body and body[0].startswith("$ "):
            prompt.append(body[0])
            while prompt[-1].endswith("\\") and len(prompt) < len(body):
                prompt.append(body[len(prompt)])
        block = Block(path, match["group"], match["options"], index + 2, close, prompt,
                      body[len(prompt):], None if prompt else last_python, indent=indent)
        for option in filter(None, (o.strip() for o in match["options"].split(";"))):
            name, _, value = option.partition(" ")
            if name == "head":
                block.heads = int(value)
            elif name == "span":
                count, _, pattern = value.strip().partition(" ")
                block.spans.append((int(count), re.compile(pattern.strip())))
            elif name == "grep":
                block.greps.append(re.compile(value.strip()))
            elif name == "mask":
                block.masks += [m.strip() for m in value.split(",") if m.strip()]
                unknown = set(block.masks) - set(MASKS)
                if unknown:
                    raise ValueError(f"{block.where}: unknown mask {sorted(unknown)}")
            else:
                raise ValueError(f"{block.where}: unknown option {option!r}")
        if not prompt and block.source is None:
            raise ValueError(f"{block.where}: no '$ command' line and no python block above")
        blocks.append(block)
        index = close + 1
    return blocks


def select(block: Block, output: list[str]) -> list[str]:
    """The lines of ``output`` the block shows, with ``...`` where lines are left out."""
    if block.heads is None and not block.greps and not block.spans:
        return output
    keep = [
        (block.heads is not None and number < block.heads)
        or any(pattern.search(line) for pattern in block.greps)
        for number, line in enumerate(output)
    ]
    for count, pattern in block.spans:
        first = next((n for n, line in enumerate(output) if pattern.search(line)), None)
        if first is not None:
            for number in range(first, min(first + count, len(output))):
                keep[number] = True
    shown: list[str] = []
    for line, kept in zip(output, keep, strict=True):
        if kept:
            shown.append(line)
        elif not shown or shown[-1] != "...":
            shown.append("...")
    return shown


def masked(block: Block, lines: list[str]) -> list[str]:
    """``lines`` with the block's masks applied and trailing spaces dropped."""
    result = []
    for line in lines:
        for name in block.masks:
            for pattern, replacement in MASKS[name]:
                line = pattern.sub(replacement, line)
        result.append(line.rstrip())
    return result


def _environment(home: str) -> dict[str, str]:
    env = dict(os.environ, HOME=home, XDG_STATE_HOME=os.path.join(home, ".local", "state"),
               COLUMNS="200", PYTHONUNBUFFERED="1")
    env.pop("OS_CLIENT_CONFIG_FILE", None)
    return env


def _shell_command(command: str) -> str:
    bin_dir = os.path.dirname(sys.executable)
    words = shlex.split(command)
    if words and words[0].startswith(VENV_PREFIX):
        words[0] = os.path.join(bin_dir, words[0][len(VENV_PREFIX):])
    return shlex.join(words)


class Cloud:
    """The cloud a document's ``cloud`` blocks talk to (started by ``make run``)."""

    def __init__(self, home: str):
        self.home = home
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.dashboard = ""
        self.clouds_yaml = ""
        self.clouds_yaml_printed = ""
        self.output: list[str] | None = None

    def start(self) -> list[str]:
        """Start ``nova-sim run --demo-boots 3`` on a free port; its output up to the
        demo's last line (started once: a retry gets the same output)."""
        if self.output is None:
            self.output = self._start()
        return self.output

    def _start(self) -> list[str]:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nova_sim.cmd.main", "run", "--demo-boots", "3",
             "--port", "0", "--dashboard-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
            env=_environment(self.home),
        )
        lines: list[str] = []
        for line in self.process.stdout:
            found = re.search(r"compute API\s+http://(\S+)/v2\.1", line)
            if found:
                self.address = found[1]
            found = re.search(r"dashboard\s+http://(\S+)/ ", line)
            if found:
                self.dashboard = found[1]
            found = re.search(r"OS_CLIENT_CONFIG_FILE=(\S+)", line)
            if found:
                self.clouds_yaml_printed = found[1]
                self.clouds_yaml = re.sub(r"^~", self.home, found[1].replace("$PWD", str(ROOT)))
            lines.append(self.as_default(line.rstrip("\n")))
            if CLOUD_END.match(line):
                return lines
        raise RuntimeError("the cloud stopped: " + "\n".join(lines))

    def as_default(self, line: str) -> str:
        """``line`` as it reads for a cloud on the default address."""
        if self.clouds_yaml_printed:
            line = line.replace(self.clouds_yaml_printed, "$PWD/etc/nova-sim/clouds.yaml")
        if self.dashboard:
            line = line.replace(self.dashboard, "127.0.0.1:8780")
        return line.replace(self.address, "127.0.0.1:8774") if self.address else line

    def run(self, command: str) -> list[str]:
        if self.process is None:
            raise RuntimeError("a cloud block runs before the 'make run' block")
        command = command.replace("127.0.0.1:8774", self.address)
        env = dict(_environment(self.home), OS_CLIENT_CONFIG_FILE=self.clouds_yaml)
        return [self.as_default(line) for line in _run_shell(command, env)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _run_shell(command: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(["bash", "-c", _shell_command(command) + " 2>&1"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    return done.stdout.splitlines()


def produce(block: Block, cloud: Cloud | None, home: str) -> list[str]:
    """Run what ``block`` shows and return the lines it shows."""
    if block.group == "cloud":
        assert cloud is not None
        if block.command == "make run":
            return select(block, cloud.start())
        return select(block, cloud.run(block.command))
    if not block.prompt:
        script = pathlib.Path(home) / "snippet.py"
        script.write_text(block.source or "", encoding="utf-8")
        return select(block, _run_shell(f"{shlex.quote(sys.executable)} {script}",
                                        _environment(home)))
    return select(block, _run_shell(block.command, _environment(home)))


def check_document(path: pathlib.Path, write: bool, only: str | None = None) -> list[str]:
    """Check (or, with ``write``, rewrite) the outputs of one document; returns the
    differences found, as unified diffs (empty: all match)."""
    blocks = [b for b in parse(path) if only is None or b.group == only]
    if not blocks:
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    home = tempfile.mkdtemp(prefix="nova-sim-docs-")
    cloud = Cloud(home) if any(b.group == "cloud" for b in blocks) else None
    try:
        for block in blocks:
            attempts = 3 if "real-time" in block.masks else 1
            for _ in range(attempts):
                produced = produce(block, cloud, home)
                if masked(block, produced) == masked(block, block.shown):
                    break
            else:
                if write:
                    lines[block.start + len(block.prompt):block.end] = [
                        (block.indent + line).rstrip() for line in produced]
                    # later blocks move with the lines written
                    shift = len(produced) - len(block.shown)
                    for later in blocks:
                        if later.start > block.start:
                            later.start += shift
                            later.end += shift
                    continue
                diff = difflib.unified_diff(
                    masked(block, block.shown), masked(block, produced),
                    f"{block.where} (the doc)", f"{block.command or 'python'} (the program)",
                    lineterm="")
                problems.append("\n".join(diff))
    finally:
        if cloud is not None:
            cloud.stop()
        shutil.rmtree(home, ignore_errors=True)
    if write:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite outputs that differ")
    parser.add_argument("--only", metavar="GROUP", help="only blocks of this group")
    parser.add_argument("documents", nargs="*", help=f"default: {' '.join(DOCS)}")
    args = parser.parse_args(argv)
    problems = []
    for name in args.documents or DOCS:
        problems += check_document(ROOT / name, args.write, args.only)
    for problem in problems:
        print(problem + "\n")
    if problems:
        print(f"{len(problems)} output(s) differ from the docs: run 'make docs-outputs' "
              "and review the diff")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
