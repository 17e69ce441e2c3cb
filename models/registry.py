"""The registry of models: adding a model is one file in models/ and one entry here.

Each entry carries what the rest of tidecast needs to know about a model: its family,
the fixed combinations it is a member of (`ensemble_stats`, `ensemble_wide`), and which
presets include it.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tidecast.models.base import Forecaster

Family = Literal["baseline", "statistical", "machine_learning", "neural"]
CovariateKind = Literal["future", "past", "static"]
EVERY_KIND: tuple[CovariateKind, ...] = ("future", "past", "static")
Preset = Literal["fast", "default", "best"]
PRESETS: tuple[Preset, ...] = ("fast", "default", "best")
# The fixed combinations, each the equal-weight mean of its members present in the run:
# `ensemble_stats` of the statistical models (and the N-BEATS ensemble), `ensemble_wide`
# of those and a global gradient-boosting model on lag windows. Which of them is the
# run's default is the run's own backtest's call, pooled over every series and fold
# (tasks/promote.py `run_default`): on the training data's validation folds of M3 the
# wider mean was better on monthly and "other" data, worse on yearly (BENCHMARKS.md,
# "Accuracy on M3"), so no fixed rule per frequency could be right for data sets not yet
# seen.
Combination = Literal["ensemble_stats", "ensemble_wide"]
COMBINATIONS: tuple[Combination, ...] = ("ensemble_stats", "ensemble_wide")


@dataclass(frozen=True)
class ModelInfo:
    """What tidecast knows about a model besides its class.

    `combinations`: the fixed combinations (`COMBINATIONS`) it is a member of.
    `presets`: the presets whose zoo includes it; a model in none is there by name
    (`TIDECAST_MODELS`). `max_season_length`:
    the presets other than `best` include it only for season lengths up to this (a cost
    rule: AutoARIMA's seasonal search grows with the season length; one fit of the 1428
    M3 monthly series takes minutes on 2 cores, BENCHMARKS.md). `min_series`: presets
    include it only for panels of at least this many series; with fewer the run skips it
    and says why (a cost rule for global networks, whose minutes of training do not pay
    on few series: BENCHMARKS.md "Accuracy on M3"). Naming a model in `TIDECAST_MODELS`
    overrides both rules. `covariates`: the kinds of the run's covariates the entry
    takes (`future`, `past`, `static`; docs/covariates.md); presets include it only in
    runs that have some of those, beside the same model without them, so promotion
    compares the two on the same folds.
    """

    cls: str  # "module:Class" in tidecast.models, imported when a model of it is first built
    family: Family
    combinations: tuple[Combination, ...] = ()
    presets: tuple[Preset, ...] = ()
    max_season_length: int | None = None
    min_series: int | None = None
    covariates: tuple[CovariateKind, ...] = ()


INFO: dict[str, ModelInfo] = {
    "naive": ModelInfo("baselines:Naive", "baseline", presets=PRESETS),
    "seasonal_naive": ModelInfo("baselines:SeasonalNaive", "baseline", presets=PRESETS),
    "drift": ModelInfo("baselines:Drift", "baseline", presets=PRESETS),
    "window_average": ModelInfo("baselines:WindowAverage", "baseline", presets=PRESETS),
    "auto_ets": ModelInfo("statistical:AutoETS", "statistical", COMBINATIONS, ("default", "best")),
    "auto_theta": ModelInfo("statistical:AutoTheta", "statistical"),
    "auto_ces": ModelInfo("statistical:AutoCES", "statistical"),
    "auto_arima": ModelInfo(
        "statistical:AutoARIMA", "statistical", COMBINATIONS, ("default", "best"), 4
    ),
    "theta": ModelInfo("theta:Theta", "statistical", COMBINATIONS, PRESETS),
    "dynamic_theta": ModelInfo("theta:DynamicTheta", "statistical", COMBINATIONS, PRESETS),
    "seasonal_ses": ModelInfo("seasonal_ses:SeasonalSES", "statistical"),
    # Intermittent demand (models/intermittent.py): there by name until the zoo picks
    # them per demand class (issue 41)
    "croston": ModelInfo("intermittent:CrostonClassic", "statistical"),
    "croston_optimized": ModelInfo("intermittent:CrostonOptimized", "statistical"),
    "croston_sba": ModelInfo("intermittent:CrostonSBA", "statistical"),
    "tsb": ModelInfo("intermittent:TSB", "statistical"),
    "adida": ModelInfo("intermittent:ADIDA", "statistical"),
    "imapa": ModelInfo("intermittent:IMAPA", "statistical"),
    "ridge": ModelInfo("regression:RidgeLags", "machine_learning", presets=("default", "best")),
    "hgb": ModelInfo(
        "regression:GradientBoostingLags",
        "machine_learning",
        ("ensemble_wide",),
        ("default", "best"),
    ),
    "auto_arima_cov": ModelInfo(
        "statistical:AutoARIMA",
        "statistical",
        presets=("default", "best"),
        max_season_length=4,
        covariates=("future",),
    ),
    "ridge_cov": ModelInfo(
        "regression:RidgeLags", "machine_learning", presets=PRESETS, covariates=EVERY_KIND
    ),
    "hgb_cov": ModelInfo(
        "regression:GradientBoostingLags",
        "machine_learning",
        presets=("default", "best"),
        covariates=EVERY_KIND,
    ),
    "lstm": ModelInfo("neural:LSTM", "neural"),
    "gru": ModelInfo("neural:GRU", "neural"),
    "transformer": ModelInfo("neural:Transformer", "neural"),
    "nbeats": ModelInfo("neural:NBEATS", "neural"),
    "lstm_cov": ModelInfo("neural:LSTM", "neural", covariates=EVERY_KIND),
    "gru_cov": ModelInfo("neural:GRU", "neural", covariates=EVERY_KIND),
    "transformer_cov": ModelInfo("neural:Transformer", "neural", covariates=EVERY_KIND),
    "nbeats_cov": ModelInfo("neural:NBEATS", "neural", covariates=EVERY_KIND),
    "nbeats_ensemble": ModelInfo(
        "nbeats_ensemble:NBeatsEnsemble",
        "neural",
        COMBINATIONS,
        ("default", "best"),
        min_series=500,
    ),
}


class _Classes(dict):
    """name -> model class, each imported on first use: reading settings or champions
    never loads torch or statsforecast, only building a model of theirs does."""

    def __getitem__(self, name: str) -> type:
        value = super().__getitem__(name)
        if isinstance(value, str):
            module, _, attribute = value.partition(":")
            value = getattr(importlib.import_module(f"tidecast.models.{module}"), attribute)
            super().__setitem__(name, value)
        return value


# name -> class: what `build_model` builds (tests register stand-in models here).
MODELS: dict[str, type] = _Classes({name: info.cls for name, info in INFO.items()})


def preset_models(
    preset: Preset,
    season_length: int,
    n_series: int | None = None,
    covariate_kinds: tuple[str, ...] = (),
) -> list[str]:
    """The zoo of a preset for data of this season length and (when known) this many
    series, in registry order; an entry taking covariates only when the run has some of
    the kinds it takes (`covariate_kinds`)."""
    too_few = too_few_series(preset, n_series)
    return [
        name
        for name, info in INFO.items()
        if preset in info.presets
        and (not info.covariates or set(info.covariates) & set(covariate_kinds))
        and (
            preset == "best"
            or info.max_season_length is None
            or season_length <= info.max_season_length
        )
        and name not in too_few
    ]


def too_few_series(preset: Preset, n_series: int | None) -> dict[str, str]:
    """The preset's models that a panel of `n_series` series is too small for: name ->
    why, as the run row says it."""
    if n_series is None:
        return {}
    return {
        name: (
            f"{name} skipped: {n_series} series are fewer than the {info.min_series} its "
            f"training cost pays off on (name it in TIDECAST_MODELS to run it anyway)"
        )
        for name, info in INFO.items()
        if preset in info.presets and info.min_series is not None and n_series < info.min_series
    }


def combination_members(
    model_names: list[str], combination: Combination = "ensemble_stats"
) -> list[str]:
    """The models of `model_names` that the fixed `combination` averages."""
    return [name for name in model_names if name in INFO and combination in INFO[name].combinations]


COVARIATE_PARAMETERS = ("future_covariates", "past_covariates", "static_covariates")


def uses_covariates(name: str) -> bool:
    """Whether the registry entry `name` takes the run's covariates."""
    return name in INFO and bool(INFO[name].covariates)


def build_model(name: str, **context: Any) -> Forecaster:
    """An unfitted model by registry name.

    `context` holds what the run knows (season_length, freq, horizon, seed, n_jobs,
    max_steps, max_seconds, the covariates' names, …); each model takes the parts its
    constructor names, and only entries marked `covariates` take the covariates.
    """
    cls = MODELS[name]
    accepted = inspect.signature(cls.__init__).parameters
    if not uses_covariates(name):
        accepted = {
            key: value for key, value in accepted.items() if key not in COVARIATE_PARAMETERS
        }
    return cls(**{key: value for key, value in context.items() if key in accepted})


def model_uses_covariates(model: Forecaster) -> bool:
    """Whether a built model was given covariates to use."""
    return bool(getattr(model, "uses_covariates", False))


def is_global(model: Forecaster) -> bool:
    """Whether the model learns across series (and so should see all of them)."""
    return bool(getattr(model, "global_model", False))
