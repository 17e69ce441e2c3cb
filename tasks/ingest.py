"""Ingest: read the source (a table or the source query) and return the raw observations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Executable,
    Subquery,
    Text,
    TextClause,
    and_,
    bindparam,
    cast,
    column,
    delete,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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
from tidecast.schemas import parse_timestamps
from tidecast.settings import Settings
from tidecast.sql import load_query
from tidecast.sql.tables import series_read_windows

REQUIRED_COLUMNS = ("series_id", "ts", "value")
# Rows fetched per round trip. On PostgreSQL the query runs behind a server-side cursor,
# so the driver never holds more than this many rows as Python objects; each batch
# becomes compact columns before the next is fetched.
STREAM_ROWS = 100_000
# A read window is applied twice. In SQL, only to drop rows surely before it: those whose
# ts, as text, starts with an ISO date more than MARGIN_DAYS before the window's (UTC
# offsets move an instant by less than a day). Any other row (text in another format, a
# typed value the database spells otherwise) is read, and the window applied exactly in
# Python once ts is parsed as the validation parses it: text is never compared as text.
MARGIN_DAYS = 2
ISO_DATE_PREFIX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


class _date_before(FunctionElement):
    """'YYYY-MM-DD' of a timestamp column, MARGIN_DAYS earlier (SQLite or PostgreSQL)."""

    type = Text()
    inherit_cache = True


@compiles(_date_before, "sqlite")
def _date_before_sqlite(element, compiler, **kw) -> str:  # noqa: ANN001 - SQLAlchemy's hook
    return f"date({compiler.process(element.clauses, **kw)}, '-{MARGIN_DAYS} days')"


@compiles(_date_before)
def _date_before_default(element, compiler, **kw) -> str:  # noqa: ANN001 - SQLAlchemy's hook
    timestamp = compiler.process(element.clauses, **kw)
    return f"to_char({timestamp} - INTERVAL '{MARGIN_DAYS} days', 'YYYY-MM-DD')"


def _maybe_from(ts: ColumnElement, start_date: ColumnElement) -> ColumnElement[bool]:
    """False only for rows surely earlier than a window starting at `start_date` (text
    'YYYY-MM-DD', already MARGIN_DAYS early): NULL ts and ts not written as an ISO date
    are kept, for the exact filter after parsing."""
    as_text = cast(ts, Text)
    return or_(
        ts.is_(None),
        not_(as_text.regexp_match(ISO_DATE_PREFIX)),
        func.substr(as_text, 1, 10) >= start_date,
    )


# Columns whose equal values share one object in a fetched batch (see `_column_batch`).
SHARED_VALUE_COLUMNS = ("series_id", "ts")


def _column_batch(rows: list, columns: list[str]) -> pd.DataFrame:
    """One fetched batch as a frame; equal series ids, and equal timestamps read as text
    or objects, share one object.

    The driver makes a new object per row; 100,000 series of 120 rows would otherwise
    hold 12 million copies of their ids and as many of the 120 timestamps (SQLite returns
    text: about 75 bytes each).
    """
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for name in SHARED_VALUE_COLUMNS:
        if name in frame:
            frame[name] = _shared_text(frame[name])
    return frame


def _shared_text(column: pd.Series) -> pd.Series:
    """`column` with equal strings as one object; any other value left exactly as it is
    (hashing would take 1, 1.0 and True for one value, and None for NaN)."""
    if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) != "string":
        return column
    text = column.notna().to_numpy()
    values = column.to_numpy(dtype=object, copy=True)
    codes, uniques = pd.factorize(values[text])
    values[text] = np.asarray(uniques, dtype=object)[codes]
    return pd.Series(values, index=column.index, name=column.name)


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
    its `series_read_windows.read_from` on (series without one: all rows). In SQL both
    only drop rows surely outside (see MARGIN_DAYS); `read_observations` applies them
    exactly. A table name from settings goes in as a quoted identifier (checked against a
    strict pattern by the settings), never as text pasted into SQL; `since` is a bound
    parameter.
    """
    if settings.source_table:
        schema, _, name = settings.source_table.rpartition(".")
        source = table(name, *(column(c) for c in REQUIRED_COLUMNS), schema=schema or None)
        if since is None and not incremental:
            return select(source)
        statement = select(source)
        ts, series_id = source.c.ts, source.c.series_id
    else:
        path = settings.source_query
        if not path.is_file():
            raise TidecastError(
                f"source query file {path} does not exist (setting TIDECAST_SOURCE_QUERY)"
            )
        sql = query_file_text(path)
        if since is None and not incremental:
            return sql
        # The user's query stays as written; the window is applied around it.
        source = sql.columns(*(column(c) for c in REQUIRED_COLUMNS)).subquery("s")
        statement = select(literal_column("s.*")).select_from(source)
        ts, series_id = source.c.ts, source.c.series_id
    if incremental:
        window = series_read_windows
        # The source's ids may be of any type (integers, say); tidecast's are text, and
        # PostgreSQL refuses to compare the two while SQLite silently matches nothing.
        statement = statement.outerjoin(
            window,
            and_(window.c.series_id == cast(series_id, Text), window.c.job == settings.job),
        )
        statement = statement.where(
            or_(window.c.read_from.is_(None), _maybe_from(ts, _date_before(window.c.read_from)))
        )
    if since is not None:
        early = pd.Timestamp(since) - pd.Timedelta(days=MARGIN_DAYS)
        statement = statement.where(
            _maybe_from(ts, bindparam("since_date", f"{early:%Y-%m-%d}", Text()))
        )
    return statement


