"""Promotion: per series, champion/challenger on mean backtest MASE.

The best candidate (any model or ensemble) replaces the current champion only when it
beats the champion's score on this run's folds by the margin; seasonal naive is always
a candidate, and a champion worse than it in this backtest is never kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.backtest import BacktestResult
from tasks.options import compute_task
from tidecast.progress import report
from tidecast.settings import Settings

CHAMPION_COLUMNS = ["series_id", "model", "score", "metric", "previous_model", "reason"]


def choose_champions(
    scores: pd.DataFrame,
    series_ids: pd.Index,
    model_names: list[str],
    previous: pd.DataFrame,
    metric: str = "mase",
    margin: float = 0.0,
) -> pd.DataFrame:
    """One champion per series in `series_ids`.

    Candidates are `model_names` (their order breaks ties: simpler first) plus any other
    model in `scores` (the ensembles), after them. A series no candidate could be scored
    on falls back to `seasonal_naive` (or the first model) and says so.
    """
    extra = sorted(set(scores["model"]) - set(model_names))
    candidates = [*model_names, *extra]
    mean = scores.groupby(["series_id", "model"], sort=False)[metric].mean().unstack("model")
    mean = mean.reindex(index=series_ids, columns=candidates)
    folds = scores.groupby("series_id")["fold"].nunique().reindex(series_ids).fillna(0)
    # A model that failed on some of a series' folds is no candidate there: its mean over
    # the folds it survived (often the easy ones) is not comparable with the others'.
    scored_folds = scores.groupby(["series_id", "model"], sort=False)["fold"].nunique()
    scored_folds = scored_folds.unstack("model").reindex(index=series_ids, columns=candidates)
    mean = mean.where(scored_folds.to_numpy() >= folds.to_numpy()[:, None])
    values = mean.to_numpy(dtype=float)
    scored = ~np.isnan(values).all(axis=1)
    best = np.where(scored, np.nanargmin(np.where(np.isnan(values), np.inf, values), axis=1), 0)
    names = np.asarray(candidates, dtype=object)
    best_name, best_score = names[best], values[np.arange(len(values)), best]

    previous_model = previous.set_index("series_id")["model"].reindex(series_ids).to_numpy()
    previous_col = pd.Index(candidates).get_indexer(previous_model)
    previous_score = np.where(
        previous_col >= 0, values[np.arange(len(values)), np.maximum(previous_col, 0)], np.nan
    )
    baseline = (
        mean["seasonal_naive"].to_numpy(dtype=float)
        if "seasonal_naive" in mean
        else np.full(len(values), np.inf)
    )
    keep = (
        ~np.isnan(previous_score)
        & (best_score >= previous_score * (1 - margin))
        & ~(previous_score > baseline)
    )
    fallback = "seasonal_naive" if "seasonal_naive" in model_names else model_names[0]
    chosen = np.where(keep, previous_model, np.where(scored, best_name, fallback))
    score = np.where(keep, previous_score, np.where(scored, best_score, np.nan))
    fold_text = folds.astype(int).astype(str).to_numpy()
    label = metric.upper()
    reason = np.select(
        [
            ~scored,
            keep,
            ~np.isnan(previous_score) & (previous_model != best_name),
            pd.isna(previous_model),
        ],
        [
            "no model could be backtested on this series; fallback",
            "kept: no challenger beat it by the margin over " + fold_text + " fold(s)",
            "promoted: beat the previous champion by more than the margin on " + label,
            "first champion: lowest mean " + label + " over " + fold_text + " fold(s)",
        ],
        default="lowest mean " + label + " over " + fold_text + " fold(s)",
    )
    champions = pd.DataFrame(
        {
            "series_id": series_ids.to_numpy(),
            "model": chosen,
            "score": score,
            "metric": metric,
            "previous_model": previous_model,
            "reason": reason,
        }
    )
    changed = int(
        (
            champions["previous_model"].notna()
            & (champions["previous_model"] != champions["model"])
        ).sum()
    )
    report(
        "promote",
        f"{changed} champions changed; "
        + ", ".join(f"{m}: {n}" for m, n in champions["model"].value_counts().items()),
    )
    return champions


def with_members(champions: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Add `members`: for an ensemble champion, its models for that series, comma-separated."""
    joined = members.groupby(["series_id", "ensemble"], sort=False)["model"].agg(",".join)
    keys = pd.MultiIndex.from_frame(champions[["series_id", "model"]])
    return champions.assign(members=joined.reindex(keys).to_numpy())


def promote_champions(
    scored: BacktestResult, series_ids: pd.Index, settings: Settings, previous: pd.DataFrame
) -> pd.DataFrame:
    """`choose_champions` with the run's candidates and margin, with ensemble members."""
    chosen = choose_champions(
        scored.scores,
        series_ids,
        settings.backtest_models,
        previous,
        metric=settings.selection_metric,
        margin=settings.champion_margin,
    )
    return with_members(chosen, scored.members)


promote = compute_task(promote_champions, "promote")
