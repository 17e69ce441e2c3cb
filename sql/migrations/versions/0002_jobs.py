"""Jobs: several forecasting set-ups in one database.

Every run belongs to a job (`forecast_runs.job`); rows written before jobs existed
become job `default`, the implicit job of a set-up without tidecast.yaml. Tables keyed
by `run_id` are per job through their run. The two tables keyed by series alone gain
`job` in their primary key, so jobs sharing series ids never collide. Runs also record
their frequency and unit, and forecasts the period they cover, for the views. Views gain
`job` and those columns (appended, so on PostgreSQL CREATE OR REPLACE VIEW keeps objects
built on them), and `forecast_history` is new.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_VIEWS_0001 = ("latest_forecasts", "current_champions", "accuracy_summary", "backfill_accuracy")


def _job_column() -> sa.Column:
    # The default fills the rows already there; it is dropped below, so a writer that
    # forgets the job fails instead of filing its rows under `default`.
    return sa.Column("job", sa.String(length=64), nullable=False, server_default="default")


def upgrade() -> None:
    from tidecast.sql.migrations import run_views

    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite re-creates a table to change its key; a view naming a table that is
        # renamed under it would break the rename. The views come back below.
        for view in _VIEWS_0001:
            op.execute(f"DROP VIEW IF EXISTS {view}")
    op.add_column("forecast_runs", _job_column())
    op.add_column("forecast_runs", sa.Column("freq", sa.String(length=16), nullable=True))
    op.add_column("forecast_runs", sa.Column("unit", sa.String(length=64), nullable=True))
    # Left NULL on rows written before: their run's grid is not in the database.
    op.add_column("forecasts", sa.Column("period_start", sa.DateTime(), nullable=True))
    op.add_column("forecasts", sa.Column("period_end", sa.DateTime(), nullable=True))
    with op.batch_alter_table("forecast_runs") as batch:
        batch.alter_column("job", server_default=None, existing_type=sa.String(length=64))
        batch.create_index("ix_forecast_runs_job", ["job"])
    keys = {
        "series_read_windows": ["job", "series_id"],
        "backfill_forecasts": ["job", "cutoff", "series_id", "ts"],
    }
    for table, key in keys.items():
        op.add_column(table, _job_column())
        with op.batch_alter_table(table) as batch:
            batch.alter_column("job", server_default=None, existing_type=sa.String(length=64))
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", key)
    run_views(op.get_bind(), "views_0002.sql")


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before `tidecast migrate`")
