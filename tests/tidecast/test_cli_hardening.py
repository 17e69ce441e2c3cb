"""Mistakes a user can make at the command line: one `error:` line and exit code 2.

`tidecast.cli.main` in this process (the `cli` fixture), on real SQLite files (and the
session's Prefect server where a flow runs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import load_observations, query, runs, unable_to_write
from tidecast.db import init_db, make_engine


@pytest.fixture
def tidecast(cli):
    """Run `tidecast ARGS...` in this process; gives (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        done = cli(*args)
        return done.returncode, done.stdout, done.stderr

    return run


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def test_rollback_all_without_champions_says_there_is_nothing_to_roll_back(tmp_path, tidecast):
    url = f"sqlite:///{tmp_path / 'tidecast.db'}"
    code, out, err = tidecast("rollback", "--all", "--database-url", url)
    assert (code, err) == (0, "")
    assert "nothing to roll back" in out


def test_a_read_only_database_directory_is_one_error_line_naming_it(tidecast):
    directory = Path(tempfile.mkdtemp(prefix="tidecast-cli-"))
    directory.chmod(0o755)
    try:
        url = f"sqlite:///{directory / 'tidecast.db'}"
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        prefect_home = Path(os.environ["PREFECT_HOME"])  # the CLI reads its logging.yml
        mode = prefect_home.stat().st_mode & 0o777
        prefect_home.chmod(0o755)
        try:
            with unable_to_write(directory):
                code, _, err = tidecast("rollback", "--all", "--database-url", url)
        finally:
            prefect_home.chmod(mode)
        assert code == 2
        assert str(directory) in one_error_line(err)
    finally:
        directory.chmod(0o755)
        shutil.rmtree(directory)


@pytest.mark.parametrize(
    ("start", "end", "flag"),
    [("2019-01-01", "3000-01-01", "--to"), ("someday", "2019-03-01", "--from")],
)
def test_a_backfill_date_out_of_range_is_one_error_line(
    tmp_path, observations, prefect_harness, tidecast, start, end, flag
):
    url = load_observations(f"sqlite:///{tmp_path / 'tidecast.db'}", observations)
    code, _, err = tidecast(
        "backfill",
        "--from",
        start,
        "--to",
        end,
        "--database-url",
        url,
        "--horizon",
        "6",
        "--freq",
        "MS",
        "--models",
        "naive,seasonal_naive",
    )
    assert code == 2
    assert one_error_line(err).startswith(f"error: {flag} ")
    assert query(url, "SELECT COUNT(*) AS n FROM backfill_forecasts")["n"][0] == 0
    assert set(runs(url)["status"]) <= {"failed"}  # a run row only where a run had started


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tidecast:p@ssw0rd-Secret99@127.0.0.1:5432/db",  # host would hold a part
        "postgresql://tidecast:p@ss:w0rd-Secret99@127.0.0.1/db",  # the "port" would
        "postgresql://tide@cast:ssw0rd-Secret99@127.0.0.1/db",
    ],
)
@pytest.mark.parametrize("command", ["init-db", "retrain", "champions"])
def test_an_unencoded_at_in_the_credentials_shows_nothing_of_them(tidecast, url, command):
    code, out, err = tidecast(command, "--database-url", url)
    assert code == 2
    line = one_error_line(err)
    assert "percent-encode" in line
    for fragment in ("ssw0rd", "Secret99", "w0rd", "tide@", "p@ss"):
        assert fragment not in out + err
