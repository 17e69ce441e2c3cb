"""What a run row says when the run ends: counts, skipped series, per-model cost, message."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tidecast.errors import TidecastError
from tidecast.settings import Settings
from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.forecast import FinalForecast
from tidecast.tasks.leaderboard import champions_changed
from tidecast.tasks.validate import ValidatedPanel


def _input_fields(validated: ValidatedPanel | None) -> dict[str, Any]:
    if validated is None:
        return {}
    return {
        "rows_read": validated.rows_read,
        "rows_rejected": len(validated.rejected),
        "rows_used": validated.rows_used,
        "data_watermark": validated.watermark,
        "series_skipped": validated.skipped,
        "gaps_filled": validated.gaps_filled,
        "freq": validated.grid.freq,  # latest_forecasts shows it to BI
        **_covariate_fields(validated),
    }


def _covariate_fields(validated: ValidatedPanel) -> dict[str, Any]:
    covariates = validated.covariates
    if covariates is None or not covariates.rows_read:
        return {}
    return {
        "covariate_rows_read": covariates.rows_read,
        "covariate_rows_rejected": len(covariates.rejected),
        "covariate_rows_used": covariates.rows_used,
    }


def run_summary(
    validated: ValidatedPanel,
    chosen: pd.DataFrame,
    forecast: FinalForecast,
    scored: BacktestResult | None = None,
    settings: Settings | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Fields of a completed run's `forecast_runs` row (`scored` for a retrain): counts,
    failures as records, and a message that says it all in words.

    The recorded parameters get the frequency and season length actually used, so the
    forecast flow can reuse what a retrain inferred.
    """
    winners = chosen["model"].value_counts().to_dict()
    message = [f"{len(chosen)} series forecast; champions: {winners}"]
    if "previous_model" in chosen:
        message.append(f"{int(champions_changed(chosen).sum())} champions changed")
    failures = [*(scored.failures if scored else []), *forecast.failures]
    covariate_notes = validated.covariates.notes if validated.covariates is not None else []
    message += validated.notes + covariate_notes + [failure.text for failure in failures]
    message += forecast.notes + (notes or [])
    return {
        **_input_fields(validated),
        "series_forecast": len(chosen),
        "failures": [failure.record() for failure in failures],
        "model_seconds": scored.model_seconds if scored else None,
        **(
            {
                "parameters": {
                    **settings.run_parameters(),
                    "freq": validated.grid.freq,
                    "season_length": validated.season_length,
                }
            }
            if settings is not None
            else {}
        ),
        "message": "; ".join(message),
    }


def backfill_summary(validated: ValidatedPanel, written: list[int]) -> dict[str, Any]:
    """Fields of a completed backfill's run row."""
    empty = sum(n == 0 for n in written)
    message = (
        f"{len(written) - empty} cutoffs backfilled: {sum(written)} rows in backfill_forecasts"
    )
    if empty:
        message += (
            f"; {empty} cutoffs skipped: no series had the history a retrain needs there "
            "(the run's logs name them)"
        )
    return {**_input_fields(validated), "message": message}


def failure_fields(
    exc: BaseException, validated: ValidatedPanel | None, interrupted: bool = False
) -> dict[str, Any]:
    """Fields of a failed run's row: what is known about the input, and why it failed.
    `interrupted`: stopped by a signal other than Ctrl-C (Prefect's SIGTERM), as the edge
    that caught it says."""
    if isinstance(exc, TidecastError):
        message = str(exc)
    elif interrupted or isinstance(exc, KeyboardInterrupt):
        message = "stopped (SIGTERM or Ctrl-C) before it completed; BI keeps the previous run"
    else:
        message = f"{type(exc).__name__}: {exc}"
    return {**_input_fields(validated), "message": message}
