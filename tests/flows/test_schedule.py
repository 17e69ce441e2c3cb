"""The schedule's feedback loop through real runs (the flows' work in this process:
tests/in_process.py): a degraded series triggers one retrain, and the forecasts made
before that retrain do not trigger another. The trigger itself and the schedules are
Prefect's: tests/tidecast/test_serve.py and tests/tasks/test_monitor.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import load_observations, query, synthetic_panel
from tests.in_process import forecast_flow, retrain
from tidecast.db import make_engine, replace_observations

H = 6


def degraded_in(url: str, run_id: str) -> set[str]:
    rows = query(url, "SELECT series_id FROM degraded_series WHERE run_id = :r", r=run_id)
    return set(rows["series_id"])


@pytest.mark.slow  # three flow runs; the fast lane has the forecast flow's own tests
def test_a_retrain_that_keeps_the_champion_ends_the_degradation(db_url, pipeline_env):
    # one model, so the champion of the degraded series survives the retrain it triggers
    pipeline_env(db_url, models="seasonal_naive")
    arrived = synthetic_panel(lengths=(60,))
    cutoff = sorted(arrived["ts"].unique())[-4]  # three months arrive after the retrain
    history = arrived[arrived["ts"] <= cutoff]
    shifted = (arrived["series_id"] == "S00") & (arrived["ts"] > cutoff)
    arrived.loc[shifted, "value"] *= 3  # S00 jumps after the retrain's cutoff

    load_observations(db_url, history)
    engine = make_engine(db_url)
    retrain(horizon=H, freq="MS")
    replace_observations(engine, arrived)
    flagged = forecast_flow()
    assert "S00" in degraded_in(db_url, flagged)

    retrain(horizon=H, freq="MS")  # what the degradation trigger runs
    after = forecast_flow()  # no new actuals since: nothing new to judge S00 by
    engine.dispose()
    assert degraded_in(db_url, after) == set()


def steady_daily_panel(n_series: int = 6, days: int = 134) -> pd.DataFrame:
    """Noise-free daily series (a slow wave on a trend): no series degrades by chance."""
    t = np.arange(days)
    frames = [
        pd.DataFrame(
            {
                "series_id": f"D{i:02d}",
                "ts": pd.date_range("2024-01-01", periods=days, freq="D"),
                "value": 100 + 10 * i + 0.1 * t + 5 * np.sin(2 * np.pi * t / 17.3 + i),
            }
        )
        for i in range(n_series)
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow  # fourteen forecast runs and the retrains they cause
def test_two_weeks_of_daily_forecasts_and_weekly_retrains_trigger_one_retrain(db_url, pipeline_env):
    """Day by day: the day's actuals arrive, the forecast run scores and flags; a flag runs
    a retrain (the deployment trigger, at most once a day), and so does the weekly
    schedule. D00 doubles from day 3 on: exactly one triggered retrain must follow."""
    pipeline_env(db_url, models="naive")
    everything = steady_daily_panel()
    start = everything["ts"].min() + pd.Timedelta(days=119)
    shifted = (everything["series_id"] == "D00") & (
        everything["ts"] >= start + pd.Timedelta(3, "D")
    )
    everything.loc[shifted, "value"] *= 2
    load_observations(db_url, everything[everything["ts"] <= start])
    engine = make_engine(db_url)
    retrain(horizon=7, freq="D")

    triggered, flagged_days = [], {}
    for day in range(1, 15):
        replace_observations(engine, everything[everything["ts"] <= start + pd.Timedelta(day, "D")])
        flagged = degraded_in(db_url, forecast_flow())
        flagged_days.update({sid: [*flagged_days.get(sid, []), day] for sid in flagged})
        if flagged:
            retrain(horizon=7, freq="D")  # what the trigger runs
            triggered.append(day)
        if day % 7 == 0:
            retrain(horizon=7, freq="D")  # the weekly schedule
    engine.dispose()
    assert set(flagged_days) == {"D00"}
    assert len(triggered) == 1 and triggered[0] >= 3, (triggered, flagged_days)
