"""What a run publishes to Prefect: the leaderboard and summary artifacts of a retrain,
the degradation event of a forecast run, and the link to a retrain's HTML report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.events import emit_event

from tidecast.progress import report
from tidecast.settings import Settings
from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.leaderboard import leaderboard
from tidecast.tasks.monitor import DEGRADED_EVENT, LiveAccuracy, degradation_resource
from tidecast.tasks.report import run_summary_markdown
from tidecast.tasks.validate import ValidatedPanel


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


def publish_degradation(run_id: str, accuracy: LiveAccuracy, factor: float, job: str) -> list[str]:
    """Emit `tidecast.accuracy.degraded` when any series degraded; notes for the run row.

    The event names the job (`tidecast.job`), so each job's retrain trigger reacts to
    its own forecast runs only."""
    notes = [f"{accuracy.scored} forecast points scored against actuals"]
    if accuracy.degraded.empty:
        return notes
    series = accuracy.degraded["series_id"].astype(str).tolist()
    event = emit_event(
        event=DEGRADED_EVENT,
        resource=degradation_resource(run_id, job),
        payload={"series": series[:1000], "count": len(series), "factor": factor},
    )
    sent = f" (event {event.id})" if event is not None else " (events are off)"
    shown = ", ".join(series[:10]) + (" …" if len(series) > 10 else "")
    notes.append(
        f"{len(series)} series degraded past {factor:g}x their backtest MASE, flagged for "
        f"retraining: {shown}; published {DEGRADED_EVENT}{sent}"
    )
    return notes


def publish_html_report(settings: Settings, run_id: str) -> Path | None:
    """After a retrain completed: the report file, and a link artifact in Prefect to it.

    A report that cannot be rendered is said so in the log; the run stays completed.
    """
    if not settings.html_report:
        return None
    # imported here: the report's plotly costs every flow's start-up about 0.4 s
    from tidecast.tasks.html_report import write_report

    try:
        path = write_report(settings, run_id).resolve()
    except Exception as exc:  # noqa: BLE001 - the forecasts are written; say why, go on
        report("report", f"the HTML report could not be rendered: {exc!r}")
        return None
    create_link_artifact(
        link=path.as_uri(),
        link_text=f"tidecast report {run_id}",
        key="tidecast-html-report",
        description="The run report: leaderboard, series plots, data health",
    )
    return path
