"""Every flag of the commands that run flows reaches the flow run: through a real process,
never through the environment (the test's environment holds no `TIDECAST_*` variable).

The run row records the settings the flow ran with (`forecast_runs.parameters`), so each
flag is checked where it landed, and the rows written say which table was read.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.helpers import query, synthetic_panel, three_job_database, tidecast
from tidecast.cli import build_parser
from tidecast.db import init_db, make_engine
from tidecast.settings import Settings

pytestmark = pytest.mark.slow  # real `tidecast` processes, each starting a Prefect server

# Options that are not settings: what a command does, not how a run is configured.
NOT_SETTINGS = {"command", "verbose", "start", "end", "series", "limit", "all", "run_id", "out"}
NOT_SETTINGS |= {"retrain_every", "forecast_every"}  # serve's intervals replace its crons
NOT_SETTINGS |= {"action"}  # tidecast jobs list|show|validate


def test_every_option_of_every_command_is_a_setting_or_named_as_not_one():
    """A new flag is handed on by name (`cli._flags`); one that is neither a setting nor
    listed here would be parsed and then dropped."""
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in commands.items():
        for action in parser._actions:
            if action.dest == "help":
                continue
            assert action.dest in Settings.model_fields or action.dest in NOT_SETTINGS, (
                f"tidecast {name} {action.option_strings}: not a setting, so it reaches no run"
            )


@pytest.fixture
def staged_db(tmp_path):
    """`observations` holds six series; the table `staged` holds a different two."""
    url = f"sqlite:///{tmp_path / 'flags.db'}"
    engine = make_engine(url)
    init_db(engine)
    panel = synthetic_panel()
    panel.to_sql("observations", engine, if_exists="append", index=False)
    staged = synthetic_panel(n_series=2, lengths=(60,), seed=7)
    staged["series_id"] = "staged_" + staged["series_id"]
    staged.to_sql("staged", engine, index=False)
    engine.dispose()
    return url


def run_rows(url: str, flow_name: str) -> list[dict]:
    rows = query(url, "SELECT parameters FROM forecast_runs WHERE flow_name = :f", f=flow_name)
    return [p if isinstance(p, dict) else json.loads(p) for p in rows["parameters"]]


def test_run_flags_reach_retrain_forecast_and_backfill(staged_db, tmp_path):
    common = ["--database-url", staged_db, "--source-table", "staged", "--workers", "1"]
    retrain_flags = {
        "--horizon": "3",
        "--freq": "MS",
        "--season-length": "4",
        "--folds": "2",
        "--models": "naive,seasonal_naive",
        "--preset": "fast",
        "--runner": "local",
        "--chunk-size": "1",
    }
    args = [arg for pair in retrain_flags.items() for arg in pair]
    done = tidecast("retrain", *common, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    [recorded] = run_rows(staged_db, "retrain")
    assert recorded["source_table"] == "staged"
    assert recorded["horizon"] == 3 and recorded["freq"] == "MS"
    assert recorded["season_length"] == 4 and recorded["folds"] == 2
    assert recorded["models"] == ["naive", "seasonal_naive"] and recorded["preset"] == "fast"
    assert recorded["runner"] == "local" and recorded["workers"] == 1
    assert recorded["chunk_size"] == 1
    latest = query(staged_db, "SELECT series_id, step FROM latest_forecasts")
    assert set(latest["series_id"]) == {"staged_S00", "staged_S01"}  # the table named
    assert latest["step"].max() == 3

    done = tidecast("forecast", *common, "--chunk-size", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    [recorded] = run_rows(staged_db, "forecast")
    assert recorded["source_table"] == "staged" and recorded["chunk_size"] == 1
    latest = query(staged_db, "SELECT DISTINCT series_id FROM latest_forecasts")
    assert set(latest["series_id"]) == {"staged_S00", "staged_S01"}

    done = tidecast(
        "backfill", *common, *args, "--from", "2019-06-01", "--to", "2019-07-01", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [recorded] = run_rows(staged_db, "backfill")
    assert recorded["source_table"] == "staged" and recorded["horizon"] == 3
    assert recorded["models"] == ["naive", "seasonal_naive"] and recorded["folds"] == 2
    backfilled = query(staged_db, "SELECT DISTINCT series_id FROM backfill_forecasts")
    assert set(backfilled["series_id"]) == {"staged_S00", "staged_S01"}


@pytest.mark.parametrize("command", ["retrain", "forecast"])
def test_a_source_table_that_does_not_exist_fails_the_run(staged_db, tmp_path, command):
    if command == "forecast":  # the forecast flow needs a retrain first
        done = tidecast("retrain", "--database-url", staged_db, "--models", "naive", cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
    done = tidecast(
        command, "--database-url", staged_db, "--source-table", "no_such_table", cwd=tmp_path
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and "no_such_table" in done.stderr
    assert "Traceback" not in done.stderr
    engine = make_engine(staged_db)
    with engine.connect() as conn:
        failed = conn.execute(
            text("SELECT parameters FROM forecast_runs WHERE status = 'failed'")
        ).scalars()
        recorded = [p if isinstance(p, dict) else json.loads(p) for p in failed]
    engine.dispose()
    assert [p["source_table"] for p in recorded] == ["no_such_table"]


def test_a_temporary_prefect_server_that_does_not_start_in_time_is_one_error_line(
    staged_db, tmp_path
):
    done = tidecast(
        "retrain", "--database-url", staged_db, "--models", "naive", cwd=tmp_path,
        env_extra={
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1",
            "PREFECT_HOME": str(tmp_path / "fresh-prefect-home"),
        },
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.startswith("error: Prefect's temporary server did not start within 1 s")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_job_and_jobs_file_flags_reach_the_run_and_jobs_validate(tmp_path):
    """`--job` and `--jobs-file` as a user types them: the job's entry (its table, horizon
    and unit) reaches the run, which is recorded under the job; `jobs validate` checks it."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    jobs_file = three_job_database(url, tmp_path / "elsewhere")
    common = ["--database-url", url, "--jobs-file", str(jobs_file)]
    checked = tidecast("jobs", "validate", *common, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "3 job(s) valid" in checked.stdout
    done = tidecast(
        "retrain", "--job", "monthly", "--models", "naive,seasonal_naive", *common, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run = query(url, "SELECT job, unit, parameters FROM forecast_runs")
    assert run[["job", "unit"]].values.tolist() == [["monthly", "EUR"]]
    parameters = json.loads(run["parameters"].iloc[0])
    assert parameters["source_table"] == "monthly_obs" and parameters["horizon"] == 6
    refused = tidecast("retrain", "--job", "yearly", *common, cwd=tmp_path)
    assert refused.returncode == 2 and "job 'yearly' is not declared" in refused.stderr
    assert "Traceback" not in refused.stderr
