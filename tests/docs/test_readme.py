"""Every Python block of the README runs as written.

A block is skipped only when a module it imports is missing, and the skip names the
extra that provides it (``pip install -e '.[NAME]'``).
"""
from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# top-level module -> the extra of pyproject.toml that installs it
EXTRA_OF = {"transformers": "integrations", "accelerate": "integrations", "lightning": "integrations",
            "torch_pruning": "pruning", "skglm": "bench", "celer": "bench", "matplotlib": "apps", "tqdm": "apps",
            "mlxtend": "apps", "sphinx": "docs"}


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, source)`` of each fenced ```python block of ``text``."""
    blocks = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        blocks.append((text[: m.start()].count("\n") + 1, m.group(1)))
    return blocks


def imported_modules(source: str) -> set[str]:
    """Top-level names of the modules that ``source`` imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


BLOCKS = python_blocks(README.read_text())


def test_readme_has_a_short_quick_start():
    assert BLOCKS, "the README has no Python block"
    line, first = BLOCKS[0]
    assert len(first.strip().splitlines()) <= 20, f"the quick start (README line {line}) is longer than 20 lines"
    assert README.read_text().count("\n| ratio") <= 1, "the README holds at most one performance table"


@pytest.mark.parametrize("line, source", BLOCKS, ids=[f"line{n}" for n, _ in BLOCKS])
def test_readme_block_runs(line, source, tmp_path, monkeypatch):
    missing = sorted(m for m in imported_modules(source) if importlib.util.find_spec(m) is None)
    if missing:
        extras = sorted({EXTRA_OF.get(m, "?") for m in missing})
        pytest.skip(f"README line {line} needs {', '.join(missing)}: pip install -e '.[{','.join(extras)}]'")
    monkeypatch.chdir(tmp_path)
    exec(compile(source, f"README.md:{line}", "exec"), {"__name__": "__readme__"})


def test_block_extraction_and_skip_reasons():
    text = "intro\n```python\nimport torch_pruning\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    blocks = python_blocks(text)
    assert [n for n, _ in blocks] == [2, 9]
    assert imported_modules(blocks[0][1]) == {"torch_pruning"}
    assert EXTRA_OF["torch_pruning"] == "pruning"
