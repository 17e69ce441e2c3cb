"""Theta methods on statsforecast's compiled Theta routines, without AutoTheta's search
over variants.

* `Theta`: the standard Theta method (Assimakopoulos & Nikolopoulos, 2000; best in the
  M3 competition); cheap enough for panels of 100,000 series (BENCHMARKS.md, "Speed and scale").
* `DynamicTheta`: the dynamic optimized Theta model (Fiorucci et al., 2016), whose theta
  coefficient and smoothing are fitted by likelihood rather than picked by in-sample fit
  among a few variants; a steady member of the statistical combination.

Each series runs statsforecast's `auto_theta` steps in this process, the same numbers
as `StatsForecast(models=[Theta(...)]).forecast` (a test compares them bit for bit):
its seasonality test, its classical decomposition, then its compiled optimiser. Only
the per-series Python around the optimiser is done here instead, in a few numpy calls:
statsmodels' `acf` and `seasonal_decompose` with pandas' `nanmean` per season position,
and `norm.ppf(0.95)` on every fit; doing without them made a fit on monthly data about
an eighth cheaper (BENCHMARKS.md, "Speed and scale").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal
from scipy.stats import norm
from statsforecast.arima import is_constant
from statsforecast.theta import forecast_theta, thetamodel

from tidecast.models.statistical import PerSeriesModel

# auto_theta's seasonality test: a one-sided 90% test on the autocorrelation at lag m.
_NORMAL_95 = float(norm.ppf(0.95))


def _seasonal_test(y: np.ndarray, m: int) -> bool:
    """auto_theta's test: statsmodels' `acf(y, nlags=m, fft=False)` at lags 1..m, the
    same arithmetic (a full correlation, divided by n, then by lag 0)."""
    n = len(y)
    centred = y - y.mean()
    covariance = np.correlate(centred, centred, "full")[n - 1 :] / (n * np.ones(n))
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant series: no season
        r = (covariance[: m + 1] / covariance[0])[1:]
        stat = np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n)
        return bool(np.abs(r[-1]) / stat > _NORMAL_95)


def _seasonal_component(y: np.ndarray, m: int, multiplicative: bool) -> np.ndarray:
    """statsmodels' `seasonal_decompose(y, model, period=m).seasonal`: a centred moving
    average as the trend, the detrended values' mean per season position (pandas'
    `nanmean`: NaN as 0 in the sum, divided by the count), normalised, repeated."""
    if m % 2 == 0:  # split weights at the ends
        weights = np.array([0.5] + [1] * (m - 1) + [0.5]) / m
    else:
        weights = np.repeat(1.0 / m, m)
    head = int(np.ceil(len(weights) / 2.0) - 1)
    tail = int(np.ceil(len(weights) / 2.0) - len(weights) % 2)
    trend = np.full(len(y), np.nan)
    trend[head : len(y) - tail] = signal.convolve(y, weights, mode="valid")
    detrended = y / trend if multiplicative else y - trend
    averages = np.empty(m)
    for position in range(m):
        values = detrended[position::m]
        missing = np.isnan(values)
        averages[position] = np.where(missing, 0.0, values).sum() / float(
            len(values) - missing.sum()
        )
    if multiplicative:
        averages /= np.mean(averages, axis=0)
    else:
        averages -= np.mean(averages, axis=0)
    return np.tile(averages, len(y) // m + 1)[: len(y)]


def fit_theta(y: np.ndarray, m: int, variant: str) -> dict:
    """statsforecast's `auto_theta(y, m, model=variant)`, for the point forecast only;
    raises as it does where it cannot fit."""
    if is_constant(y):  # auto_theta fits a fixed model here first; it raises as it would
        thetamodel(y=y, m=m, modeltype="STM", nmse=3, initial_smoothed=np.mean(y) / 2,
                   alpha=0.5, theta=2.0)  # fmt: skip
    decompose = m >= 4 and len(y) >= 2 * m and _seasonal_test(y, m)
    kind = "multiplicative"
    if decompose:
        if not min(y) > 0:
            kind = "additive"
        seasonal = _seasonal_component(y, m, kind == "multiplicative")
        if kind == "multiplicative" and any(seasonal < 0.01):
            kind = "additive"
            seasonal = _seasonal_component(y, m, False)
        y = y - seasonal if kind == "additive" else y / seasonal
    if len(y) <= 3:
        raise NotImplementedError("tiny datasets")
    fitted = thetamodel(
        y=y, m=m, modeltype=variant, nmse=3, initial_smoothed=np.nan, alpha=np.nan,
        theta=np.nan,
    )  # fmt: skip
    if not fitted["mse"] < np.inf:  # NaN or infinite, as auto_theta's check
        raise ValueError("no model able to be fitted")
    state: dict[str, Any] = {
        "n": fitted["n"],
        "states": fitted["states"],
        "par": fitted["par"],
        "modeltype": variant,
    }
    if decompose:
        state.update(decompose=True, decomposition_type=kind,
                     seas_forecast={"mean": seasonal[-m:].copy()})  # fmt: skip
    return state


class _ThetaMethod(PerSeriesModel):
    _variant: str

    def __init__(self, season_length: int, freq: str) -> None:
        self.season_length = season_length
        self.freq = freq

    def _fit_one(self, name: Any, y: np.ndarray) -> dict:
        return fit_theta(y, self.season_length, self._variant)

    def _forecast_one(self, state: dict, h: int) -> np.ndarray:
        return forecast_theta(state, h)["mean"]


class Theta(_ThetaMethod):
    _variant = "STM"


class DynamicTheta(_ThetaMethod):
    _variant = "DOTM"
