"""The reason of each champion in `current_champions` (appended, so on PostgreSQL
CREATE OR REPLACE VIEW keeps objects built on it): a series too short to backtest is
forecast by `short_history`, and the reason says so. No table changes.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from tidecast.sql.migrations import run_views

    run_views(op.get_bind(), "views_0004.sql")


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before `tidecast migrate`")
