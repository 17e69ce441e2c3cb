"""Baseline: the schema of the last tidecast before versioned migrations.

Creates what is missing, so the same step takes an empty database to this schema and
brings a database an older tidecast wrote up to it (tables it lacks, and the nullable
columns that tidecast used to add on its own). Frozen: later changes are later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables(meta: sa.MetaData) -> None:
    sa.Table(
        "backfill_forecasts",
        meta,
        sa.Column("cutoff", sa.DateTime(), nullable=False),
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("yhat", sa.Float(), nullable=False),
        sa.Column("yhat_lower_80", sa.Float(), nullable=True),
        sa.Column("yhat_upper_80", sa.Float(), nullable=True),
        sa.Column("yhat_lower_95", sa.Float(), nullable=True),
        sa.Column("yhat_upper_95", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("abs_error", sa.Float(), nullable=True),
        sa.Column("scaled_error", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cutoff", "series_id", "ts", name="pk_backfill_forecasts"),
    )
    sa.Index("ix_backfill_forecasts_run_id", meta.tables["backfill_forecasts"].c.run_id)
    sa.Table(
        "backtest_scores",
        meta,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(), nullable=False),
        sa.Column("mase", sa.Float(), nullable=True),
        sa.Column("smape", sa.Float(), nullable=True),
        sa.Column("rmse", sa.Float(), nullable=True),
        sa.Column("coverage_80", sa.Float(), nullable=True),
        sa.Column("coverage_95", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "series_id", "model", "fold", name="pk_backtest_scores"),
    )
    sa.Table(
        "champion_backtest_forecasts",
        meta,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=False),
        sa.Column("ds", sa.DateTime(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("yhat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "run_id", "series_id", "fold", "ds", name="pk_champion_backtest_forecasts"
        ),
    )
    sa.Table(
        "champions",
        meta,
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("promoted_at", sa.DateTime(), nullable=False),
        sa.Column("previous_model", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("members", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("series_id", "run_id", name="pk_champions"),
    )
    sa.Table(
        "degraded_series",
        meta,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("live_mase", sa.Float(), nullable=False),
        sa.Column("backtest_mase", sa.Float(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "series_id", name="pk_degraded_series"),
    )
    sa.Table(
        "forecast_accuracy",
        meta,
        sa.Column("forecast_run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("yhat", sa.Float(), nullable=False),
        sa.Column("abs_error", sa.Float(), nullable=False),
        sa.Column("scaled_error", sa.Float(), nullable=False),
        sa.Column("inside_80", sa.Integer(), nullable=False),
        sa.Column("inside_95", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("forecast_run_id", "series_id", "ts", name="pk_forecast_accuracy"),
    )
    sa.Index("ix_forecast_accuracy_run_id", meta.tables["forecast_accuracy"].c.run_id)
    sa.Table(
        "forecast_runs",
        meta,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("prefect_flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("flow_name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=True),
        sa.Column("rows_rejected", sa.Integer(), nullable=True),
        sa.Column("rows_used", sa.Integer(), nullable=True),
        sa.Column("data_watermark", sa.DateTime(), nullable=True),
        sa.Column("series_forecast", sa.Integer(), nullable=True),
        sa.Column("series_skipped", sa.JSON(), nullable=True),
        sa.Column("model_seconds", sa.JSON(), nullable=True),
        sa.Column("stage_seconds", sa.JSON(), nullable=True),
        sa.Column("gaps_filled", sa.Integer(), nullable=True),
        sa.Column("failures", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("code_version", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_forecast_runs"),
    )
    sa.Index("ix_forecast_runs_status", meta.tables["forecast_runs"].c.status)
    sa.Table(
        "forecasts",
        meta,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("yhat", sa.Float(), nullable=False),
        sa.Column("yhat_lower_80", sa.Float(), nullable=True),
        sa.Column("yhat_upper_80", sa.Float(), nullable=True),
        sa.Column("yhat_lower_95", sa.Float(), nullable=True),
        sa.Column("yhat_upper_95", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "series_id", "ts", name="pk_forecasts"),
    )
    sa.Table(
        "interval_calibration",
        meta,
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("yhat_lower_95", sa.Float(), nullable=True),
        sa.Column("yhat_lower_80", sa.Float(), nullable=True),
        sa.Column("yhat_upper_80", sa.Float(), nullable=True),
        sa.Column("yhat_upper_95", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "model", "step", name="pk_interval_calibration"),
    )
    sa.Table(
        "model_versions",
        meta,
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("data_start", sa.DateTime(), nullable=True),
        sa.Column("data_end", sa.DateTime(), nullable=True),
        sa.Column("series_count", sa.Integer(), nullable=True),
        sa.Column("artifact_path", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("backtest_mase", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("version_id", name="pk_model_versions"),
    )
    sa.Index("ix_model_versions_run_id", meta.tables["model_versions"].c.run_id)
    sa.Table(
        "observations",
        meta,
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("series_id", "ts", name="pk_observations"),
    )
    sa.Table(
        "rejected_observations",
        meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.Text(), nullable=True),
        sa.Column("ts", sa.Text(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("check_name", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_observations"),
    )
    sa.Index("ix_rejected_observations_run_id", meta.tables["rejected_observations"].c.run_id)
    sa.Table(
        "series_read_windows",
        meta,
        sa.Column("series_id", sa.String(length=255), nullable=False),
        sa.Column("last_ts", sa.DateTime(), nullable=False),
        sa.Column("read_from", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("series_id", name="pk_series_read_windows"),
    )


def upgrade() -> None:
    from tidecast.sql.migrations import run_views

    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    meta = sa.MetaData()
    _tables(meta)
    for table in meta.sorted_tables:
        if table.name not in existing:
            table.create(bind)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    run_views(bind, "views_0001.sql")


def downgrade() -> None:
    raise NotImplementedError("the baseline has nothing before it; restore a backup instead")
