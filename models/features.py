"""Inputs the global models share: scaled lag windows plus where the target falls in the season."""

from __future__ import annotations

import numpy as np

from models.windows import Windows
from tidecast.frequency import make_grid


def season_position(end_times: np.ndarray, freq: str, season_length: int) -> np.ndarray:
    """(n, 2) sine and cosine of the season position of the step after each window."""
    if season_length <= 1:
        return np.zeros((len(end_times), 2))
    import pandas as pd

    positions = make_grid(freq).positions(pd.Series(end_times))[0] + 1
    angle = 2 * np.pi * (positions % season_length) / season_length
    return np.column_stack([np.sin(angle), np.cos(angle)])


def design_matrix(windows: Windows, freq: str, season_length: int) -> np.ndarray:
    """Scaled lags followed by the season position: the regressors' feature matrix."""
    return np.hstack([windows.inputs, season_position(windows.end_times, freq, season_length)])
