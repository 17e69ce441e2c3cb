"""Two rejected experiments, kept so their figures can be reproduced (BENCHMARKS.md,
"Each model on M3 monthly"): statistical models that hand what their search chose at one
backtest origin on to the next, which only re-estimates the parameters.

* `EtsHandingForms` (`auto_ets_forms`): AutoETS handing each series' form on; tidecast's
  AutoETS did so from commit 01e0d08 until this experiment measured it.
* `ArimaHandingOrders` (`auto_arima_orders`): statsforecast's AutoARIMA run per series,
  handing each series' orders and constant terms on.

Both were several times cheaper, and both made the later folds score worse than a
search at the same origin (the choice made `h` periods earlier no longer fits as well),
so the backtest no longer estimated the final fit, which searches: tidecast's `auto_ets`
and `auto_arima` search at every origin. `bench/next_origin.py --models auto_ets_forms`
(or `auto_arima_orders`) registers and measures them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from statsforecast import models as sf

from tidecast.models.statistical import AutoETS, PerSeriesModel

# (p, d, q, P, D, Q, period, with a mean, with a drift): what an ARIMA search chose
ArimaOrder = tuple[int, int, int, int, int, int, int, bool, bool]


class EtsHandingForms(AutoETS):
    def next_origin(self) -> EtsHandingForms:
        return EtsHandingForms(self.season_length, self.freq, forms=self.forms_)


class ArimaHandingOrders(PerSeriesModel):
    def __init__(
        self, season_length: int, freq: str, orders: dict[Any, ArimaOrder] | None = None
    ) -> None:
        self.season_length = season_length
        self.freq = freq
        self.orders = orders

    def _fit_one(self, name: Any, y: np.ndarray) -> dict:
        from statsforecast.arima import Arima

        order = (self.orders or {}).get(name)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if order is None:  # the search, exactly as `StatsForecast(AutoARIMA)` runs it
                return sf.AutoARIMA(season_length=self.season_length).fit(y).model_
            p, d, q, seasonal_p, seasonal_d, seasonal_q, period, mean, drift = order
            return Arima(
                y,
                order=(p, d, q),
                seasonal={"order": (seasonal_p, seasonal_d, seasonal_q), "period": period},
                include_mean=mean,
                include_drift=drift,
                method="CSS-ML",  # as the search's own final fit
            )

    def _forecast_one(self, state: dict, h: int) -> np.ndarray:
        from statsforecast.arima import forecast_arima

        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return forecast_arima(state, h)["mean"]

    def next_origin(self) -> ArimaHandingOrders:
        orders = {}
        for name, fitted in self.states_.items():
            p, q, seasonal_p, seasonal_q, period, d, seasonal_d = fitted["arma"]
            terms = fitted["coef"]
            orders[name] = (
                p, d, q, seasonal_p, seasonal_d, seasonal_q, period,
                "intercept" in terms, "drift" in terms,
            )  # fmt: skip
        return ArimaHandingOrders(self.season_length, self.freq, orders=orders)
