"""Running a model: what the backtest and the final fit share."""

import pandas as pd

from tidecast.models.registry import build_model
from tidecast.tasks.modelrun import clipped_at_zero, fit_forecast, never_negative_series


def _falling(series_id: str, start: float, stop: float, n: int = 24) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": series_id,
            "ds": pd.date_range("2020-01-01", periods=n, freq="MS"),
            "y": pd.Series(range(n), dtype=float) * (stop - start) / (n - 1) + start,
        }
    )


def test_a_never_negative_history_never_gets_a_negative_forecast_and_others_keep_theirs():
    history = pd.concat([_falling("sales", 46.0, 0.0), _falling("temperature", 5.0, -18.0)])
    assert list(never_negative_series(history)) == ["sales"]
    _, forecasts = fit_forecast(build_model("drift", freq="MS"), history, 6)
    sales = forecasts[forecasts["series_id"] == "sales"]["yhat"]
    temperature = forecasts[forecasts["series_id"] == "temperature"]["yhat"]
    assert (sales == 0).all()  # drift went on down: 0, not below
    assert (temperature < -18).all()  # a series that is not demand keeps its sign


def test_clipping_leaves_a_frame_without_negatives_as_it_is():
    history = _falling("sales", 10.0, 20.0)
    forecasts = pd.DataFrame({"series_id": ["sales"], "ds": [pd.Timestamp("2022-01-01")],
                              "yhat": [21.0]})  # fmt: skip
    assert clipped_at_zero(forecasts, history) is forecasts
