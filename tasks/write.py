"""Writes: the quarantine, and the run's results in one transaction, idempotent per run id."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import column, select, table
from sqlalchemy.exc import DBAPIError, OperationalError

from sql.tables import backtest_scores, champions, forecasts, rejected_observations
from tasks.options import io_task
from tasks.runs import utcnow
from tidecast.db import describe_db_error, insert_frame, make_engine, replace_run_rows
from tidecast.progress import report
from tidecast.settings import Settings


def write_quarantine(settings: Settings, run_id: str, rejected: pd.DataFrame) -> int:
    """Store every rejected row with its check and reason (replacing an earlier attempt's)."""
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            replace_run_rows(conn, [rejected_observations], run_id)
            written = insert_frame(conn, rejected_observations, rejected.assign(run_id=run_id))
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(settings.database_url, exc) from None
    finally:
        engine.dispose()
    if written:
        report("quarantine", f"{written} rows written to rejected_observations")
    return written


def write_results(
    settings: Settings,
    run_id: str,
    scores: pd.DataFrame,
    chosen: pd.DataFrame,
    forecast_rows: pd.DataFrame,
) -> int:
    """Backtest scores, champions and forecasts of one run, all or nothing.

    Rows an earlier attempt of the same run left are replaced, so a retried write
    gives the same tables. BI sees none of it until the run is marked completed.
    """
    now = utcnow()
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            replace_run_rows(conn, [backtest_scores, champions, forecasts], run_id)
            insert_frame(conn, backtest_scores, scores.assign(run_id=run_id))
            insert_frame(conn, champions, chosen.assign(run_id=run_id, promoted_at=now))
            written = insert_frame(
                conn, forecasts, forecast_rows.assign(run_id=run_id, created_at=now)
            )
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(settings.database_url, exc) from None
    finally:
        engine.dispose()
    report("write", f"{written} forecast rows written for run {run_id}")
    return written


def read_current_champions(settings: Settings) -> pd.DataFrame:
    """The champion of each series as of the latest completed run (empty on a first run)."""
    view = table("current_champions", column("series_id"), column("model"))
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(select(view.c.series_id, view.c.model), conn)
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(settings.database_url, exc) from None
    finally:
        engine.dispose()


record_quarantine = io_task(write_quarantine, "record-quarantine")
write_forecasts = io_task(write_results, "write-forecasts")
current_champions = io_task(read_current_champions, "current-champions")
