"""Local statistical models from statsforecast: AutoETS, AutoARIMA, AutoTheta, AutoCES.

statsforecast fits each series with compiled code and spreads series over `n_jobs`
processes. A series whose fit raises or gives non-finite forecasts gets the seasonal
naive forecast instead, and is listed in the forecast frame's `attrs["fallbacks"]`
(the backtest records it).

AutoETS runs statsforecast's ETS per series itself (rather than through the
`StatsForecast` engine), keeping only the last state each forecast needs, and can fix
each series' form (`forms`).
"""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast import models as sf
from statsforecast.ets import ets_f, pegelsfcast_C

from tidecast.models.base import future_frame, sort_panel
from tidecast.models.baselines import SeasonalNaive
from tidecast.models.covariates import covariate_block, values_ahead


class Guarded:
    """Turns a failed per-series fit into NaN forecasts, so one bad series can't sink the rest."""

    def forecast(self, y: np.ndarray, h: int, *args: Any, **kwargs: Any) -> dict:
        try:
            return super().forecast(y, h, *args, **kwargs)
        except Exception:  # statsforecast raises many kinds; the fallback below handles them all
            return {"mean": np.full(h, np.nan)}


# Module-level subclasses, so they pickle into statsforecast's worker processes.
class _AutoARIMA(Guarded, sf.AutoARIMA):
    pass


class _AutoTheta(Guarded, sf.AutoTheta):
    pass


class _AutoCES(Guarded, sf.AutoCES):
    pass


class StatsForecastModel:
    """Base for the statsforecast wrappers; subclasses name the statsforecast model."""

    _model: type

    def __init__(self, season_length: int, freq: str, n_jobs: int = 1) -> None:
        self.season_length = season_length
        self.freq = freq
        self.n_jobs = n_jobs

    def fit(self, panel: pd.DataFrame) -> Self:
        # statsforecast's `forecast` fits and predicts in one pass per series, which keeps
        # no fitted state per series in memory; so fitting here means keeping the history.
        self.history_ = sort_panel(panel)[["series_id", "ds", "y"]].rename(
            columns={"series_id": "unique_id"}
        )
        self.fallback_ = SeasonalNaive(self.season_length, self.freq).fit(panel)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        return _with_fallback(self._forecast(self.history_, h), self.fallback_, h)

    def _forecast(
        self, history: pd.DataFrame, h: int, x_future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """statsforecast's forecasts of `history` (`unique_id`, `ds`, `y` and any
        exogenous columns, whose values ahead are `x_future`) as `series_id`, `ds`,
        `yhat`, sorted."""
        engine = StatsForecast(
            models=[self._model(season_length=self.season_length)],
            freq=self.freq,
            n_jobs=self.n_jobs,
        )
        raw = engine.forecast(df=history, h=h, X_df=x_future)
        column = [c for c in raw.columns if c not in ("unique_id", "ds")][0]
        out = pd.DataFrame(
            {
                "series_id": raw["unique_id"].to_numpy(),
                "ds": raw["ds"].to_numpy(),
                "yhat": raw[column].to_numpy(dtype=float),
            }
        )
        return out.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)


def _with_fallback(out: pd.DataFrame, fallback: SeasonalNaive, h: int) -> pd.DataFrame:
    """`out` with its non-finite forecasts replaced by seasonal naive's, those series named
    in `attrs["fallbacks"]`."""
    bad = ~np.isfinite(out["yhat"].to_numpy())
    failed = out.loc[bad, "series_id"].unique()
    if len(failed):
        stand_in = fallback.predict(h).set_index(["series_id", "ds"])["yhat"]
        keys = pd.MultiIndex.from_frame(out.loc[bad, ["series_id", "ds"]])
        out.loc[bad, "yhat"] = stand_in.reindex(keys).to_numpy()
    out.attrs["fallbacks"] = [str(sid) for sid in failed]  # read by the backtest
    return out


