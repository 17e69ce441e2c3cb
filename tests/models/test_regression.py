"""The window regressors: their training budget, their window on short histories."""

import pandas as pd
import pytest

from tests.helpers import noise_panel
from tidecast.models.registry import build_model
from tidecast.models.windows import build_windows, default_lookback


def test_gradient_boosting_trains_on_a_seeded_subset_beyond_its_cell_budget(panel, context):
    """hgb fits one model per step on every window: past `max_cells` (windows x steps x
    inputs) it keeps a seeded subset of the windows, and still forecasts every series."""
    horizon, season_length = context["horizon"], context["season_length"]
    lookback = default_lookback(season_length, horizon)
    every = len(build_windows(panel, lookback, horizon).inputs)
    assert every > 40  # the budget below is smaller than the panel's windows

    unlimited = build_model("hgb", **context).fit(panel)
    assert unlimited.n_windows_ == every

    cells = 40 * horizon * (lookback + 2)  # room for 40 windows
    runs = [build_model("hgb", **context, max_cells=cells).fit(panel) for _ in range(2)]
    assert [run.n_windows_ for run in runs] == [40, 40]
    forecasts = [run.predict(horizon) for run in runs]
    assert set(forecasts[0]["series_id"]) == set(panel["series_id"])
    assert len(forecasts[0]) == horizon * panel["series_id"].nunique()
    pd.testing.assert_frame_equal(*forecasts)  # the subset is seeded


def test_a_window_model_on_series_shorter_than_its_default_window_adapts_it(context, tmp_path):
    """48 points and h 18 per series: the default lookback (24) + 18 = 42 fits, but the
    backtest's first fold keeps 30; 24 + 18 did not fit there, 12 + 18 does."""
    context = {**context, "horizon": 18}
    panel = noise_panel(5, 30, seed=1)
    model = build_model("ridge", **context).fit(panel)
    assert model.lookback_ == 12
    out = model.predict(18)
    assert len(out) == 5 * 18 and out["yhat"].notna().all()
    model.save_weights(tmp_path / "ridge.npz")
    loaded = build_model("ridge", **context).load_weights(tmp_path / "ridge.npz", panel)
    assert loaded.lookback_ == 12
    pd.testing.assert_frame_equal(loaded.predict(18), out)


def test_a_window_model_that_truly_cannot_fit_says_why(context):
    with pytest.raises(
        ValueError, match=r"shorter than horizon \+ 1 = 19 points \(the longest has 15"
    ):
        build_model("ridge", **{**context, "horizon": 18}).fit(noise_panel(3, 15, seed=1))
    with pytest.raises(ValueError, match=r"lookback \+ horizon = 30 \(the longest has 20"):
        set_to_12 = build_model("ridge", **{**context, "horizon": 18, "lookback": 12})
        set_to_12.fit(noise_panel(3, 20, seed=1))
