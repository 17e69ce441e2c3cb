"""The whole default zoo through the real retrain flow, small and seeded."""

import pandas as pd
from sqlalchemy import text

from flows.retrain import retrain
from tidecast.db import make_engine
from tidecast.settings import DEFAULT_MODELS


def test_every_default_model_is_backtested_and_can_win(loaded_db, run_env, observations):
    run_env(loaded_db, models=",".join(DEFAULT_MODELS), train_max_steps="40")
    run_id = retrain(horizon=6, freq="MS")
    engine = make_engine(loaded_db)
    with engine.connect() as conn:
        scores = pd.read_sql(
            text("SELECT * FROM backtest_scores WHERE run_id = :r"), conn, params={"r": run_id}
        )
        run = pd.read_sql(text("SELECT * FROM forecast_runs"), conn).iloc[-1]
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn)
    engine.dispose()
    ensembles = {"ensemble_mean_top3", "ensemble_median_top3", "ensemble_stats"}
    assert set(scores["model"]) == set(DEFAULT_MODELS) | ensembles
    assert scores["coverage_80"].between(0, 1).all()
    assert run["status"] == "completed"
    seconds = run["model_seconds"]
    seconds = seconds if isinstance(seconds, dict) else __import__("json").loads(seconds)
    assert set(seconds) == set(DEFAULT_MODELS) and all(v >= 0 for v in seconds.values())
    assert len(latest) == 6 * observations.series_id.nunique()
    assert latest["model"].isin([*DEFAULT_MODELS, *ensembles]).all()