class PerSeriesModel:
    """Base for models fitted series by series in this process: a subclass says how one
    series is fitted (`_fit_one`, which raises when it cannot be) and forecast
    (`_forecast_one`); a series whose fit raised gets seasonal naive's forecast."""

    season_length: int
    freq: str

    def _fit_one(self, name: Any, y: np.ndarray) -> dict:
        raise NotImplementedError

    def _forecast_one(self, state: dict, h: int) -> np.ndarray:
        raise NotImplementedError

    def fit(self, panel: pd.DataFrame) -> Self:
        ordered = sort_panel(panel)
        codes, names = pd.factorize(ordered["series_id"], sort=False)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(names)))])
        y = ordered["y"].to_numpy(dtype=np.float64)
        self.states_: dict[Any, dict] = {}
        for name, start, stop in zip(names, bounds[:-1], bounds[1:], strict=True):
            try:
                self.states_[name] = self._fit_one(name, y[start:stop])
            except Exception:  # statsforecast raises many kinds; seasonal naive stands in
                continue
        self.series_ = names
        self.last_ds_ = ordered.groupby("series_id", sort=False)["ds"].last()
        self.fallback_ = SeasonalNaive(self.season_length, self.freq).fit(panel)
        return self

    def predict(self, h: int) -> pd.DataFrame:
        out = future_frame(self.last_ds_, h, self.freq).drop(columns="step")
        yhat = np.full((len(self.series_), h), np.nan)
        for row, name in enumerate(self.series_):
            if name in self.states_:
                yhat[row] = self._forecast_one(self.states_[name], h)
        out["yhat"] = yhat.ravel()
        out = out.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)
        return _with_fallback(out, self.fallback_, h)


class AutoETS(PerSeriesModel):
    """statsforecast's AutoETS: per series, the ETS form (error, trend, damping, season)
    with the lowest AICc, and its parameters.

    `forms` (series -> statsforecast's component code such as "MAND") fixes a series'
    form; only its parameters are estimated, which costs a fifteenth to a fiftieth of the
    search on monthly data (BENCHMARKS.md). The backtest does not hand the forms chosen at
    one origin on to the next: it did, and the later folds then scored 4-10% worse than a
    search at the same origin on M3 monthly and quarterly (BENCHMARKS.md, "Each model on
    M3 monthly"), so the backtest no longer estimated what the final fit (a search) would
    score.
    """

    def __init__(self, season_length: int, freq: str, forms: dict[Any, str] | None = None) -> None:
        self.season_length = season_length
        self.freq = freq
        self.forms = forms

    def _fit_one(self, name: Any, y: np.ndarray) -> dict:
        form = (self.forms or {}).get(name)
        fitted = ets_f(
            y,
            m=self.season_length,
            model=form[:3] if form else "ZZZ",
            damped=form[3] == "D" if form else None,
        )
        # Only what the point forecast needs: the fit's last state, not its history.
        return {
            "components": fitted["components"],
            "par": fitted["par"],
            "m": fitted["m"],
            "states": fitted["states"][-1:].copy(),
        }

    def _forecast_one(self, state: dict, h: int) -> np.ndarray:
        return pegelsfcast_C(h, state)

    @property
    def forms_(self) -> dict[Any, str]:
        """The form each fitted series has (a series whose fit failed has none)."""
        return {name: state["components"] for name, state in self.states_.items()}


class AutoARIMA(StatsForecastModel):
    """AutoARIMA; built with `future_covariates` (the registry's `auto_arima_cov`), a
    regression with ARIMA errors on them (statsforecast's exogenous columns): their
    columns in the fitted panel, and their values for the steps ahead in `predict`."""

    _model = _AutoARIMA

    def __init__(
        self,
        season_length: int,
        freq: str,
        n_jobs: int = 1,
        future_covariates: tuple[str, ...] = (),
    ) -> None:
        super().__init__(season_length, freq, n_jobs)
        self.future_covariates = tuple(future_covariates)

    @property
    def uses_covariates(self) -> bool:
        return bool(self.future_covariates)

    def fit(self, panel: pd.DataFrame) -> Self:
        super().fit(panel)
        if self.uses_covariates:
            ordered = sort_panel(panel)
            names = list(self.future_covariates)
            self.history_[names] = covariate_block(ordered, names)
        return self

    def predict(self, h: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecasts; with covariates, of the series whose `future` covers all `h` steps."""
        if not self.uses_covariates:
            return super().predict(h)
        names = list(self.future_covariates)
        last = self.history_.groupby("unique_id", sort=False)["ds"].max()
        ahead = values_ahead(future, last, h, self.freq, names)
        complete = ahead[names].notna().all(axis=1).groupby(ahead["series_id"]).all()
        covered = complete.index[complete.to_numpy()]
        history = self.history_[self.history_["unique_id"].isin(covered)]
        if history.empty:
            return pd.DataFrame({"series_id": [], "ds": [], "yhat": []})
        x_future = ahead[ahead["series_id"].isin(covered)].rename(
            columns={"series_id": "unique_id"}
        )
        with warnings.catch_warnings():
            # a covariate constant over one series' history (no promotion there yet) makes
            # that series' regression rank-deficient: its coefficient stays 0, said per fit
            warnings.filterwarnings("ignore", message="The design matrix is rank-deficient")
            out = self._forecast(history, h, x_future)
        return _with_fallback(out, self.fallback_, h)


class AutoTheta(StatsForecastModel):
    _model = _AutoTheta


class AutoCES(StatsForecastModel):
    _model = _AutoCES
