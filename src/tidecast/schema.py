"""The database schema's version, and the one check every command makes before using it.

The schema is versioned with Alembic (`sql/migrations`). A database is in one of four
states; each gets one answer:

* *empty* (none of tidecast's output tables): the migrations create the schema — nothing
  of a user's is there to break;
* *current* (at the head revision): go on;
* *behind* (an older revision, or tables from a tidecast before versioned migrations):
  refuse with the command to run, `tidecast migrate`, unless `auto_migrate` is set;
* *newer* (a revision this tidecast does not know): always refuse — an older tidecast
  must not write into a schema it does not understand.

A migration runs in one transaction: on PostgreSQL (transactional DDL) one that fails
half-way changes nothing. SQLite's Python driver would commit each DDL statement on its
own; tidecast opens the transaction itself there, so the same holds (tested).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Literal

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from tidecast.errors import TidecastError
from tidecast.sql.migrations import MIGRATIONS_DIR
from tidecast.urls import safe_url

State = Literal["empty", "current", "behind", "newer"]
# The tables whose presence marks a database tidecast has written to. `observations`
# is not one: a user's own source table may carry that name.
_OUTPUT_TABLES = {"forecast_runs", "forecasts"}


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@cache
def _scripts() -> ScriptDirectory:
    """The revision scripts, read once per process (every command checks the revision)."""
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this tidecast knows."""
    return _scripts().get_current_head()


def revision_of(conn: Connection) -> str | None:
    """The database's revision; None when it has none (empty, or from before migrations)."""
    return MigrationContext.configure(conn).get_current_revision()


def state_of(conn: Connection) -> tuple[State, str | None]:
    """(state, revision) of the database behind `conn`."""
    revision = revision_of(conn)
    if revision is None:
        tables = set(inspect(conn).get_table_names())
        return ("empty" if not tables & _OUTPUT_TABLES else "behind"), None
    if revision not in {script.revision for script in _scripts().walk_revisions()}:
        return "newer", revision
    return ("current" if revision == head() else "behind"), revision


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that DDL statements join on every backend.

    pysqlite begins transactions only before INSERT/UPDATE/DELETE, so a CREATE TABLE
    would commit on its own; here the driver is told to leave transactions to us and
    BEGIN is issued explicitly (SQLAlchemy's documented recipe for pysqlite).
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection
        if sqlite:
            level, raw.isolation_level = raw.isolation_level, None
        try:
            with conn.begin():
                if sqlite:
                    conn.exec_driver_sql("BEGIN")
                yield conn
        finally:
            if sqlite:
                raw.isolation_level = level


def migrate(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to `target` (default: the head revision) in one transaction:
    (before, after)."""
    from alembic import command

    with _transaction(engine) as conn:
        state, before = state_of(conn)
        if state == "newer":
            raise _newer(engine, before)
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, target)
    return before, head() if target == "head" else target


def ensure_current(engine: Engine, auto_migrate: bool = False) -> None:
    """Make sure the schema is the one this tidecast writes, or say what to run.

    An empty database gets the schema; one behind is migrated only with `auto_migrate`.
    """
    with engine.connect() as conn:
        state, revision = state_of(conn)
    if state == "current":
        return
    if state == "newer":
        raise _newer(engine, revision)
    if state == "behind" and not auto_migrate:
        found = f"revision {revision}" if revision else "tables from before versioned migrations"
        raise TidecastError(
            f"database {_where(engine)} has tidecast's schema at {found}; this tidecast needs "
            f"revision {head()}: run `tidecast migrate --database-url …` with this database's URL "
            "(back it up first), or set TIDECAST_AUTO_MIGRATE=true to migrate on every run"
        )
    migrate(engine)


def _where(engine: Engine) -> str:
    """The database's URL as messages show it: without its password."""
    return safe_url(engine.url.render_as_string(hide_password=False))


def _newer(engine: Engine, revision: str | None) -> TidecastError:
    return TidecastError(
        f"database {_where(engine)} has tidecast's schema at revision {revision}, newer than this "
        f"tidecast knows (up to {head()}): run the tidecast release that migrated it"
    )
