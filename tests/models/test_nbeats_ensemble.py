import numpy as np
import pandas as pd
import pytest

from tests.helpers import as_panel, synthetic_panel
from tidecast.models.registry import build_model

pytestmark = pytest.mark.slow  # torch training

# Two members and few steps: the behaviour under test does not need the full ensemble.
SMALL = {"lookbacks": (2, 3), "losses": ("smape",), "min_steps": 20}


def small_ensemble(context: dict, **changes):
    model = build_model("nbeats_ensemble", **context)
    for key, value in {**SMALL, **changes}.items():
        setattr(model, key, value)
    return model


def test_same_data_and_seed_give_the_same_forecasts(context):
    panel = as_panel(synthetic_panel(n_series=5, seed=2))
    first = small_ensemble(context).fit(panel).predict(12)
    second = small_ensemble(context).fit(panel).predict(12)
    pd.testing.assert_frame_equal(first, second)
    other_seed = small_ensemble({**context, "seed": 1}).fit(panel).predict(12)
    assert not first["yhat"].equals(other_seed["yhat"])


def test_one_network_serves_every_level_each_window_is_divided_by_its_largest_input(context):
    panel = as_panel(synthetic_panel(n_series=4, seed=3))
    small = small_ensemble(context).fit(panel).predict(12)
    big = small_ensemble(context).fit(panel.assign(y=panel["y"] * 1000)).predict(12)
    np.testing.assert_allclose(big["yhat"], small["yhat"] * 1000, rtol=1e-4)


def test_series_shorter_than_every_lookback_train_and_get_forecasts(context):
    # lookbacks of 24 and 36 points; these series have 8 to 30
    panel = as_panel(synthetic_panel(n_series=6, lengths=(30, 14, 8), seed=4))
    forecast = small_ensemble(context).fit(panel).predict(12)
    assert len(forecast) == 6 * 12
    assert np.isfinite(forecast["yhat"]).all()


def test_the_budget_is_passes_over_the_windows_within_bounds(context):
    model = small_ensemble(context, passes=10, batch_size=100, min_steps=5, max_steps=1000)
    assert model.steps_for(2_000) == 200  # 10 passes over 2,000 windows in batches of 100
    assert model.steps_for(10) == 5  # a tiny panel still trains min_steps
    assert model.steps_for(10**6) == 1000  # a huge one stops at max_steps
    panel = as_panel(synthetic_panel(n_series=3, lengths=(40,)))
    fitted = model.fit(panel)
    # each series has 39 cut points (at least one input and one target point): 117 windows
    assert fitted.steps_ == model.steps_for(3 * 39) == 12
    assert not fitted.time_capped_


def test_the_time_cap_is_a_safety_net_that_says_when_it_was_reached(context):
    panel = as_panel(synthetic_panel(n_series=3))
    fitted = small_ensemble(context, max_seconds=0.0).fit(panel)
    assert fitted.time_capped_
    assert np.isfinite(fitted.predict(12)["yhat"]).all()


def test_predicting_past_the_trained_horizon_is_refused(context):
    model = small_ensemble(context).fit(as_panel(synthetic_panel(n_series=3)))
    with pytest.raises(ValueError, match="horizon 12"):
        model.predict(13)


def test_the_next_origin_fine_tunes_every_member_instead_of_training_from_scratch(context):
    panel = as_panel(synthetic_panel(n_series=6, seed=2))
    earlier = small_ensemble(context, min_steps=40).fit(panel)
    later = earlier.next_origin()
    assert len(later.warm_start) == len(earlier.networks_) == 2
    later.fit(panel)
    assert later.warm_started_ and not earlier.warm_started_
    assert later.steps_ == int(np.ceil(earlier.steps_ * later.fine_tune)) < earlier.steps_
    before = earlier.predict(12)["yhat"].to_numpy()
    one_step = earlier.next_origin()
    one_step.fine_tune = 1e-9
    near = one_step.fit(panel).predict(12)["yhat"].to_numpy()
    far = small_ensemble(context, min_steps=1, max_steps=1).fit(panel).predict(12)
    assert one_step.steps_ == 1
    assert np.abs(near - before).mean() < 0.2 * np.abs(far["yhat"].to_numpy() - before).mean()
    np.testing.assert_array_equal(earlier.predict(12)["yhat"].to_numpy(), before)


def test_interpretable_members_join_the_generic_ones(context):
    panel = as_panel(synthetic_panel(n_series=4, seed=5))
    both = small_ensemble(context, kinds=("generic", "interpretable")).fit(panel)
    kinds = [type(network).__name__ for _, network in both.networks_]
    assert kinds == ["NBeatsNet", "NBeatsNet", "NBeatsInterpretableNet", "NBeatsInterpretableNet"]
    generic = small_ensemble(context).fit(panel).predict(12)
    forecast = both.predict(12)
    assert np.isfinite(forecast["yhat"]).all()
    assert not np.allclose(forecast["yhat"], generic["yhat"])


def test_a_misspelt_loss_or_kind_is_refused_not_trained_as_another(context):
    panel = as_panel(synthetic_panel(n_series=3))
    with pytest.raises(ValueError, match="unknown losses or kinds \\['smap'\\]"):
        small_ensemble(context, losses=("smap",)).fit(panel)
    with pytest.raises(ValueError, match="'generc'"):
        small_ensemble(context, kinds=("generc",)).fit(panel)
