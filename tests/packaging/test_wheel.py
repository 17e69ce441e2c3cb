"""The installed distribution: one `tidecast` namespace, and runs that work from it.

A wheel built from this checkout is installed (without dependencies, which the test's
environment has) into a directory of its own, and the commands run from a directory
outside the checkout, so nothing resolves to the repository's folders: `tidecast demo` (a
retrain from the command line), `tidecast serve` with its own local Prefect server, and
the repository's deployments on a real Prefect server and process worker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.helpers import (
    get_json,
    load_observations,
    post_json,
    query,
    shared_prefect_api,
    stop_process,
    synthetic_panel,
    warm_prefect_home,
)
from tidecast.db import make_engine
from tidecast.edge.server import prefect_server_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the tracked files: setuptools' build/ directory stays out of the
    # checkout, and a module deleted from the source cannot linger in a stale build/lib.
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    [built] = out.glob("tidecast-*.whl")
    return built


def _install(wheel: Path, target: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_wheel_installs_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"tidecast"}, top
    for package in ("flows", "tasks", "models", "sql"):
        assert f"tidecast/{package}/__init__.py" in names
    assert "tidecast/sql/source_observations.sql" in names


@pytest.mark.slow
def test_prefect_deploy_and_a_process_worker_run_the_installed_flows(wheel, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    # the repository's own files, as a user copies them next to their installed tidecast
    shutil.copy(ROOT / "prefect.yaml", work / "prefect.yaml")
    shutil.copy(ROOT / "automations.yaml", work / "automations.yaml")
    target = tmp_path / "site"
    base = {**_clean_env(tmp_path, target, warm=True), "PREFECT_CLI_PROMPT": "false"}
    with prefect_server_process(tmp_path / "server.log", base) as server:
        _install(wheel, target)  # while the server starts
        url = load_observations(f"sqlite:///{work / 'tidecast.db'}", synthetic_panel())
        api = server.wait_healthy()
        env = {**base, "PREFECT_API_URL": api}
        env["TIDECAST_DATABASE_URL"] = url

        def prefect_cli(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "prefect", *args],
                cwd=work, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
            return done.stdout

        where = subprocess.run(
            [sys.executable, "-c", "import tidecast.flows.retrain as m; print(m.__file__)"],
            cwd=work, env=env, capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        assert where.stdout.strip().startswith(str(target)), where.stdout
        # the README's commands; what they made, read from the API
        prefect_cli("work-pool", "create", "tidecast", "--type", "process")
        prefect_cli("deploy", "--all", "--no-prompt")
        for name, entrypoint in [
            ("retrain/default", "tidecast.flows.retrain.retrain"),
            ("forecast/default", "tidecast.flows.forecast.forecast_flow"),
        ]:
            assert get_json(f"{api}/deployments/name/{name}")["entrypoint"] == entrypoint
        retrain = json.dumps(get_json(f"{api}/deployments/name/retrain/default"))
        assert '"cron": "0 2 * * 0"' in retrain
        assert "CANCEL_NEW" in retrain  # a run asked for while one runs is not queued
        prefect_cli("automation", "create", "--from-file", "automations.yaml")
        automations = {a["name"]: json.dumps(a) for a in post_json(f"{api}/automations/filter")}
        degraded = automations["default__automation_1"]  # prefect.yaml's trigger
        assert "tidecast.accuracy.degraded" in degraded and "run-deployment" in degraded
        assert '"within": 86400' in degraded.replace(".0", "")  # at most once a day
        overdue = automations["tidecast-retrain-overdue"]
        assert '"posture": "Proactive"' in overdue and "prefect.flow-run.Completed" in overdue
        created = prefect_cli(
            "deployment", "run", "retrain/default",
            "--param", "horizon=3", "--param", 'models=["naive"]',
        )  # fmt: skip
        [flow_run_id] = re.findall(r"UUID: ([0-9a-f-]{36})", created) or [created]
        log = tmp_path / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", "tidecast",
                 "--run-once"],
                cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            try:
                worker.wait(timeout=240)
            finally:
                stop_process(worker)
        flow_run = get_json(f"{api}/flow_runs/{flow_run_id}")
        assert flow_run["state_type"] == "COMPLETED", (flow_run["state"], log.read_text()[-4000:])
    runs = query(url, "SELECT run_id, status, prefect_flow_run_id FROM forecast_runs")
    assert runs["status"].tolist() == ["completed"], runs
    assert runs["prefect_flow_run_id"].tolist() == [flow_run_id]  # the worker's flow run
    latest = query(url, "SELECT series_id, step FROM latest_forecasts")
    assert latest["series_id"].nunique() == 6 and latest["step"].max() == 3, latest
    # the run's report is in the deploy directory (which `prefect deploy` records as the
    # runs' working directory), not in the worker's deleted temporary one
    assert (work / "artifacts" / "reports" / f"{runs['run_id'].iloc[0]}.html").is_file()


def _clean_env(tmp_path: Path, target: Path, warm: bool = False) -> dict[str, str]:
    """The caller's environment without tidecast settings or a Prefect API, a Prefect home
    of the test's own (`warm`: set up already, as from a user's second command on; else
    empty, as on their first), and the installed wheel first on the path."""
    home = tmp_path / "prefect"
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("TIDECAST_") and k not in ("PREFECT_API_URL", "PYTHONPATH")
    }  # fmt: skip
    env.update(
        PREFECT_HOME=str(warm_prefect_home(home) if warm else home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(target),
    )
    return env


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) of every process now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return table


def _descendants(pid: int) -> set[tuple[int, int]]:
    """(pid, start time) of every process below `pid`; in their own sessions or not."""
    table = _process_table()
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, (its_parent, started) in table.items():
            if its_parent == parent and (child, started) not in found:
                found.add((child, started))
                todo.append(child)
    return found


def _still_running(processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of `processes` that still run (not a later process that reuses a pid)."""
    table = _process_table()
    return {(pid, started) for pid, started in processes if table.get(pid, (0, -1))[1] == started}


