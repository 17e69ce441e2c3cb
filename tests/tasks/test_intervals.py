import numpy as np
import pandas as pd

from tasks.intervals import add_intervals, error_quantiles, interval_coverage


def fold_forecasts(errors_by_fold):
    rows = []
    for fold, errors in errors_by_fold.items():
        for i, e in enumerate(errors):
            rows.append(
                {
                    "series_id": f"s{i}",
                    "model": "m",
                    "fold": fold,
                    "ds": None,
                    "step": 1,
                    "y": 10.0 + e,
                    "yhat": 10.0,
                    "scale": 1.0,
                }
            )
    return pd.DataFrame(rows)


def test_quantiles_are_of_scaled_errors_per_model_and_step():
    frame = fold_forecasts({0: np.linspace(-1, 1, 101)})
    frame.loc[:, "scale"] = 2.0  # errors of +-1 on a scale of 2 are +-0.5 scaled
    q = error_quantiles(frame).iloc[0]
    assert q["yhat_lower_95"] < q["yhat_lower_80"] < 0 < q["yhat_upper_80"] < q["yhat_upper_95"]
    assert np.isclose(q["yhat_upper_80"], 0.4, atol=0.01)


def test_intervals_scale_with_each_series():
    q = pd.DataFrame(
        {
            "model": ["m"],
            "step": [1],
            "yhat_lower_95": [-2.0],
            "yhat_lower_80": [-1.0],
            "yhat_upper_80": [1.0],
            "yhat_upper_95": [2.0],
        }
    )
    forecast = pd.DataFrame(
        {"series_id": ["a", "b"], "model": "m", "step": 1, "yhat": [10.0, 10.0]}
    )
    out = add_intervals(forecast, q, pd.Series({"a": 1.0, "b": 3.0}))
    assert out["yhat_upper_80"].tolist() == [11.0, 13.0]
    assert out["yhat_lower_95"].tolist() == [8.0, 4.0]


def test_coverage_of_a_fold_is_judged_on_the_other_folds_only():
    # folds 0 and 1 have small errors, fold 2 large ones: fold 2's actuals fall outside
    small = np.linspace(-1, 1, 50)
    frame = fold_forecasts({0: small, 1: small, 2: small * 10})
    coverage = interval_coverage(frame).groupby("fold")["coverage_95"].mean()
    assert coverage[2] < 0.2
    assert coverage[0] > 0.8


def test_a_single_fold_reports_no_coverage():
    assert interval_coverage(fold_forecasts({0: [0.1, -0.1]})).empty
