"""Static attributes: validated like covariates; `holiday_region` gives each series its own
holiday calendar, and a series without one no holidays."""

from __future__ import annotations

import pandas as pd

from tidecast.frequency import make_grid
from tidecast.settings import load_settings
from tidecast.tasks.covariates import CovariateInput, prepare_covariates
from tidecast.tasks.statics import STATIC_CHECKS, validate_statics

SERIES = pd.Index(["S00", "S01", "S02"])


def statics(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["series_id", "attribute", "value"])


def test_every_bad_static_row_is_quarantined_under_its_check():
    raw = statics(
        [
            ("S00", "holiday_region", "US"),
            ("S00", "holiday_region", "US"),  # static_duplicate_exact
            ("S01", "store_size", "40"),
            ("S01", "store_size", "55"),  # static_duplicate_conflict (both)
            (None, "store_size", "10"),  # static_series_id_missing
            ("S" * 256, "store_size", "10"),  # static_series_id_too_long
            ("S02", " ", "10"),  # static_attribute_missing
            ("S02", "store_size", None),  # static_value_missing
            ("S99", "store_size", "10"),  # static_series_unknown
            ("S02", "holiday_region", "XX"),  # static_holiday_region_unknown
        ]
    )
    attributes, rejected = validate_statics(raw, SERIES)
    assert set(rejected["check_name"]) == set(STATIC_CHECKS)
    assert len(attributes) + len(rejected) == len(raw)  # nothing lost
    assert attributes.to_numpy().tolist() == [["S00", "holiday_region", "US"]]
    assert set(rejected["kind"]) == {"static"}  # in rejected_covariates beside covariates


def test_each_series_gets_its_own_regions_holidays_and_one_without_a_region_none():
    grid = make_grid("MS")
    panel = pd.DataFrame(
        {
            "series_id": SERIES.repeat(24),
            "ds": list(pd.date_range("2022-01-01", periods=24, freq="MS")) * 3,
            "y": 1.0,
        }
    )
    raw = statics([("S00", "holiday_region", "US"), ("S01", "holiday_region", "DE-BY")])
    settings = load_settings(horizon=6)
    covariates = prepare_covariates(None, grid, panel, settings, raw)
    assert covariates.kinds == {"holiday": "future"}
    assert covariates.rows_read == 2 and covariates.rows_used == 2
    assert "1 series have no holiday_region: no holidays for them" in covariates.notes
    cutoffs = panel.groupby("series_id")["ds"].max()
    history, future = CovariateInput(covariates.values, covariates.kinds, "MS").frames(
        cutoffs, 6, as_of_cutoff=False
    )
    july = history[history["ds"] == "2023-07-01"].set_index("series_id")["holiday"]
    assert july.to_dict() == {"S00": 1.0, "S01": 0.0, "S02": 0.0}  # Independence Day
    november = history[history["ds"] == "2023-11-01"].set_index("series_id")["holiday"]
    assert november["S01"] == 1.0 and november["S02"] == 0.0  # All Saints' in Bavaria
    assert future["holiday"].notna().all() and len(future) == 3 * 6  # every series covered
