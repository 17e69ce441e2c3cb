"""Covariate inputs of the window models (`ridge_cov`, `hgb_cov` and the torch `*_cov`).

A window's covariate features are, per covariate, its values over the window: a `future`
covariate over the input points and the `horizon` target steps (known ahead), a `past`
covariate over the input points only, so never beyond the forecast origin; a `static`
feature (a series' attribute, encoded in tasks/statics.py) once per window. Each
time-varying covariate is divided by its largest absolute value in the series' history
(a flag stays 0/1, a price becomes a share of its highest), and each feature comes
twice: as it is, for effects in the series' units, and times the window's level over its
spread, for effects that are a share of the level (a promotion lifting sales by 30%, a holiday
closing a shop): the targets are scaled by the window's spread, so a lift of a share
`b` of the level is `b * level / spread` there, linear in the second feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import numpy as np
import pandas as pd

from tidecast.models.base import future_frame, sort_panel
from tidecast.models.windows import Windows, default_lookback, fitted_lookback, last_windows

# level / spread beyond this is a nearly flat window; capped so its features stay bounded
LEVEL_CAP = 20.0


def covariate_block(ordered: pd.DataFrame, names: list[str]) -> np.ndarray:
    """(rows, names) values of a series-sorted panel; a gap takes the series' last known
    value before it (else the next, else 0)."""
    if not names:
        return np.zeros((len(ordered), 0))
    columns = ordered[names].astype(float)
    group = columns.groupby(ordered["series_id"].to_numpy(), sort=False)
    filled = group.ffill()
    filled = filled.fillna(filled.groupby(ordered["series_id"].to_numpy(), sort=False).bfill())
    return filled.fillna(0.0).to_numpy()


def series_scales(block: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(series, names) largest |value| of each covariate in each series' rows (1 if 0)."""
    if block.shape[1] == 0 or len(starts) == 0:
        return np.ones((len(starts), block.shape[1]))
    peak = np.maximum.reduceat(np.abs(block), starts, axis=0)
    peak[lengths == 0] = 1.0
    return np.where(peak > 0, peak, 1.0)


@dataclass
class CovariateParts:
    """A batch of windows' covariates, scaled: `inputs` (windows, lookback, future + past)
    over the input points, `targets` (windows, horizon, future) over the target steps,
    `statics` (windows, static) each window's series' static features."""

    inputs: np.ndarray
    targets: np.ndarray
    statics: np.ndarray
    future: int  # how many of the inputs' columns are future covariates (the first ones)

    def flat(self) -> np.ndarray:
        """(windows, features): every value once, future inputs, targets, past inputs,
        statics (the column order RidgeLags._groups names)."""
        kf, n = self.future, len(self.inputs)
        return np.hstack(
            [
                self.inputs[:, :, :kf].reshape(n, -1),
                self.targets.reshape(n, -1),
                self.inputs[:, :, kf:].reshape(n, -1),
                self.statics,
            ]
        )


@dataclass
class CovariateDesign:
    """How a fitted model turns covariates into features: the names, and the scale of
    each time-varying covariate in each fitted series (rows in the order of
    `Windows.series_ids`). Static features come encoded across series already
    (tasks/statics.py: standardised numbers, 0/1 categories), so they are not rescaled:
    per series, a constant would always become 1."""

    future: list[str]
    past: list[str]
    scales: np.ndarray  # (series, future + past)
    static: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        ordered: pd.DataFrame,
        future: list[str],
        past: list[str],
        static: list[str] | tuple[str, ...] = (),
    ) -> CovariateDesign:
        codes, _ = pd.factorize(ordered["series_id"], sort=False)
        lengths = np.bincount(codes) if len(codes) else np.zeros(0, int)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
        block = covariate_block(ordered, [*future, *past])
        return cls(list(future), list(past), series_scales(block, starts, lengths), list(static))

    @property
    def names(self) -> list[str]:
        return [*self.future, *self.past, *self.static]

    def parts(
        self,
        windows: Windows,
        ordered: pd.DataFrame,
        lookback: int,
        horizon: int,
        ahead: np.ndarray | None = None,
    ) -> CovariateParts:
        """The covariates of `windows`, scaled. Training windows read their targets'
        covariates from `ordered`; the last windows from `ahead` (series, horizon, future
        names). A window's static features are its series' at its last input point."""
        kf, kt = len(self.future), len(self.future) + len(self.past)
        block = covariate_block(ordered, self.names)
        inputs = block[windows.rows(np.arange(lookback))]
        statics = inputs[:, -1, kt:]
        inputs = inputs[:, :, :kt]
        if ahead is None:
            targets = block[windows.rows(np.arange(lookback, lookback + horizon))][:, :, :kf]
        else:
            targets = ahead[windows.series_index]
        scale = self.scales[windows.series_index][:, None, :]
        return CovariateParts(inputs / scale, targets / scale[:, :, :kf], statics, kf)

    def features(
        self,
        windows: Windows,
        ordered: pd.DataFrame,
        lookback: int,
        horizon: int,
        ahead: np.ndarray | None = None,
    ) -> np.ndarray:
        """(windows, features) for a linear model: every value, as it is and times the
        window's level over its spread."""
        flat = self.parts(windows, ordered, lookback, horizon, ahead).flat()
        return np.hstack([flat, flat * level_ratio(windows)[:, None]])


