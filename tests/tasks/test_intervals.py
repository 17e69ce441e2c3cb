import numpy as np
import pandas as pd

from tidecast.tasks.intervals import (
    add_intervals,
    build_calibration,
    error_quantiles,
    interval_coverage,
    outlying_series,
    pooled_rows,
)


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


def panel_of_errors(n_series=40, outlying=(), seed=0):
    """Backtest errors of one model: 3 folds x 4 steps per series, scale 2."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        for fold in range(3):
            for step in range(1, 5):
                error = rng.normal(0, 2.0) * (100 if i in outlying else 1)
                rows.append(
                    {"series_id": f"s{i}", "model": "m", "fold": fold, "ds": None,
                     "step": step, "y": 50.0 + error, "yhat": 50.0, "scale": 2.0}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_few_outlying_series_do_not_widen_the_pooled_quantiles():
    clean = error_quantiles(panel_of_errors()).set_index("step")
    odd = error_quantiles(panel_of_errors(outlying=(3, 17, 29))).set_index("step")
    # errors are N(0, 1) once scaled: the 97.5% quantile is near 2 either way
    ratio = odd["yhat_upper_95"] / clean["yhat_upper_95"]
    assert ratio.between(0.67, 1.5).all(), ratio


def test_outlying_series_get_bands_from_their_own_errors():
    assert not outlying_series(panel_of_errors()).any()  # none when all are alike
    frame = panel_of_errors(outlying=(3, 17, 29))
    assert outlying_series(frame).loc["m"].pipe(lambda s: sorted(s[s].index)) == [
        "s17", "s29", "s3",
    ]  # fmt: skip
    calibration = build_calibration(frame)
    assert sorted(calibration["series_id"].dropna()) == ["s17", "s29", "s3"]
    assert len(pooled_rows(calibration)) == 4  # what interval_calibration stores
    forecast = pd.DataFrame(
        {"series_id": ["s0", "s3"], "model": "m", "step": 1, "yhat": [50.0, 50.0]}
    )
    out = add_intervals(forecast, calibration, pd.Series({"s0": 2.0, "s3": 2.0}))
    width = (out["yhat_upper_95"] - out["yhat_lower_95"]).tolist()
    assert width[0] < 20 and width[1] > 300  # own errors: sd 200


def test_bounds_hold_the_forecast_when_every_error_has_one_sign():
    frame = fold_forecasts({0: np.linspace(1, 3, 50)})  # the model always under-forecast
    q = error_quantiles(frame)
    assert (q["yhat_lower_95"] <= 0).all() and (q["yhat_upper_95"] > 0).all()
    biased = pd.DataFrame(
        {
            "model": ["m"],
            "step": [1],
            "yhat_lower_95": [1.0],
            "yhat_lower_80": [1.2],
            "yhat_upper_80": [2.0],
            "yhat_upper_95": [3.0],
        }
    )  # fmt: skip  (a calibration stored before the fix)
    forecast = pd.DataFrame({"series_id": ["a"], "model": "m", "step": 1, "yhat": [364.0]})
    row = add_intervals(forecast, biased, pd.Series({"a": 10.0})).iloc[0]
    bounds = ["yhat_lower_95", "yhat_lower_80", "yhat", "yhat_upper_80", "yhat_upper_95"]
    assert row[bounds].is_monotonic_increasing
    assert row["yhat_lower_80"] == 364.0 and row["yhat_upper_95"] == 394.0


def test_coverage_judges_each_fold_by_error_quantiles_of_the_others():
    # the definition, on frames: each fold's errors against `error_quantiles` of the
    # other folds (outlying series left out); the backtest computes it on arrays
    rng = np.random.default_rng(7)
    n_series, folds, steps = 60, 3, 4
    frame = pd.DataFrame(
        [
            {"series_id": f"s{s}", "model": model, "fold": f, "ds": None, "step": h + 1}
            for model in ("a", "b")
            for s in range(n_series)
            for f in range(folds)
            for h in range(steps)
        ]
    )
    frame["y"] = rng.normal(50, 5, len(frame))
    odd = frame["series_id"].isin(["s3", "s4"]).to_numpy()  # far off the others' scale
    frame["yhat"] = frame["y"] + rng.normal(0, 1, len(frame)) * np.where(odd, 40.0, 1.0)
    frame.loc[rng.random(len(frame)) < 0.02, "yhat"] = np.nan
    frame["scale"] = rng.uniform(0.5, 2.0, len(frame)).round(1)
    expected = []
    for fold in range(folds):
        mine = frame[frame["fold"] == fold]
        judged = mine.merge(error_quantiles(frame[frame["fold"] != fold]), on=["model", "step"])
        error = (judged["y"] - judged["yhat"]) / judged["scale"]
        judged = judged.assign(
            coverage_80=(error >= judged["yhat_lower_80"]) & (error <= judged["yhat_upper_80"]),
            coverage_95=(error >= judged["yhat_lower_95"]) & (error <= judged["yhat_upper_95"]),
        )
        keys = ["series_id", "model", "fold"]
        expected.append(judged.groupby(keys)[["coverage_80", "coverage_95"]].mean())
    keys = ["series_id", "model", "fold"]
    got = interval_coverage(frame).set_index(keys).sort_index()
    want = pd.concat(expected).sort_index()
    assert got.index.equals(want.index)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    assert got.loc[("s3", "a", 0), "coverage_95"] < 1.0  # odd series kept out of the pool
