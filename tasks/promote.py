"""Promotion: per series, the model with the lowest mean backtest MASE becomes champion."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.options import compute_task
from tidecast.progress import report

CHAMPION_COLUMNS = ["series_id", "model", "score", "metric", "previous_model", "reason"]


def choose_champions(
    scores: pd.DataFrame,
    series_ids: pd.Index,
    model_names: list[str],
    previous: pd.DataFrame,
    metric: str = "mase",
) -> pd.DataFrame:
    """One champion per series in `series_ids`.

    Ties go to the model listed first (the simpler one, by registry convention). A
    series no model could be scored on falls back to the first of `seasonal_naive`
    or the listed models, and says so.
    """
    mean = scores.groupby(["series_id", "model"], sort=False)[metric].mean().unstack("model")
    mean = mean.reindex(index=series_ids, columns=model_names)
    folds = scores.groupby("series_id")["fold"].nunique().reindex(series_ids).fillna(0)
    values = mean.to_numpy(dtype=float)
    scored = ~np.isnan(values).all(axis=1)
    best = np.where(scored, np.nanargmin(np.where(np.isnan(values), np.inf, values), axis=1), 0)
    fallback = "seasonal_naive" if "seasonal_naive" in model_names else model_names[0]
    chosen = np.where(scored, np.asarray(model_names, dtype=object)[best], fallback)
    score = np.where(scored, values[np.arange(len(values)), best], np.nan)
    reason = np.where(
        scored,
        "lowest mean "
        + metric.upper()
        + " over "
        + folds.astype(int).astype(str).to_numpy()
        + " fold(s)",
        "no model could be backtested on this series; fallback",
    )
    previous_model = previous.set_index("series_id")["model"].reindex(series_ids)
    champions = pd.DataFrame(
        {
            "series_id": series_ids.to_numpy(),
            "model": chosen,
            "score": score,
            "metric": metric,
            "previous_model": previous_model.to_numpy(),
            "reason": reason,
        }
    )
    report("promote", ", ".join(f"{m}: {n}" for m, n in champions["model"].value_counts().items()))
    return champions


promote = compute_task(choose_champions, "promote")
