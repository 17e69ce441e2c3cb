"""Ingest: read the source (a table or the source query) and return the raw observations."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import (
    DateTime,
    Executable,
    Subquery,
    TextClause,
    bindparam,
    column,
    delete,
    func,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError

from sql import load_query
from sql.tables import series_read_windows
from tasks.options import io_task
from tidecast.db import (
    connected,
    describe_db_error,
    insert_frame,
    json_value,
    make_engine,
    read_frame,
)
from tidecast.errors import TidecastError
from tidecast.frequency import Grid, make_grid
from tidecast.progress import report
from tidecast.settings import Settings

REQUIRED_COLUMNS = ("series_id", "ts", "value")
# Rows fetched per round trip. On PostgreSQL the query runs behind a server-side cursor,
# so the driver never holds more than this many rows as Python objects; each batch
# becomes compact columns before the next is fetched.
STREAM_ROWS = 100_000


def _column_batch(rows: list, columns: list[str]) -> pd.DataFrame:
    """One fetched batch as a frame; equal series ids share one string object.

    The driver makes a new string per row; 100,000 series of 120 rows would otherwise
    hold 12 million copies of their ids.
    """
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if "series_id" in frame:
        codes, names = pd.factorize(frame["series_id"], use_na_sentinel=False)
        frame["series_id"] = names.to_numpy(dtype=object)[codes]
    return frame


def fetch_in_batches(result, batch_rows: int = STREAM_ROWS) -> pd.DataFrame:
    """Every row of an executed (streaming) result, built up batch by batch."""
    columns = [str(column).lower() for column in result.keys()]
    batches = [_column_batch(rows, columns) for rows in result.partitions(batch_rows)]
    if not batches:
        return pd.DataFrame(columns=columns)
    return pd.concat(batches, ignore_index=True, copy=False)


def source_statement(
    settings: Settings, since: datetime | None = None, incremental: bool = False
) -> Executable:
    """The source table's three columns, or the source query file's SQL as written.

    `since`: only rows from that timestamp on. `incremental`: only each series' rows from
    its `series_read_windows.read_from` on (series without one: all rows). A table name
    from settings goes in as a quoted identifier (checked against a strict pattern by the
    settings), never as text pasted into SQL; `since` is a bound parameter.
    """
    if settings.source_table:
        schema, _, name = settings.source_table.rpartition(".")
        source = table(name, *(column(c) for c in REQUIRED_COLUMNS), schema=schema or None)
        statement = select(source)
        if incremental:
            window = series_read_windows
            statement = statement.outerjoin(window, window.c.series_id == source.c.series_id)
            statement = statement.where(
                or_(window.c.read_from.is_(None), source.c.ts >= window.c.read_from)
            )
        if since is not None:
            statement = statement.where(source.c.ts >= bindparam("since", since, DateTime()))
        return statement
    path = settings.source_query
    if not path.is_file():
        raise TidecastError(
            f"source query file {path} does not exist (setting TIDECAST_SOURCE_QUERY)"
        )
    sql = path.read_text().strip().rstrip(";")
    if since is None and not incremental:
        return text(sql)
    # The user's query stays as written; the window is applied around it.
    conditions = []
    join = ""
    if incremental:
        join = "LEFT JOIN series_read_windows AS w ON w.series_id = s.series_id"
        conditions.append("(w.read_from IS NULL OR s.ts >= w.read_from)")
    if since is not None:
        conditions.append("s.ts >= :since")
    wrapped = text(f"SELECT s.* FROM (\n{sql}\n) AS s {join} WHERE {' AND '.join(conditions)}")
    if since is not None:
        wrapped = wrapped.bindparams(bindparam("since", since, DateTime()))
    return wrapped


def source_subquery(settings: Settings) -> Subquery:
    """The source as a subquery with the columns series_id, ts, value (for aggregates)."""
    statement = source_statement(settings)
    if isinstance(statement, TextClause):
        statement = statement.columns(*(column(c) for c in REQUIRED_COLUMNS))
    return statement.subquery("source")


def read_windows(panel: pd.DataFrame, grid: Grid, lookback: int, run_id: str) -> pd.DataFrame:
    """Per series: its newest timestamp and where the next forecast run starts reading it."""
    last = panel.groupby("series_id", sort=False)["ds"].max()
    positions, _ = grid.positions(last)
    return pd.DataFrame(
        {
            "series_id": last.index,
            "last_ts": last.to_numpy(),
            "read_from": grid.timestamps(positions - lookback),
            "run_id": run_id,
        }
    )


def write_read_windows(
    settings: Settings, run_id: str, panel: pd.DataFrame, grid: Grid, season_length: int
) -> int:
    """Replace `series_read_windows` with this run's (idempotent, one transaction)."""
    lookback = settings.forecast_lookback_periods(season_length)
    windows = read_windows(panel, grid, lookback, run_id)
    with connected(settings.database_url, write=True) as conn:
        conn.execute(delete(series_read_windows))
        return insert_frame(conn, series_read_windows, windows)


