"""Runs of the pipeline in this process, recorded as the flows record them: the real
database, run row, run lock and quarantine, without Prefect (`tasks.pipeline.InProcess`).

Most pipeline behaviour is tested this way; the tests in tests/flows/ keep a few runs of
the Prefect flows themselves, and tests/tidecast/test_cli*.py a few of the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tidecast.settings import Settings, load_settings
from tidecast.tasks import pipeline


def pipeline_settings(url: str, artifacts: Path, **overrides: Any) -> Settings:
    """What `run_env` gives a flow, as one settings object: the database at `url`, the
    baselines (tests/flows/test_zoo.py runs the whole zoo), one thread a fit, no waits
    between I/O retries; `overrides` as flags would give them."""
    given = {
        "database_url": url,
        "io_retry_delay_seconds": 0,
        "artifacts_dir": str(artifacts),
        "models": "naive,seasonal_naive",
        "n_jobs": 1,
        "workers": 1,
        **overrides,
    }
    return load_settings(**given)


def retrain_in_process(settings: Settings) -> str:
    """The retrain flow's work (`pipeline.retrain`) in a recorded run; returns its id."""
    with pipeline.recorded_run(settings, "retrain") as run:
        pipeline.retrain(run)
    return run.id


def forecast_in_process(settings: Settings, horizon: int | None = None) -> str:
    """The forecast flow's work (`pipeline.forecast`, with the settings of the last
    retrain) in a recorded run; returns its id."""
    refreshed, trained = pipeline.settings_of_last_retrain(settings, pipeline.InProcess(), horizon)
    with pipeline.recorded_run(refreshed, "forecast") as run:
        pipeline.forecast(run, trained)
    return run.id


def backfill_in_process(settings: Settings, start: str, end: str) -> str:
    """The backfill flow's work (`pipeline.backfill`) in a recorded run; returns its id."""
    with pipeline.recorded_run(settings, "backfill") as run:
        pipeline.backfill(run, start, end)
    return run.id


# The flows' signatures, run in this process: a test module that imports these instead
# of the flows runs the same steps on the same database without Prefect (the settings,
# as a deployment's worker reads them, from the environment `pipeline_env` sets).


def retrain(
    horizon: int | None = None,
    freq: str | None = None,
    season_length: int | None = None,
    folds: int | None = None,
    models: list[str] | None = None,
    preset: str | None = None,
    settings: Settings | None = None,
) -> str:
    """`tidecast.flows.retrain.retrain`'s run, in this process (no HTML report)."""
    knobs = dict(horizon=horizon, freq=freq, season_length=season_length, folds=folds)
    given = settings if settings is not None else load_settings()
    return retrain_in_process(given.with_overrides(**knobs, models=models, preset=preset))


def forecast_flow(horizon: int | None = None, settings: Settings | None = None) -> str:
    """`tidecast.flows.forecast.forecast_flow`'s run, in this process."""
    return forecast_in_process(settings if settings is not None else load_settings(), horizon)


def backfill(
    start: str,
    end: str,
    horizon: int | None = None,
    freq: str | None = None,
    season_length: int | None = None,
    folds: int | None = None,
    settings: Settings | None = None,
) -> str:
    """`tidecast.flows.backfill.backfill`'s run, in this process."""
    knobs = dict(horizon=horizon, freq=freq, season_length=season_length, folds=folds)
    given = settings if settings is not None else load_settings()
    return backfill_in_process(given.with_overrides(**knobs), start, end)