def query_file_text(path: Path) -> TextClause:
    """A query file's SQL as written (a trailing `;` dropped; it may end in a -- comment)."""
    return text(path.read_text().strip().rstrip(";") + "\n")


@dataclass(frozen=True)
class SideSource:
    """A source read beside the observations (covariates, static attributes): a table or
    a query file per job, named by the settings `table_setting` and `query_setting`,
    returning each `required` column and maybe `optional` ones (any extra is ignored).

    `what` names it in messages ("covariates"); `columns_noun` says whose columns a
    passing check found ("covariate").
    """

    what: str
    columns_noun: str
    table_setting: str
    query_setting: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def configured(self, settings: Settings) -> bool:
        return bool(getattr(settings, self.table_setting) or getattr(settings, self.query_setting))

    def description(self, settings: Settings) -> str:
        """Where it comes from, with the setting that says so."""
        if getattr(settings, self.table_setting):
            table_name = getattr(settings, self.table_setting)
            return f"the {self.what} table {table_name} ({self.table_setting})"
        return (
            f"the {self.what} query {getattr(settings, self.query_setting)} ({self.query_setting})"
        )

    def statement(self, settings: Settings) -> Executable:
        """Every column of the table (a quoted identifier), or the query file as written."""
        table_name = getattr(settings, self.table_setting)
        if table_name:
            schema, _, name = table_name.rpartition(".")
            return select(literal_column("*")).select_from(table(name, schema=schema or None))
        path = getattr(settings, self.query_setting)
        if path is None or not path.is_file():
            raise TidecastError(
                f"{self.what} query file {path} does not exist ({self.query_setting})"
            )
        return query_file_text(path)

    def _require(self, returned: list[str], source: str) -> None:
        require_columns([str(c).lower() for c in returned], source, self.required, self.optional)

    def read(self, settings: Settings) -> pd.DataFrame | None:
        """Its rows with the required and optional columns (an optional one it does not
        return is all NULL), or None when the job has no such source."""
        if not self.configured(settings):
            return None
        source = self.description(settings)
        raw = stream_source(
            settings, self.statement(settings), source, lambda cols: self._require(cols, source)
        )
        for name in self.optional:
            if name not in raw:
                raw[name] = None
        extra = [c for c in raw.columns if c not in (*self.required, *self.optional)]
        if extra:
            report("ingest", f"ignoring extra columns from {source}: {', '.join(extra)}")
        report("ingest", f"{len(raw)} rows read from {source}")
        return raw[[*self.required, *self.optional]]

    def check(self, settings: Settings) -> bool:
        """Whether the job has this source; its columns checked as a run checks them, no
        rows read (a failing or wrong source is a `TidecastError`)."""
        if not self.configured(settings):
            return False
        source = self.description(settings)
        self._require(source_columns(settings, self.statement(settings), source), source)
        return True


