"""scikit-learn regressors on lag windows, global across series, direct multi-step.

One model learns from windows of every series: inputs are the last `lookback` values
scaled by the window's own mean and spread, plus the season position; outputs are the
next `horizon` values on the same scale (one output per step).

Built with `future_covariates` / `past_covariates` / `static_covariates` (the registry's
`ridge_cov` and `hgb_cov`), the panel's columns of those names are inputs too
(models/covariates.py), and `predict` takes the future covariates of the steps ahead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge

from tidecast.models.base import future_frame
from tidecast.models.covariates import WindowCovariates, level_ratio
from tidecast.models.features import design_matrix
from tidecast.models.windows import Windows, training_windows


class LagRegressor(WindowCovariates):
    """Base: subclasses say which estimator fits the scaled windows.

    `max_cells` caps a fit's windows x steps x inputs (the scaled lags and the season
    position) with a seeded subset of the windows; None means the class's own
    `default_max_cells`, which is none for a model whose cost does not grow with the
    steps.
    """

    global_model = True  # one model learns from every series
    default_max_cells: int | None = None

    def __init__(
        self,
        horizon: int,
        season_length: int,
        freq: str,
        lookback: int | None = None,
        max_windows: int = 200_000,
        seed: int = 0,
        future_covariates: tuple[str, ...] = (),
        past_covariates: tuple[str, ...] = (),
        static_covariates: tuple[str, ...] = (),
        max_cells: int | None = None,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.freq = freq
        self.lookback = lookback
        self.max_windows = max_windows
        self.seed = seed
        self.future_covariates = tuple(future_covariates)
        self.past_covariates = tuple(past_covariates)
        self.static_covariates = tuple(static_covariates)
        self.max_cells = max_cells

    def _max_windows(self) -> int:
        """How many training windows a fit may use (a seeded subset beyond it)."""
        cells = self.max_cells or self.default_max_cells
        if cells is None:
            return self.max_windows
        inputs = self._lookback() + 2  # the scaled lags and the season position
        return max(1, min(self.max_windows, cells // (self.horizon * inputs)))

    def _fit_estimators(self, features: np.ndarray, targets: np.ndarray) -> list:
        raise NotImplementedError

    def _predict(self, features: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _features(
        self, windows: Windows, ordered: pd.DataFrame, ahead: np.ndarray | None = None
    ) -> np.ndarray:
        features = design_matrix(windows, self.freq, self.season_length)
        if not self.uses_covariates:
            return features
        covariates = self.covariates_.features(
            windows, ordered, self._lookback(), self.horizon, ahead
        )
        return np.hstack([features, covariates])

    def fit(self, panel: pd.DataFrame) -> Self:
        lookback = self._fit_lookback(panel)
        windows = training_windows(
            panel, lookback, self.horizon, max_windows=self._max_windows(), seed=self.seed
        )
        self.n_windows_ = len(windows.inputs)
        self._condition(panel)
        features = self._features(windows, self.history_)
        self.estimators_ = self._fit_estimators(features, windows.targets)
        return self

    def predict(self, h: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecasts of every fitted series; with covariates, of those whose `future`
        (`series_id`, `ds` and the future covariates) covers all `horizon` steps."""
        if h > self.horizon:
            raise ValueError(f"fitted for horizon {self.horizon}, asked for {h}")
        last = self.last_
        ahead, covered = self._ahead(future)
        scaled = self._predict(self._features(last, self.history_, ahead))
        values = last.unscale(scaled)[:, :h]
        last_ds = pd.Series(last.end_times, index=last.series_ids)
        out = future_frame(last_ds, h, self.freq)
        out["yhat"] = values.reshape(-1)
        out = out[np.repeat(covered, h)]  # a series without its future covariates: none
        return out.drop(columns="step").reset_index(drop=True)


