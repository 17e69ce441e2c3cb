import pandas as pd
import pytest

from bench.accuracy import summarise


def test_overall_scores_are_given_point_weighted_and_series_weighted_beside_tidecast():
    rows = pd.DataFrame(
        {
            "subset": ["yearly", "yearly", "monthly", "monthly"],
            "series": [10, 10, 30, 30],
            # 6 and 18 steps: monthly weighs 9 times yearly by points, 3 times by series
            "points": [60, 60, 540, 540],
            "forecaster": ["tidecast latest_forecasts", "peer"] * 2,
            "smape": [10.0, 12.0, 20.0, 18.0],
            "mase": [1.0, 2.0, 3.0, 2.0],
        }
    )
    table = summarise(rows).set_index(["subset", "forecaster"])
    ours = ("overall (series)", "tidecast latest_forecasts")
    assert table.loc[ours, "smape"] == pytest.approx(17.5)
    ours_points = ("overall (points)", "tidecast latest_forecasts")
    assert table.loc[ours_points, "smape"] == pytest.approx(19.0)
    assert table.loc[("overall (series)", "peer"), "mase"] == pytest.approx(2.0)
    assert table.loc[("yearly", "peer"), "smape_vs_tidecast"] == pytest.approx(1.2)
    # the published M3 overall is point-weighted: it sits beside that row only
    assert table.loc[("overall (points)", "peer"), "published_theta_smape"] == 13.01
    assert pd.isna(table.loc[("overall (series)", "peer"), "published_theta_smape"])
