import pandas as pd
import pytest
from sqlalchemy import insert

from tidecast.db import make_engine, utcnow
from tidecast.errors import TidecastError
from tidecast.sql.tables import forecast_runs
from tidecast.tasks.runs import close_run, open_run, read_runs


def test_a_second_run_is_refused_while_the_first_holds_the_database(db_url, settings_for):
    settings = settings_for(db_url)
    first = open_run(settings, "retrain", {})
    with pytest.raises(TidecastError, match=f"another tidecast run .*retrain run {first}"):
        open_run(settings, "retrain", {})
    runs = read_runs(settings).set_index("run_id")
    assert runs.loc[first, "status"] == "running"
    refused = runs[runs.index != first]
    assert refused["status"].tolist() == ["failed"]
    assert "did not start and changed nothing" in refused["message"].iloc[0]
    close_run(settings, first, "completed")
    third = open_run(settings, "forecast", {})  # the lock is free again
    close_run(settings, third, "completed")
    assert read_runs(settings).set_index("run_id").loc[third, "status"] == "completed"


def test_a_run_left_running_by_a_dead_process_is_marked_orphaned(db_url, settings_for):
    settings = settings_for(db_url)
    open_run(settings, "retrain", {})  # creates the tables; then let it finish
    close_run(settings, read_runs(settings)["run_id"].iloc[0], "completed")
    engine = make_engine(db_url)
    with engine.begin() as conn:  # what a killed run leaves: `running`, and no lock held
        conn.execute(
            insert(forecast_runs).values(
                run_id="dead-run", flow_name="retrain", status="running", started_at=utcnow()
            )
        )
    engine.dispose()
    new = open_run(settings, "retrain", {})
    runs = read_runs(settings).set_index("run_id")
    assert runs.loc["dead-run", "status"] == "failed"
    assert (
        runs.loc["dead-run", "message"].startswith("orphaned:")
        and new in runs.loc["dead-run", "message"]
    )
    assert pd.notna(runs.loc["dead-run", "finished_at"])
    close_run(settings, new, "completed")
