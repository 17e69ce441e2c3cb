import pandas as pd
import pytest
from sqlalchemy import insert

from tests.helpers import runs as run_rows
from tidecast.db import make_engine, utcnow
from tidecast.errors import TidecastError
from tidecast.sql.tables import forecast_runs
from tidecast.tasks.runs import close_run, open_run


def test_a_second_run_is_refused_while_the_first_holds_the_database(db_url, settings_for):
    settings = settings_for(db_url)
    first = open_run(settings, "retrain", {})
    with pytest.raises(TidecastError, match=f"another tidecast run .*retrain run {first}"):
        open_run(settings, "retrain", {})
    runs = run_rows(settings.database_url).set_index("run_id")
    assert runs.loc[first, "status"] == "running"
    refused = runs[runs.index != first]
    assert refused["status"].tolist() == ["failed"]
    assert "did not start and changed nothing" in refused["message"].iloc[0]
    close_run(settings, first, "completed")
    third = open_run(settings, "forecast", {})  # the lock is free again
    close_run(settings, third, "completed")
    assert run_rows(settings.database_url).set_index("run_id").loc[third, "status"] == "completed"


def test_a_run_left_running_by_a_dead_process_is_marked_orphaned(db_url, settings_for):
    settings = settings_for(db_url)
    open_run(settings, "retrain", {})  # creates the tables; then let it finish
    close_run(settings, run_rows(settings.database_url)["run_id"].iloc[0], "completed")
    engine = make_engine(db_url)
    with engine.begin() as conn:  # what a killed run leaves: `running`, and no lock held
        conn.execute(
            insert(forecast_runs).values(
                run_id="dead-run",
                job="default",
                flow_name="retrain",
                status="running",
                started_at=utcnow(),
            )
        )
    engine.dispose()
    new = open_run(settings, "retrain", {})
    runs = run_rows(settings.database_url).set_index("run_id")
    assert runs.loc["dead-run", "status"] == "failed"
    assert (
        runs.loc["dead-run", "message"].startswith("orphaned:")
        and new in runs.loc["dead-run", "message"]
    )
    assert pd.notna(runs.loc["dead-run", "finished_at"])
    close_run(settings, new, "completed")


def test_a_run_of_another_job_still_running_is_not_taken_for_an_orphan(
    db_url, settings_for, tmp_path, monkeypatch
):
    """Jobs have their own locks, so a run of another job may well be running: a run of
    this job must leave it alone (only its own job's leftovers are orphans)."""
    (tmp_path / "tidecast.yaml").write_text("jobs:\n  - name: daily\n  - name: weekly\n")
    monkeypatch.setenv("TIDECAST_JOBS_FILE", str(tmp_path / "tidecast.yaml"))
    weekly = open_run(settings_for(db_url, job="weekly"), "retrain", {})
    daily = open_run(settings_for(db_url, job="daily"), "retrain", {})  # at once
    runs = run_rows(settings_for(db_url, job="daily").database_url).set_index("run_id")
    assert runs.loc[weekly, "status"] == "running" and runs.loc[weekly, "job"] == "weekly"
    assert runs.loc[daily, "status"] == "running" and runs.loc[daily, "job"] == "daily"
    close_run(settings_for(db_url, job="daily"), daily, "completed")
    close_run(settings_for(db_url, job="weekly"), weekly, "completed")
