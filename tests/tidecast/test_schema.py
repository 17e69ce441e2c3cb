"""The schema's versions: an empty database gets the head, one behind is refused until
`tidecast migrate`, one newer is refused always, and a failed migration changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.helpers import tidecast
from tidecast.cli import main
from tidecast.db import init_db, make_engine
from tidecast.errors import TidecastError
from tidecast.schema import head, migrate, revision_of
from tidecast.sql.tables import forecast_runs, metadata


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _legacy(engine) -> None:
    """A database as the tidecast before versioned migrations left it: its tables, one
    run's row, no version table, and without a column that tidecast added later."""
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            forecast_runs.insert().values(
                run_id="r1",
                flow_name="retrain",
                status="completed",
                started_at=dt.datetime(2026, 1, 1),
            )
        )
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("ALTER TABLE forecast_runs DROP COLUMN stage_seconds"))


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_an_empty_database_gets_the_head_revision_and_exactly_the_tables_of_tables_py(engine):
    init_db(engine)
    with engine.connect() as conn:
        assert revision_of(conn) == head()
        # what the migrations built is what sql/tables.py declares, to the column
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    init_db(engine)  # a current database is left as it is
    assert {"latest_forecasts", "current_champions"} <= set(inspect(engine).get_view_names())


def test_a_view_a_bi_user_built_on_ours_survives_init_db_redefining_them(engine):
    """`tidecast init-db` re-creates the views (CREATE OR REPLACE on PostgreSQL; drop and
    create on SQLite, where a view naming a dropped one works again once it is back)."""
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE VIEW bi_sales AS SELECT series_id, yhat FROM latest_forecasts"))
        conn.execute(text("CREATE VIEW bi_why AS SELECT series_id, reason FROM current_champions"))
    init_db(engine, replace_views=True)
    init_db(engine, replace_views=True)  # as often as it is run
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM bi_sales")).scalar() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM bi_why")).scalar() == 0
        assert {"bi_sales", "bi_why"} <= set(inspect(conn).get_view_names())


def test_a_database_from_before_migrations_is_refused_until_migrated_and_keeps_its_rows(
    engine, db_url, capsys
):
    _legacy(engine)
    with pytest.raises(TidecastError, match="from before versioned migrations.*tidecast migrate"):
        init_db(engine)
    assert main(["retrain", "--database-url", db_url]) == 2  # no run starts on it
    assert "tidecast migrate" in capsys.readouterr().err

    assert main(["migrate", "--database-url", db_url]) == 0
    said = capsys.readouterr().out.strip().splitlines()[-1]
    assert said.startswith("migrated ") and f"to revision {head()}" in said
    assert "stage_seconds" in _columns(engine, "forecast_runs")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT run_id FROM forecast_runs")).scalars().all() == ["r1"]
        assert revision_of(conn) == head()
    init_db(engine)
    assert main(["migrate", "--database-url", db_url]) == 0
    assert "nothing to migrate" in capsys.readouterr().out


def test_auto_migrate_migrates_a_database_behind_at_the_start_of_a_run(engine):
    _legacy(engine)
    init_db(engine, auto_migrate=True)
    assert "stage_seconds" in _columns(engine, "forecast_runs")
    with engine.connect() as conn:
        assert revision_of(conn) == head()


