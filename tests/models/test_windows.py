import numpy as np
import pandas as pd

from tidecast.models.windows import build_windows, last_windows


def panel_of(lengths):
    frames = [
        pd.DataFrame(
            {
                "series_id": f"s{i}",
                "ds": pd.date_range("2020-01-01", periods=n, freq="MS"),
                "y": np.arange(n, dtype=float) * (i + 1) + 100 * i,
            }
        )
        for i, n in enumerate(lengths)
    ]
    return pd.concat(frames, ignore_index=True)


def test_windows_stay_inside_one_series_and_end_at_the_last_point():
    panel = panel_of([10, 7, 3])
    w = build_windows(panel, lookback=4, horizon=2)
    # series of 10 gives 5 windows, of 7 gives 2, of 3 (shorter than 6) gives none
    assert np.bincount(w.series_index, minlength=3).tolist() == [5, 2, 0]
    raw_inputs = w.inputs * w.scale[:, None] + w.loc[:, None]
    raw_targets = w.unscale(w.targets)
    first_series = panel[panel.series_id == "s0"]["y"].to_numpy()
    np.testing.assert_allclose(raw_inputs[4], first_series[4:8])
    np.testing.assert_allclose(raw_targets[4], first_series[8:10])
    assert w.steps_to_end[w.series_index == 0].tolist() == [4, 3, 2, 1, 0]
    assert w.end_times[4] == pd.Timestamp("2020-08-01")


def test_scaling_is_per_window():
    w = build_windows(panel_of([10]), lookback=4, horizon=2)
    np.testing.assert_allclose(w.inputs.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(w.inputs.std(axis=1), 1)


def test_stride_counts_back_from_the_end_and_max_windows_is_seeded():
    panel = panel_of([20])
    w = build_windows(panel, lookback=4, horizon=2, stride=5)
    assert w.steps_to_end.tolist() == [10, 5, 0]
    a = build_windows(panel, lookback=4, horizon=2, max_windows=5, seed=3)
    b = build_windows(panel, lookback=4, horizon=2, max_windows=5, seed=3)
    assert len(a.inputs) == 5 and np.array_equal(a.steps_to_end, b.steps_to_end)


def test_last_windows_pad_short_series_instead_of_dropping_them():
    panel = panel_of([10, 3])
    w = last_windows(panel, lookback=5)
    assert w.series_ids.tolist() == ["s0", "s1"]
    raw = w.unscale(w.inputs)
    np.testing.assert_allclose(raw[1], [100, 100, 100, 102, 104])
    np.testing.assert_allclose(raw[0], np.arange(5, 10))


def test_constant_window_does_not_divide_by_zero():
    panel = pd.DataFrame(
        {"series_id": "c", "ds": pd.date_range("2020-01-01", periods=8, freq="MS"), "y": 0.0}
    )
    w = build_windows(panel, lookback=4, horizon=2)
    assert np.isfinite(w.inputs).all() and np.isfinite(w.targets).all()


def test_the_lookback_adapts_only_when_no_series_gives_a_window_with_the_default():
    from tidecast.models.windows import default_lookback, fitted_lookback

    assert default_lookback(12, 18) == 24
    assert fitted_lookback(panel_of([80, 90, 60]), None, 12, 18) == 24  # long enough
    # one series of 42 points gives a window with the default: kept (as M3's folds do)
    assert fitted_lookback(panel_of([30, 30, 42, 20, 20]), None, 12, 18) == 24
    # none does: the longest series' 30 points allow 12 inputs
    assert fitted_lookback(panel_of([30, 30, 25, 20, 20]), None, 12, 18) == 12
    assert fitted_lookback(panel_of([10, 12]), None, 12, 18) == 24  # none can: as set
    assert fitted_lookback(panel_of([30, 30]), 20, 12, 18) == 20  # set by the user: kept
