"""Every registered model (every family) through a real retrain (in this process:
tests/in_process.py), small and seeded."""

import pandas as pd
import pytest
from sqlalchemy import text

from tests.helpers import ON_SQLITE_ONLY
from tests.in_process import retrain
from tidecast.db import make_engine
from tidecast.models.registry import INFO

pytestmark = pytest.mark.slow  # the whole model zoo, torch included

ZOO = list(INFO)  # the presets' models and those there by name only


# The zoo's subject is the models: SQLite alone (every flow and write runs on both
# databases elsewhere).
@ON_SQLITE_ONLY
def test_every_registered_model_is_backtested_and_can_win(loaded_db, pipeline_env, observations):
    pipeline_env(loaded_db, models=",".join(ZOO), train_max_steps="40")
    run_id = retrain(horizon=6, freq="MS")
    engine = make_engine(loaded_db)
    with engine.connect() as conn:
        scores = pd.read_sql(
            text("SELECT * FROM backtest_scores WHERE run_id = :r"), conn, params={"r": run_id}
        )
        run = pd.read_sql(text("SELECT * FROM forecast_runs"), conn).iloc[-1]
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn)
    engine.dispose()
    ensembles = {"ensemble_mean_top3", "ensemble_median_top3", "ensemble_stats", "ensemble_wide"}
    assert set(scores["model"]) == set(ZOO) | ensembles
    assert scores["coverage_80"].between(0, 1).all()
    assert run["status"] == "completed"
    seconds = run["model_seconds"]
    seconds = seconds if isinstance(seconds, dict) else __import__("json").loads(seconds)
    assert set(seconds) == set(ZOO) and all(v >= 0 for v in seconds.values())
    assert len(latest) == 6 * observations.series_id.nunique()
    assert latest["model"].isin([*ZOO, *ensembles]).all()