def source_subquery(settings: Settings) -> Subquery:
    """The source as a subquery with the columns series_id, ts, value (for aggregates)."""
    statement = source_statement(settings)
    if isinstance(statement, TextClause):
        statement = statement.columns(*(column(c) for c in REQUIRED_COLUMNS))
    return statement.subquery("source")


EARLIEST_TIMESTAMP = pd.Timestamp("1678-01-01")  # pandas' nanosecond timestamps start in 1677


def read_windows(panel: pd.DataFrame, grid: Grid, lookback: int, run_id: str) -> pd.DataFrame:
    """Per series: its newest timestamp and where the next forecast run starts reading it."""
    last = panel.groupby("series_id", sort=False)["ds"].max()
    positions, _ = grid.positions(last)
    # a long lookback (4 horizons of a long horizon) may reach before the first timestamp
    # there is; reading from there reads the same rows
    earliest = grid.positions(pd.Series([EARLIEST_TIMESTAMP]))[0][0] + 1
    return pd.DataFrame(
        {
            "series_id": last.index,
            "last_ts": last.to_numpy(),
            "read_from": grid.timestamps(np.maximum(positions - lookback, earliest)),
            "run_id": run_id,
        }
    )


def write_read_windows(
    settings: Settings, run_id: str, panel: pd.DataFrame, grid: Grid, season_length: int
) -> int:
    """Replace the job's `series_read_windows` with this run's (idempotent, one transaction)."""
    lookback = settings.forecast_lookback_periods(season_length)
    windows = read_windows(panel, grid, lookback, run_id).assign(job=settings.job)
    with connected(settings.database_url, write=True) as conn:
        conn.execute(delete(series_read_windows).where(series_read_windows.c.job == settings.job))
        return insert_frame(conn, series_read_windows, windows)


def window_start(settings: Settings, periods: int | None) -> datetime | None:
    """`periods` grid steps before the newest data: the newest a completed run has read
    (its watermark), or, before any run has, the newest timestamp in the source. None
    (read everything) when `periods` is None or the frequency is not known yet."""
    if periods is None:
        return None
    found = read_frame(settings.database_url, load_query("last_watermark"), job=settings.job)
    if found.empty:
        freq = settings.freq
        if not freq:
            return None
        # the newest instant, not the greatest text: every distinct ts, parsed as validated
        source = source_subquery(settings)
        stamps = read_frame(settings.database_url, select(source.c.ts).distinct())["ts"]
        newest_ts = parse_timestamps(stamps, settings.ts_format).ts.max()
        if pd.isna(newest_ts):
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
    raw = stream_source(settings, statement, source, lambda cols: require_columns(cols, source))
    extra = [column for column in raw.columns if column not in REQUIRED_COLUMNS]
    if extra:
        report("ingest", f"ignoring extra columns from {source}: {', '.join(extra)}")
    raw = raw[list(REQUIRED_COLUMNS)]
    if since is not None or incremental:
        raw = _in_window(raw, settings, since, incremental)
    report("ingest", f"{len(raw)} rows read")
    return raw


