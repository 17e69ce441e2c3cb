"""The registry of models: adding a model is one file in models/ and one line here."""

from __future__ import annotations

import inspect
from typing import Any

from models.base import Forecaster
from models.baselines import Drift, Naive, SeasonalNaive, WindowAverage
from models.neural import GRU, LSTM, NBEATS, Transformer
from models.regression import GradientBoostingLags, RidgeLags
from models.seasonal_ses import SeasonalSES
from models.statistical import AutoARIMA, AutoCES, AutoETS, AutoTheta
from models.theta import Theta

MODELS: dict[str, type] = {
    "naive": Naive,
    "seasonal_naive": SeasonalNaive,
    "drift": Drift,
    "window_average": WindowAverage,
    "auto_ets": AutoETS,
    "auto_theta": AutoTheta,
    "auto_ces": AutoCES,
    "auto_arima": AutoARIMA,
    "theta": Theta,
    "seasonal_ses": SeasonalSES,
    "ridge": RidgeLags,
    "hgb": GradientBoostingLags,
    "lstm": LSTM,
    "gru": GRU,
    "transformer": Transformer,
    "nbeats": NBEATS,
}


def build_model(name: str, **context: Any) -> Forecaster:
    """An unfitted model by registry name.

    `context` holds what the run knows (season_length, freq, horizon, seed, n_jobs,
    max_steps, max_seconds, …); each model takes the parts its constructor names.
    """
    cls = MODELS[name]
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{key: value for key, value in context.items() if key in accepted})


def is_global(model: Forecaster) -> bool:
    """Whether the model learns across series (and so should see all of them)."""
    return bool(getattr(model, "global_model", False))
