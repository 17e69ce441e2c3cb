import numpy as np
import pandas as pd

from tidecast.tasks.monitor import degraded, score_against_actuals


def test_forecast_points_are_scored_once_their_actuals_exist():
    history = pd.DataFrame(
        {
            "series_id": ["a"] * 4 + ["b"] * 4,
            "ds": list(pd.date_range("2024-01-01", periods=4, freq="MS")) * 2,
            "y": [1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 12.0],
        }
    )
    unscored = pd.DataFrame(
        {
            "forecast_run_id": "r1",
            "series_id": ["a", "a", "b"],
            "ts": pd.to_datetime(["2024-03-01", "2024-05-01", "2024-04-01"]),  # May: no actual
            "step": [1, 3, 2],
            "model": "naive",
            "yhat": [2.0, 9.0, 11.0],
            "yhat_lower_80": [2.5, 0.0, 10.5],
            "yhat_upper_80": [3.5, 20.0, 11.5],
            "yhat_lower_95": [2.0, 0.0, 9.0],
            "yhat_upper_95": [4.0, 20.0, 13.0],
        }
    )
    out = score_against_actuals(unscored, history, season_length=1).set_index("series_id")
    assert sorted(out.index) == ["a", "b"]  # May of a waits for its actual
    assert out.loc["a", "abs_error"] == 1.0 and out.loc["b", "abs_error"] == 1.0
    # scale = in-sample naive MAE: a 1.0, b 2/3
    np.testing.assert_allclose(out.loc[["a", "b"], "scaled_error"], [1.0, 1.5])
    assert out.loc["a", "inside_80"] == 1 and out.loc["b", "inside_80"] == 0
    assert out.loc["b", "inside_95"] == 1
    assert out.loc["a", "week_start"] == pd.Timestamp("2024-02-26")  # the Monday before
    assert out["week_start"].dt.weekday.eq(0).all()


def test_degraded_series_need_enough_points_and_the_factor():
    live = pd.DataFrame(
        {
            "series_id": ["ok", "bad", "few"],
            "model": "m",
            "live_mase": [1.4, 1.6, 9.0],
            "points": [5, 5, 2],
            "backtest_mase": [1.0, 1.0, 1.0],
        }
    )
    assert degraded(live, factor=1.5, min_points=3)["series_id"].tolist() == ["bad"]


def test_each_jobs_retrain_trigger_matches_its_own_degradation_events_only():
    """The resource a degradation event carries, matched as Prefect matches a trigger: by
    `tidecast serve`'s trigger for a job, and by prefect.yaml's for job `default`."""
    from pathlib import Path

    import yaml
    from prefect.events.schemas.events import Resource, ResourceSpecification

    from tidecast.flows.serve import retrain_on_degradation
    from tidecast.tasks.monitor import degradation_resource

    daily_event = Resource(degradation_resource("run-1", "daily"))
    weekly_event = Resource(degradation_resource("run-2", "weekly"))
    served = retrain_on_degradation("daily").match
    assert served.matches(daily_event) and not served.matches(weekly_event)

    prefect_yaml = Path(__file__).resolve().parents[2] / "prefect.yaml"
    deployments = yaml.safe_load(prefect_yaml.read_text())["deployments"]
    [declared] = [trigger for d in deployments for trigger in d.get("triggers", [])]
    yaml_match = ResourceSpecification(declared["match"])
    assert yaml_match.matches(Resource(degradation_resource("run-3", "default")))
    assert not yaml_match.matches(daily_event)
