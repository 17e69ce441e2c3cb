import numpy as np
import pandas as pd
import pytest

from tidecast.errors import TidecastError
from tidecast.frequency import infer_freq, make_grid, series_spacing


@pytest.mark.parametrize(
    ("freq", "on", "off", "season"),
    [
        ("MS", "2020-03-01", "2020-03-02", 12),
        ("ME", "2020-02-29", "2020-02-28", 12),
        ("QS", "2020-04-01", "2020-05-01", 4),
        ("QS-OCT", "2020-10-01", "2020-09-01", 4),
        ("YS", "2021-01-01", "2021-06-01", 1),
        ("W-SUN", "2024-06-02", "2024-06-03", 52),
        ("D", "2024-06-02", "2024-06-02 12:00", 7),
        ("h", "2024-06-02 13:00", "2024-06-02 13:30", 24),
        ("15min", "2024-06-02 13:45", "2024-06-02 13:50", 1),
    ],
)
def test_grid_tells_on_grid_from_off_grid_and_round_trips(freq, on, off, season):
    grid = make_grid(freq)
    positions, on_grid = grid.positions(pd.Series([pd.Timestamp(on), pd.Timestamp(off)]))
    assert on_grid.tolist() == [True, False]
    assert grid.timestamps(positions[:1])[0] == pd.Timestamp(on)
    nxt = grid.timestamps(positions[:1] + 1)[0]
    assert nxt == pd.date_range(on, periods=2, freq=freq)[1]
    assert grid.season_length == season


def test_timestamps_are_consecutive_positions():
    grid = make_grid("MS")
    stamps = pd.Series(pd.date_range("1999-11-01", periods=5, freq="MS"))
    positions, on_grid = grid.positions(stamps)
    assert on_grid.all()
    assert np.diff(positions).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("freq", ["B", "2MS", "nonsense"])
def test_unsupported_frequency_is_a_clear_error(freq):
    with pytest.raises(TidecastError, match="frequency"):
        make_grid(freq)


def test_infer_freq_uses_the_most_common_answer():
    ds = pd.concat(
        [pd.Series(pd.date_range("2020-01-01", periods=24, freq="MS")) for _ in range(3)]
        + [pd.Series(pd.to_datetime(["2020-01-01", "2020-01-09", "2020-03-02"]))],
        ignore_index=True,
    )
    ids = pd.Series(np.repeat(["a", "b", "c", "d"], [24, 24, 24, 3]))
    assert infer_freq(ds, ids) == "MS"


def test_a_gap_in_every_series_does_not_hide_its_frequency():
    """Every series missing a point (a month lost; the hour a spring DST change skips in
    local wall-clock time) still has the grid of its longest stretch without a gap."""
    months = pd.Series(pd.date_range("2015-01-01", periods=60, freq="MS").delete(30))
    utc = pd.date_range("2026-03-20", "2026-04-05", freq="h", tz="UTC")
    wall_clock = pd.Series(utc.tz_convert("Europe/Paris").tz_localize(None))
    assert infer_freq(months, pd.Series(["a"] * len(months))) == "MS"
    assert infer_freq(wall_clock, pd.Series(["a"] * len(wall_clock))) == "h"


def test_infer_freq_names_the_flag_when_it_cannot():
    ds = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-09", "2020-03-02"]))
    with pytest.raises(TidecastError, match="--freq"):
        infer_freq(ds, pd.Series(["a", "a", "a"]))


@pytest.mark.parametrize(
    ("grid_freq", "freq", "step", "off_grid"),
    [
        ("MS", "MS", 1, 0.0),
        ("MS", "QS", 3, 0.0),
        ("MS", "YS", 12, 0.0),
        ("D", "W-SUN", 7, 0.0),
        ("h", "D", 24, 0.0),
        ("MS", "ME", None, 1.0),
        ("W-SUN", "D", 1, 6 / 7),
    ],
)
def test_series_spacing_measures_each_series_on_the_grid(grid_freq, freq, step, off_grid):
    stamps = pd.Series(pd.date_range("2020-01-05", periods=28, freq=freq))
    spacing = series_spacing(make_grid(grid_freq), stamps, pd.Series(["a"] * 28))
    assert spacing.loc["a", "off_grid_share"] == pytest.approx(off_grid, abs=0.03)
    if step is None:
        assert np.isnan(spacing.loc["a", "step"])
    else:
        assert spacing.loc["a", "step"] == step


def test_a_few_gaps_keep_a_series_step_at_one():
    stamps = pd.Series(pd.date_range("2020-01-01", periods=24, freq="MS")).drop(index=[3, 9, 10])
    spacing = series_spacing(make_grid("MS"), stamps, pd.Series(["a"] * len(stamps)))
    assert spacing.loc["a", "step"] == 1 and spacing.loc["a", "filled_share"] == 3 / 24
