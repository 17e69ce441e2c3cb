"""The registry of models: adding a model is one file in models/ and one line here."""

from __future__ import annotations

import inspect

from models.base import Forecaster
from models.baselines import Naive, SeasonalNaive

MODELS: dict[str, type] = {
    "naive": Naive,
    "seasonal_naive": SeasonalNaive,
}


def build_model(name: str, *, season_length: int, freq: str) -> Forecaster:
    """An unfitted model by registry name, given the data's season length and frequency."""
    cls = MODELS[name]
    context = {"season_length": season_length, "freq": freq}
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{key: value for key, value in context.items() if key in accepted})
