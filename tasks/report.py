"""The run summary a retrain shows in the Prefect UI (as a markdown artifact, beside the
leaderboard: `tidecast.edge.artifacts`)."""

from __future__ import annotations

import pandas as pd

from tidecast.tasks.leaderboard import champions_changed
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
