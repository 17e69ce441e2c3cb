"""One place that runs a model: its fit and forecast under the time budget, and what went
wrong as records. The backtest's folds and the final fits both run models through it, and
both fit and forecast with `fit_forecast`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tidecast.models.base import Forecaster
from tidecast.tasks.budget import ModelTimeoutError, call_with_budget
from tidecast.tasks.failures import Failure


def predict_ahead(
    fitted: Forecaster, horizon: int, future: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A fitted model's forecasts of the `horizon` steps after its history; `future`: the
    covariates' values for those steps, for a model that uses them."""
    if future is None:
        return fitted.predict(horizon)
    return fitted.predict(horizon, future=future)


def never_negative_series(history: pd.DataFrame) -> pd.Index:
    """The series of `history` with no value below 0 (counts, sales, demand)."""
    lowest = history.groupby("series_id", sort=False)["y"].min()
    return lowest.index[(lowest >= 0).to_numpy()]


def clipped_at_zero(forecasts: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """`forecasts` with `yhat` at least 0 for every series whose `history` is never
    negative: no setting needed, a model's excursion below 0 on demand data is an error."""
    if forecasts.empty:
        return forecasts
    rows = forecasts["series_id"].isin(never_negative_series(history)).to_numpy()
    values = forecasts["yhat"].to_numpy(dtype=float)
    if not (rows & (values < 0)).any():
        return forecasts
    out = forecasts.copy()
    out["yhat"] = np.where(rows, np.maximum(values, 0.0), values)
    return out


def fit_forecast(
    model: Forecaster, history: pd.DataFrame, horizon: int, future: pd.DataFrame | None = None
) -> tuple[Forecaster, pd.DataFrame]:
    """`model` fitted on `history` (a backtest fold's training rows, or a final fit's full
    history), and its forecasts (`predict_ahead`), never below 0 for a series whose
    history is never negative (`clipped_at_zero`), in the backtest as in the final fit."""
    fitted = model.fit(history)
    return fitted, clipped_at_zero(predict_ahead(fitted, horizon, future), history)


def _as_text(series: Sequence) -> tuple[str, ...]:
    return tuple(str(sid) for sid in series)


@dataclass
class ModelRun:
    """What running a model gave: the work's output and the model's finite forecast rows
    (both None when it failed), its failures, and the seconds it took."""

    output: Any
    forecasts: pd.DataFrame | None
    seconds: float
    failures: list[Failure] = field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        return any(failure.kind == "timeout" for failure in self.failures)


def run_model(
    work: Callable[[], Any],
    *,
    model: str,
    stage: str,
    where: str,
    budget: float | None,
    forecasts_of: Callable[[Any], pd.DataFrame] = lambda output: output,
    series_names: Callable[[Sequence], Sequence] = _as_text,
) -> ModelRun:
    """`work()` (fit and forecast `model`) within `budget` seconds; never raises for the
    model's own failure.

    A raise or a time-out comes back as an `error`/`timeout` failure and no forecasts.
    Otherwise `forecasts_of(output)` are its forecasts: rows that are not finite are
    dropped and named (`non_finite`), and the series for which the model fell back to
    seasonal naive itself (`attrs["fallbacks"]`) are named too (`fallback`), and a network
    that stopped training at its time cap (`attrs["time_capped"]`) is recorded (`time_cap`).
    `series_names` turns the series ids of a frame into the names the records carry.
    """
    started = time.perf_counter()
    try:
        output = call_with_budget(work, budget, f"{model} on {where}")
    except Exception as exc:  # the caller goes on without this model
        kind = "timeout" if isinstance(exc, ModelTimeoutError) else "error"
        seconds = time.perf_counter() - started
        return ModelRun(None, None, seconds, [Failure(model, stage, kind, where, repr(exc))])
    seconds = time.perf_counter() - started
    predicted = forecasts_of(output)
    failures = []
    fell_back = series_names(predicted.attrs.get("fallbacks", []))
    if len(fell_back):
        failures.append(Failure(model, stage, "fallback", where, series=_as_text(fell_back)))
    if predicted.attrs.get("time_capped"):
        failures.append(Failure(model, stage, "time_cap", where))
    bad = ~np.isfinite(predicted["yhat"].to_numpy(dtype=float))
    if bad.any():
        named = series_names(predicted.loc[bad, "series_id"].unique())
        failures.append(Failure(model, stage, "non_finite", where, series=_as_text(named)))
        predicted = predicted[~bad]
    return ModelRun(output, predicted, seconds, failures)
