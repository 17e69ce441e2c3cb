"""Champions as the database has them: the current ones, and the last retrain that chose them."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import column, inspect, select, table

from tidecast.db import connected, json_value, read_frame
from tidecast.errors import TidecastError
from tidecast.jobs import job_flag, of_job
from tidecast.progress import report
from tidecast.settings import Settings
from tidecast.sql import load_query
from tidecast.sql.tables import backtest_scores
from tidecast.tasks.short_history import SHORT_MODEL


def read_current_champions(settings: Settings) -> pd.DataFrame:
    """The job's champion of each series as of its latest completed run (empty on a first
    run)."""
    view = table(
        "current_champions", column("series_id"), column("model"), column("members"), column("job")
    )
    chosen = select(view.c.series_id, view.c.model, view.c.members).where(
        view.c.job == settings.job
    )
    return read_frame(settings.database_url, chosen)


def read_last_retrain(settings: Settings) -> dict:
    """The parameters of the latest completed retrain, or a clear error if there is none."""
    with connected(settings.database_url) as conn:
        tables_exist = inspect(conn).has_table("forecast_runs")
    found = (
        read_frame(settings.database_url, load_query("last_retrain"), job=settings.job)
        if tables_exist
        else None
    )
    if found is None or found.empty:
        raise TidecastError(
            f"no completed retrain run{of_job(settings.job)} yet, so there are no champions "
            f"to forecast with: run `tidecast retrain{job_flag(settings.job)}` first"
        )
    return {**json_value(found["parameters"].iloc[0]), "run_id": found["run_id"].iloc[0]}


def champions_for_series(series_ids: pd.Index, current: pd.DataFrame) -> pd.DataFrame:
    """The current champion (and ensemble members) of every series to forecast.

    A series that appeared since the last retrain has no champion yet, and one that was
    too short to backtest then (champion `short_history`) has none from a backtest: both
    get seasonal naive until the next retrain backtests them.
    """
    chosen = current.set_index("series_id").reindex(series_ids)
    new = chosen["model"].isna() | (chosen["model"] == SHORT_MODEL).to_numpy()
    chosen.loc[new, "model"] = "seasonal_naive"
    chosen.loc[new, "members"] = None
    if new.any():
        report(
            "forecast",
            f"{int(new.sum())} series have no backtested champion yet: seasonal_naive until "
            "the next retrain",
        )
    return chosen.rename_axis("series_id").reset_index()[["series_id", "model", "members"]]


def read_backtest_scores(settings: Settings, run_id: str) -> pd.DataFrame:
    """The backtest scores of one run (the forecast flow's fallbacks are chosen on them)."""
    return read_frame(
        settings.database_url,
        select(backtest_scores).where(backtest_scores.c.run_id == run_id),
    )
