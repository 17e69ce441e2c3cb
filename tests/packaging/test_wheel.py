"""The installed distribution: one `tidecast` namespace, and a run that works from it.

A wheel built from this checkout is installed (without dependencies, which the test's
environment has) into a directory of its own, and the command runs from a directory
outside the checkout, so nothing resolves to the repository's folders.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import load_observations, synthetic_panel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    [built] = out.glob("tidecast-*.whl")
    return built


def test_the_wheel_installs_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"tidecast"}, top
    for package in ("flows", "tasks", "models", "sql"):
        assert f"tidecast/{package}/__init__.py" in names
    assert "tidecast/sql/source_observations.sql" in names


@pytest.mark.slow
def test_a_retrain_runs_from_the_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    url = load_observations(f"sqlite:///{work / 'tidecast.db'}", synthetic_panel())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDECAST_")}
    env["PYTHONPATH"] = str(target)
    where = subprocess.run(
        [sys.executable, "-c", "import tidecast.tasks, tidecast.sql; "
         "print(tidecast.tasks.__file__); print(tidecast.sql.SQL_DIR)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert all(line.startswith(str(target)) for line in where.stdout.split())
    done = subprocess.run(
        [sys.executable, "-m", "tidecast.cli", "retrain", "--database-url", url,
         "--models", "naive", "--horizon", "3", "--workers", "1"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "forecast rows for 6 series" in done.stdout
