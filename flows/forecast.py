"""The `forecast` flow: fresh forecasts from the current champions, without a backtest."""

from __future__ import annotations

from prefect import flow

from tidecast.run_names import run_name
from tidecast.runners import ConfiguredTaskRunner
from tidecast.settings import Settings, run_settings
from tidecast.tasks.forecast import assembled_forecasts, final_fit_on_chunk, planned_final_fits
from tidecast.tasks.ingest import ingest, record_read_windows
from tidecast.tasks.monitor import monitor_accuracy, publish_degraded
from tidecast.tasks.options import run_chunks
from tidecast.tasks.refresh import assign_champions, last_retrain
from tidecast.tasks.runs import finish_run, start_run
from tidecast.tasks.summary import failure_fields, run_summary
from tidecast.tasks.validate import enforce_rejection_threshold, validate
from tidecast.tasks.write import (
    current_champions,
    record_quarantine,
    retrain_calibration,
    stored_models,
    write_forecasts,
)


@flow(name="forecast", flow_run_name=run_name("forecast"), task_runner=ConfiguredTaskRunner())
def forecast_flow(horizon: int | None = None, settings: Settings | None = None) -> str:
    """Read and validate the latest observations, refit the champions on them, write forecasts.

    Frequency, season length and (unless given) horizon are those of the latest completed
    retrain, whose champions and interval calibration are used. `settings` are the CLI's
    (or a deployment's); without them, `TIDECAST_*` environment variables. Returns the run id.
    """
    settings = run_settings(settings)
    io = settings.io_task_options()
    trained = last_retrain.with_options(**io)(settings)
    settings = settings.with_overrides(
        horizon=horizon or trained["horizon"],
        freq=trained["freq"] or None,
        season_length=trained["season_length"] or None,
    )
    run_id = start_run.with_options(**io)(settings, "forecast", settings.run_parameters())
    validated = None
    try:
        # per series: its lookback window before the newest data already read, and all newer
        validated = validate(ingest.with_options(**io)(settings, incremental=True), settings)
        record_quarantine.with_options(**io)(settings, run_id, validated.rejected)
        enforce_rejection_threshold(validated, settings)
        panel, season, freq = validated.panel, validated.season_length, validated.grid.freq
        accuracy = monitor_accuracy.with_options(**io)(settings, run_id, panel, season, freq)
        current = current_champions.with_options(**io)(settings)
        chosen = assign_champions(validated.series_ids, current)
        # calibration and weights of the same retrain whose settings this run uses
        calibration = retrain_calibration.with_options(**io)(settings, trained["run_id"])
        stored = stored_models.with_options(**io)(settings, trained["run_id"])
        fits = planned_final_fits(
            panel, chosen, calibration, settings, season, freq, run_id, stored
        )
        rows, notes, _ = assembled_forecasts(
            fits, run_chunks(final_fit_on_chunk, fits.chunks, "forecast")
        )
        write_forecasts.with_options(**io)(settings, run_id, rows)
        record_read_windows.with_options(**io)(settings, run_id, panel, validated.grid, season)
        notes += publish_degraded(run_id, accuracy, settings.degradation_factor)
        summary = run_summary(validated, chosen, notes, settings=settings)
        finish_run.with_options(**io)(settings, run_id, "completed", **summary)
    except BaseException as exc:
        finish_run.with_options(**io)(settings, run_id, "failed", **failure_fields(exc, validated))
        raise
    return run_id
