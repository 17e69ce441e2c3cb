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
from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.monitor import LiveAccuracy
from tidecast.tasks.pipeline import Run
from tidecast.tasks.runs import close_run, open_run
from tidecast.tasks.summary import failure_fields
from tidecast.tasks.validate import ValidatedPanel


def start_workers() -> None:
    """Start the flow run's chunk workers while it reads its input
    (`ConfiguredTaskRunner.start`)."""
    context = FlowRunContext.get()
    runner = getattr(context, "task_runner", None)
    if isinstance(runner, ConfiguredTaskRunner):
        runner.start()


class PrefectPublisher:
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
    """The run row of one flow run, from `running` to `completed` or `failed`.

    Opening it takes the database's run lock (a second writing run is refused); the
    block's `run.finish(fields)` gives the completed row's fields. Any exception (a
    SIGTERM or Ctrl-C included) marks the run failed with what is known of its input,
    and goes on up.
    """
    forward_to_prefect()  # progress lines reach the run's Prefect logs, however it started
    steps = PrefectSteps(settings)
    prefect_id = flow_run.get_id()
    run_id = steps.io(open_run, settings, flow_name, settings.run_parameters(), prefect_id)
    start_workers()
    run = Run(settings, run_id, steps, publish=PrefectPublisher())
    try:
        yield run
        steps.io(close_run, settings, run_id, "completed", stage_seconds(prefect_id), **run.fields)
    except BaseException as exc:  # marking it completed failing included
        interrupted = isinstance(exc, TerminationSignal | KeyboardInterrupt)
        fields = failure_fields(exc, run.validated, interrupted)
        steps.io(close_run, settings, run_id, "failed", stage_seconds(prefect_id), **fields)
        raise


def report_link(settings: Settings, run_id: str) -> None:
    """After a retrain completed: its HTML report, linked from the flow run."""
    compute_task(publish_html_report)(settings, run_id)
