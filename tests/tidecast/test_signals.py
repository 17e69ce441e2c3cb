"""A `tidecast retrain` stopped from outside: SIGTERM ends it promptly as a failed run, and
after SIGKILL nothing it started (Prefect's temporary server) is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import load_observations, query, synthetic_panel, warm_prefect_home

pytestmark = [
    pytest.mark.slow,  # real processes, a real temporary Prefect server
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)"),
]


def start_retrain(tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    url = load_observations(f"sqlite:///{tmp_path / 'tidecast.db'}", synthetic_panel(200))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDECAST_")}
    env["PREFECT_HOME"] = str(warm_prefect_home(tmp_path / "prefect"))
    log = tmp_path / "retrain.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "tidecast.cli", "retrain", "--database-url", url,
         "--models", "auto_ets,theta", "--chunk-size", "20", "--workers", "1"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process, url, log


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below `pid`."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
                commands[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().decode(errors="replace")
                )
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = commands[child]
                todo.append(child)
    return found


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} within {seconds} s")


def test_sigterm_stops_a_running_retrain_promptly_and_marks_it_failed(tmp_path):
    process, url, log = start_retrain(tmp_path)
    try:
        wait_for(lambda: "[backtest]" in log.read_text(), 180, "the backtest did not start")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        process.kill()
    assert code == 130, log.read_text()[-2000:]
    [row] = query(url, "SELECT status, message FROM forecast_runs").to_dict("records")
    assert row["status"] == "failed" and "stopped (SIGTERM" in row["message"]
    assert query(url, "SELECT COUNT(*) AS n FROM latest_forecasts")["n"].iloc[0] == 0


def test_after_kill_9_the_temporary_prefect_server_does_not_outlive_the_command(tmp_path):
    process, _, log = start_retrain(tmp_path)
    try:
        servers = wait_for(
            lambda: [p for p, cmd in descendants(process.pid).items() if "uvicorn" in cmd],
            180,
            "no temporary Prefect server started",
        )
        time.sleep(1.5)  # the watchdog notes the command's processes every second
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in servers),
            30,
            "the temporary Prefect server outlived the killed command",
        )
    finally:
        process.kill()
