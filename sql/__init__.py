"""SQL that tidecast runs, kept in `.sql` files beside this module and loaded by name."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import TextClause, text

SQL_DIR = Path(__file__).resolve().parent


def load_sql(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


def load_query(name: str) -> TextClause:
    """`sql/<name>.sql` as a SQLAlchemy `text()` clause with bound `:params`."""
    return text(load_sql(name))


def split_statements(script: str) -> list[str]:
    """Statements of a DDL script separated by `;`, its `--` comments left out (so a `;`
    in a comment splits nothing). The scripts here hold no literals with `;` or `--`."""
    code = re.sub(r"--[^\n]*", "", script)
    return [part.strip() for part in code.split(";") if part.strip()]
