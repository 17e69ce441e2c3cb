"""Schedules for real: `tidecast serve` with its own Prefect server and several jobs.

Not the test harness: a real Prefect server on 127.0.0.1 (the temporary server cannot run
schedules), real scheduled flow runs, and everything stopped afterwards. The embedded
default (serve starting a server of its own on a SQLite file) and prefect.yaml's
deployments run from the installed wheel: tests/packaging/test_wheel.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import (
    ON_POSTGRES_ONLY,
    query,
    three_job_database,
    warm_prefect_home,
)
from tidecast.edge.server import SERVER_LOG, LocalServer, local_prefect_server
from tidecast.errors import TidecastError

pytestmark = pytest.mark.slow  # real Prefect servers, schedules and workers

WAIT_SECONDS = 300


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without tidecast or Prefect API settings, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TIDECAST_") and key != "PREFECT_API_URL"
    }
    env.update(
        PREFECT_HOME=str(warm_prefect_home(tmp_path / "prefect")),
        PYTHONUNBUFFERED="1",
        TIDECAST_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        TIDECAST_MODELS="naive,seasonal_naive",
        TIDECAST_N_JOBS="1",
        TIDECAST_WORKERS="1",  # no pool of worker processes to start for each run (4-5 s)
    )
    env.update(extra)
    return env


def test_the_local_server_keeps_answering_while_it_writes_more_than_a_pipe_holds(
    tmp_path, monkeypatch
):
    # Its output went to a pipe that nobody read: at DEBUG the server wrote about 140
    # bytes a request, and after 464 requests (64 KiB, a Linux pipe) it stopped answering.
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_LOGGING_LEVEL", "DEBUG")
    # as the CLI sets it for its own terminal: the server's log is not silenced by it
    monkeypatch.setenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    with local_prefect_server() as api_url:
        for _ in range(1000):
            request = urllib.request.Request(f"{api_url}/flows/filter", data=b"{}", method="POST")
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
    log = tmp_path / "prefect" / SERVER_LOG
    assert log.stat().st_size > 64 * 1024, log.stat().st_size  # more than a pipe holds
    assert "/api/flows/filter" in log.read_text()


def test_a_local_server_that_cannot_start_says_why_and_where_its_log_is(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    with socket.socket() as taken:  # its port is another program's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(TidecastError) as refused:
            with local_prefect_server(port=taken.getsockname()[1]):
                pass
    message = str(refused.value)
    assert message.startswith("the local Prefect server did not start (exit code"), message
    assert str(tmp_path / "prefect" / SERVER_LOG) in message and "\n" not in message
    assert "already in use" in message, message  # the server's own words


def test_what_a_server_said_before_it_exited_is_shown_without_passwords(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(
        "sqlalchemy.exc.OperationalError: cannot connect to\n"
        "postgresql+asyncpg://prefect:hunter2@db.internal:5432/prefect\nServer stopped!\n"
    )
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    exited.wait()
    with pytest.raises(TidecastError) as refused:
        LocalServer(exited, "http://127.0.0.1:9/api", log).wait_healthy(5)
    message = str(refused.value)
    assert "(exit code 3)" in message and "prefect:***@db.internal" in message, message
    assert "hunter2" not in message


def test_serve_says_when_the_configured_prefect_server_does_not_answer(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tidecast.cli", "serve", "--database-url",
         f"sqlite:///{tmp_path / 'x.db'}"],
        cwd=tmp_path, env=clean_env(tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        "error: the Prefect server at PREFECT_API_URL=http://127.0.0.1:9/api does not answer"
        in (done.stderr)
    )
    assert "Traceback" not in done.stderr


@ON_POSTGRES_ONLY  # tests/flows/test_jobs.py runs the three jobs on both databases
def test_serve_runs_every_jobs_retrain_on_its_own_schedule_into_one_database(db_url, tmp_path):
    """Three jobs of tidecast.yaml (daily, weekly, monthly; their own tables, the same
    series ids), served by one `tidecast serve` on a real Prefect server: each job's
    deployment runs, and latest_forecasts holds all three, each from its own run."""
    three_job_database(db_url, tmp_path)  # tidecast.yaml in serve's working directory
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        served = subprocess.Popen(
            [sys.executable, "-m", "tidecast.cli", "serve", "--retrain-every", "15",
             "--forecast-every", "3600", "--database-url", db_url],
            cwd=tmp_path, env=clean_env(tmp_path), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            done = pd.DataFrame()
            while time.monotonic() < deadline:
                assert served.poll() is None, log.read_text()[-3000:]
                try:
                    done = query(
                        db_url,
                        "SELECT job, run_id FROM forecast_runs "
                        "WHERE flow_name = 'retrain' AND status = 'completed'",
                    )
                except Exception:  # the first run creates nothing; the tables exist already
                    pass
                if set(done.get("job", [])) == {"daily", "weekly", "monthly"}:
                    break
                time.sleep(1)
            served.send_signal(signal.SIGTERM)
            returncode = served.wait(timeout=90)
        finally:
            try:
                os.killpg(served.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    output = log.read_text()
    assert returncode == 0, output[-3000:]
    for job in ("daily", "weekly", "monthly"):
        assert f"job {job}: retrain/{job} every 15 s" in output
    latest = query(db_url, "SELECT job, run_id, series_id FROM latest_forecasts")
    assert set(latest["job"]) == {"daily", "weekly", "monthly"}, output[-3000:]
    completed = (
        query(db_url, "SELECT job, run_id FROM forecast_runs WHERE status = 'completed'")
        .groupby("job")["run_id"]
        .agg(set)
    )
    for job, rows in latest.groupby("job"):
        assert set(rows["run_id"]) <= completed[job]  # each job's rows from its own run
        assert set(rows["series_id"]) == {"S00", "S01", "S02", "S03"}
