"""The registry: one entry per model, carrying what the rest of tidecast knows about it."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import MODEL_CONTEXT
from tidecast.models.registry import (
    COMBINATIONS,
    INFO,
    MODELS,
    build_model,
    combination_members,
    is_global,
    model_uses_covariates,
    preset_models,
    too_few_series,
    uses_covariates,
)

COVARIATES = {"future_covariates": ("promo",), "past_covariates": (), "static_covariates": ()}


def test_every_entry_names_a_class_that_follows_the_protocol():
    for name in INFO:
        cls = MODELS[name]
        assert callable(getattr(cls, "fit", None)) and callable(getattr(cls, "predict", None))


def test_reading_the_registry_imports_no_model_library():
    # settings and champions read the registry; only building a model imports its module
    import subprocess

    code = (
        "import sys; import tidecast.models.registry as r; r.preset_models('best', 12); "
        "print(sorted(m for m in ('torch', 'statsforecast', 'sklearn') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_model_gets_only_the_context_its_constructor_names():
    model = build_model("seasonal_naive", **MODEL_CONTEXT, **COVARIATES)
    assert model.season_length == MODEL_CONTEXT["season_length"]
    assert not model_uses_covariates(model)
    # only entries marked `covariates` take the covariates' names
    assert not model_uses_covariates(build_model("ridge", **MODEL_CONTEXT, **COVARIATES))
    assert model_uses_covariates(build_model("ridge_cov", **MODEL_CONTEXT, **COVARIATES))
    assert uses_covariates("ridge_cov") and not uses_covariates("ridge")
    assert is_global(build_model("ridge", **MODEL_CONTEXT))
    assert not is_global(build_model("auto_ets", **MODEL_CONTEXT))


def test_presets_follow_the_entries_cost_rules():
    monthly, quarterly = preset_models("default", 12), preset_models("default", 4)
    assert "auto_arima" in quarterly and "auto_arima" not in monthly  # max_season_length
    assert "auto_arima" in preset_models("best", 12)  # `best` ignores the season rule
    assert "nbeats_ensemble" in preset_models("default", 12, n_series=500)
    assert "nbeats_ensemble" not in preset_models("default", 12, n_series=499)  # min_series
    assert "499 series are fewer than the 500" in too_few_series("default", 499)["nbeats_ensemble"]
    assert too_few_series("default", None) == {}
    # covariate entries only in runs that have some of the kinds they take
    assert "ridge_cov" not in preset_models("default", 12)
    assert "ridge_cov" in preset_models("default", 12, covariate_kinds=("static",))
    assert "auto_arima_cov" not in preset_models("default", 4, covariate_kinds=("past",))
    assert "auto_arima_cov" in preset_models("default", 4, covariate_kinds=("future",))
    assert set(preset_models("fast", 12)) < set(preset_models("default", 12, n_series=500))


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_a_combination_averages_its_members_present_in_the_run(combination):
    every = list(INFO)
    members = combination_members(every, combination)
    assert {"auto_ets", "theta", "dynamic_theta", "nbeats_ensemble"} <= set(members)
    assert ("hgb" in members) == (combination == "ensemble_wide")
    assert combination_members(["naive", "theta", "unknown"], combination) == ["theta"]
