"""Versioned schema migrations (Alembic): `env.py`, one file per revision in `versions/`,
and each revision's view definitions as `views_<revision>.sql`.

The views of the newest `views_*.sql` are the current ones (`init-db` re-creates them);
older files stay as the revisions that wrote them left them, so a migration replays the
same statements forever.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from tidecast.sql import split_statements

MIGRATIONS_DIR = Path(__file__).resolve().parent


# SQLite has no CREATE OR REPLACE VIEW: there a view is dropped and created again.
_REPLACE_VIEW = re.compile(r"CREATE OR REPLACE VIEW (\w+)")


def run_views(conn: Connection, filename: str) -> None:
    """Run the view statements of `filename` (in this directory) on `conn`."""
    for statement in split_statements((MIGRATIONS_DIR / filename).read_text()):
        if conn.dialect.name == "sqlite":
            found = _REPLACE_VIEW.search(statement)
            if found:
                conn.execute(text(f"DROP VIEW IF EXISTS {found.group(1)}"))
                statement = _REPLACE_VIEW.sub(r"CREATE VIEW \1", statement)
        conn.execute(text(statement))


def current_views() -> str:
    """The newest views file: the views of the head revision."""
    return sorted(path.name for path in MIGRATIONS_DIR.glob("views_*.sql"))[-1]
