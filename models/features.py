"""Inputs the global models share: scaled lag windows plus where the target falls in the season."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tidecast.frequency import make_grid
from tidecast.models.windows import Windows


def season_angles(
    end_times: np.ndarray, freq: str, season_length: int, offsets: np.ndarray
) -> np.ndarray:
    """(n, len(offsets), 2): sine and cosine of the season position of the steps at
    `offsets` from each window's last point (0 is that point, 1 the step after it)."""
    n = len(end_times)
    if season_length <= 1 or n == 0:
        return np.zeros((n, len(offsets), 2))
    end = make_grid(freq).positions(pd.Series(end_times))[0]
    steps = end[:, None] + np.asarray(offsets)[None, :]
    angle = 2 * np.pi * (steps % season_length) / season_length
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


def design_matrix(windows: Windows, freq: str, season_length: int) -> np.ndarray:
    """Scaled lags followed by the season position: the regressors' feature matrix."""
    target_season = season_angles(windows.end_times, freq, season_length, np.array([1]))[:, 0]
    return np.hstack([windows.inputs, target_season])