def stream_source(
    settings: Settings,
    statement: Executable,
    source: str,
    check_columns: Callable[[list[str]], None],
) -> pd.DataFrame:
    """Every row `statement` returns, fetched in batches (behind a server-side cursor on
    PostgreSQL), its columns passed to `check_columns` first, which raises to refuse
    them. A failing statement is one `TidecastError` naming `source`; the server going
    away mid-query, one worth a retry."""
    engine = make_engine(settings.database_url)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        engine.dispose()
        raise describe_db_error(settings.database_url, exc) from None
    try:
        streaming = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS)
        result = streaming.execute(statement)
        try:
            check_columns(list(result.keys()))
        except TidecastError:
            result.close()  # an open cursor would keep SQLite's read lock past the error
            raise
        return fetch_in_batches(result)
    except DBAPIError as exc:
        if exc.connection_invalidated:  # the server went away mid-query: worth a retry
            raise describe_db_error(settings.database_url, exc) from None
        reason = str(exc.orig).strip().splitlines()[0]
        raise TidecastError(f"{source} failed: {reason}") from None
    finally:
        conn.close()
        engine.dispose()


def source_columns(settings: Settings, statement: Executable, source: str) -> list[str]:
    """The columns `statement` returns, without reading a row (a query file's SQL runs as
    written, inside); a failing statement is one `TidecastError` naming `source`."""
    if isinstance(statement, TextClause):
        statement = text(f"SELECT * FROM ({statement.text}) AS source_check WHERE 1 = 0")
    else:
        statement = statement.limit(0)
    try:
        with connected(settings.database_url) as conn:
            return list(conn.execute(statement).keys())
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0]
        raise TidecastError(f"{source} failed: {reason}") from None


def require_columns(
    returned: list[str],
    source: str,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
    optional: tuple[str, ...] = (),
) -> None:
    """Refuse a source that does not return each `required` column (and each `optional`
    one it returns) exactly once."""
    twice = sorted(c for c, n in Counter(returned).items() if n > 1)
    if set(twice) & {*required, *optional}:  # which one is meant cannot be known
        raise TidecastError(
            f"{source} returns the column(s) {', '.join(twice)} more than once; "
            f"return each of {', '.join((*required, *optional))} exactly once"
        )
    missing = [column for column in required if column not in returned]
    if missing:
        also = f" ({', '.join(optional)} optional)" if optional else ""
        raise TidecastError(
            f"{source} must return the columns {', '.join(required)}{also}; "
            f"missing: {', '.join(missing)} (it returned: {', '.join(returned) or 'nothing'})"
        )


def check_source(settings: Settings) -> list[str]:
    """The columns the source returns, checked as a run checks them; no rows are read.

    A source that fails or returns the wrong columns is a `TidecastError` naming it.
    """
    source = settings.source_description
    returned = source_columns(settings, source_statement(settings), source)
    require_columns(returned, source)
    return returned


def _in_window(
    raw: pd.DataFrame, settings: Settings, since: datetime | None, incremental: bool
) -> pd.DataFrame:
    """The rows read whose ts, parsed, is in the window; rows without a readable ts stay
    (validation quarantines them). The format the text was read with travels along in
    `attrs["ts_format"]`, so validation reads the window as the whole read was read."""
    parsed = parse_timestamps(raw["ts"], settings.ts_format)
    keep = pd.Series(True, index=raw.index)
    if since is not None:
        keep &= ~(parsed.ts < pd.Timestamp(since))
    if incremental:
        windows = read_frame(
            settings.database_url,
            select(series_read_windows.c.series_id, series_read_windows.c.read_from).where(
                series_read_windows.c.job == settings.job
            ),
        )
        read_from = pd.Series(
            pd.to_datetime(windows["read_from"]).to_numpy(), index=windows["series_id"]
        )
        starts = raw["series_id"].map(str, na_action="ignore").map(read_from)
        keep &= ~(parsed.ts < starts)
    inside = raw[keep.to_numpy()].reset_index(drop=True)
    if parsed.format is not None:
        inside.attrs["ts_format"] = parsed.format
    return inside
