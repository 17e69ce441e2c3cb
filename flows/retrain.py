"""The `retrain` flow: observations in, backtested champions' forecasts out."""

from __future__ import annotations

from prefect import flow

from tidecast.edge.run_names import run_name
from tidecast.edge.runners import ConfiguredTaskRunner
from tidecast.edge.runs import recorded_run, report_link
from tidecast.edge.settings import run_settings
from tidecast.settings import Settings
from tidecast.tasks import pipeline


@flow(name="retrain", flow_run_name=run_name("retrain"), task_runner=ConfiguredTaskRunner())
def retrain(
    horizon: int | None = None,
    freq: str | None = None,
    season_length: int | None = None,
    folds: int | None = None,
    models: list[str] | None = None,
    preset: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Read, validate, backtest every model, promote per series, and write forecasts.

    `settings` are the CLI's (or a deployment's); without them, `TIDECAST_*` environment
    variables. The other parameters override them. Returns the run id.
    """
    knobs = dict(horizon=horizon, freq=freq, season_length=season_length, folds=folds)
    settings = run_settings(settings, **knobs, models=models, preset=preset)
    with recorded_run(settings, "retrain") as run:
        pipeline.retrain(run)
    report_link(settings, run.id)  # the HTML report of the completed run
    return run.id
