"""A flow run's record and announcements at the Prefect edge.

- `recorded_run` opens the run row (and the run lock), and closes it `completed` or
  `failed` with the failure's fields, whatever stops the run;
- what a run publishes (leaderboard and summary artifacts, the degradation event, the
  report link) goes to Prefect (`PrefectPublisher`, `report_link`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from prefect.context import FlowRunContext
from prefect.exceptions import TerminationSignal
from prefect.runtime import flow_run

from tidecast.edge.artifacts import publish_degradation, publish_html_report, publish_run_report
from tidecast.edge.prefect_logs import forward_to_prefect
from tidecast.edge.runners import ConfiguredTaskRunner
from tidecast.edge.steps import PrefectSteps, compute_task, stage_seconds
from tidecast.settings import Settings
from tidecast.tasks import pipeline
from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.monitor import LiveAccuracy
from tidecast.tasks.pipeline import Run
from tidecast.tasks.validate import ValidatedPanel


def start_workers() -> None:
    """Start the flow run's chunk workers while it reads its input
    (`ConfiguredTaskRunner.start`)."""
    context = FlowRunContext.get()
    runner = getattr(context, "task_runner", None)
    if isinstance(runner, ConfiguredTaskRunner):
        runner.start()


class PrefectPublisher(pipeline.Publisher):
    """`Publisher` to Prefect: artifacts and events, each published by a task of its own."""

    def leaderboard(
        self,
        run_id: str,
        validated: ValidatedPanel,
        scored: BacktestResult,
        chosen: pd.DataFrame,
        job: str,
    ) -> None:
        compute_task(publish_run_report)(run_id, validated, scored, chosen, job)

    def degraded(self, run_id: str, accuracy: LiveAccuracy, factor: float, job: str) -> list[str]:
        return compute_task(publish_degradation)(run_id, accuracy, factor, job)


@contextmanager
def recorded_run(settings: Settings, flow_name: str) -> Iterator[Run]:
    """The pipeline's `recorded_run` of one flow run: its steps as Prefect tasks, its
    announcements to Prefect, the flow run's id and stage timings on the row, and the
    chunk workers started once the row exists. A Prefect termination signal counts as
    an interruption, like Ctrl-C."""
    forward_to_prefect()  # progress lines reach the run's Prefect logs, however it started
    prefect_id = flow_run.get_id()
    with pipeline.recorded_run(
        settings,
        flow_name,
        PrefectSteps(settings),
        PrefectPublisher(),
        flow_run_id=prefect_id,
        stage_seconds=lambda: stage_seconds(prefect_id),
        interrupted=lambda exc: isinstance(exc, TerminationSignal),
        opened=start_workers,
    ) as run:
        yield run


def report_link(settings: Settings, run_id: str) -> None:
    """After a retrain completed: its HTML report, linked from the flow run."""
    compute_task(publish_html_report)(settings, run_id)
