"""The schedule's feedback loop through the real flows: a degraded series triggers one
retrain, and the forecasts made before that retrain do not trigger another."""

from __future__ import annotations

from tests.conftest import load_observations, synthetic_panel
from tests.flows.test_retrain import query
from tidecast.db import make_engine, replace_observations
from tidecast.flows.forecast import forecast_flow
from tidecast.flows.retrain import retrain

H = 6


def degraded_in(url: str, run_id: str) -> set[str]:
    rows = query(url, "SELECT series_id FROM degraded_series WHERE run_id = :r", r=run_id)
    return set(rows["series_id"])


def test_a_retrain_that_keeps_the_champion_ends_the_degradation(db_url, run_env):
    # one model, so the champion of the degraded series survives the retrain it triggers
    run_env(db_url, models="seasonal_naive")
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
