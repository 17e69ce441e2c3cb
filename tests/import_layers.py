"""The import-linter contracts of pyproject.toml, checked on the installed namespace.

tidecast installs as one package whose parts live in different folders of the checkout
(`src/tidecast`, `flows/`, `tasks/`, `models/`, `sql/`: pyproject's package-dir), and
import-linter reads a package from one folder. So the checkout's Python files are
copied into that layout in a temporary folder first (about 2 MB), and lint-imports runs
with that folder first on the path. `python -m tests.import_layers` (what `./dev test`
runs) exits non-zero on a broken contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# where each part of the tidecast namespace lives in the checkout (pyproject's package-dir)
PARTS = {"": "src/tidecast", "flows": "flows", "tasks": "tasks", "models": "models", "sql": "sql"}


def stage(checkout: Path, dest: Path) -> Path:
    """The checkout's tidecast namespace as one folder tree under `dest`; returns `dest`."""
    for part, folder in PARTS.items():
        target = dest / "tidecast" / part
        shutil.copytree(
            checkout / folder,
            target,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
    return dest


def lint_imports(checkout: Path = ROOT, config: Path | None = None) -> subprocess.CompletedProcess:
    """lint-imports on a staged copy of `checkout` (its pyproject.toml unless `config`)."""
    with tempfile.TemporaryDirectory(prefix="tidecast-layers-") as tmp:
        staged = stage(checkout, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(staged)}
        command = [
            sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
            "--no-cache", "--no-logo", str(config or checkout / "pyproject.toml"),
        ]  # fmt: skip
        return subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)


def main() -> int:
    done = lint_imports()
    print(done.stdout.strip())
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
