"""Prediction intervals from backtest errors, and how often they held in the backtest.

Errors are divided by each series' MASE scale and pooled per model and step, so every
step has enough samples even when each series has only a few folds; scaling a quantile
back by the series' own scale makes the band as wide as that series is noisy.
"""

from __future__ import annotations

import pandas as pd

# interval column -> quantile of the scaled errors
QUANTILES = {
    "yhat_lower_95": 0.025,
    "yhat_lower_80": 0.10,
    "yhat_upper_80": 0.90,
    "yhat_upper_95": 0.975,
}


def scaled_errors(fold_forecasts: pd.DataFrame) -> pd.Series:
    return (fold_forecasts["y"] - fold_forecasts["yhat"]) / fold_forecasts["scale"]


def error_quantiles(fold_forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per model and step, the quantiles of backtest errors divided by the series' scale."""
    if fold_forecasts.empty:
        return pd.DataFrame(columns=["model", "step", *QUANTILES])
    errors = scaled_errors(fold_forecasts)
    group = errors.groupby([fold_forecasts["model"], fold_forecasts["step"]])
    table = pd.DataFrame({column: group.quantile(q) for column, q in QUANTILES.items()})
    return table.reset_index()


def add_intervals(
    forecast: pd.DataFrame, quantiles: pd.DataFrame, scale: pd.Series
) -> pd.DataFrame:
    """`forecast` (series_id, model, step, yhat) with the four interval columns added."""
    out = forecast.merge(quantiles, on=["model", "step"], how="left")
    out = out.join(scale.rename("scale"), on="series_id")
    for column in QUANTILES:
        out[column] = out["yhat"] + out[column] * out["scale"]
    return out.drop(columns="scale")


def interval_coverage(fold_forecasts: pd.DataFrame) -> pd.DataFrame:
    """Share of actuals inside the 80% and 95% intervals, per series, model and fold.

    Each fold is judged by intervals calibrated on the *other* folds only, so the
    coverage is measured on errors the calibration did not see. With a single fold
    there is nothing to calibrate on and no coverage is reported.
    """
    keys = ["series_id", "model", "fold"]
    parts = []
    for fold in fold_forecasts["fold"].unique():
        others = fold_forecasts[fold_forecasts["fold"] != fold]
        if others.empty:
            continue
        mine = fold_forecasts[fold_forecasts["fold"] == fold]
        judged = mine.merge(error_quantiles(others), on=["model", "step"], how="left")
        error = scaled_errors(judged)
        judged = judged.assign(
            coverage_80=((error >= judged["yhat_lower_80"]) & (error <= judged["yhat_upper_80"])),
            coverage_95=((error >= judged["yhat_lower_95"]) & (error <= judged["yhat_upper_95"])),
        )
        parts.append(judged.groupby(keys)[["coverage_80", "coverage_95"]].mean().reset_index())
    if not parts:
        return pd.DataFrame(columns=[*keys, "coverage_80", "coverage_95"])
    return pd.concat(parts, ignore_index=True)
