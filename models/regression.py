"""scikit-learn regressors on lag windows, global across series, direct multi-step.

One model learns from windows of every series: inputs are the last `lookback` values
scaled by the window's own mean and spread, plus the season position; outputs are the
next `horizon` values on the same scale (one output per step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge

from tidecast.models.base import future_frame
from tidecast.models.features import design_matrix
from tidecast.models.windows import default_lookback, last_windows, training_windows


class LagRegressor:
    """Base: subclasses say which estimator fits the scaled windows."""

    global_model = True  # one model learns from every series

    def __init__(
        self,
        horizon: int,
        season_length: int,
        freq: str,
        lookback: int | None = None,
        max_windows: int = 200_000,
        seed: int = 0,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.freq = freq
        self.lookback = lookback
        self.max_windows = max_windows
        self.seed = seed

    def _lookback(self) -> int:
        return self.lookback or default_lookback(self.season_length, self.horizon)

    def _fit_estimators(self, features: np.ndarray, targets: np.ndarray) -> list:
        raise NotImplementedError

    def _predict(self, features: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, panel: pd.DataFrame) -> Self:
        lookback = self._lookback()
        windows = training_windows(
            panel, lookback, self.horizon, max_windows=self.max_windows, seed=self.seed
        )
        features = design_matrix(windows, self.freq, self.season_length)
        self.estimators_ = self._fit_estimators(features, windows.targets)
        self.last_ = last_windows(panel, lookback)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        if h > self.horizon:
            raise ValueError(f"fitted for horizon {self.horizon}, asked for {h}")
        scaled = self._predict(design_matrix(self.last_, self.freq, self.season_length))
        values = self.last_.unscale(scaled)[:, :h]
        last_ds = pd.Series(self.last_.end_times, index=self.last_.series_ids)
        out = future_frame(last_ds, h, self.freq)
        out["yhat"] = values.reshape(-1)
        return out.drop(columns="step")


class RidgeLags(LagRegressor):
    """Ridge regression, all steps at once (a linear AR model shared by all series)."""

    def _fit_estimators(self, features, targets):
        return [Ridge(alpha=1.0).fit(features, targets)]

    def _predict(self, features):
        ridge = self.estimators_[0]
        return features @ ridge.coef_.T + ridge.intercept_

    def save_weights(self, path: Path) -> None:
        """Coefficients as plain arrays, loadable with `numpy.load(allow_pickle=False)`."""
        ridge = self.estimators_[0]
        with path.open("wb") as handle:
            np.savez(handle, coef=ridge.coef_, intercept=ridge.intercept_)

    def load_weights(self, path: Path, panel: pd.DataFrame) -> Self:
        """Stored coefficients, conditioned on the newest window of each series in `panel`."""
        with np.load(path, allow_pickle=False) as arrays:
            ridge = Ridge(alpha=1.0)
            ridge.coef_, ridge.intercept_ = arrays["coef"], arrays["intercept"]
        self.estimators_ = [ridge]
        self.last_ = last_windows(panel, self._lookback())
        return self


class GradientBoostingLags(LagRegressor):
    """Histogram gradient boosting, one model per step (direct multi-step)."""

    def _fit_estimators(self, features, targets):
        return [
            HistGradientBoostingRegressor(
                loss="absolute_error", max_iter=100, learning_rate=0.1, random_state=self.seed
            ).fit(features, targets[:, step])
            for step in range(targets.shape[1])
        ]

    def _predict(self, features):
        return np.column_stack([estimator.predict(features) for estimator in self.estimators_])