def window_start(settings: Settings, periods: int | None) -> datetime | None:
    """`periods` grid steps before the newest data: the newest a completed run has read
    (its watermark), or, before any run has, the newest timestamp in the source. None
    (read everything) when `periods` is None or the frequency is not known yet."""
    if periods is None:
        return None
    found = read_frame(settings.database_url, load_query("last_watermark"))
    if found.empty:
        freq = settings.freq
        source = source_subquery(settings)
        newest = read_frame(settings.database_url, select(func.max(source.c.ts).label("ts")))
        newest_ts = newest["ts"].iloc[0] if len(newest) else None
        if not freq or newest_ts is None or pd.isna(newest_ts):
            return None
        watermark = pd.Timestamp(newest_ts)
    else:
        freq = settings.freq or json_value(found["parameters"].iloc[0]).get("freq")
        if not freq:
            return None
        watermark = pd.Timestamp(found["data_watermark"].iloc[0])
    start = make_grid(freq).shifted(watermark, -periods).to_pydatetime()
    report("ingest", f"reading from {start:%Y-%m-%d %H:%M} ({periods} periods before {watermark})")
    return start


def read_observations(
    settings: Settings, since: datetime | None = None, incremental: bool = False
) -> pd.DataFrame:
    """Rows of the source with exactly the columns series_id, ts, value (`since` and
    `incremental` as in `source_statement`)."""
    statement = source_statement(settings, since, incremental)
    source = settings.source_description
    engine = make_engine(settings.database_url)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        engine.dispose()
        raise describe_db_error(settings.database_url, exc) from None
    try:
        streaming = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS)
        raw = fetch_in_batches(streaming.execute(statement))
    except DBAPIError as exc:
        if exc.connection_invalidated:  # the server went away mid-query: worth a retry
            raise describe_db_error(settings.database_url, exc) from None
        reason = str(exc.orig).strip().splitlines()[0]
        raise TidecastError(f"{source} failed: {reason}") from None
    finally:
        conn.close()
        engine.dispose()
    missing = [column for column in REQUIRED_COLUMNS if column not in raw.columns]
    if missing:
        raise TidecastError(
            f"{source} must return the columns series_id, ts, value; "
            f"missing: {', '.join(missing)} (it returned: {', '.join(raw.columns) or 'nothing'})"
        )
    extra = [column for column in raw.columns if column not in REQUIRED_COLUMNS]
    if extra:
        report("ingest", f"ignoring extra columns from {source}: {', '.join(extra)}")
    report("ingest", f"{len(raw)} rows read")
    return raw[list(REQUIRED_COLUMNS)]


ingest = io_task(read_observations, "ingest")
read_window_start = io_task(window_start, "window-start")
record_read_windows = io_task(write_read_windows, "record-read-windows")
