"""docs/operations.md's least-privilege roles, run verbatim against a real PostgreSQL server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.exc import ProgrammingError

from tests.helpers import POSTGRES_URL, postgres_database, query
from tidecast.db import insert_frame, make_engine
from tidecast.flows.retrain import retrain
from tidecast.sql.tables import observations as observations_table

pytestmark = pytest.mark.slow  # a PostgreSQL role set-up and real runs under it

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROLES = ("tidecast", "tidecast_bi")


def doc_sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture
def operated_db(observations):
    """A database prepared as the doc says: source in sales.observations, the doc's SQL run."""
    databases = postgres_database()
    url = next(databases)  # skips (fails under CI) without a PostgreSQL server
    admin = create_engine(make_engine(POSTGRES_URL).url, isolation_level="AUTOCOMMIT")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA sales"))
        conn.execute(
            text(
                "CREATE TABLE sales.observations "
                "(series_id text, ts timestamp, value float8, PRIMARY KEY (series_id, ts))"
            )
        )
        insert_frame(
            conn,
            observations_table.to_metadata(MetaData(), schema="sales"),
            observations,
        )
        for block in doc_sql_blocks():  # as psql would send it: no placeholders
            conn.connection.driver_connection.execute(block)
    engine.dispose()
    as_role = {
        role: make_engine(url).url.set(username=role).render_as_string(False) for role in ROLES
    }
    try:
        yield as_role
    finally:
        for _ in databases:  # drops the database (and with it the grants and schema)
            pass
        with admin.connect() as conn:
            for role in ROLES:
                conn.execute(text(f"DROP ROLE IF EXISTS {role}"))  # names from this module
        admin.dispose()


def refused(url: str, sql: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    except ProgrammingError as exc:
        return "permission denied" in str(exc.orig)
    finally:
        engine.dispose()
    return False


@pytest.mark.postgres
def test_the_documented_roles_run_tidecast_and_allow_nothing_more(operated_db, run_env):
    app, bi = operated_db["tidecast"], operated_db["tidecast_bi"]
    run_env(app, source_table="sales.observations")
    run_id = retrain(horizon=6, freq="MS")

    # tidecast's tables and views landed in its own schema
    placed = query(
        app,
        "SELECT table_schema FROM information_schema.tables "
        "WHERE table_name IN ('forecasts', 'forecast_runs', 'latest_forecasts')",
    )
    assert placed["table_schema"].tolist() == ["tidecast"] * 3
    # BI reads what tidecast publishes, and nothing else
    latest = query(bi, "SELECT run_id FROM tidecast.latest_forecasts")
    assert set(latest["run_id"]) == {run_id} and len(latest) > 0
    assert refused(bi, "SELECT * FROM sales.observations")
    assert refused(bi, "DELETE FROM tidecast.forecasts")
    assert refused(bi, "CREATE TABLE tidecast.mine (x int)")
    # the runs read the source but cannot change it or create outside their schema
    assert refused(app, "DELETE FROM sales.observations")
    assert refused(app, "INSERT INTO sales.observations VALUES ('x', now(), 1)")
    assert refused(app, "CREATE TABLE public.mine (x int)")
    assert refused(app, "CREATE TABLE sales.mine (x int)")
