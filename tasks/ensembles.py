"""Ensembles built from the backtest: no extra fits, scored on the same folds as their members.

* `ensemble_mean_top{k}` / `ensemble_median_top{k}` — per series, the mean / median of
  the k models with the lowest mean backtest MASE on that series;
* `ensemble_stats` — the equal-weight mean of the run's members of the fixed statistical
  combination (the registry's `combinations`: ETS, Theta, dynamic Theta, ARIMA, the
  N-BEATS ensemble); `ensemble_wide` — the same and a global gradient-boosting model on
  lag windows (`hgb`), when the run has it. Equal weights, not weights learned per
  series: with a few short folds, learned weights did worse on the training data's
  validation folds (BENCHMARKS.md, "Accuracy on M3").

An ensemble's fold forecasts combine its members' fold forecasts, so its scores and
interval calibration come from the same folds, and `members` says, per series, which
models each ensemble needs when the final forecasts are made.
"""

from __future__ import annotations

import re
from enum import Enum

import numpy as np
import pandas as pd

from tidecast.models.registry import COMBINATIONS, combination_members
from tidecast.tasks.fold_forecasts import FOLD_FORECAST_COLUMNS, FoldForecasts

# the top-k ensembles' names (`top_k_name`): their statistic and k
TOP_K = re.compile(r"ensemble_(mean|median)_top(\d+)")


def top_k_name(statistic: str, k: int) -> str:
    """The name a top-k ensemble is scored and stored under: `ensemble_mean_top3`."""
    return f"ensemble_{statistic}_top{k}"


class CandidateKind(Enum):
    """What a candidate of the backtest is, by the name it is scored and stored under."""

    MODEL = "model"  # one model of the registry
    COMBINATION = "combination"  # a fixed combination (the registry's COMBINATIONS)
    TOP_K = "top_k"  # a top-k ensemble: its members are picked per series


def candidate_kind(name: str) -> CandidateKind:
    """The kind of the candidate called `name` (a name in backtest_scores or champions)."""
    if name in COMBINATIONS:
        return CandidateKind.COMBINATION
    if TOP_K.fullmatch(name):
        return CandidateKind.TOP_K
    return CandidateKind.MODEL


def is_ensemble(name: str) -> bool:
    """Whether the candidate combines other models' forecasts (it needs their fits)."""
    return candidate_kind(name) is not CandidateKind.MODEL


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
        top[["series_id", "model"]].assign(ensemble=top_k_name("mean", top_k)),
        top[["series_id", "model"]].assign(ensemble=top_k_name("median", top_k)),
    ]
    series = mean["series_id"].unique()
    seen: list[list[str]] = []
    for combination in COMBINATIONS:
        fixed = combination_members(model_names, combination)
        if len(fixed) < 2 or fixed in seen:  # the same mean under a second name: no candidate
            continue
        seen.append(fixed)
        parts.append(
            pd.DataFrame(
                {
                    "series_id": np.repeat(series, len(fixed)),
                    "model": np.tile(fixed, len(series)),
                    "ensemble": combination,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[["series_id", "ensemble", "model"]]


def statistic_of(ensemble: str) -> str:
    """How an ensemble combines its members' forecasts: `median` or (equal-weight) `mean`."""
    top_k = TOP_K.fullmatch(ensemble)
    return "median" if top_k and top_k.group(1) == "median" else "mean"


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


def combine_dense(yhat: np.ndarray, present: np.ndarray, member_at: np.ndarray, statistic: str):
    """`combine`'s arithmetic on dense arrays, for the backtest's millions of fold forecasts.

    `yhat`, `present`: (model, key) arrays of the members' forecasts and whether a model
    has one for the key; `member_at`: (position, key) the row in them of each key's member
    at that position (-1: none). Returns, per key, whether any member has a forecast (a
    combined row exists) and the combination: the mean summed in member order with the
    compensated summation pandas' groupby mean uses, or the median, skipping missing
    values, so each number is the one `combine` gives (tests/tasks/test_ensembles.py).
    """
    keys = np.arange(yhat.shape[1])
    values = np.full(member_at.shape, np.nan)
    has = np.zeros(yhat.shape[1], dtype=bool)
    for position, rows in enumerate(member_at):
        there = rows >= 0
        safe = np.where(there, rows, 0)
        there &= present[safe, keys]
        has |= there
        values[position, there] = yhat[safe[there], keys[there]]
    counted = ~np.isnan(values)
    count = counted.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if statistic == "median":
            ordered = np.sort(values, axis=0)  # NaN last
            upper = np.take_along_axis(ordered, (count // 2)[None], axis=0)[0]
            lower = np.take_along_axis(ordered, np.maximum(count // 2 - 1, 0)[None], axis=0)[0]
            combined = np.where(count % 2 == 1, upper, (upper + lower) / 2)
        else:
            total, compensation = np.zeros(len(keys)), np.zeros(len(keys))
            for value, use in zip(values, counted, strict=True):
                y = value - compensation
                t = total + y
                lost = t - total - y
                compensation = np.where(use, np.where(np.isnan(lost), 0.0, lost), compensation)
                total = np.where(use, t, total)
            combined = total / count
    return has, np.where(count > 0, combined, np.nan)


def ensemble_fold_forecasts(
    folds: FoldForecasts, members: pd.DataFrame, first: int, stop: int
) -> pd.DataFrame:
    """Fold forecasts of every ensemble for the series coded `first` to `stop - 1`
    (`members` theirs, series as codes), in the layout of `FOLD_FORECAST_COLUMNS`."""
    names = [name for name in pd.unique(members["model"]) if name in folds.models]
    yhat, present = folds.dense(names, first, stop)
    row_of = pd.Series(np.arange(len(names)), index=pd.Index(names, dtype=object))
    slot_series = np.arange(yhat.shape[1]) // (folds.folds * folds.horizon)
    offset = (first - folds.first) * folds.folds * folds.horizon
    # as `combine` orders them: the mean ensembles, then the median ones
    ensembles = sorted(pd.unique(members["ensemble"]), key=lambda e: statistic_of(e) == "median")
    parts = []
    for ensemble in ensembles:
        mine = members[(members["ensemble"] == ensemble).to_numpy()]
        rows = mine["model"].map(row_of)
        mine, rows = mine[rows.notna().to_numpy()], rows.dropna().to_numpy(dtype=np.int64)
        if not len(mine):
            continue
        # each series' members in the order `members` lists them
        position = mine.groupby("series_id", sort=False).cumcount().to_numpy()
        at = np.full((position.max() + 1, stop - first), -1, dtype=np.int64)
        at[position, mine["series_id"].to_numpy(dtype=np.int64) - first] = rows
        has, combined = combine_dense(yhat, present, at[:, slot_series], statistic_of(ensemble))
        slots = np.flatnonzero(has)
        parts.append(folds.slot_frame(ensemble, slots + offset, combined[slots]))
    if not parts:
        return pd.DataFrame(columns=FOLD_FORECAST_COLUMNS)
    return pd.concat(parts, ignore_index=True)
