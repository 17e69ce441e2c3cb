"""Backfill: the forecasts each past cutoff would have had, for judging the pipeline.

For every cutoff on the data's grid between two dates, the retrain's compute (backtest,
promotion, intervals, final forecast; `pipeline.backfill`) runs on the observations up
to that cutoff only,
and its forecasts are scored against the actuals known now. Rows go to
`backfill_forecasts`, keyed by cutoff, so running a backfill again replaces the same
rows; what BI reads (`latest_forecasts`, champions, artifacts) is never touched.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import delete

from tidecast.db import connected, insert_frame, utcnow
from tidecast.errors import TidecastError
from tidecast.frequency import Grid
from tidecast.metrics import insample_scale
from tidecast.progress import report
from tidecast.schemas import min_series_length, min_train_length
from tidecast.settings import Settings
from tidecast.sql.tables import backfill_forecasts

# What a timestamp can hold (pandas' nanoseconds), in whole days: the bounds of --from/--to.
EARLIEST = pd.Timestamp.min.ceil("D")
LATEST = pd.Timestamp.max.floor("D")


def parse_date(value: object, flag: str) -> pd.Timestamp:
    """One of `--from`/`--to` as a naive timestamp, or a TidecastError naming the flag."""
    example = "a date such as 2024-01-31"
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        raise TidecastError(f"{flag} {value!r} is not {example}") from None
    if ts is pd.NaT:
        raise TidecastError(f"{flag} {value!r} is not {example}")
    if ts.tzinfo is not None:
        raise TidecastError(
            f"{flag} {value!r} has a time zone; give {example} (timestamps are naive UTC)"
        )
    if not EARLIEST <= ts <= LATEST:
        raise TidecastError(
            f"{flag} {value} is out of range: give a date from {EARLIEST:%Y-%m-%d} "
            f"to {LATEST:%Y-%m-%d}"
        )
    return ts.as_unit("ns")


def backfill_window(start: object, end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    """`--from` and `--to`, checked: readable dates, in range, in order.

    The flow checks them through `cutoffs_between`; the CLI may call this first, to refuse
    a bad date before anything is read.
    """
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if first > last:
        raise TidecastError(f"--from {start} is after --to {end}")
    return first, last


def cutoffs_between(grid: Grid, panel: pd.DataFrame, start: str, end: str) -> list[datetime]:
    """The grid timestamps from `start` to `end` (inclusive) within the data's span.

    A cutoff before the first observation has nothing to train on, and one after the
    last sees the same data as the last: both are left out.
    """
    first, last = backfill_window(start, end)
    data_first, data_last = panel["ds"].min(), panel["ds"].max()
    low, high = max(first, data_first), min(last, data_last)
    wanted = pd.DatetimeIndex([])
    if low <= high:
        positions, _ = grid.positions(pd.Series([low, high]))
        on_grid = grid.timestamps(range(int(positions[0]), int(positions[1]) + 1))
        wanted = on_grid[(on_grid >= low) & (on_grid <= high)]
    if wanted.empty:
        raise TidecastError(
            f"no cutoff on the {grid.freq} grid between {start} and {end} has any data "
            f"(the observations run from {data_first:%Y-%m-%d} to {data_last:%Y-%m-%d})"
        )
    if last > data_last:
        report("backfill", f"cutoffs stop at the last observation, {data_last:%Y-%m-%d}")
    return [ts.to_pydatetime() for ts in wanted]


def short_series(seen: pd.DataFrame, horizon: int, season_length: int) -> dict[str, str]:
    """Series with less history than a retrain accepts, with the reason: {series_id: reason}.

    The rule is validation's (`min_series_length`): a retrain at this cutoff would have
    skipped these series, so a backfill does not score forecasts made from them.
    """
    need = min_series_length(horizon, season_length)
    counts = seen.groupby("series_id", sort=True)["ds"].size()
    return {
        str(sid): f"{n} points, needs at least {need} (horizon {horizon} + "
        f"{min_train_length(season_length)} to train on)"
        for sid, n in counts[counts < need].items()
    }


def _listed(skipped: dict[str, str], most: int = 5) -> str:
    shown = "; ".join(f"{sid}: {reason}" for sid, reason in list(skipped.items())[:most])
    return shown + (f"; and {len(skipped) - most} more" if len(skipped) > most else "")


def history_at(
    panel: pd.DataFrame, cutoff: datetime, horizon: int, season_length: int
) -> pd.DataFrame:
    """The observations a retrain at `cutoff` would have had: up to the cutoff, without the
    series it would refuse there (too little history; the progress lines say which).
    Empty when no series has enough."""
    seen = panel[panel["ds"] <= cutoff]
    skipped = short_series(seen, horizon, season_length)
    if skipped:
        seen = seen[~seen["series_id"].astype(str).isin(list(skipped))]
    if seen.empty:
        report(
            "backfill",
            f"cutoff {cutoff:%Y-%m-%d} skipped: no series has the history a retrain needs "
            f"({_listed(skipped)})",
        )
    elif skipped:
        report(
            "backfill",
            f"cutoff {cutoff:%Y-%m-%d}: {len(skipped)} series skipped, too little history "
            f"({_listed(skipped)})",
        )
    return seen


def score_backfill(
    rows: pd.DataFrame,
    panel: pd.DataFrame,
    seen: pd.DataFrame,
    cutoff: datetime,
    season_length: int,
) -> pd.DataFrame:
    """The forecasts made at `cutoff` (from `seen`), scored against the actuals known now."""
    actuals = panel.rename(columns={"ds": "ts"})[["series_id", "ts", "y"]]
    rows = rows.merge(actuals, on=["series_id", "ts"], how="left")
    scale = rows["series_id"].map(insample_scale(seen, season_length))
    abs_error = (rows["y"] - rows["yhat"]).abs()
    report("backfill", f"cutoff {cutoff:%Y-%m-%d}: {len(rows)} forecast rows")
    return rows.assign(cutoff=cutoff, abs_error=abs_error, scaled_error=abs_error / scale)


def write_backfill(
    settings: Settings, run_id: str, cutoff: datetime, rows: pd.DataFrame | None
) -> int:
    """Replace the job's rows of the cutoff with these (None: none, for a skipped cutoff),
    in one transaction (a rerun gives the same table)."""
    table = backfill_forecasts
    with connected(settings.database_url, write=True) as conn:
        conn.execute(
            delete(table).where(table.c.cutoff == cutoff).where(table.c.job == settings.job)
        )
        if rows is None:
            return 0
        written = rows.assign(job=settings.job, run_id=run_id, created_at=utcnow())
        return insert_frame(conn, table, written)