def _kill_all(processes: set[tuple[int, int]]) -> None:
    for pid, _ in _still_running(processes):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_tidecast_serve_from_the_installed_wheel_runs_a_scheduled_retrain(wheel, tmp_path):
    """The embedded default: serve with no Prefect server and a SQLite file starts a local
    server, runs the schedule with the flags given, and stops everything it started."""
    target = tmp_path / "site"
    _install(wheel, target)
    work = tmp_path / "work"
    work.mkdir()
    url = load_observations(f"sqlite:///{work / 'tidecast.db'}", synthetic_panel())
    # the flags reach the served runs: four of the six series, from a table of their own
    engine = make_engine(url)
    query(url, "SELECT * FROM observations WHERE series_id < 'S04'").to_sql(
        "staged", engine, index=False
    )
    engine.dispose()
    env = _clean_env(tmp_path, target, warm=True)
    log = tmp_path / "serve.log"
    seen: set[tuple[int, int]] = set()  # everything serve started: its server, runs, watchdog
    with log.open("w") as out:
        # no PREFECT_API_URL: serve starts (and stops) a local Prefect server of its own
        served = subprocess.Popen(
            [sys.executable, "-m", "tidecast.cli", "serve", "--database-url", url,
             "--source-table", "staged", "--models", "naive", "--horizon", "6",
             "--workers", "1", "--retrain-every", "10"],
            cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while True:
                assert served.poll() is None, log.read_text()[-3000:]
                seen |= _descendants(served.pid)
                try:
                    done = query(
                        url,
                        "SELECT run_id FROM forecast_runs "
                        "WHERE flow_name = 'retrain' AND status = 'completed'",
                    )
                except Exception:  # forecast_runs appears with the first run
                    done = None
                if done is not None and len(done):
                    break
                assert time.monotonic() < deadline, (
                    "no completed retrain within 180 s",
                    log.read_text()[-3000:],
                )
                time.sleep(1)
            seen |= _descendants(served.pid)
            served.send_signal(signal.SIGTERM)  # as systemd or `docker stop` would
            returncode = served.wait(timeout=90)
            # the watchdog stops what is left within its 10 s grace, then ends itself
            deadline = time.monotonic() + 30
            while _still_running(seen) and time.monotonic() < deadline:
                time.sleep(0.5)
            left = _still_running(seen)
        finally:
            stop_process(served)
            _kill_all(seen)
    output = log.read_text()
    assert returncode == 0, output[-3000:]
    assert not left, (left, output[-3000:])
    first_lines = "\n".join(output.splitlines()[:3])
    assert "starting a local Prefect server on 127.0.0.1" in first_lines, output[-3000:]
    api = re.search(r"local Prefect server ready at (\S+)", output)
    assert api, output[-3000:]
    assert "stopped serving; the local Prefect server is stopped" in output
    with pytest.raises(OSError):
        get_json(f"{api.group(1)}/health")  # nothing listens there any more
    latest = query(url, "SELECT run_id, series_id, step FROM latest_forecasts")
    assert set(latest["series_id"]) == {"S00", "S01", "S02", "S03"}, latest
    assert latest["step"].max() == 6, latest
    # the run waited for, or one the 10 s schedule completed before SIGTERM arrived
    completed = query(url, "SELECT run_id FROM forecast_runs WHERE status = 'completed'")
    assert set(done["run_id"]) <= set(completed["run_id"])
    assert len(set(latest["run_id"])) == 1 and set(latest["run_id"]) <= set(completed["run_id"])
    recorded = query(url, "SELECT parameters FROM forecast_runs WHERE run_id = :r",
                     r=done["run_id"].iloc[0])["parameters"].iloc[0]  # fmt: skip
    recorded = recorded if isinstance(recorded, dict) else json.loads(recorded)
    assert recorded["source_table"] == "staged" and recorded["horizon"] == 6


@pytest.mark.slow
def test_tidecast_demo_from_the_installed_wheel_forecasts_the_m3_monthly_series(wheel, tmp_path):
    """The README's first command from the installed wheel (its modules and SQL files come
    from there, not from the checkout): the demo's retrain of the 1428 M3 monthly series on
    Prefect's temporary server, then the operator's commands and a forecast run on it."""
    target = tmp_path / "site"
    _install(wheel, target)
    work = tmp_path / "work"
    work.mkdir()
    env = _clean_env(tmp_path, target)
    where = subprocess.run(
        [sys.executable, "-c", "import tidecast.tasks, tidecast.sql; "
         "print(tidecast.tasks.__file__); print(tidecast.sql.SQL_DIR)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert all(line.startswith(str(target)) for line in where.stdout.split())
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "tidecast.cli", "demo", "--models", "naive,seasonal_naive"],
            cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            returncode = demo.wait(timeout=300)
        finally:
            stop_process(demo)
    output = log.read_text()
    assert returncode == 0, output[-3000:]
    assert "Traceback" not in output
    assert "Leaderboard" in output and "SELECT * FROM latest_forecasts" in output
    assert "chunk 2/2" in output  # progress per chunk of series
    last_line = output.strip().splitlines()[-1]
    assert last_line.startswith("demo run ") and "25704 forecast rows for 1428 series" in last_line
    url = f"sqlite:///{work / 'tidecast.db'}"  # the default database, in the working directory
    runs = query(url, "SELECT run_id, flow_name, status FROM forecast_runs")
    assert runs[["flow_name", "status"]].values.tolist() == [["retrain", "completed"]], runs
    latest = query(url, "SELECT series_id, step FROM latest_forecasts")
    assert latest["series_id"].nunique() == 1428 and latest["step"].max() == 18, latest
    assert len(latest) == 1428 * 18

    # the operator's commands, and a forecast run (on the tests' shared Prefect server)
    def command(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "tidecast.cli", *args], cwd=work,
            env={**env, "PREFECT_API_URL": shared_prefect_api()},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    assert "1428 series have a champion" in command("champions", "--limit", "5").stdout
    one = command("champions", "--series", "N1402").stdout
    assert "Leaderboard of N1402" in one and "seasonal_naive" in one
    assert "nothing to roll back" in command("rollback", "--series", "N1402").stdout
    assert command("forecast").stdout.strip().splitlines()[-1].startswith("forecast run ")
    runs = query(url, "SELECT flow_name, status FROM forecast_runs ORDER BY started_at")
    assert runs.values.tolist() == [["retrain", "completed"], ["forecast", "completed"]]
    assert len(query(url, "SELECT series_id FROM latest_forecasts")) == 1428 * 18
