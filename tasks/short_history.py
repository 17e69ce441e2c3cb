"""Series too short to backtest still get a forecast.

A series with fewer usable points than a backtest fold needs (horizon + season length +
1) cannot be scored, so it gets no champion from the backtest. Rather than leave a hole
in what BI reads, it is forecast by `models/short_history.py` (the mean of naive and SES,
with a season-free Theta where the history is at least a horizon long), marked as such
in `champions.reason`, with wide intervals:

* the spread of a random walk, `q · s · √step`, with `s` the series' own one-step scale
  (the root mean square of its first differences) and `q` Student's t quantile with as
  many degrees of freedom as differences, so a scale from few points widens the band;
* where that scale rests on fewer than `MIN_OWN_DIFFERENCES` differences (or is 0), `s`
  is at least `|last value|` times the run's pooled relative scale: the median over the
  run's other series of their one-step scale over their mean level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import norm, t

from tidecast.models.short_history import ShortHistory, one_step_scale
from tidecast.progress import report
from tidecast.schemas import min_series_length
from tidecast.tasks.backtest import SCORE_COLUMNS, BacktestResult
from tidecast.tasks.context import RunContext
from tidecast.tasks.fold_forecasts import FoldForecasts
from tidecast.tasks.forecast import (
    FORECAST_COLUMNS,
    FinalForecast,
    Retrained,
    calibrate_intervals,
    floored_at_zero,
)

MIN_OWN_DIFFERENCES = 3
# Where nothing else is known (every series of the run is a single point): a tenth of the
# level per step, a common relative volatility of business series, named as a guess.
DEFAULT_RELATIVE_SCALE = 0.1
SHORT_MODEL = "short_history"
CHAMPION_FIELDS = ["series_id", "model", "score", "metric", "previous_model", "reason", "members"]


def relative_scale(histories: Sequence[np.ndarray]) -> float:
    """The median over `histories` (of at least 2 points) of their one-step scale over
    their mean absolute level; `DEFAULT_RELATIVE_SCALE` when none qualifies."""
    ratios = []
    for y in histories:
        level = np.mean(np.abs(y)) if len(y) else 0.0
        if len(y) > 1 and level > 0:
            ratios.append(one_step_scale(y) / level)
    return float(np.median(ratios)) if ratios else DEFAULT_RELATIVE_SCALE


def short_bands(
    yhat: np.ndarray, y: np.ndarray, pooled: float, own: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lower 80, upper 80, lower 95, upper 95) around `yhat` for a short history `y`,
    whose `one_step_scale` is `own` (computed here when not given)."""
    differences = len(y) - 1
    own = one_step_scale(y) if own is None else own
    own = own if differences else 0.0
    scale = own
    if differences < MIN_OWN_DIFFERENCES or own == 0:
        scale = max(own, abs(float(y[-1])) * pooled)
    widen = np.sqrt(np.arange(1, len(yhat) + 1))
    out = []
    for level in (0.8, 0.95):
        tail = (1 + level) / 2
        q = t.ppf(tail, differences) if differences >= 1 else norm.ppf(tail)
        out.append(q * scale * widen)
    w80, w95 = out
    return yhat - w80, yhat + w80, yhat - w95, yhat + w95


@dataclass
class ShortForecast:
    """The short series' forecast rows (`FORECAST_COLUMNS`) and their champion rows
    (model `short_history`, no score, the reason)."""

    rows: pd.DataFrame
    champions: pd.DataFrame


def forecast_short_series(
    ctx: RunContext,
    short: pd.DataFrame,
    panel: pd.DataFrame,
    previous: pd.DataFrame | None = None,
) -> ShortForecast:
    """Forecasts of the series of `short` (too short to backtest) by `SHORT_MODEL`, with
    wide intervals; the run's long series (`panel`) lend their relative scale.
    `previous`: the current champions, for `previous_model`."""
    settings = ctx.settings
    horizon = settings.horizon
    if short.empty:
        return ShortForecast(
            pd.DataFrame(columns=FORECAST_COLUMNS), pd.DataFrame(columns=CHAMPION_FIELDS)
        )
    need = min_series_length(horizon, ctx.season_length)
    model = ShortHistory(ctx.freq).fit(short)
    rows = model.predict(horizon).rename(columns={"ds": "ts"})
    rows["step"] = np.tile(np.arange(1, horizon + 1), len(model.values_))
    rows["model"] = SHORT_MODEL
    long_histories = [g.to_numpy(dtype=float) for _, g in panel.groupby("series_id")["y"]]
    pooled = relative_scale(long_histories or model.values_)
    yhat = rows["yhat"].to_numpy(dtype=float).reshape(len(model.values_), horizon)
    bands = [
        short_bands(path, y, pooled, own)
        for path, y, own in zip(yhat, model.values_, model.scale_, strict=True)
    ]
    for i, column in enumerate(FORECAST_COLUMNS[5:]):
        rows[column] = np.concatenate([band[i] for band in bands])
    rows = floored_at_zero(rows[FORECAST_COLUMNS], short, settings.nonnegative)
    lengths = model.length_
    before = (
        pd.Series(dtype=object)
        if previous is None or previous.empty
        else previous.set_index("series_id")["model"]
    )
    champions = pd.DataFrame(
        {
            "series_id": lengths.index.to_numpy(),
            "model": SHORT_MODEL,
            "score": np.nan,
            "metric": settings.selection_metric,
            "previous_model": before.reindex(lengths.index).to_numpy(),
            "reason": [
                f"short history: {n} point{'' if n == 1 else 's'}, fewer than the {need} "
                "a backtest needs; "
                "the mean of naive and SES (and Theta from a horizon's length on), with "
                "wide intervals, no backtest"
                for n in lengths.to_numpy()
            ],
            "members": None,
        }
    )
    report("forecast", f"{len(lengths)} series too short to backtest: {SHORT_MODEL}")
    return ShortForecast(rows, champions)


def with_short_series(
    chosen: pd.DataFrame, forecast: FinalForecast, short: ShortForecast
) -> tuple[pd.DataFrame, FinalForecast]:
    """The run's champions and forecast with the short series' added."""
    if short.rows.empty:
        return chosen, forecast
    if forecast.rows.empty:  # every series short (no frame of empty columns to join)
        return short.champions, replace(forecast, rows=short.rows)
    both = pd.concat([chosen, short.champions], ignore_index=True)
    rows = pd.concat([forecast.rows, short.rows], ignore_index=True)
    return both, replace(forecast, rows=rows)


def without_backtest(ctx: RunContext) -> Retrained:
    """A retrain's compute where no series is long enough to backtest: no scores, no
    champions, no forecasts (the short series' are added by `with_short_series`)."""
    settings = ctx.settings
    scored = BacktestResult(
        scores=pd.DataFrame(columns=SCORE_COLUMNS),
        folds=FoldForecasts(pd.Index([]), settings.folds, settings.horizon),
        model_seconds={},
    )
    forecast = FinalForecast(pd.DataFrame(columns=FORECAST_COLUMNS), [], [], pd.DataFrame())
    return Retrained(scored, pd.DataFrame(columns=CHAMPION_FIELDS), calibrate_intervals(scored),
                     forecast)  # fmt: skip
