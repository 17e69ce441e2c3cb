import numpy as np
import pandas as pd
import pytest
import torch

from tests.helpers import as_panel, synthetic_panel
from tidecast.models.registry import build_model

pytestmark = pytest.mark.slow  # torch training


@pytest.mark.parametrize("name", ["lstm", "gru", "transformer", "nbeats"])
def test_same_data_and_seed_give_the_same_forecasts(name, context):
    panel = as_panel(synthetic_panel(n_series=5, seed=2))
    first = build_model(name, **context).fit(panel).predict(12)
    second = build_model(name, **context).fit(panel).predict(12)
    pd.testing.assert_frame_equal(first, second)
    other_seed = build_model(name, **{**context, "seed": 1}).fit(panel).predict(12)
    assert not first["yhat"].equals(other_seed["yhat"])


def test_predicting_past_the_trained_horizon_is_refused(context):
    panel = as_panel(synthetic_panel(n_series=3))
    model = build_model("nbeats", **context).fit(panel)
    with pytest.raises(ValueError, match="horizon 12"):
        model.predict(13)


def test_too_few_windows_to_hold_out_trains_about_a_hundred_passes_not_the_whole_budget(context):
    # 3 series of 48-72 months give ~100 windows: fewer than a batch, so no validation split
    panel = as_panel(synthetic_panel(n_series=3))
    model = build_model("nbeats", **{**context, "max_steps": 1000}).fit(panel)
    assert 50 <= model.steps_ <= 100


def test_the_budget_is_passes_over_the_training_windows_not_a_fixed_step_count(context):
    # 24 series hold out a validation window each; early stopping is off (patience), so
    # only the budget stops training: 100 passes over ~1000 windows is ~400 steps, well
    # short of max_steps (before: every fit with a holdout trained all 1000 steps).
    panel = as_panel(synthetic_panel(n_series=24, seed=3))
    model = build_model("nbeats", **{**context, "max_steps": 1000})
    model.patience = 10_000
    model.fit(panel)
    assert model.min_steps < model.steps_ < 1000
    assert model.steps_ == model.steps_for(model.training_windows_)
    small = build_model("nbeats", **{**context, "max_steps": 1000})
    small.passes, small.patience = 10.0, 10_000
    assert small.fit(panel).steps_ < model.steps_


def cpu_runs_bfloat16_rnns() -> bool:
    """Whether oneDNN on this CPU has bfloat16 recurrent kernels (some AMD EPYC parts lack
    them and raise 'could not create a primitive descriptor')."""
    layer = torch.nn.LSTM(2, 2, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            layer(torch.zeros(1, 3, 2))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("name", ["lstm", "gru", "transformer", "nbeats"])
def test_mixed_precision_trains_and_forecasts_close_to_full_precision(name, context):
    # The CUDA path's bfloat16 autocast, run here on CPU (the default there is off).
    if name in ("lstm", "gru") and not cpu_runs_bfloat16_rnns():
        pytest.skip("this CPU's oneDNN has no bfloat16 LSTM/GRU kernel (CUDA path unaffected)")
    panel = as_panel(synthetic_panel(n_series=5, seed=2))
    model = build_model(name, **context)
    assert model.mixed_precision is None
    assert not model._autocast(torch.device("cpu"))._enabled  # off on CPU unless asked
    full = build_model(name, **context).fit(panel).predict(12)
    mixed = build_model(name, **context)
    mixed.mixed_precision = True
    half = mixed.fit(panel).predict(12)
    assert np.isfinite(half["yhat"]).all()
    # bfloat16 keeps ~3 significant digits; 40 steps of training drift a little further
    scale = panel.groupby("series_id")["y"].mean().mean()
    assert np.abs(half["yhat"] - full["yhat"]).mean() < 0.2 * scale


@pytest.mark.parametrize("name", ["lstm", "nbeats"])
def test_the_next_origin_fine_tunes_this_fit_instead_of_training_from_scratch(name, context):
    panel = as_panel(synthetic_panel(n_series=24, seed=3))
    earlier = build_model(name, **context)
    earlier.patience = 10_000  # only the budget stops training
    earlier.fit(panel)
    later = earlier.next_origin()
    assert later.warm_start is not None and not hasattr(later, "network_")  # unfitted
    later.fit(panel)
    assert later.warm_started_ and not earlier.warm_started_
    budget = earlier.steps_for(earlier.training_windows_)
    assert later.steps_ <= int(np.ceil(budget * later.fine_tune)) < budget
    # starting from the earlier weights, one step lands next to the earlier forecasts;
    # one step from fresh weights does not
    one_step = earlier.next_origin()
    one_step.fine_tune = 1e-9
    fresh = build_model(name, **{**context, "max_steps": 1, "min_steps": 1})
    before = earlier.predict(12)["yhat"].to_numpy()
    near = one_step.fit(panel).predict(12)["yhat"].to_numpy()
    far = fresh.fit(panel).predict(12)["yhat"].to_numpy()
    assert one_step.steps_ == 1
    assert np.abs(near - before).mean() < 0.2 * np.abs(far - before).mean()
    # the handed-on weights are a copy: fine-tuning leaves the earlier fit as it was
    np.testing.assert_array_equal(earlier.predict(12)["yhat"].to_numpy(), before)
