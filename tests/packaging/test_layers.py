"""The import contracts of pyproject.toml: kept by the code, broken by a violation of each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.import_layers import PARTS, ROOT, lint_imports


def test_the_code_keeps_every_import_contract():
    done = lint_imports()
    assert done.returncode == 0, done.stdout
    assert "0 broken" in done.stdout


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the checkout's Python files and pyproject.toml, to break."""
    copy = tmp_path / "checkout"
    for folder in PARTS.values():
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.mark.parametrize(
    "module, line, broken",
    [
        ("tasks/write.py", "import prefect", "Prefect only in flows/ and the edge package"),
        ("models/base.py", "from prefect import task", "Prefect only in flows/ and the edge"),
        ("src/tidecast/cli.py", "import prefect", "The CLI reaches Prefect through"),
        ("tasks/promote.py", "from tidecast.edge import steps", "Layers"),
        ("models/windows.py", "import tidecast.tasks.write", "Layers"),
        ("src/tidecast/db.py", "from tidecast.settings import Settings", "Layers"),
        ("tasks/write.py", "from tidecast.tasks import pipeline", "No import cycles"),
    ],
)
def test_a_violation_breaks_its_contract(checkout, module, line, broken):
    path = checkout / module
    path.write_text(path.read_text() + f"\n{line}  # the violation\n")
    done = lint_imports(checkout)
    assert done.returncode != 0
    failed = [ln for ln in done.stdout.splitlines() if ln.endswith(" BROKEN")]
    assert any(ln.startswith(broken) for ln in failed), done.stdout
