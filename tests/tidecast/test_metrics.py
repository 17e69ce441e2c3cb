import numpy as np
import pandas as pd

from tidecast.metrics import insample_scale, interval_scale, score_errors


def panel(values_by_series):
    return pd.concat(
        [
            pd.DataFrame({"series_id": sid, "ds": np.arange(len(v)), "y": np.asarray(v, float)})
            for sid, v in values_by_series.items()
        ],
        ignore_index=True,
    ).sort_values(["series_id", "ds"])


def test_a_flat_history_has_no_interval_scale_but_a_positive_mase_scale():
    data = panel({"flat": [42.0] * 30, "huge": [1e12] * 30, "noisy": [1.0, 3.0] * 15})
    bands = interval_scale(data, 12)
    assert bands["flat"] == 0 and bands["huge"] == 0  # a band of zero width, not +-level
    assert bands["noisy"] == 2.0  # seasonal-naive MAE is 0 here: the one-step naive MAE
    mase = insample_scale(data, 12)
    assert np.isfinite(mase).all() and (mase > 0).all()
    assert mase["flat"] == 42.0 and mase["noisy"] == 2.0
    # an error of 1 on the flat series still scores a finite, level-relative MASE
    pairs = pd.DataFrame({"series_id": ["flat"], "y": [43.0], "yhat": [42.0], "scale": [42.0]})
    assert np.isclose(score_errors(pairs, ["series_id"])["mase"].iloc[0], 1 / 42)


def test_a_single_observation_falls_back_to_the_mase_scale():
    data = panel({"one": [5.0], "flat": [7.0, 7.0]})
    assert interval_scale(data, 12).to_dict() == {"flat": 0.0, "one": 5.0}
