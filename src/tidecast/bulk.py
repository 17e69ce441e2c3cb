"""Bulk writes to PostgreSQL: COPY into a staging table, then one INSERT from it.

Row-by-row inserts cost a round of parameter binding per row; COPY streams the whole
frame as CSV in one statement. The staging table is a temporary copy of the target's
columns, dropped at commit, so everything stays inside the caller's transaction: a
failed run leaves nothing behind, as with plain inserts. Table and column names come
from `sql/tables.py`, never from input.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from sqlalchemy import Connection, Integer, Table, text

NULL = r"\N"  # the CSV null marker (a string value that is exactly \N would read as NULL)


def _quote(name: str) -> str:
    return f'"{name}"'


def _csv(table: Table, frame: pd.DataFrame) -> str:
    plain = frame.copy()
    for name in plain.columns:
        if isinstance(table.c[name].type, Integer) and plain[name].dtype.kind == "f":
            plain[name] = plain[name].astype("Int64")  # 3.0 would not parse as an integer
    return plain.to_csv(index=False, header=False, na_rep=NULL, date_format="%Y-%m-%d %H:%M:%S.%f")


def copy_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Write `frame` into `table` with COPY, in `conn`'s open transaction.

    The final INSERT has no ON CONFLICT: writers delete a run's earlier rows first
    (`replace_run_rows`), so a key that is already there is a bug, and it raises
    IntegrityError here as it does on SQLite.
    """
    columns = list(frame.columns)
    target = conn.dialect.identifier_preparer.format_table(table)  # schema-qualified, quoted
    quoted = ", ".join(_quote(name) for name in columns)
    staging = f"tidecast_staging_{table.name}"
    conn.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
            f"(LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
    )
    conn.execute(text(f"TRUNCATE {staging}"))
    driver = conn.connection.driver_connection  # psycopg 3, in the same transaction
    with (
        driver.cursor() as cursor,
        cursor.copy(
            f"COPY {staging} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')"
        ) as copy,
    ):
        for rows in batches(frame):
            copy.write(_csv(table, rows))
    conn.execute(text(f"INSERT INTO {target} ({quoted}) SELECT {quoted} FROM {staging}"))
    return len(frame)


# Rows turned into Python values (or COPY text) at a time: millions of rows at once
# would cost gigabytes of dicts (BENCHMARKS.md, "Speed and scale").
WRITE_BATCH_ROWS = 100_000


def batches(frame: pd.DataFrame, rows: int = WRITE_BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """`frame` in consecutive slices of at most `rows` rows."""
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]
