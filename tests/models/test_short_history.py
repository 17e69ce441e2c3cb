import numpy as np
import pandas as pd
import pytest

from tidecast.models.short_history import ShortHistory, ses_fit, short_path, theta_path


def _panel(values: dict[str, list[float]]) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {"series_id": sid, "ds": pd.date_range("2020-01-01", periods=len(v), freq="MS"), "y": v}
        )
        for sid, v in values.items()
    ]
    return pd.concat(frames, ignore_index=True)


def test_one_point_is_forecast_by_its_value_whatever_the_method():
    for method in ("naive", "mean", "ses", "theta", "combined"):
        assert np.array_equal(short_path(np.array([4.0]), 3, method), [4.0, 4.0, 4.0])


def test_ses_follows_a_level_shift_and_theta_half_a_straight_line():
    level, alpha = ses_fit(np.array([1.0, 1.0, 1.0, 9.0, 9.0, 9.0]))
    assert alpha == 1.0 and level == 9.0
    line = np.arange(10, dtype=float)
    # SES follows a line exactly (alpha 1: the last value); Theta adds half its slope a step
    assert np.allclose(theta_path(line, 3), [9.5, 10.0, 10.5])


def test_combined_takes_theta_in_only_once_the_history_is_a_horizon_long():
    y = np.array([10.0, 14.0, 11.0, 15.0])
    naive, ses, theta = (short_path(y, 4, m) for m in ("naive", "ses", "theta"))
    assert np.allclose(short_path(y, 4, "combined"), (naive + ses + theta) / 3)
    longer = [short_path(y, 6, m) for m in ("naive", "ses")]
    assert np.allclose(short_path(y, 6, "combined"), sum(longer) / 2)  # 4 points, 6 steps


def test_the_model_forecasts_every_series_after_its_own_end():
    model = ShortHistory("MS").fit(_panel({"b": [1.0, 2.0, 3.0], "a": [5.0]}))
    out = model.predict(2)
    assert list(out.columns) == ["series_id", "ds", "yhat"]
    assert out["series_id"].tolist() == ["a", "a", "b", "b"]
    assert out["ds"].tolist() == [*pd.to_datetime(["2020-02-01", "2020-03-01"]),
                                  *pd.to_datetime(["2020-04-01", "2020-05-01"])]  # fmt: skip
    assert model.length_.to_dict() == {"a": 1, "b": 3}
    assert np.isnan(model.scale_["a"]) and model.scale_["b"] == 1.0


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown short-history method"):
        ShortHistory("MS", method="median").fit(_panel({"a": [1.0]}))
