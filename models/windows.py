"""Sliding windows over a panel, for the global models, without a Python loop per window.

`build_windows` cuts every series into (lookback inputs, horizon targets) pairs with
numpy's `sliding_window_view` over the concatenated values, keeping only windows that
lie inside one series. Each window is scaled by its own inputs' mean and standard
deviation, and `Windows.unscale` undoes that on model outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from tidecast.models.base import sort_panel


@dataclass
class Windows:
    """Scaled windows. Row i belongs to series `series_ids[series_index[i]]`."""

    inputs: np.ndarray  # (n_windows, lookback), scaled
    targets: np.ndarray | None  # (n_windows, horizon), scaled like the inputs; None for the last
    series_index: np.ndarray  # (n_windows,)
    end_times: np.ndarray  # (n_windows,) timestamp of each window's last input point
    steps_to_end: (
        np.ndarray
    )  # (n_windows,) points between the window's last point and the series' end
    loc: np.ndarray  # (n_windows,)
    scale: np.ndarray  # (n_windows,)
    series_ids: np.ndarray  # (n_series,)
    # (n_windows,) row of each window's first input point in the series-sorted panel
    # (`sort_panel`), and each series' first row there: where covariates are looked up
    first_row: np.ndarray | None = None
    series_start: np.ndarray | None = None

    def rows(self, offsets: np.ndarray) -> np.ndarray:
        """(n_windows, len(offsets)) sorted-panel rows at `offsets` from each window's
        first input point, clipped to its series' first row (as `last_windows` pads)."""
        rows = self.first_row[:, None] + np.asarray(offsets)[None, :]
        return np.maximum(rows, self.series_start[self.series_index][:, None])

    def unscale(self, values: np.ndarray) -> np.ndarray:
        """Model outputs in the series' own units."""
        return values * self.scale[:, None] + self.loc[:, None]


def _scaling(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    loc = inputs.mean(axis=1)
    # A flat (or nearly flat) window has no spread to speak of: a floor tied to its level
    # keeps scaled targets bounded, and an all-zero window is scaled by 1.
    scale = np.maximum(inputs.std(axis=1), 1e-3 * np.abs(loc))
    return loc, np.where(scale > 0, scale, 1.0)


def _layout(panel: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    ordered = sort_panel(panel)
    codes, series_ids = pd.factorize(ordered["series_id"], sort=False)
    lengths = np.bincount(codes, minlength=len(series_ids))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return ordered, codes, starts, lengths


def build_windows(
    panel: pd.DataFrame,
    lookback: int,
    horizon: int,
    stride: int = 1,
    *,
    max_windows: int | None = None,
    seed: int = 0,
) -> Windows:
    """Every (lookback, horizon) window inside a series, the last ending at its last point.

    Windows are `stride` apart counted back from each series' end. Series shorter than
    `lookback + horizon` yield no training windows; they are not dropped from
    forecasting (`last_windows` pads them). `max_windows` keeps a seeded random subset,
    chosen before any window is copied, so memory stays bounded on large panels.
    """
    ordered, codes, starts, lengths = _layout(panel)
    y = ordered["y"].to_numpy(dtype=float)
    span = lookback + horizon
    if len(y) < span:
        empty = np.empty((0, lookback))
        return Windows(
            empty,
            np.empty((0, horizon)),
            np.empty(0, int),
            np.empty(0),
            np.empty(0, int),
            np.empty(0),
            np.empty(0),
            series_ids_of(ordered),
        )
    first = np.arange(len(y) - span + 1)
    last = first + span - 1
    series_end = starts[codes[first]] + lengths[codes[first]] - 1
    valid = (codes[first] == codes[last]) & ((series_end - last) % stride == 0)
    chosen = first[valid]
    if max_windows is not None and len(chosen) > max_windows:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(chosen, size=max_windows, replace=False))
    view = sliding_window_view(y, span)[chosen]
    inputs, targets = view[:, :lookback], view[:, lookback:]
    loc, scale = _scaling(inputs)
    ds = ordered["ds"].to_numpy()
    return Windows(
        inputs=(inputs - loc[:, None]) / scale[:, None],
        targets=(targets - loc[:, None]) / scale[:, None],
        series_index=codes[chosen],
        end_times=ds[chosen + lookback - 1],
        steps_to_end=(starts + lengths - 1)[codes[chosen]] - (chosen + span - 1),
        loc=loc,
        scale=scale,
        series_ids=series_ids_of(ordered),
        first_row=chosen,
        series_start=starts,
    )


def default_lookback(season_length: int, horizon: int) -> int:
    """Input length of the window models unless set: two seasons, at least the horizon and 8."""
    return max(2 * season_length, horizon, 8)


def fitted_lookback(
    panel: pd.DataFrame, lookback: int | None, season_length: int, horizon: int
) -> int:
    """The input length a window model fits with: `lookback` when set; else
    `default_lookback`, unless no series is long enough for a single window with it:
    then the longest input the longest series allows, so the model adapts to the history
    there is instead of failing. Only that case changes: wherever the default gives any
    window (every fold and final fit measured on M3 and M1) it stays the default, so the
    backtest goes on estimating what the final fit will do."""
    if lookback:
        return lookback
    default = default_lookback(season_length, horizon)
    if panel.empty:
        return default
    longest = int(panel.groupby("series_id", sort=False).size().max()) - horizon
    if longest >= default:
        return default
    return longest if longest >= 1 else default  # none at all: training_windows says why


def training_windows(
    panel: pd.DataFrame, lookback: int, horizon: int, *, max_windows: int, seed: int
) -> Windows:
    """`build_windows` for fitting: a model with no window at all to learn from says why."""
    windows = build_windows(panel, lookback, horizon, max_windows=max_windows, seed=seed)
    if len(windows.inputs) == 0:
        longest = int(panel.groupby("series_id").size().max()) if len(panel) else 0
        if longest <= horizon:
            raise ValueError(
                f"every series is shorter than horizon + 1 = {horizon + 1} points (the "
                f"longest has {longest}): no window to learn from"
            )
        raise ValueError(
            f"no series is longer than lookback + horizon = {lookback + horizon} "
            f"(the longest has {longest} points)"
        )
    return windows


def series_ids_of(ordered: pd.DataFrame) -> np.ndarray:
    return pd.unique(ordered["series_id"])


def last_windows(panel: pd.DataFrame, lookback: int) -> Windows:
    """The last `lookback` points of every series, scaled; shorter series are left-padded
    with their first value so that every series gets a forecast."""
    ordered, codes, starts, lengths = _layout(panel)
    y = ordered["y"].to_numpy(dtype=float)
    ends = starts + lengths  # one past each series' last point
    offsets = np.arange(-lookback, 0)
    index = ends[:, None] + offsets[None, :]
    index = np.maximum(index, starts[:, None])  # left-pad with the series' first value
    inputs = y[index]
    loc, scale = _scaling(inputs)
    ds = ordered["ds"].to_numpy()
    return Windows(
        inputs=(inputs - loc[:, None]) / scale[:, None],
        targets=None,
        series_index=np.arange(len(starts)),
        end_times=ds[ends - 1],
        steps_to_end=np.zeros(len(starts), dtype=int),
        loc=loc,
        scale=scale,
        series_ids=series_ids_of(ordered),
        first_row=ends - lookback,
        series_start=starts,
    )
