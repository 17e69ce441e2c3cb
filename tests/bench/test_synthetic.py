import numpy as np
import pandas as pd

from bench.synthetic import INTERMITTENT_SHARE, synthetic_panel


def test_panel_is_seeded_and_shaped_as_the_scale_benchmark_says():
    panel = synthetic_panel(2000, length=120, seed=3)
    pd.testing.assert_frame_equal(panel, synthetic_panel(2000, length=120, seed=3))
    assert not panel.equals(synthetic_panel(2000, length=120, seed=4))
    lengths = panel.groupby("series_id").size()
    assert len(lengths) == 2000 and lengths.max() == 120 and lengths.min() >= 72
    # every series ends on the same month, with no gaps or duplicates
    assert panel.groupby("series_id")["ts"].max().nunique() == 1
    steps = panel.groupby("series_id")["ts"].diff().dropna()
    assert (steps.dt.days.between(28, 31)).all()
    assert np.isfinite(panel["value"]).all()
    # about one series in ten is intermittent: mostly zeros
    zero_share = panel["value"].eq(0).groupby(panel["series_id"]).mean()
    intermittent = (zero_share > 0.5).mean()
    assert abs(intermittent - INTERMITTENT_SHARE) < 0.03
