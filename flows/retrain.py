"""The `retrain` flow: observations in, backtested champions' forecasts out."""

from __future__ import annotations

from prefect import flow

from tasks.backtest import backtest
from tasks.forecast import calibrate, forecast
from tasks.html_report import html_report
from tasks.ingest import ingest, read_window_start, record_read_windows
from tasks.promote import promote
from tasks.report import report_run
from tasks.runs import finish_run, start_run
from tasks.summary import failure_fields, run_summary
from tasks.validate import enforce_rejection_threshold, validate
from tasks.write import current_champions, record_quarantine, write_forecasts
from tidecast.settings import load_settings


@flow(name="retrain", log_prints=True)
def retrain(
    horizon: int | None = None,
    freq: str | None = None,
    season_length: int | None = None,
    folds: int | None = None,
    models: list[str] | None = None,
) -> str:
    """Read, validate, backtest every model, promote per series, and write forecasts.

    Settings not given here come from `TIDECAST_*` environment variables. Returns the run id.
    """
    params = {
        "horizon": horizon,
        "freq": freq,
        "season_length": season_length,
        "folds": folds,
        "models": models,
    }
    settings = load_settings(**params)
    io = settings.io_task_options()
    run_id = start_run.with_options(**io)(settings, "retrain", settings.run_parameters())
    validated = None
    try:
        since = read_window_start.with_options(**io)(settings, settings.retrain_max_history)
        raw = ingest.with_options(**io)(settings, since)
        validated = validate(raw, settings)
        record_quarantine.with_options(**io)(settings, run_id, validated.rejected)
        enforce_rejection_threshold(validated, settings)
        panel, season, freq = validated.panel, validated.season_length, validated.grid.freq
        scored = backtest(panel, settings, season, freq)
        previous = current_champions.with_options(**io)(settings)
        chosen = promote(scored, validated.series_ids, settings, previous)
        calibration = calibrate(scored)
        rows, notes, versions = forecast(panel, chosen, calibration, settings, season, freq, run_id)
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
