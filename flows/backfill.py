"""The `backfill` flow: the forecasts each past date would have had, without touching BI."""

from __future__ import annotations

from prefect import flow

from tidecast.edge.run_names import run_name
from tidecast.edge.runners import ConfiguredTaskRunner
from tidecast.edge.runs import recorded_run
from tidecast.edge.settings import run_settings
from tidecast.settings import Settings
from tidecast.tasks import pipeline


@flow(name="backfill", flow_run_name=run_name("backfill"), task_runner=ConfiguredTaskRunner())
def backfill(
    start: str,
    end: str,
    horizon: int | None = None,
    freq: str | None = None,
    season_length: int | None = None,
    folds: int | None = None,
    models: list[str] | None = None,
    preset: str | None = None,
    settings: Settings | None = None,
) -> str:
    """A retrain as of every cutoff from `start` to `end`, into `backfill_forecasts`; each
    cutoff's chunks fan out through the task runner like a retrain's.

    `settings` are the CLI's (or a deployment's); without them, `TIDECAST_*` environment
    variables. The other parameters override them. Returns the run id.
    """
    knobs = dict(horizon=horizon, freq=freq, season_length=season_length, folds=folds)
    settings = run_settings(settings, **knobs, models=models, preset=preset)
    with recorded_run(settings, "backfill") as run:
        pipeline.backfill(run, start, end)
    return run.id
