"""Covariates: their quarantine table, their row counts on the run row, and the table of
what drove each model (feature importance).

Runs written before have NULL counts (they read no covariates).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("covariate_rows_read", "covariate_rows_rejected", "covariate_rows_used"):
        op.add_column("forecast_runs", sa.Column(name, sa.Integer(), nullable=True))
    op.create_table(
        "rejected_covariates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("series_id", sa.Text(), nullable=True),
        sa.Column("ts", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("known_at", sa.Text(), nullable=True),
        sa.Column("check_name", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_covariates")),
    )
    op.create_index(
        op.f("ix_rejected_covariates_run_id"), "rejected_covariates", ["run_id"], unique=False
    )
    op.create_table(
        "feature_importance",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("importance", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "run_id", "model", "feature", "method", name=op.f("pk_feature_importance")
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before `tidecast migrate`")
