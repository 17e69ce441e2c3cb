import pandas as pd
import pytest

from models.registry import build_model
from tests.conftest import as_panel, synthetic_panel


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
