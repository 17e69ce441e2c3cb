"""The `retrain` flow: observations in, backtested champions' forecasts out."""

from __future__ import annotations

from prefect import flow

from tidecast.run_names import run_name
from tidecast.runners import ConfiguredTaskRunner
from tidecast.settings import Settings, run_settings
from tidecast.tasks.backtest import backtest_on_chunk, combined_backtest, planned_backtest
from tidecast.tasks.forecast import (
    assembled_forecasts,
    calibrate,
    final_fit_on_chunk,
    planned_final_fits,
)
from tidecast.tasks.html_report import html_report
from tidecast.tasks.ingest import ingest, read_window_start, record_read_windows
from tidecast.tasks.options import run_chunks
from tidecast.tasks.promote import promote
from tidecast.tasks.report import report_run
from tidecast.tasks.runs import finish_run, start_run
from tidecast.tasks.summary import failure_fields, run_summary
from tidecast.tasks.validate import enforce_rejection_threshold, validate
from tidecast.tasks.write import current_champions, record_quarantine, write_forecasts


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
    settings = run_settings(
        settings,
        horizon=horizon,
        freq=freq,
        season_length=season_length,
        folds=folds,
        models=models,
        preset=preset,
    )
    io = settings.io_task_options()
    run_id = start_run.with_options(**io)(settings, "retrain", settings.run_parameters())
    validated = None
    try:
        since = read_window_start.with_options(**io)(settings, settings.retrain_max_history)
        validated = validate(ingest.with_options(**io)(settings, since), settings)
        record_quarantine.with_options(**io)(settings, run_id, validated.rejected)
        enforce_rejection_threshold(validated, settings)
        panel, season, freq = validated.panel, validated.season_length, validated.grid.freq
        # chunks of series as parallel tasks through the task runner (tidecast/runners.py)
        plan = planned_backtest(panel, settings, season, freq)
        scored = combined_backtest(run_chunks(backtest_on_chunk, plan.chunks, "backtest"), plan)
        del plan  # its chunks hold a copy of the panel: memory, at 100,000 series
        previous = current_champions.with_options(**io)(settings)
        chosen = promote(scored, validated.series_ids, settings, previous, season)
        calibration = calibrate(scored)
        fits = planned_final_fits(panel, chosen, calibration, settings, season, freq, run_id)
        rows, notes, versions = assembled_forecasts(
            fits, run_chunks(final_fit_on_chunk, fits.chunks, "forecast")
        )
        del fits
        write_forecasts.with_options(**io)(
            settings, run_id, rows, scored.scores, chosen, calibration, versions,
            scored.fold_forecasts,
        )  # fmt: skip
        record_read_windows.with_options(**io)(settings, run_id, panel, validated.grid, season)
        report_run(run_id, validated, scored, chosen)
        summary = run_summary(validated, chosen, notes, scored, settings)
        finish_run.with_options(**io)(settings, run_id, "completed", **summary)
    except BaseException as exc:
        finish_run.with_options(**io)(settings, run_id, "failed", **failure_fields(exc, validated))
        raise
    html_report(settings, run_id)  # of the completed run, linked from this flow run
    return run_id
