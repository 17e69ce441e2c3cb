"""Champions gain each series' demand class (`adi`, `cv2`, `demand_class`:
tasks/demand.py), NULL on rows written before; `current_champions` shows them and each
champion's `reason` (appended, so on PostgreSQL CREATE OR REPLACE VIEW keeps objects
built on it; a series too short to backtest is forecast by `short_history`, and the
reason says so).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from tidecast.sql.migrations import run_views

    op.add_column("champions", sa.Column("adi", sa.Float(), nullable=True))
    op.add_column("champions", sa.Column("cv2", sa.Float(), nullable=True))
    op.add_column("champions", sa.Column("demand_class", sa.String(length=16), nullable=True))
    run_views(op.get_bind(), "views_0004.sql")


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before `tidecast migrate`")
