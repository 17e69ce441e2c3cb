"""Engines, schema creation and the few write helpers every task shares."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Executable,
    Table,
    create_engine,
    delete,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
)

from tidecast.bulk import batches, copy_frame
from tidecast.errors import DatabaseUnavailableError, TidecastError, is_outage
from tidecast.schema import ensure_current
from tidecast.sql.migrations import current_views, run_views
from tidecast.sql.tables import observations
from tidecast.urls import ENCODE_ADVICE, ambiguous_credentials, safe_url


def utcnow() -> datetime:
    """Naive UTC: what both SQLite and PostgreSQL `TIMESTAMP` columns store without surprises."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` means psycopg 3, the driver tidecast installs."""
    if ambiguous_credentials(url):
        raise TidecastError(
            f"database URL has more than one '@': {ENCODE_ADVICE} in --database-url or "
            "TIDECAST_DATABASE_URL"
        )
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise TidecastError(
            "database URL is not valid; set --database-url or TIDECAST_DATABASE_URL to e.g. "
            "sqlite:///tidecast.db or postgresql://user:password@host:5432/dbname, and "
            f"{ENCODE_ADVICE}"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            # Another process (a dashboard, a second run) may hold a read lock for a moment.
            return create_engine(parsed, connect_args={"timeout": 30})
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise TidecastError(f"database URL {safe_url(url)}: {exc}") from None


def describe_db_error(url: str, exc: Exception) -> DatabaseUnavailableError:
    """One line saying which database failed and why, without the password or a traceback."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return DatabaseUnavailableError(f"database {safe_url(url)} is not usable: {reason}")


@contextmanager
def connected(url: str, *, write: bool = False) -> Iterator[Connection]:
    """A connection to `url` (in one transaction when `write`), disposed of afterwards.

    A database error becomes `DatabaseUnavailableError`: one line naming the database
    without its password, which the I/O tasks retry.
    """
    engine = make_engine(url)
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except DBAPIError as exc:
        if not is_outage(exc):
            raise  # a mistake in tidecast's SQL or data, not an outage: a retry won't help
        raise describe_db_error(url, exc) from None
    finally:
        engine.dispose()


def read_frame(url: str, query: Executable, **params: object) -> pd.DataFrame:
    """The rows of `query` as a frame."""
    with connected(url) as conn:
        return pd.read_sql(query, conn, params=params or None)


def check_connection(engine: Engine) -> None:
    """Fail early and clearly when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        raise describe_db_error(engine.url.render_as_string(hide_password=False), exc) from None


VIEWS = (
    "latest_forecasts",
    "forecast_history",
    "current_champions",
    "accuracy_summary",
    "backfill_accuracy",
)


def init_db(engine: Engine, replace_views: bool = False, auto_migrate: bool = False) -> None:
    """Check that the schema is the one this tidecast writes (an empty database gets it;
    one behind is migrated only with `auto_migrate`, else the error says to run `tidecast
    migrate`); `replace_views` also redefines the views.

    Safe to run any number of times. Runs call it without `replace_views`, so a
    dashboard reading a view is never interrupted by its re-creation.
    """
    check_connection(engine)
    ensure_current(engine, auto_migrate)
    with engine.begin() as conn:
        if replace_views or not set(VIEWS) <= set(inspect(conn).get_view_names()):
            run_views(conn, current_views())


def json_value(value: object) -> dict:
    """A JSON column as read back: a dict on PostgreSQL, text on SQLite, {} when NULL."""
    if value is None or (isinstance(value, float) and value != value):  # NULL, or NaN from pandas
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def to_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (None for missing), as every DB driver accepts them."""
    plain = frame.astype(object)
    return plain.where(frame.notna(), None).to_dict("records")


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert all rows of `frame` (columns named as in `table`), inside `conn`'s transaction.

    PostgreSQL: COPY into a staging table and one INSERT from it
    (tidecast/bulk.py), about twice as fast as row inserts; JSON columns and SQLite
    take an executemany per `WRITE_BATCH_ROWS` rows.
    """
    if frame.empty:
        return 0
    if conn.dialect.name == "postgresql" and not has_json_columns(table, frame.columns):
        return copy_frame(conn, table, frame)
    for rows in batches(frame):
        conn.execute(table.insert(), to_records(rows))
    return len(frame)


def has_json_columns(table: Table, columns: Iterable[str]) -> bool:
    return any(isinstance(table.c[name].type, JSON) for name in columns)


def replace_run_rows(conn: Connection, tables: Iterable[Table], run_id: str) -> None:
    """Delete what an earlier attempt of this run wrote, so a retried write is idempotent."""
    for table in tables:
        conn.execute(delete(table).where(table.c.run_id == run_id))


def replace_observations(engine: Engine, frame: pd.DataFrame) -> int:
    """Replace the whole `observations` table with `frame`, in one transaction."""
    with engine.begin() as conn:
        conn.execute(delete(observations))
        return insert_frame(conn, observations, frame)
