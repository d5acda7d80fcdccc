"""Every Python block of README.md, docs/python.md and docs/analysis.md runs as written (from the repository
root, where their relative paths point)."""

import re

import pytest
from conftest import ROOT

FILES = ["README.md", "docs/python.md", "docs/analysis.md"]


def blocks():
    found = []
    for name in FILES:
        text = (ROOT / name).read_text()
        for i, m in enumerate(re.finditer(r"```python\n(.*?)```", text, re.S)):
            found.append((f"{name}#{i + 1}", m.group(1)))
    return found


def test_every_file_has_python_blocks():
    assert {name.split("#")[0] for name, _ in blocks()} == set(FILES)


@pytest.mark.parametrize("name,code", blocks(), ids=[name for name, _ in blocks()])
def test_the_python_block_runs(name, code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
