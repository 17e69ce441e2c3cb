"""Forecast error measures, vectorized over long frames of (actual, forecast) pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd


def naive_scale(sorted_panel: pd.DataFrame, season_length: int) -> pd.Series:
    """Per series: the in-sample MAE of the seasonal-naive forecast, else of the one-step
    naive forecast where that is 0 or undefined. 0 for a flat history; NaN for a series
    too short for either."""
    group = sorted_panel.groupby("series_id", sort=True)["y"]
    seasonal = group.diff(season_length).abs().groupby(sorted_panel["series_id"]).mean()
    naive = group.diff(1).abs().groupby(sorted_panel["series_id"]).mean()
    series = pd.Index(group.size().index)
    scale = seasonal.reindex(series)
    return scale.where(scale > 0, naive.reindex(series)).rename("scale")


def insample_scale(sorted_panel: pd.DataFrame, season_length: int) -> pd.Series:
    """Per series: the mean absolute error of the seasonal-naive forecast in the sample.

    This is MASE's denominator (`naive_scale`). Where it is 0 or undefined (a constant or
    short series) the mean absolute value is used, then 1, so every series gets a finite,
    positive scale and MASE stays finite (an error on a flat series counts relative to
    its level).
    """
    level = sorted_panel["y"].abs().groupby(sorted_panel["series_id"]).mean()
    scale = naive_scale(sorted_panel, season_length).reindex(level.index)
    scale = scale.where(scale > 0, level)
    return scale.where(scale > 0, 1.0).rename("scale")


def interval_scale(sorted_panel: pd.DataFrame, season_length: int) -> pd.Series:
    """Per series: the scale prediction intervals are drawn with.

    `naive_scale`, so a flat history (where it is 0) gets a band of zero width around its
    forecast instead of one as wide as its level; a series too short for any naive MAE
    falls back to `insample_scale`.
    """
    naive = naive_scale(sorted_panel, season_length)
    return naive.fillna(insample_scale(sorted_panel, season_length)).rename("scale")


def score_errors(pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """MASE, sMAPE (%) and RMSE per group of `keys`.

    `pairs` holds `y`, `yhat` and `scale` (the series' in-sample scale).
    sMAPE is the M3 definition, 200 |y - yhat| / (|y| + |yhat|), with 0/0 counted as 0.
    """
    error = pairs["y"] - pairs["yhat"]
    denominator = pairs["y"].abs() + pairs["yhat"].abs()
    smape = np.where(
        denominator > 0, 200.0 * error.abs() / denominator.where(denominator > 0, 1), 0.0
    )
    frame = pd.DataFrame(
        {
            **{key: pairs[key] for key in keys},
            "ase": error.abs() / pairs["scale"],
            "smape": smape,
            "se": error**2,
        }
    )
    scored = frame.groupby(keys, sort=True).mean()
    scored["rmse"] = np.sqrt(scored.pop("se"))
    return scored.rename(columns={"ase": "mase"}).reset_index()
