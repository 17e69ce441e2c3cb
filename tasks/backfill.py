"""Backfill: the forecasts each past cutoff would have had, for judging the pipeline.

For every cutoff on the data's grid between two dates, the retrain pipeline (backtest,
promotion, intervals, final forecast) runs on the observations up to that cutoff only,
and its forecasts are scored against the actuals known now. Rows go to
`backfill_forecasts`, keyed by cutoff, so running a backfill again replaces the same
rows; what BI reads (`latest_forecasts`, champions, artifacts) is never touched.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import delete

from sql.tables import backfill_forecasts
from tasks.backtest import backtest_chunk, combine_backtests, plan_backtest
from tasks.forecast import assemble_forecasts, calibrate_intervals, fit_chunk, plan_final_fits
from tasks.options import compute_task, io_task
from tasks.promote import promote_champions
from tidecast.db import connected, insert_frame, utcnow
from tidecast.errors import TidecastError
from tidecast.frequency import Grid
from tidecast.metrics import insample_scale
from tidecast.progress import report
from tidecast.settings import Settings

NO_PREVIOUS = pd.DataFrame(columns=["series_id", "model"])


def parse_date(value: str, flag: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except ValueError:
        raise TidecastError(f"{flag} {value!r} is not a date such as 2024-01-31") from None


def cutoffs_between(grid: Grid, panel: pd.DataFrame, start: str, end: str) -> list[datetime]:
    """The grid timestamps from `start` to `end` (inclusive) at which some series has data."""
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if first > last:
        raise TidecastError(f"--from {start} is after --to {end}")
    positions, _ = grid.positions(pd.Series([first, last]))
    on_grid = grid.timestamps(range(int(positions[0]), int(positions[1]) + 1))
    wanted = on_grid[(on_grid >= first) & (on_grid <= last)]
    usable = wanted[wanted >= panel["ds"].min()]
    if usable.empty:
        raise TidecastError(
            f"no cutoff on the {grid.freq} grid between {start} and {end} has any data "
            f"(the observations start {panel['ds'].min():%Y-%m-%d})"
        )
    return [ts.to_pydatetime() for ts in usable]


def forecast_as_of(
    panel: pd.DataFrame,
    cutoff: datetime,
    settings: Settings,
    season_length: int,
    freq: str,
    run_id: str,
) -> pd.DataFrame:
    """What a retrain run at `cutoff` would have forecast, scored against today's actuals."""
    seen = panel[panel["ds"] <= cutoff]
    series_ids = pd.Index(seen["series_id"].unique())
    # The same chunks as a retrain's, one after another in this task: the cutoffs are
    # the unit of work here.
    plan = plan_backtest(seen, settings, season_length, freq)
    scored = combine_backtests([backtest_chunk(chunk) for chunk in plan.chunks], plan)
    chosen = promote_champions(scored, series_ids, settings, NO_PREVIOUS, season_length)
    calibration = calibrate_intervals(scored)
    fits = plan_final_fits(
        seen, chosen, calibration, settings, season_length, freq, run_id, keep_artifacts=False
    )
    rows, _, _ = assemble_forecasts(fits, [fit_chunk(chunk) for chunk in fits.chunks])
    actuals = panel.rename(columns={"ds": "ts"})[["series_id", "ts", "y"]]
    rows = rows.merge(actuals, on=["series_id", "ts"], how="left")
    scale = rows["series_id"].map(insample_scale(seen, season_length))
    abs_error = (rows["y"] - rows["yhat"]).abs()
    report("backfill", f"cutoff {cutoff:%Y-%m-%d}: {len(rows)} forecast rows")
    return rows.assign(cutoff=cutoff, abs_error=abs_error, scaled_error=abs_error / scale)


def write_backfill(settings: Settings, run_id: str, cutoff: datetime, rows: pd.DataFrame) -> int:
    """Replace the cutoff's rows with these, in one transaction (a rerun gives the same table)."""
    with connected(settings.database_url, write=True) as conn:
        conn.execute(delete(backfill_forecasts).where(backfill_forecasts.c.cutoff == cutoff))
        return insert_frame(
            conn, backfill_forecasts, rows.assign(run_id=run_id, created_at=utcnow())
        )


backfill_cutoffs = compute_task(cutoffs_between, "backfill-cutoffs")
forecast_at_cutoff = compute_task(forecast_as_of, "forecast-as-of")
record_backfill = io_task(write_backfill, "record-backfill")
