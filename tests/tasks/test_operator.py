import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from tidecast.db import init_db, insert_frame, make_engine
from tidecast.errors import TidecastError
from tidecast.sql.tables import champions, forecast_runs
from tidecast.tasks.operator import champion_history, latest_champions, rollback_champions


def record_run(engine, run_id, day, rows):
    when = dt.datetime(2026, 1, day)
    with engine.begin() as conn:
        conn.execute(
            forecast_runs.insert().values(
                run_id=run_id,
                job="default",
                flow_name="retrain",
                status="completed",
                started_at=when,
                finished_at=when,
            )
        )
        insert_frame(
            conn,
            champions,
            pd.DataFrame(rows).assign(run_id=run_id, metric="mase", promoted_at=when),
        )


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    record_run(
        engine,
        "r1",
        1,
        [
            {"series_id": "a", "model": "naive", "score": 1.0},
            {
                "series_id": "b",
                "model": "ensemble_mean_top3",
                "score": 0.8,
                "members": "auto_ets,nbeats,hgb",
            },
        ],
    )
    record_run(
        engine,
        "r2",
        8,
        [
            {"series_id": "a", "model": "naive", "score": 0.9, "previous_model": "naive"},
            {
                "series_id": "b",
                "model": "auto_ets",
                "score": 0.7,
                "previous_model": "ensemble_mean_top3",
            },
        ],
    )
    yield engine
    engine.dispose()


def test_current_champions_say_since_when(engine):
    current = latest_champions(champion_history(engine, "default")).set_index("series_id")
    assert current.loc["a", "since"] == pd.Timestamp("2026-01-01")  # champion in both runs
    assert current.loc["b", "since"] == pd.Timestamp("2026-01-08")


def test_rollback_reinstates_the_previous_champion_with_its_members(engine):
    run_id, count = rollback_champions(engine, "default", ["b"])
    assert count == 1
    with engine.connect() as conn:
        now = pd.read_sql(text("SELECT * FROM current_champions"), conn).set_index("series_id")
        run = pd.read_sql(
            text("SELECT * FROM forecast_runs WHERE run_id = :r"), conn, params={"r": run_id}
        ).iloc[0]
    assert now.loc["b", "model"] == "ensemble_mean_top3"
    assert now.loc["b", "members"] == "auto_ets,nbeats,hgb"
    assert now.loc["b", "previous_model"] == "auto_ets"
    assert now.loc["a", "model"] == "naive"  # not asked for: untouched
    assert run["flow_name"] == "rollback" and run["status"] == "completed"
    history = champion_history(engine, "default", "b")
    assert history["reason"].iloc[-1] == "rolled back by an operator"


def test_rollback_all_skips_series_without_a_different_previous_champion(engine):
    _, count = rollback_champions(engine, "default", None)
    assert count == 1


def test_rollback_of_an_unknown_series_names_it(engine):
    with pytest.raises(TidecastError, match="zzz"):
        rollback_champions(engine, "default", ["zzz"])


def test_rollback_on_a_database_without_champions_changes_nothing(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    try:
        _, count = rollback_champions(engine, "default", None)
        assert count == 0
        with pytest.raises(TidecastError, match="no champion recorded for series"):
            rollback_champions(engine, "default", ["a"])
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM forecast_runs")).scalar() == 0
            assert conn.execute(text("SELECT COUNT(*) FROM champions")).scalar() == 0
    finally:
        engine.dispose()
