"""What a run shows in the Prefect UI: the leaderboard as a table artifact, and a summary."""

from __future__ import annotations

import pandas as pd
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.leaderboard import champions_changed, leaderboard
from tidecast.tasks.validate import ValidatedPanel


def run_summary_markdown(
    run_id: str, validated: ValidatedPanel, chosen: pd.DataFrame, board: pd.DataFrame, job: str
) -> str:
    by_check = validated.rejected["check_name"].value_counts().to_dict()
    lines = [
        f"# tidecast run `{run_id}` of job {job}",
        "",
        f"- rows read: {validated.rows_read}",
        f"- rows quarantined: {len(validated.rejected)} {by_check if by_check else ''}",
        f"- series skipped: {len(validated.skipped)}",
        f"- series forecast: {len(chosen)}",
        f"- champions changed: {int(champions_changed(chosen).sum())}",
        "",
        "## Leaderboard",
        "",
        board.to_markdown(index=False, floatfmt=".3f"),
    ]
    return "\n".join(lines)


def publish_run_report(
    run_id: str, validated: ValidatedPanel, scored: BacktestResult, chosen: pd.DataFrame, job: str
) -> pd.DataFrame:
    """Attach the leaderboard (table) and a summary (markdown) to the flow run, under keys
    of the job (`tidecast-leaderboard-<job>`), so each job's artifacts keep their own
    history in the Prefect UI."""
    board = leaderboard(scored.scores, chosen, scored.model_seconds).round(4)
    create_table_artifact(
        table=board.astype(object).where(board.notna(), None).to_dict("records"),
        key=f"tidecast-leaderboard-{job}",
        description="Backtest leaderboard: mean MASE, sMAPE, coverage, series won, seconds",
    )
    create_markdown_artifact(
        markdown=run_summary_markdown(run_id, validated, chosen, board, job),
        key=f"tidecast-run-summary-{job}",
        description="Rows read and quarantined, series skipped, champions changed",
    )
    return board
