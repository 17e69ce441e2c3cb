import numpy as np
import pandas as pd

from tidecast.settings import load_settings
from tidecast.tasks.context import RunContext
from tidecast.tasks.short_history import (
    DEFAULT_RELATIVE_SCALE,
    forecast_short_series,
    relative_scale,
    short_bands,
)


def _ctx(**overrides) -> RunContext:
    settings = load_settings(database_url="sqlite://", horizon=6, **overrides)
    return RunContext(settings, "run-1", 12, "MS")


def _short() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": ["few"] * 5 + ["one"],
            "ds": [*pd.date_range("2021-01-01", periods=5, freq="MS"), pd.Timestamp("2021-05-01")],
            "y": [10.0, 12.0, 9.0, 13.0, 11.0, 50.0],
        }
    )


def test_bands_hold_the_forecast_and_widen_with_the_step():
    lo80, hi80, lo95, hi95 = short_bands(np.full(4, 11.0), np.array([10.0, 12.0, 9.0, 13.0]), 0.1)
    assert (lo95 < lo80).all() and (lo80 < 11.0).all() and (hi80 > 11.0).all()
    assert (hi95 > hi80).all() and (np.diff(hi95 - lo95) > 0).all()


def test_a_single_point_borrows_the_pooled_relative_scale():
    narrow = short_bands(np.full(2, 50.0), np.array([50.0]), 0.01)
    wide = short_bands(np.full(2, 50.0), np.array([50.0]), 0.2)
    assert (wide[1] - wide[0] > narrow[1] - narrow[0]).all() and (narrow[1] > 50.0).all()
    flat = short_bands(np.full(2, 5.0), np.array([5.0, 5.0, 5.0, 5.0, 5.0]), 0.1)
    assert (flat[1] > 5.0).all()  # a constant history is no proof of no spread


def test_relative_scale_is_the_median_ratio_and_has_a_default():
    histories = [np.array([10.0, 11.0, 10.0]), np.array([100.0, 120.0]), np.array([3.0])]
    assert np.isclose(relative_scale(histories), np.median([1 / (31 / 3), 20 / 110]))
    assert relative_scale([np.array([3.0])]) == DEFAULT_RELATIVE_SCALE


def test_short_series_get_marked_champions_and_rows_for_every_step():
    previous = pd.DataFrame({"series_id": ["few"], "model": ["naive"]})
    done = forecast_short_series(_ctx(), _short(), _short().iloc[:0], previous)
    assert done.rows.groupby("series_id")["step"].apply(list).to_dict() == {
        "few": [1, 2, 3, 4, 5, 6], "one": [1, 2, 3, 4, 5, 6]
    }  # fmt: skip
    assert (done.rows["model"] == "short_history").all()
    champions = done.champions.set_index("series_id")
    assert champions.loc["few", "previous_model"] == "naive"
    assert pd.isna(champions.loc["one", "previous_model"])
    assert champions.loc["one", "reason"].startswith("short history: 1 point, fewer than the 19")
    assert champions["score"].isna().all()


def test_a_non_negative_target_gets_no_negative_bound():
    short = _short().assign(y=[1.0, 0.0, 3.0, 0.0, 1.0, 0.5])
    done = forecast_short_series(_ctx(nonnegative=True), short, short.iloc[:0])
    assert (done.rows[["yhat", "yhat_lower_80", "yhat_lower_95"]] >= 0).all().all()


def test_no_short_series_gives_nothing():
    done = forecast_short_series(_ctx(), _short().iloc[:0], _short())
    assert done.rows.empty and done.champions.empty
