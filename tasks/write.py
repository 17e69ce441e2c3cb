"""Writes: the quarantine, and the run's results in one transaction, idempotent per run id."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from tidecast.db import connected, insert_frame, read_frame, replace_run_rows, utcnow
from tidecast.frequency import Grid
from tidecast.progress import report
from tidecast.settings import Settings
from tidecast.sql import load_query
from tidecast.sql.tables import (
    backtest_scores,
    champion_backtest_forecasts,
    champions,
    feature_importance,
    forecasts,
    interval_calibration,
    model_versions,
    rejected_observations,
)
from tidecast.sql.tables import rejected_covariates as rejected_covariates_table
from tidecast.tasks.intervals import pooled_rows
from tidecast.tasks.leaderboard import leaderboard

if TYPE_CHECKING:
    from tidecast.tasks.fold_forecasts import FoldForecasts
    from tidecast.tasks.forecast import FinalForecast, Retrained


def write_quarantine(
    settings: Settings,
    run_id: str,
    rejected: pd.DataFrame,
    rejected_covariates: pd.DataFrame | None = None,
) -> int:
    """Store every rejected row (observations, and covariates when the job has them) with
    its check and reason, replacing an earlier attempt's."""
    with connected(settings.database_url, write=True) as conn:
        replace_run_rows(conn, [rejected_observations, rejected_covariates_table], run_id)
        written = insert_frame(conn, rejected_observations, rejected.assign(run_id=run_id))
        covariates = 0
        if rejected_covariates is not None and len(rejected_covariates):
            covariates = insert_frame(
                conn, rejected_covariates_table, rejected_covariates.assign(run_id=run_id)
            )
    if written:
        report("quarantine", f"{written} rows written to rejected_observations")
    if covariates:
        report("quarantine", f"{covariates} rows written to rejected_covariates")
    return written + covariates


def write_results(
    settings: Settings,
    run_id: str,
    grid: Grid,
    forecast: FinalForecast,
    retrained: Retrained | None = None,
) -> int:
    """A run's forecasts (and, for a retrain, its scores, champions, calibration, registry
    rows and the champions' backtest forecasts), all or nothing. Forecast rows carry the
    start and (exclusive) end of the period they forecast, on the run's `grid`.

    Rows an earlier attempt of the same run left are replaced, so a retried write gives
    the same tables. BI sees none of it until the run is marked completed.
    """
    now = utcnow()
    forecast_rows = forecast.rows
    scores = chosen = calibration = versions = folds = importance = None
    if retrained is not None:
        scores, chosen = retrained.scored.scores, retrained.chosen
        importance = retrained.scored.importance
        calibration, versions = retrained.calibration, forecast.versions
        folds = retrained.scored.folds
    rows = {
        forecasts: _with_periods(forecast_rows, grid).assign(created_at=now),
        backtest_scores: scores,
        champions: None if chosen is None else chosen.assign(promoted_at=now),
        interval_calibration: None if calibration is None else pooled_rows(calibration),
        model_versions: _with_backtest_mase(versions, scores, chosen),
        champion_backtest_forecasts: _champions_only(folds, chosen),
        feature_importance: importance,
    }
    with connected(settings.database_url, write=True) as conn:
        replace_run_rows(conn, list(rows), run_id)
        for table_, frame in rows.items():
            if frame is not None:
                insert_frame(conn, table_, frame.assign(run_id=run_id))
    report("write", f"{len(forecast_rows)} forecast rows written for run {run_id}")
    return len(forecast_rows)


def _with_periods(rows: pd.DataFrame, grid: Grid) -> pd.DataFrame:
    start, end = grid.period_bounds(rows["ts"])
    return rows.assign(period_start=start.to_numpy(), period_end=end.to_numpy())


def _champions_only(folds: FoldForecasts | None, chosen: pd.DataFrame | None):
    """Each series' champion's backtest forecasts (for the run report)."""
    if folds is None or chosen is None:
        return None
    return folds.of_champions(chosen, ["series_id", "fold", "ds", "model", "y", "yhat"])


def _with_backtest_mase(versions, scores, chosen):  # noqa: ANN001, ANN202 - frames or None
    """The registry rows with each model's backtest MASE as the leaderboard has it."""
    if versions is None or versions.empty:
        return None
    mase = leaderboard(scores, chosen).set_index("model")["mean_mase"]
    return versions.assign(backtest_mase=versions["model"].map(mase))


def read_model_versions(settings: Settings, run_id: str) -> pd.DataFrame:
    """The models a retrain run fitted, with their artifacts."""
    return read_frame(settings.database_url, load_query("run_model_versions"), run_id=run_id)


def read_calibration(settings: Settings, run_id: str) -> pd.DataFrame:
    """The interval calibration of a retrain run."""
    return read_frame(settings.database_url, load_query("run_calibration"), run_id=run_id)
