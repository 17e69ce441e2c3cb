"""The leaderboard of a backtest: one aggregation, wherever it is shown.

The Prefect artifact, the HTML report, `tidecast demo` and the registry's backtest MASE
all rank models with `leaderboard`, so they cannot disagree.
"""

from __future__ import annotations

import pandas as pd

METRICS = {"mase": "mean_mase", "smape": "mean_smape", "coverage_80": "coverage_80",
           "coverage_95": "coverage_95"}  # fmt: skip


def champions_changed(champions: pd.DataFrame) -> pd.Series:
    """Per champion row: whether it replaced a different previous champion."""
    previous = champions["previous_model"]
    return previous.notna() & (previous != champions["model"])


def ensemble_members_text(champions: pd.DataFrame) -> pd.Series:
    """Per ensemble champion model, its members (equal weights), or that they vary by series."""
    if "members" not in champions:
        return pd.Series(dtype=object)
    chosen = champions[champions["members"].notna() & (champions["members"] != "")]
    kinds = chosen.groupby("model")["members"].agg(lambda m: m.nunique())
    first = chosen.groupby("model")["members"].first().str.replace(",", ", ")
    return first.where(kinds == 1, "chosen per series (equal weights)")


def per_series_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Each series' scores of each model, averaged over the folds it had."""
    metrics = [name for name in METRICS if name in scores]
    return scores.groupby(["series_id", "model"], as_index=False)[metrics].mean()


def leaderboard(
    scores: pd.DataFrame,
    champions: pd.DataFrame,
    model_seconds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per model, best first: backtest MASE and sMAPE (and interval coverage, where the
    scores have it) averaged over series, series won, ensemble members, seconds.

    Each series' folds are averaged first, so every series counts once however many folds
    its history allowed (a long series would otherwise weigh up to `folds` times more).
    """
    per_series = per_series_scores(scores)
    board = per_series.drop(columns="series_id").groupby("model").mean().rename(columns=METRICS)
    won = champions["model"].value_counts()
    board["series_won"] = won.reindex(board.index).fillna(0).astype(int)
    board["members"] = ensemble_members_text(champions).reindex(board.index).fillna("")
    if model_seconds is not None:
        board["seconds"] = pd.Series(model_seconds, dtype=float).reindex(board.index)
    return board.sort_values("mean_mase", kind="stable").reset_index()


def read_leaderboard(database_url: str, run_id: str) -> pd.DataFrame:
    """The leaderboard of a stored retrain run."""
    from sqlalchemy import select

    from tidecast.db import read_frame
    from tidecast.sql.tables import backtest_scores, champions

    scores = read_frame(
        database_url, select(backtest_scores).where(backtest_scores.c.run_id == run_id)
    )
    chosen = read_frame(database_url, select(champions).where(champions.c.run_id == run_id))
    return leaderboard(scores, chosen)
