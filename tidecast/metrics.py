"""Forecast error measures, vectorized over long frames of (actual, forecast) pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd


def insample_scale(sorted_panel: pd.DataFrame, season_length: int) -> pd.Series:
    """Per series: the mean absolute error of the seasonal-naive forecast in the sample.

    This is MASE's denominator. Where it is 0 or undefined (a constant or short
    series) the naive one-step MAE is used, then the mean absolute value, then 1,
    so every series gets a finite, positive scale.
    """
    group = sorted_panel.groupby("series_id", sort=True)["y"]
    seasonal = group.diff(season_length).abs().groupby(sorted_panel["series_id"]).mean()
    naive = group.diff(1).abs().groupby(sorted_panel["series_id"]).mean()
    level = sorted_panel["y"].abs().groupby(sorted_panel["series_id"]).mean()
    scale = seasonal.reindex(level.index)
    for fallback in (naive.reindex(level.index), level):
        scale = scale.where(scale > 0, fallback)
    return scale.where(scale > 0, 1.0).rename("scale")


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
