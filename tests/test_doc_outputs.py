"""The command outputs shown in README.md and docs/ are what the program prints.

Runs ``tools/doc_outputs.py`` (see its docstring for how blocks are marked, selected and
masked) on every document it covers, one group at a time, and checks the tool itself
on a small document: a wrong output fails, ``--write`` corrects it, masks hide only what
they name. After changing an output: ``make docs-outputs`` and review the diff.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("doc_outputs", ROOT / "tools" / "doc_outputs.py")
doc_outputs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("doc_outputs", doc_outputs)  # dataclasses look their module up
_spec.loader.exec_module(doc_outputs)


def _problems(group: str) -> list[str]:
    problems = []
    for name in doc_outputs.DOCS:
        problems += doc_outputs.check_document(ROOT / name, write=False, only=group)
    return problems


@pytest.mark.slow  # runs the commands: processes
@pytest.mark.parametrize("group", ["demo", "python"])
def test_outputs_of_commands_and_snippets_match_the_docs(group):
    blocks = [b for name in doc_outputs.DOCS for b in doc_outputs.parse(ROOT / name)
              if b.group == group]
    assert blocks, f"no {group} block is checked"
    problems = _problems(group)
    assert not problems, "\n\n".join(problems) + "\n(run 'make docs-outputs')"


@pytest.mark.slow  # a cloud and the openstack CLI: processes
def test_outputs_of_a_running_cloud_match_the_docs():
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "openstack")):
        pytest.skip("the openstack CLI is not installed beside this Python")
    problems = _problems("cloud")
    assert not problems, "\n\n".join(problems) + "\n(run 'make docs-outputs')"


DOC = """\
Some text.

<!-- output: demo{options} -->
```console
$ .venv/bin/python -c "print('id 0123456789abcdef0123456789abcdef'); print('b'); print('c')"
{shown}
```

```python
print("from the snippet")
```

<!-- output: python -->
```
from the snippet
```
"""


def _document(tmp_path, options: str, shown: str) -> pathlib.Path:
    path = tmp_path / "doc.md"
    path.write_text(DOC.format(options=options, shown=shown))
    return path


def test_a_wrong_output_fails_and_write_corrects_it(tmp_path):
    path = _document(tmp_path, "", "id 0123456789abcdef0123456789abcdef\nb\nX")
    [problem] = doc_outputs.check_document(path, write=False)
    assert "-X\n+c" in problem
    assert doc_outputs.check_document(path, write=True) == []
    assert "\nb\nc\n```" in path.read_text()
    assert doc_outputs.check_document(path, write=False) == []


def test_masks_hide_only_what_they_name(tmp_path):
    other_id = "id ffffffffffffffffffffffffffffffff\nb\nc"
    path = _document(tmp_path, "; mask ids", other_id)
    assert doc_outputs.check_document(path, write=False) == []
    path = _document(tmp_path, "", other_id)
    assert len(doc_outputs.check_document(path, write=False)) == 1
    path = _document(tmp_path, "; mask ids", other_id.replace("\nc", "\nd"))
    assert len(doc_outputs.check_document(path, write=False)) == 1


def test_head_and_grep_choose_the_lines_shown(tmp_path):
    path = _document(tmp_path, "; head 1; grep ^c", "id 0123456789abcdef0123456789abcdef\n...\nc")
    assert doc_outputs.check_document(path, write=False) == []
    path = _document(tmp_path, "; grep ^b", "...\nb\n...")
    assert doc_outputs.check_document(path, write=False) == []
    path = _document(tmp_path, "; span 2 ^b", "...\nb\nc")
    assert doc_outputs.check_document(path, write=False) == []