class RidgeLags(LagRegressor):
    """Ridge regression, all steps at once (a linear AR model shared by all series)."""

    def _fit_estimators(self, features, targets):
        ridge = Ridge(alpha=1.0).fit(features, targets)
        self.importance_ = self._contributions(features, ridge.coef_)
        return [ridge]

    def _groups(self) -> list[str]:
        """The input each feature column belongs to: `lags`, `season`, a covariate's name."""
        lookback = self._lookback()
        plain = ["lags"] * lookback + ["season"] * 2
        if not self.uses_covariates:
            return plain
        future, past = list(self.future_covariates), list(self.past_covariates)
        # (points, names) flattened point by point, as CovariateParts.flat lays them out
        covariate = future * lookback + future * self.horizon + past * lookback
        covariate += list(self.static_covariates)
        return plain + covariate * 2  # as they are, and times the window's level

    def _contributions(self, features: np.ndarray, coef: np.ndarray) -> dict[str, float]:
        """Per input: the mean absolute contribution of its columns to the (scaled)
        forecasts, over the training windows and steps: exact for a linear model."""
        groups = np.asarray(self._groups())
        sample = features[:: max(1, len(features) // 20_000)]  # plenty for a mean
        found = {}
        for name in dict.fromkeys(groups):
            columns = groups == name
            found[str(name)] = float(np.abs(sample[:, columns] @ coef[:, columns].T).mean())
        return found

    def feature_importance(self) -> dict[str, float]:
        """Exact contributions (`_contributions`) of the last fit."""
        return dict(self.importance_)

    def _predict(self, features):
        ridge = self.estimators_[0]
        return features @ ridge.coef_.T + ridge.intercept_

    def save_weights(self, path: Path) -> None:
        """Coefficients as plain arrays, loadable with `numpy.load(allow_pickle=False)`."""
        ridge = self.estimators_[0]
        names = np.asarray(self._covariate_names(), dtype=str)
        with path.open("wb") as handle:
            np.savez(
                handle, coef=ridge.coef_, intercept=ridge.intercept_, covariates=names,
                lookback=np.asarray(self._lookback()),
            )  # fmt: skip

    def load_weights(self, path: Path, panel: pd.DataFrame) -> Self:
        """Stored coefficients, conditioned on the newest window of each series in `panel`."""
        with np.load(path, allow_pickle=False) as arrays:
            ridge = Ridge(alpha=1.0)
            ridge.coef_, ridge.intercept_ = arrays["coef"], arrays["intercept"]
            stored = arrays["covariates"].tolist() if "covariates" in arrays else None
            # the input length they were fitted with (before it adapted: the default)
            self.lookback_ = int(arrays["lookback"]) if "lookback" in arrays else None
        self.refuse_other_covariates(stored, "stored coefficients")
        self.estimators_ = [ridge]
        self._condition(panel)
        expected = design_width(self, panel)
        if ridge.coef_.shape[1] != expected:
            raise ValueError(
                f"stored coefficients take {ridge.coef_.shape[1]} inputs, this model "
                f"{expected} (the covariates changed since the retrain)"
            )
        return self


class GradientBoostingLags(LagRegressor):
    """Histogram gradient boosting, one model per step (direct multi-step).

    One boosted model per step, each on every window's inputs: a fit costs in proportion
    to windows x steps x inputs. Beyond `max_cells` of those (50M unless set) the
    training windows are a seeded subset, so a long horizon on long series (hourly data,
    h = 48: 100 series took 60 s a fit with every window) costs about what M3 monthly's
    1428 series do with all of theirs (83,310 windows x 18 steps x 26 inputs = 39M;
    BENCHMARKS.md).

    With covariates, the model of step k sees each covariate's mean over the input points,
    the series' static features, the window's level over its spread (trees find
    interactions themselves), and the future covariates at step k only: a few columns
    instead of every step's, since one tree ensemble per step costs in proportion to its
    columns.
    """

    default_max_cells = 50_000_000

    def _features(
        self, windows: Windows, ordered: pd.DataFrame, ahead: np.ndarray | None = None
    ) -> np.ndarray:
        features = design_matrix(windows, self.freq, self.season_length)
        if not self.uses_covariates:
            return features
        parts = self.covariates_.parts(windows, ordered, self._lookback(), self.horizon, ahead)
        return np.hstack(
            [
                features,
                parts.inputs.mean(axis=1),
                parts.statics,
                level_ratio(windows)[:, None],
                parts.targets.reshape(len(windows.inputs), -1),
            ]
        )

    def _step_columns(self, width: int, step: int) -> np.ndarray | slice:
        """The columns the model of `step` (from 0) is fitted on."""
        if not self.uses_covariates:
            return slice(None)
        kf = len(self.future_covariates)
        shared = width - self.horizon * kf
        return np.r_[0:shared, shared + step * kf : shared + (step + 1) * kf]

    def _fit_estimators(self, features, targets):
        return [
            HistGradientBoostingRegressor(
                loss="absolute_error", max_iter=100, learning_rate=0.1, random_state=self.seed
            ).fit(features[:, self._step_columns(features.shape[1], step)], targets[:, step])
            for step in range(targets.shape[1])
        ]

    def _predict(self, features):
        width = features.shape[1]
        return np.column_stack(
            [
                estimator.predict(features[:, self._step_columns(width, step)])
                for step, estimator in enumerate(self.estimators_)
            ]
        )


def design_width(model: RidgeLags, panel: pd.DataFrame) -> int:
    """How many inputs the ridge `model`, conditioned on `panel`, feeds its estimator."""
    lookback = model._lookback()
    plain = lookback + 2  # the scaled lags and the target's season position
    steps = len(model.future_covariates) * (lookback + model.horizon)
    steps += len(model.past_covariates) * lookback + len(model.static_covariates)
    return plain + 2 * steps