def test_the_commands_as_a_user_runs_them_migrate_and_tidecast_auto_migrate(
    engine, db_url, tmp_path
):
    _legacy(engine)
    refused = tidecast("init-db", "--database-url", db_url, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("error: ")
    assert "tidecast migrate" in refused.stderr and "Traceback" not in refused.stderr
    migrated = tidecast(
        "init-db",
        "--database-url",
        db_url,
        cwd=tmp_path,
        env_extra={"TIDECAST_AUTO_MIGRATE": "true"},
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "stage_seconds" in _columns(engine, "forecast_runs")
    with engine.connect() as conn:
        assert revision_of(conn) == head()
    again = tidecast("migrate", "--database-url", db_url, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to migrate" in again.stdout


def test_a_database_newer_than_this_tidecast_is_refused_even_by_migrate(engine, db_url, capsys):
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(TidecastError, match="9999_from_the_future, newer than this tidecast"):
        init_db(engine, auto_migrate=True)
    assert main(["migrate", "--database-url", db_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "newer than this tidecast" in err
    assert "Traceback" not in err


def test_a_migration_that_fails_half_way_changes_nothing(engine, monkeypatch):
    """The baseline creates every table, then the views; a failure at the views must take
    the tables back with it (PostgreSQL's transactional DDL; SQLite in tidecast's own
    transaction)."""
    import tidecast.sql.migrations as migrations

    def fails(conn, filename):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(migrations, "run_views", fails)
    with pytest.raises(RuntimeError, match="interrupted"):
        init_db(engine)
    assert inspect(engine).get_table_names() == []
    monkeypatch.undo()
    init_db(engine)
    with engine.connect() as conn:
        assert revision_of(conn) == head()


def _before_jobs(engine) -> None:
    """A database at revision 0001 (before jobs) holding one completed run's rows."""
    migrate(engine, "0001")
    day = dt.datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO forecast_runs (run_id, flow_name, status, started_at, finished_at) "
                "VALUES ('r1', 'retrain', 'completed', :day, :day)"
            ),
            {"day": day},
        )
        conn.execute(
            text(
                "INSERT INTO forecasts (run_id, series_id, ts, step, model, yhat, created_at) "
                "VALUES ('r1', 'S1', :day, 1, 'naive', 5.0, :day)"
            ),
            {"day": day},
        )
        conn.execute(
            text(
                "INSERT INTO series_read_windows (series_id, last_ts, read_from, run_id) "
                "VALUES ('S1', :day, :day, 'r1')"
            ),
            {"day": day},
        )
        conn.execute(
            text(
                "INSERT INTO backfill_forecasts (cutoff, series_id, ts, step, model, yhat, "
                "run_id, created_at) VALUES (:day, 'S1', :day, 1, 'naive', 5.0, 'r1', :day)"
            ),
            {"day": day},
        )


def _contents(engine) -> dict[str, tuple]:
    """Per table: its row count and a checksum of its rows (the sorted rows' text)."""
    with engine.connect() as conn:
        tables = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
        found = {}
        for table in tables:
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            # columns the migration adds are left out, so before and after compare
            kept = [{k: str(v) for k, v in row.items() if k not in _ADDED} for row in rows]
            found[table] = (len(rows), hash(tuple(sorted(str(sorted(r.items())) for r in kept))))
    return found


_ADDED = {
    "job", "freq", "unit", "period_start", "period_end",
    "covariate_rows_read", "covariate_rows_rejected", "covariate_rows_used",
    "adi", "cv2", "demand_class",
}  # fmt: skip


def test_a_database_from_before_jobs_migrates_with_every_row_in_job_default(engine):
    _before_jobs(engine)
    before = _contents(engine)
    postgres = engine.dialect.name == "postgresql"
    if postgres:  # what a BI user built on the view: must survive (CREATE OR REPLACE VIEW)
        with engine.begin() as conn:
            conn.execute(
                text("CREATE VIEW bi_sales AS SELECT series_id, yhat FROM latest_forecasts")
            )
            conn.execute(
                text("CREATE VIEW bi_champions AS SELECT series_id, model FROM current_champions")
            )
    assert migrate(engine) == ("0001", head())
    after = _contents(engine)
    assert {table: after[table] for table in before} == before  # every row kept, to the value
    assert after["rejected_covariates"][0] == 0  # a table the migrations added
    with engine.connect() as conn:
        if postgres:
            assert conn.execute(text("SELECT series_id, yhat FROM bi_sales")).all() == [("S1", 5.0)]
            assert conn.execute(text("SELECT COUNT(*) FROM bi_champions")).scalar() == 0
        # the views of the head revision: each champion's reason (0004) included
        assert "reason" in {c["name"] for c in inspect(conn).get_columns("current_champions")}
        for table in ("forecast_runs", "series_read_windows", "backfill_forecasts"):
            jobs = conn.execute(text(f"SELECT job FROM {table}")).scalars().all()
            assert jobs == ["default"], table
        latest = conn.execute(text("SELECT run_id, job, series_id FROM latest_forecasts")).all()
        assert [tuple(row) for row in latest] == [("r1", "default", "S1")]
        keys = inspect(conn).get_pk_constraint("series_read_windows")["constrained_columns"]
        assert keys == ["job", "series_id"]
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    # the default that filled the old rows is gone: a writer must name the job
    with pytest.raises(Exception, match="(?i)not.null|null value"):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO forecast_runs (run_id, flow_name, status, started_at) "
                    "VALUES ('r2', 'retrain', 'running', :day)"
                ),
                {"day": dt.datetime(2026, 2, 1)},
            )


def test_the_jobs_migration_failing_at_its_views_leaves_the_database_at_0001(engine, monkeypatch):
    """SQLite re-creates two tables to change their keys, PostgreSQL alters them; either
    way a failure at the last step (the views) must leave revision 0001's tables and rows."""
    import tidecast.sql.migrations as migrations

    _before_jobs(engine)
    real = migrations.run_views

    def fails_at_0002(conn, filename):
        if filename == "views_0002.sql":
            raise RuntimeError("interrupted")
        real(conn, filename)

    monkeypatch.setattr(migrations, "run_views", fails_at_0002)
    with pytest.raises(RuntimeError, match="interrupted"):
        migrate(engine)
    with engine.connect() as conn:
        assert revision_of(conn) == "0001"
    assert "job" not in _columns(engine, "forecast_runs")
    assert "job" not in _columns(engine, "series_read_windows")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT series_id FROM series_read_windows")).scalars().all() == [
            "S1"
        ]
        assert conn.execute(text("SELECT COUNT(*) FROM latest_forecasts")).scalar() == 1
    monkeypatch.undo()
    migrate(engine)
    with engine.connect() as conn:
        assert revision_of(conn) == head()
