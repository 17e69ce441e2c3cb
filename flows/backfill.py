"""The `backfill` flow: the forecasts each past date would have had, without touching BI."""

from __future__ import annotations

from prefect import flow

from tidecast.run_names import run_name
from tidecast.settings import Settings, run_settings
from tidecast.tasks.backfill import backfill_cutoffs, forecast_at_cutoff, record_backfill
from tidecast.tasks.ingest import ingest
from tidecast.tasks.runs import finish_run, start_run
from tidecast.tasks.summary import backfill_summary, failure_fields
from tidecast.tasks.validate import enforce_rejection_threshold, validate
from tidecast.tasks.write import record_quarantine


@flow(name="backfill", flow_run_name=run_name("backfill"))
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
    """A retrain as of every cutoff from `start` to `end`, into `backfill_forecasts`.

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
    run_id = start_run.with_options(**io)(settings, "backfill", settings.run_parameters())
    validated = None
    try:
        raw = ingest.with_options(**io)(settings)
        validated = validate(raw, settings)
        record_quarantine.with_options(**io)(settings, run_id, validated.rejected)
        enforce_rejection_threshold(validated, settings)
        panel, season, grid = validated.panel, validated.season_length, validated.grid
        written = []
        for cutoff in backfill_cutoffs(grid, panel, start, end):  # dates, not rows
            rows = forecast_at_cutoff(panel, cutoff, settings, season, grid.freq, run_id)
            written.append(record_backfill.with_options(**io)(settings, run_id, cutoff, rows))
        finish_run.with_options(**io)(
            settings, run_id, "completed", **backfill_summary(validated, written)
        )
    except BaseException as exc:
        finish_run.with_options(**io)(settings, run_id, "failed", **failure_fields(exc, validated))
        raise
    return run_id
