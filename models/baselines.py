"""Baselines every other model has to beat: the last value, and the last season."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from tidecast.models.base import future_frame, positions_from_end, sort_panel


class Naive:
    """Repeats each series' last observed value."""

    def __init__(self, freq: str) -> None:
        self.freq = freq

    def fit(self, panel: pd.DataFrame) -> Self:
        last = sort_panel(panel).groupby("series_id", sort=True).last()
        self.last_ds_ = last["ds"]
        self.last_y_ = last["y"].to_numpy(dtype=float)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        out = future_frame(self.last_ds_, h, self.freq)
        out["yhat"] = np.repeat(self.last_y_, h)
        return out.drop(columns="step")


class SeasonalNaive:
    """Repeats each series' last `season_length` values; the reference for MASE.

    A series shorter than one season repeats its last value instead.
    """

    def __init__(self, season_length: int, freq: str) -> None:
        self.season_length = season_length
        self.freq = freq

    def fit(self, panel: pd.DataFrame) -> Self:
        m = self.season_length
        ordered = sort_panel(panel)
        from_end = positions_from_end(ordered)
        last = ordered.groupby("series_id", sort=True).last()
        sids = last.index
        # season[i, j]: value j steps into the last season of series i (j = m - 1 is the last).
        season = np.tile(last["y"].to_numpy(dtype=float)[:, None], (1, m))
        tail = ordered[from_end < m]
        row = sids.get_indexer(tail["series_id"])
        season[row, m - 1 - from_end[from_end < m]] = tail["y"].to_numpy(dtype=float)
        self.last_ds_ = last["ds"]
        self.season_ = season
        return self

    def predict(self, h: int) -> pd.DataFrame:
        out = future_frame(self.last_ds_, h, self.freq)
        column = (out["step"].to_numpy() - 1) % self.season_length
        row = np.repeat(np.arange(len(self.last_ds_)), h)
        out["yhat"] = self.season_[row, column]
        return out.drop(columns="step")


class Drift:
    """Random walk with drift: the last value plus the average step of the whole history."""

    def __init__(self, freq: str) -> None:
        self.freq = freq

    def fit(self, panel: pd.DataFrame) -> Self:
        group = sort_panel(panel).groupby("series_id", sort=True)
        last, first, size = group.last(), group["y"].first(), group["y"].size()
        self.last_ds_ = last["ds"]
        self.last_y_ = last["y"].to_numpy(dtype=float)
        steps = np.maximum(size.to_numpy() - 1, 1)
        self.slope_ = (self.last_y_ - first.to_numpy(dtype=float)) / steps
        return self

    def predict(self, h: int) -> pd.DataFrame:
        out = future_frame(self.last_ds_, h, self.freq)
        out["yhat"] = np.repeat(self.last_y_, h) + np.repeat(self.slope_, h) * out["step"]
        return out.drop(columns="step")


class WindowAverage:
    """The mean of each series' last season (`season_length` points, or all it has)."""

    def __init__(self, season_length: int, freq: str) -> None:
        self.season_length = season_length
        self.freq = freq

    def fit(self, panel: pd.DataFrame) -> Self:
        ordered = sort_panel(panel)
        recent = ordered[positions_from_end(ordered) < max(self.season_length, 2)]
        self.last_ds_ = ordered.groupby("series_id", sort=True)["ds"].last()
        self.mean_ = recent.groupby("series_id", sort=True)["y"].mean().to_numpy(dtype=float)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        out = future_frame(self.last_ds_, h, self.freq)
        out["yhat"] = np.repeat(self.mean_, h)
        return out.drop(columns="step")
