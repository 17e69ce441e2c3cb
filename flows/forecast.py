"""The `forecast` flow: fresh forecasts from the current champions, without a backtest."""

from __future__ import annotations

from prefect import flow

from tidecast.edge.run_names import run_name
from tidecast.edge.runners import ConfiguredTaskRunner
from tidecast.edge.runs import recorded_run
from tidecast.edge.settings import run_settings
from tidecast.edge.steps import PrefectSteps
from tidecast.settings import Settings
from tidecast.tasks import pipeline


@flow(name="forecast", flow_run_name=run_name("forecast"), task_runner=ConfiguredTaskRunner())
def forecast_flow(horizon: int | None = None, settings: Settings | None = None) -> str:
    """Read and validate the latest observations, refit the champions on them, write forecasts.

    Frequency, season length and (unless given) horizon are those of the latest completed
    retrain, whose champions and interval calibration are used. `settings` are the CLI's
    (or a deployment's); without them, `TIDECAST_*` environment variables. Returns the run id.
    """
    settings = run_settings(settings)
    settings, trained = pipeline.settings_of_last_retrain(settings, PrefectSteps(settings), horizon)
    with recorded_run(settings, "forecast") as run:
        pipeline.forecast(run, trained)
    return run.id
