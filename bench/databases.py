"""Fresh, empty databases for the benchmarks (dropped and created again by name)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tidecast.db import make_engine


def fresh_postgres_database(postgres_url: str, name: str) -> str:
    """The URL of an empty database `name` on the server of `postgres_url`.

    `name` is built by the benchmark itself, never taken from input.
    """
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