def level_ratio(windows: Windows) -> np.ndarray:
    """Each window's level over its spread, capped (LEVEL_CAP)."""
    return np.clip(windows.loc / windows.scale, -LEVEL_CAP, LEVEL_CAP)


def values_ahead(
    future: pd.DataFrame | None,
    last_ds: pd.Series,
    horizon: int,
    freq: str,
    names: list[str],
) -> pd.DataFrame:
    """`series_id`, `ds` and the covariates `names` for the `horizon` steps after each
    series' last timestamp (`last_ds`, by series), in that order; NaN where `future` has
    no value."""
    steps = future_frame(last_ds, horizon, freq).drop(columns="step")
    if future is None or not names:
        return steps.assign(**dict.fromkeys(names, np.nan))
    merged = steps.merge(future, on=["series_id", "ds"], how="left", sort=False)
    return merged.reindex(columns=["series_id", "ds", *names])


def ahead_array(
    future: pd.DataFrame | None,
    series_ids: np.ndarray,
    end_times: np.ndarray,
    horizon: int,
    freq: str,
    names: list[str],
) -> np.ndarray:
    """(series, horizon, names) future covariates for the steps after each series' end;
    NaN where `future` has no value."""
    ahead = values_ahead(future, pd.Series(end_times, index=series_ids), horizon, freq, names)
    values = ahead[names].to_numpy(dtype=float)
    return values.reshape(len(series_ids), horizon, len(names))


class WindowCovariates:
    """What the window models (models/regression.py, models/neural.py) share about
    covariates: which they take, the history they condition on, the values ahead.

    A subclass sets `future_covariates`, `past_covariates`, `static_covariates` (its
    constructor names them, so the registry passes them) and has `horizon`, `freq`,
    `season_length` and `lookback` (None: the default, adapted per fit).
    """

    future_covariates: tuple[str, ...]
    past_covariates: tuple[str, ...]
    static_covariates: tuple[str, ...]
    horizon: int
    freq: str
    season_length: int
    lookback: int | None

    def _fit_lookback(self, panel: pd.DataFrame) -> int:
        """The input length a fit on `panel` uses (`fitted_lookback`), kept as `lookback_`."""
        self.lookback_ = fitted_lookback(panel, self.lookback, self.season_length, self.horizon)
        return self.lookback_

    def _lookback(self) -> int:
        """The fit's input length (`fitted_lookback`); before a fit, the set or default one."""
        fitted = getattr(self, "lookback_", None)
        return fitted or self.lookback or default_lookback(self.season_length, self.horizon)

    @property
    def uses_covariates(self) -> bool:
        return bool(self.future_covariates or self.past_covariates or self.static_covariates)

    def _covariate_names(self) -> list[str]:
        return [*self.future_covariates, *self.past_covariates, *self.static_covariates]

    def refuse_other_covariates(self, stored: list[str] | None, what: str) -> None:
        """A stored fit (`what`) made with other covariates is refused, not guessed: the
        same count of inputs may mean other things (a category renamed)."""
        if stored is not None and stored != self._covariate_names():
            raise ValueError(
                f"{what} are for the covariates {stored}, this model has "
                f"{self._covariate_names()} (the covariates changed since the retrain)"
            )

    def _condition(self, panel: pd.DataFrame) -> None:
        """The newest window of each series (and its covariates' history) to forecast from."""
        self.history_ = sort_panel(panel) if self.uses_covariates else None
        if self.uses_covariates:
            self.covariates_ = CovariateDesign.fit(
                self.history_,
                list(self.future_covariates),
                list(self.past_covariates),
                self.static_covariates,
            )
        self.last_ = last_windows(panel, self._lookback())

    def condition(self, panel: pd.DataFrame) -> Self:
        """The fitted model, to forecast from the newest windows of `panel` (and its
        covariates' history) instead of the data it was fitted on."""
        self._condition(panel)
        return self

    def _ahead(self, future: pd.DataFrame | None) -> tuple[np.ndarray | None, np.ndarray]:
        """(series, horizon, future names) the future covariates of the steps after each
        fitted series' end (0 where missing; None without covariates), and which series
        they cover: a series without all of them gets no forecast."""
        last = self.last_
        if not self.uses_covariates:
            return None, np.ones(len(last.series_ids), bool)
        ahead = ahead_array(
            future, last.series_ids, last.end_times, self.horizon, self.freq,
            list(self.future_covariates),
        )  # fmt: skip
        return np.nan_to_num(ahead), ~np.isnan(ahead).any(axis=(1, 2))
