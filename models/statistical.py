"""Local statistical models from statsforecast: AutoETS, AutoARIMA, AutoTheta, AutoCES.

statsforecast fits each series with compiled code and spreads series over `n_jobs`
processes. A series whose fit raises or gives non-finite forecasts gets the seasonal
naive forecast instead, and is listed in the forecast frame's `attrs["fallbacks"]`
(the backtest records it).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast import models as sf

from tidecast.models.base import sort_panel
from tidecast.models.baselines import SeasonalNaive


class Guarded:
    """Turns a failed per-series fit into NaN forecasts, so one bad series can't sink the rest."""

    def forecast(self, y: np.ndarray, h: int, *args: Any, **kwargs: Any) -> dict:
        try:
            return super().forecast(y, h, *args, **kwargs)
        except Exception:  # statsforecast raises many kinds; the fallback below handles them all
            return {"mean": np.full(h, np.nan)}


# Module-level subclasses, so they pickle into statsforecast's worker processes.
class _AutoETS(Guarded, sf.AutoETS):
    pass


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
        engine = StatsForecast(
            models=[self._model(season_length=self.season_length)],
            freq=self.freq,
            n_jobs=self.n_jobs,
        )
        raw = engine.forecast(df=self.history_, h=h)
        column = [c for c in raw.columns if c not in ("unique_id", "ds")][0]
        out = pd.DataFrame(
            {
                "series_id": raw["unique_id"].to_numpy(),
                "ds": raw["ds"].to_numpy(),
                "yhat": raw[column].to_numpy(dtype=float),
            }
        )
        out = out.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)
        bad = ~np.isfinite(out["yhat"].to_numpy())
        failed = out.loc[bad, "series_id"].unique()
        if len(failed):
            fallback = self.fallback_.predict(h).set_index(["series_id", "ds"])["yhat"]
            keys = pd.MultiIndex.from_frame(out.loc[bad, ["series_id", "ds"]])
            out.loc[bad, "yhat"] = fallback.reindex(keys).to_numpy()
        out.attrs["fallbacks"] = [str(sid) for sid in failed]  # read by the backtest
        return out


class AutoETS(StatsForecastModel):
    _model = _AutoETS


class AutoARIMA(StatsForecastModel):
    _model = _AutoARIMA


class AutoTheta(StatsForecastModel):
    _model = _AutoTheta


class AutoCES(StatsForecastModel):
    _model = _AutoCES
