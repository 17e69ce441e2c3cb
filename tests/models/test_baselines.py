import numpy as np
import pandas as pd

from tidecast.models.base import clone
from tidecast.models.baselines import Naive, SeasonalNaive


def test_naive_repeats_the_last_value_on_the_next_timestamps(panel):
    out = Naive(freq="MS").fit(panel).predict(3)
    last = panel.sort_values("ds").groupby("series_id").last()
    first = out.groupby("series_id").first()
    np.testing.assert_allclose(first["yhat"], last["y"])
    assert (first["ds"] == last["ds"] + pd.DateOffset(months=1)).all()
    assert len(out) == 3 * panel["series_id"].nunique()


def test_seasonal_naive_repeats_the_last_season(panel):
    h = 15
    out = SeasonalNaive(season_length=12, freq="MS").fit(panel).predict(h)
    for sid, group in panel.groupby("series_id"):
        last_season = group.sort_values("ds")["y"].to_numpy()[-12:]
        expected = np.resize(last_season, h)  # step 13 is step 1 again
        np.testing.assert_allclose(out.loc[out.series_id == sid, "yhat"], expected)


def test_seasonal_naive_on_a_series_shorter_than_a_season_uses_what_there_is():
    short = pd.DataFrame(
        {
            "series_id": "x",
            "ds": pd.date_range("2020-01-01", periods=3, freq="MS"),
            "y": [1.0, 2.0, 3.0],
        }
    )
    out = SeasonalNaive(season_length=12, freq="MS").fit(short).predict(12)
    assert np.isfinite(out["yhat"]).all()
    np.testing.assert_allclose(out["yhat"].to_numpy()[-3:], [1.0, 2.0, 3.0])


def test_clone_is_unfitted_with_the_same_parameters(panel):
    fitted = SeasonalNaive(season_length=4, freq="MS").fit(panel)
    copy = clone(fitted)
    assert copy.season_length == 4 and copy.freq == "MS"
    assert not hasattr(copy, "season_")
