"""The database goes away mid-run: during ingest, during the write, while marking completed.

The faults are real: PostgreSQL terminates the run's own session
(`pg_terminate_backend(pg_backend_pid())`) from inside the source query, from a trigger on
`forecasts`, or from a trigger on the run row turning `completed`. How many times each
fires is counted by a sequence, which, unlike a table, is not rolled back with the
killed transaction. PostgreSQL only: a SQLite file has no server to lose.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from tests.helpers import query, runs
from tidecast.db import init_db, make_engine, replace_observations
from tidecast.errors import DatabaseUnavailableError
from tidecast.flows.retrain import retrain

H = 6
ALWAYS = 1000  # more faults than any retry budget

FAULT_FUNCTIONS = """
CREATE TABLE fault_plan (stage text PRIMARY KEY, times integer NOT NULL);
CREATE SEQUENCE fault_ingest; CREATE SEQUENCE fault_write; CREATE SEQUENCE fault_finish;
CREATE SEQUENCE fault_close;
CREATE FUNCTION fault(stage text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('fault_' || stage) <= (SELECT times FROM fault_plan AS p WHERE p.stage = fault.stage)
    THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        PERFORM pg_sleep(10);  -- the termination lands here
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION fault_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fault(TG_ARGV[0]);
    RETURN NULL;
END $$;
CREATE TRIGGER fault_on_write BEFORE INSERT ON forecasts
    FOR EACH STATEMENT EXECUTE FUNCTION fault_trigger('write');
CREATE TRIGGER fault_on_finish AFTER UPDATE ON forecast_runs
    FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION fault_trigger('finish');
CREATE TRIGGER fault_on_close AFTER UPDATE ON forecast_runs
    FOR EACH ROW WHEN (NEW.status <> 'running') EXECUTE FUNCTION fault_trigger('close');
"""
# The scalar subquery runs once per query, not once per row.
SOURCE_WITH_FAULT = "SELECT series_id, ts, value FROM observations WHERE (SELECT fault('ingest'))"


@pytest.fixture
def pg_loaded(pg_url, observations):
    """A PostgreSQL database with observations, tidecast's tables and the fault machinery."""
    engine = make_engine(pg_url)
    init_db(engine)
    replace_observations(engine, observations)
    with engine.begin() as conn:
        conn.exec_driver_sql(FAULT_FUNCTIONS)
        conn.exec_driver_sql(
            "INSERT INTO fault_plan SELECT unnest(ARRAY['ingest', 'write', 'finish', 'close']), 0"
        )
    engine.dispose()
    return pg_url


@pytest.fixture
def faulty_source(pg_loaded, run_env, tmp_path):
    """Flows read through the source query that can lose the database; two I/O retries."""
    source = tmp_path / "source.sql"
    source.write_text(SOURCE_WITH_FAULT)
    run_env(pg_loaded, source_query=str(source), io_retries="2")


def arm(url: str, stage: str, times: int) -> None:
    """Kill the session the next `times` times the stage's fault is reached; count from 0."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE fault_plan SET times = :n WHERE stage = :s"), {"n": times, "s": stage}
        )
        conn.execute(text("SELECT setval('fault_' || :s, 1, false)"), {"s": stage})
    engine.dispose()


def fired(url: str, stage: str) -> int:
    """How many times the stage's fault was reached (whether it killed the session or not)."""
    seen = query(url, f"SELECT last_value, is_called FROM fault_{stage}")  # name from this module
    return int(seen["last_value"].iloc[0]) if seen["is_called"].iloc[0] else 0


def visible(url: str) -> pd.DataFrame:
    return query(url, "SELECT * FROM latest_forecasts ORDER BY series_id, step")


@pytest.mark.postgres
@pytest.mark.parametrize("stage", ["ingest", "write", "finish"])
def test_a_database_that_comes_back_within_the_retries_costs_nothing(
    pg_loaded, faulty_source, stage
):
    arm(pg_loaded, stage, 1)
    run_id = retrain(horizon=H, freq="MS")
    # killed once, then reached again by the retry (once per row by a pipelined insert)
    assert fired(pg_loaded, stage) >= 2
    assert runs(pg_loaded)["status"].tolist() == ["completed"]
    latest = visible(pg_loaded)
    assert set(latest["run_id"]) == {run_id}
    # the retried write replaced what the killed attempt had (not) committed: no duplicates
    assert not latest.duplicated(["series_id", "step"]).any()
    written = query(pg_loaded, "SELECT COUNT(*) AS n FROM forecasts WHERE run_id = :r", r=run_id)
    assert written["n"].iloc[0] == len(latest)


@pytest.mark.postgres
@pytest.mark.parametrize("stage", ["ingest", "write", "finish"])
def test_a_database_gone_past_the_retries_fails_the_run_and_bi_keeps_the_previous_forecasts(
    pg_loaded, faulty_source, stage
):
    good = retrain(horizon=H, freq="MS")
    before = visible(pg_loaded)

    arm(pg_loaded, stage, ALWAYS)
    with pytest.raises(DatabaseUnavailableError, match="is not usable"):
        retrain(horizon=H, freq="MS")
    assert fired(pg_loaded, stage) == 3  # the first try and two retries, all killed
    history = runs(pg_loaded)
    assert history["status"].tolist() == ["completed", "failed"]
    task = {"ingest": "read-observations", "write": "write-results", "finish": "close-run"}[stage]
    assert history["message"].iloc[-1].startswith(f"{task}: database ")
    assert "is not usable" in history["message"].iloc[-1]
    pd.testing.assert_frame_equal(visible(pg_loaded), before)
    assert set(before["run_id"]) == {good}


@pytest.mark.postgres
def test_a_run_that_cannot_even_be_marked_failed_is_marked_by_the_next_run(pg_loaded, run_env):
    run_env(pg_loaded, io_retries="1")
    good = retrain(horizon=H, freq="MS")
    before = visible(pg_loaded)
    arm(pg_loaded, "close", ALWAYS)  # neither `completed` nor `failed` can be written
    with pytest.raises(DatabaseUnavailableError):
        retrain(horizon=H, freq="MS")
    assert runs(pg_loaded)["status"].tolist() == ["completed", "running"]
    pd.testing.assert_frame_equal(visible(pg_loaded), before)
    assert set(before["run_id"]) == {good}

    arm(pg_loaded, "close", 0)  # the database is back: the lock was released, the next run
    later = retrain(horizon=H, freq="MS")  # starts and marks the stuck one failed
    history = runs(pg_loaded)
    assert history["status"].tolist() == ["completed", "failed", "completed"]
    assert history["message"].iloc[1].startswith("orphaned:")
    assert set(visible(pg_loaded)["run_id"]) == {later}
