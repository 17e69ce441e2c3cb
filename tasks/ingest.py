"""Ingest: read the source (a table or the source query) and return the raw observations."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Executable, column, select, table, text
from sqlalchemy.exc import DBAPIError

from tasks.options import io_task
from tidecast.db import describe_db_error, make_engine
from tidecast.errors import TidecastError
from tidecast.progress import report
from tidecast.settings import Settings

REQUIRED_COLUMNS = ("series_id", "ts", "value")


def source_statement(settings: Settings) -> Executable:
    """The source table's three columns, or the source query file's SQL as written.

    A table name from settings goes in as a quoted identifier (checked against a strict
    pattern by the settings), never as text pasted into SQL.
    """
    if settings.source_table:
        schema, _, name = settings.source_table.rpartition(".")
        source = table(name, *(column(c) for c in REQUIRED_COLUMNS), schema=schema or None)
        return select(source)
    path = settings.source_query
    if not path.is_file():
        raise TidecastError(
            f"source query file {path} does not exist (setting TIDECAST_SOURCE_QUERY)"
        )
    return text(path.read_text())


def read_observations(settings: Settings) -> pd.DataFrame:
    """Rows of the source with exactly the columns series_id, ts, value."""
    statement = source_statement(settings)
    source = settings.source_description
    engine = make_engine(settings.database_url)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        engine.dispose()
        raise describe_db_error(settings.database_url, exc) from None
    try:
        result = conn.execute(statement)
        raw = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except DBAPIError as exc:
        if exc.connection_invalidated:  # the server went away mid-query: worth a retry
            raise describe_db_error(settings.database_url, exc) from None
        reason = str(exc.orig).strip().splitlines()[0]
        raise TidecastError(f"{source} failed: {reason}") from None
    finally:
        conn.close()
        engine.dispose()
    raw.columns = [str(column).lower() for column in raw.columns]
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
