import pandas as pd
import pytest

from bench.accuracy import summarise


def test_overall_scores_are_weighted_by_series_count_and_compared_with_tidecast():
    rows = pd.DataFrame(
        {
            "subset": ["yearly", "yearly", "monthly", "monthly"],
            "series": [10, 10, 30, 30],
            "forecaster": ["tidecast latest_forecasts", "peer"] * 2,
            "smape": [10.0, 12.0, 20.0, 18.0],
            "mase": [1.0, 2.0, 3.0, 2.0],
        }
    )
    table = summarise(rows).set_index(["subset", "forecaster"])
    assert table.loc[("overall", "tidecast latest_forecasts"), "smape"] == pytest.approx(17.5)
    assert table.loc[("overall", "peer"), "mase"] == pytest.approx(2.0)
    assert table.loc[("yearly", "peer"), "smape_vs_tidecast"] == pytest.approx(1.2)
    assert table.loc[("overall", "peer"), "published_theta_smape"] == 13.01
