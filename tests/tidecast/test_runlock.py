"""The SQLite run lock: one writer per database file, however the file is named."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import unable_to_write
from tidecast.db import init_db, make_engine
from tidecast.errors import TidecastError
from tidecast.runlock import try_run_lock


@pytest.fixture
def shared_dir():
    """A directory `nobody` can read (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="tidecast-runlock-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path)


def sqlite_db(directory: Path) -> str:
    url = f"sqlite:///{directory / 'tidecast.db'}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


def test_the_same_file_through_a_symlink_has_the_same_lock(tmp_path):
    url = sqlite_db(tmp_path)
    (tmp_path / "alias.db").symlink_to(tmp_path / "tidecast.db")
    (tmp_path / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    first = try_run_lock(url, "default")
    assert first is not None
    try:
        assert try_run_lock(f"sqlite:///{tmp_path / 'alias.db'}", "default") is None
        assert (
            try_run_lock(f"sqlite:///{tmp_path / 'linked_dir' / 'tidecast.db'}", "default") is None
        )
    finally:
        first.release()
    again = try_run_lock(f"sqlite:///{tmp_path / 'alias.db'}", "default")
    assert again is not None
    again.release()


def test_a_relative_and_an_absolute_path_share_the_lock(tmp_path, monkeypatch):
    url = sqlite_db(tmp_path)
    monkeypatch.chdir(tmp_path / "..")
    first = try_run_lock(f"sqlite:///{tmp_path.name}/tidecast.db", "default")
    assert first is not None
    try:
        assert try_run_lock(url, "default") is None
    finally:
        first.release()


def test_a_read_only_directory_is_one_error_naming_it(shared_dir):
    url = sqlite_db(shared_dir)
    with unable_to_write(shared_dir), pytest.raises(TidecastError) as info:
        try_run_lock(url, "default")
    message = str(info.value)
    assert str(shared_dir) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_runs_of_one_job_exclude_each_other_and_other_jobs_never_wait(backend, tmp_path, request):
    url = sqlite_db(tmp_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    daily = try_run_lock(url, "daily")
    try:
        assert try_run_lock(url, "daily") is None  # the same job: refused
        monthly = try_run_lock(url, "monthly")  # another job: not blocked
        assert monthly is not None
        monthly.release()
    finally:
        daily.release()
    again = try_run_lock(url, "daily")
    assert again is not None
    again.release()
