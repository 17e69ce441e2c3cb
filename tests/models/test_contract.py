"""One contract for every registered model: clone -> fit -> predict on a seeded panel."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import as_panel, synthetic_panel
from tidecast.models.base import clone
from tidecast.models.registry import MODELS, build_model

H = 12


@pytest.fixture(scope="module")
def train_test():
    panel = as_panel(synthetic_panel(n_series=8, lengths=(96, 72, 60, 40), seed=1))
    train = panel.groupby("series_id").head(-H).reset_index(drop=True)
    test = panel.groupby("series_id").tail(H)
    reference = build_model("seasonal_naive", season_length=12, freq="MS").fit(train).predict(H)
    merged = test.merge(reference, on=["series_id", "ds"])
    flat = build_model("naive", freq="MS").fit(train).predict(H)
    flat = test.merge(flat, on=["series_id", "ds"])
    return (
        train,
        test,
        {
            "seasonal_naive": (merged["y"] - merged["yhat"]).abs().mean(),
            "naive": (flat["y"] - flat["yhat"]).abs().mean(),
        },
    )


# Models of intermittent demand forecast a flat rate (no season, no trend): on this
# smooth seasonal panel their bar is the last value's, not the last season's.
FLAT_RATE = {"croston", "croston_optimized", "croston_sba", "tsb", "adida", "imapa"}


# the torch networks and AutoARIMA take seconds each here: the fast lane fits the others
_SLOW_TO_FIT = {"lstm", "gru", "transformer", "nbeats", "nbeats_ensemble", "auto_arima"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in _SLOW_TO_FIT else n for n in sorted(MODELS)],
)
def test_contract(name, train_test, context):
    train, test, references = train_test
    reference = "naive" if name in FLAT_RATE else "seasonal_naive"
    reference_mae = references[reference]
    before = train.copy()
    fitted = clone(build_model(name, **context)).fit(train)
    first = fitted.predict(H)
    second = fitted.predict(H)
    pd.testing.assert_frame_equal(train, before)  # the input is not mutated
    pd.testing.assert_frame_equal(first, second)  # predicting twice gives the same answer
    assert list(first.columns) == ["series_id", "ds", "yhat"]
    assert len(first) == H * train["series_id"].nunique()  # every series, short ones too
    assert np.isfinite(first["yhat"]).all()
    merged = test.merge(first, on=["series_id", "ds"])
    assert len(merged) == len(test)
    mae = (merged["y"] - merged["yhat"]).abs().mean()
    assert mae <= 2.5 * reference_mae, f"{name}: MAE {mae:.2f} vs {reference} {reference_mae:.2f}"
