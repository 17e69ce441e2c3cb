"""The window regressors' training budget."""

import pandas as pd

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
