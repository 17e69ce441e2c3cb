"""The registry of models: adding a model is one file in models/ and one entry here.

Each entry carries what the rest of tidecast needs to know about a model: its family,
whether it is a member of the fixed statistical combination (`ensemble_stats`), and
which presets include it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Literal

from tidecast.models.base import Forecaster
from tidecast.models.baselines import Drift, Naive, SeasonalNaive, WindowAverage
from tidecast.models.neural import GRU, LSTM, NBEATS, Transformer
from tidecast.models.regression import GradientBoostingLags, RidgeLags
from tidecast.models.seasonal_ses import SeasonalSES
from tidecast.models.statistical import AutoARIMA, AutoCES, AutoETS, AutoTheta
from tidecast.models.theta import DynamicTheta, Theta

Family = Literal["baseline", "statistical", "machine_learning", "neural"]
Preset = Literal["fast", "default", "best"]
PRESETS: tuple[Preset, ...] = ("fast", "default", "best")


@dataclass(frozen=True)
class ModelInfo:
    """What tidecast knows about a model besides its class.

    `combination`: a member of `ensemble_stats`, the equal-weight mean of the statistical
    models in the run. `presets`: the presets whose zoo includes it. `max_season_length`:
    the presets other than `best` include it only for season lengths up to this (a cost
    rule: AutoARIMA's seasonal search grows with the season length; one fit of the 1428
    M3 monthly series takes minutes on 2 cores, BENCHMARKS.md).
    """

    cls: type
    family: Family
    combination: bool = False
    presets: tuple[Preset, ...] = ()
    max_season_length: int | None = None


INFO: dict[str, ModelInfo] = {
    "naive": ModelInfo(Naive, "baseline", presets=PRESETS),
    "seasonal_naive": ModelInfo(SeasonalNaive, "baseline", presets=PRESETS),
    "drift": ModelInfo(Drift, "baseline", presets=PRESETS),
    "window_average": ModelInfo(WindowAverage, "baseline", presets=PRESETS),
    "auto_ets": ModelInfo(AutoETS, "statistical", True, ("default", "best")),
    "auto_theta": ModelInfo(AutoTheta, "statistical", presets=("best",)),
    "auto_ces": ModelInfo(AutoCES, "statistical", presets=("best",)),
    "auto_arima": ModelInfo(AutoARIMA, "statistical", True, ("default", "best"), 4),
    "theta": ModelInfo(Theta, "statistical", True, PRESETS),
    "dynamic_theta": ModelInfo(DynamicTheta, "statistical", True, PRESETS),
    "seasonal_ses": ModelInfo(SeasonalSES, "statistical"),
    "ridge": ModelInfo(RidgeLags, "machine_learning", presets=("default", "best")),
    "hgb": ModelInfo(GradientBoostingLags, "machine_learning", presets=("best",)),
    "lstm": ModelInfo(LSTM, "neural", presets=("best",)),
    "gru": ModelInfo(GRU, "neural", presets=("best",)),
    "transformer": ModelInfo(Transformer, "neural", presets=("best",)),
    "nbeats": ModelInfo(NBEATS, "neural", presets=("best",)),
}
# name -> class: what `build_model` builds (tests register stand-in models here).
MODELS: dict[str, type] = {name: info.cls for name, info in INFO.items()}


def preset_models(preset: Preset, season_length: int) -> list[str]:
    """The zoo of a preset for data of this season length, in registry order."""
    return [
        name
        for name, info in INFO.items()
        if preset in info.presets
        and (
            preset == "best"
            or info.max_season_length is None
            or season_length <= info.max_season_length
        )
    ]


def combination_members(model_names: list[str]) -> list[str]:
    """The models of `model_names` that `ensemble_stats` averages."""
    return [name for name in model_names if name in INFO and INFO[name].combination]


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
