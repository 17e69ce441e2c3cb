"""What a run row says when the run ends: counts, skipped series, per-model cost, message."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tasks.backtest import BacktestResult
from tasks.validate import ValidatedPanel
from tidecast.errors import TidecastError


def _input_fields(validated: ValidatedPanel | None) -> dict[str, Any]:
    if validated is None:
        return {}
    return {
        "rows_read": validated.rows_read,
        "rows_rejected": len(validated.rejected),
        "series_skipped": validated.skipped,
    }


def run_summary(
    validated: ValidatedPanel,
    scored: BacktestResult,
    chosen: pd.DataFrame,
    notes: list[str],
) -> dict[str, Any]:
    """Fields of a completed run's `forecast_runs` row."""
    winners = chosen["model"].value_counts().to_dict()
    changed = int((chosen["previous_model"].notna()
                   & (chosen["previous_model"] != chosen["model"])).sum())
    message = [f"{len(chosen)} series forecast; {changed} champions changed; "
               f"champions: {winners}"]
    message += validated.notes + scored.failures + notes
    return {
        **_input_fields(validated),
        "series_forecast": len(chosen),
        "model_seconds": scored.model_seconds,
        "message": "; ".join(message),
    }


def failure_fields(exc: BaseException, validated: ValidatedPanel | None) -> dict[str, Any]:
    """Fields of a failed run's row: what is known about the input, and why it failed."""
    if isinstance(exc, TidecastError):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    return {**_input_fields(validated), "message": message}
