"""Ensembles built from the backtest: no extra fits, scored on the same folds as their members.

* `ensemble_mean_top{k}` / `ensemble_median_top{k}` — per series, the mean / median of
  the k models with the lowest mean backtest MASE on that series;
* `ensemble_stats` — the equal-weight mean of the run's members of the fixed statistical
  combination (the registry's `combination` flag: ETS, Theta, dynamic Theta, ARIMA).
  Equal weights, not weights learned per series: with a few short folds, learned
  weights did worse on the training data's validation folds (BENCHMARKS.md, section 1).

An ensemble's fold forecasts combine its members' fold forecasts, so its scores and
interval calibration come from the same folds, and `members` says, per series, which
models each ensemble needs when the final forecasts are made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_KEYS = ["series_id", "fold", "ds", "step"]


def ensemble_names(top_k: int) -> list[str]:
    return [f"ensemble_mean_top{top_k}", f"ensemble_median_top{top_k}", "ensemble_stats"]


def ensemble_members(
    scores: pd.DataFrame, model_names: list[str], top_k: int, metric: str = "mase"
) -> pd.DataFrame:
    """`series_id`, `ensemble`, `model`: who is in each ensemble for each series."""
    mean = scores.groupby(["series_id", "model"], sort=False)[metric].mean().reset_index()
    mean = mean.rename(columns={metric: "mase"}) if metric != "mase" else mean
    order = {name: i for i, name in enumerate(model_names)}
    mean = mean.assign(order=mean["model"].map(order)).sort_values(
        ["series_id", "mase", "order"], kind="stable"
    )
    top = mean[mean["mase"].notna()].groupby("series_id", sort=False).head(top_k)
    parts = [
        top[["series_id", "model"]].assign(ensemble=f"ensemble_mean_top{top_k}"),
        top[["series_id", "model"]].assign(ensemble=f"ensemble_median_top{top_k}"),
    ]
    # imported here: `describe_members` serves `tidecast champions`, which needs no models
    from tidecast.models.registry import combination_members

    stats = combination_members(model_names)
    if len(stats) >= 2:
        series = mean["series_id"].unique()
        parts.append(
            pd.DataFrame(
                {
                    "series_id": np.repeat(series, len(stats)),
                    "model": np.tile(stats, len(series)),
                    "ensemble": "ensemble_stats",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[["series_id", "ensemble", "model"]]


def statistic_of(ensemble: str) -> str:
    """How an ensemble combines its members' forecasts: `median` or (equal-weight) `mean`."""
    return "median" if "median" in ensemble else "mean"


def describe_members(ensemble: str, members: str) -> str:
    """An ensemble's combination as people read it: 'equal-weight mean of a, b, c'."""
    statistic = "equal-weight mean" if statistic_of(ensemble) == "mean" else "median"
    return f"{statistic} of {members.replace(',', ', ')}"


def combine(forecasts: pd.DataFrame, members: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ensemble and `keys`, the mean (or median, for `*median*`) of the members' `yhat`.

    `forecasts` holds one `yhat` per member `model` and key; members missing for a key
    (a model that failed there) are left out of that key's combination.
    """
    joined = members.merge(forecasts, on=["series_id", "model"], how="inner")
    how = joined["ensemble"].map({e: statistic_of(e) for e in joined["ensemble"].unique()})
    parts = []
    for statistic in ("mean", "median"):
        chosen = joined[how == statistic]
        if chosen.empty:
            continue
        grouped = chosen.groupby(["ensemble", *keys], sort=False)["yhat"].agg(statistic)
        parts.append(grouped.reset_index().rename(columns={"ensemble": "model"}))
    if not parts:
        return pd.DataFrame(columns=["model", *keys, "yhat"])
    return pd.concat(parts, ignore_index=True)


def ensemble_fold_forecasts(fold_forecasts: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Fold forecasts of every ensemble, in the layout of the members' fold forecasts."""
    combined = combine(fold_forecasts[["series_id", "model", *_KEYS[1:], "yhat"]], members, _KEYS)
    actuals = fold_forecasts.drop_duplicates(_KEYS)[[*_KEYS, "y", "scale"]]
    return combined.merge(actuals, on=_KEYS, how="inner")
