"""Models made for intermittent demand (many zero periods), on statsforecast's
implementations, series by series: Croston's method (classic, and with its smoothing
optimised), the Syntetos-Boylan approximation (SBA), Teunter-Syntetos-Babai (TSB), and the
temporal-aggregation methods ADIDA and IMAPA.

Each forecasts a flat rate of demand per period, never below 0 for a history that is
never below 0. They take no season. A series statsforecast cannot fit (too short for
ADIDA's aggregation, say) gets seasonal naive's forecast, as every per-series model does
(`statistical.PerSeriesModel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from statsforecast import models as sf

from tidecast.models.statistical import PerSeriesModel


class _Intermittent(PerSeriesModel):
    def __init__(self, season_length: int, freq: str) -> None:
        self.season_length = season_length
        self.freq = freq

    def _model(self) -> Any:
        raise NotImplementedError

    def _fit_one(self, name: Any, y: np.ndarray) -> dict:
        # statsforecast's intermittent models fit and forecast in one call; a flat rate,
        # so forecasting the longest horizon once is all a later `predict` needs
        return {"y": y}

    def _forecast_one(self, state: dict, h: int) -> np.ndarray:
        return np.asarray(self._model().forecast(y=state["y"], h=h)["mean"], dtype=float)


class CrostonClassic(_Intermittent):
    """Croston's method: SES (alpha 0.1) of the non-zero demands and of the intervals
    between them; their ratio is the rate."""

    def _model(self) -> Any:
        return sf.CrostonClassic()


class CrostonOptimized(_Intermittent):
    """Croston's method with each smoothing chosen by in-sample error."""

    def _model(self) -> Any:
        return sf.CrostonOptimized()


class CrostonSBA(_Intermittent):
    """The Syntetos-Boylan approximation: Croston's rate times 1 - alpha/2, removing its
    known upward bias."""

    def _model(self) -> Any:
        return sf.CrostonSBA()


class TSB(_Intermittent):
    """Teunter-Syntetos-Babai: smooths the probability of a demand every period (so an item
    that stops selling decays towards 0) and the size of the demands. The smoothing
    constants are statsforecast's documented example values (0.2 each), not tuned here."""

    def __init__(
        self, season_length: int, freq: str, alpha_d: float = 0.2, alpha_p: float = 0.2
    ) -> None:
        super().__init__(season_length, freq)
        self.alpha_d = alpha_d
        self.alpha_p = alpha_p

    def _model(self) -> Any:
        return sf.TSB(alpha_d=self.alpha_d, alpha_p=self.alpha_p)


class ADIDA(_Intermittent):
    """Aggregate-disaggregate: SES on the series summed over blocks of its mean interval
    between demands, spread back evenly."""

    def _model(self) -> Any:
        return sf.ADIDA()


class IMAPA(_Intermittent):
    """ADIDA over every aggregation level up to the mean interval, averaged."""

    def _model(self) -> Any:
        return sf.IMAPA()
