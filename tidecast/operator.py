"""What an operator asks of the champions: who they are, since when, and why."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from sql import load_query


def champion_history(engine: Engine, series_id: str | None = None) -> pd.DataFrame:
    """Every completed run's champion decision, oldest first."""
    with engine.connect() as conn:
        return pd.read_sql(load_query("champion_history"), conn, params={"series_id": series_id})


def current_champions(history: pd.DataFrame) -> pd.DataFrame:
    """Per series: the current champion, its score, and since when it has held the title."""
    if history.empty:
        return pd.DataFrame(columns=["series_id", "model", "score", "since", "reason"])
    streak = (history["model"] != history.groupby("series_id")["model"].shift()).cumsum()
    since = history.groupby(streak)["promoted_at"].transform("first")
    latest = history.assign(since=since).groupby("series_id").tail(1)
    return latest[["series_id", "model", "score", "since", "reason"]].reset_index(drop=True)


def series_leaderboard(engine: Engine, series_id: str) -> pd.DataFrame:
    """One series' models by mean backtest MASE in the latest completed run."""
    with engine.connect() as conn:
        return pd.read_sql(load_query("series_leaderboard"), conn, params={"series_id": series_id})
