"""Forecasts for series too short to backtest (fewer points than a horizon, a season and
one more): methods that need little history, with no season and no training across
series.

* `naive`: the last value; `mean`: the mean of the history;
* `ses`: simple exponential smoothing, its smoothing chosen by one-step in-sample error;
* `theta`: the standard Theta method without a season (Hyndman & Billah, 2003): SES
  plus half the history's linear trend;
* `combined` (the default): the mean of naive and SES, and of Theta too where the history
  has at least as many points as the horizon (a trend drawn from fewer points than the
  steps it is carried over is a guess). Chosen on validation folds of the M1 and M3
  training parts cut short, where it beat each method alone and the mean of all three
  at every length; BENCHMARKS.md, "Short series".

`scale_` is each series' one-step random-walk scale (`one_step_scale`: the root mean
square of its first differences, NaN under two points), the scale the pipeline's
short-series intervals are drawn with (tasks/short_history.py).
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import pandas as pd

from tidecast.models.base import future_frame, sort_panel

ShortMethod = Literal["naive", "mean", "ses", "theta", "combined"]
SHORT_METHODS: tuple[ShortMethod, ...] = ("naive", "mean", "ses", "theta", "combined")
# SES's smoothing, picked per series from this grid: with a handful of points an
# optimiser has nothing to gain over a grid, and a grid never fails.
_ALPHAS = np.linspace(0.05, 1.0, 20)
THETA_MIN_POINTS = 3  # a trend from fewer points is a guess


def one_step_scale(y: np.ndarray) -> float:
    """A random walk's one-step scale of `y`: the root mean square of its first
    differences; NaN under two points."""
    return float(np.sqrt(np.mean(np.diff(y) ** 2))) if len(y) > 1 else float("nan")


def ses_fit(y: np.ndarray) -> tuple[float, float]:
    """(final level, smoothing) of SES on `y`, the smoothing with the lowest one-step
    in-sample squared error (level started at the first value)."""
    if len(y) < 2:
        return float(y[-1]), 1.0
    levels = np.full(len(_ALPHAS), y[0], dtype=float)
    sse = np.zeros(len(_ALPHAS))
    for value in y[1:]:
        error = value - levels
        sse += error**2
        levels = levels + _ALPHAS * error
    best = int(np.argmin(sse))
    return float(levels[best]), float(_ALPHAS[best])


def theta_path(y: np.ndarray, h: int) -> np.ndarray:
    """The standard Theta method's `h` forecasts: SES plus half the OLS trend, as
    Hyndman & Billah (2003) showed the method to be."""
    level, alpha = ses_fit(y)
    n = len(y)
    t = np.arange(n, dtype=float)
    slope = float(np.polyfit(t, y, 1)[0])
    steps = np.arange(1, h + 1, dtype=float)
    return level + 0.5 * slope * (steps - 1 + 1 / alpha - (1 - alpha) ** n / alpha)


def short_path(y: np.ndarray, h: int, method: ShortMethod) -> np.ndarray:
    """The `h` forecasts of one short series by `method`."""
    naive = np.full(h, y[-1], dtype=float)
    if method == "naive":
        return naive
    if method == "mean":
        return np.full(h, y.mean(), dtype=float)
    ses = np.full(h, ses_fit(y)[0])
    if method == "ses":
        return ses
    if method == "theta":
        return theta_path(y, h) if len(y) >= THETA_MIN_POINTS else ses
    if len(y) < max(THETA_MIN_POINTS, h):
        return (naive + ses) / 2
    return (naive + ses + theta_path(y, h)) / 3


class ShortHistory:
    """Point forecasts of short series by one of `SHORT_METHODS`, series by series."""

    def __init__(self, freq: str, method: ShortMethod = "combined") -> None:
        self.freq = freq
        self.method = method

    def fit(self, panel: pd.DataFrame) -> Self:
        if self.method not in SHORT_METHODS:
            raise ValueError(f"unknown short-history method {self.method!r}: {SHORT_METHODS}")
        ordered = sort_panel(panel)
        groups = ordered.groupby("series_id", sort=True)
        self.last_ds_ = groups["ds"].last()
        self.values_ = [g.to_numpy(dtype=float) for _, g in groups["y"]]
        self.scale_ = pd.Series(
            [one_step_scale(y) for y in self.values_], index=self.last_ds_.index
        )
        self.length_ = groups["y"].size()
        return self

    def predict(self, h: int) -> pd.DataFrame:
        out = future_frame(self.last_ds_, h, self.freq)
        paths = [short_path(y, h, self.method) for y in self.values_]
        out["yhat"] = np.concatenate(paths) if paths else np.empty(0)
        return out.drop(columns="step")
