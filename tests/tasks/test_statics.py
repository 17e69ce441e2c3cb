"""Static attributes: validated like covariates; `holiday_region` gives each series its own
holiday calendar, and a series without one no holidays; the other attributes become
static features (a number standardised, a category 0/1), each choice said."""

from __future__ import annotations

import pandas as pd
import pytest

from tidecast.frequency import make_grid
from tidecast.settings import load_settings
from tidecast.tasks.covariates import CovariateInput, prepare_covariates, with_history
from tidecast.tasks.statics import MAX_CATEGORIES, STATIC_CHECKS, encode_statics, validate_statics

SERIES = pd.Index(["S00", "S01", "S02"])


def monthly_panel(series: pd.Index = SERIES, periods: int = 24) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": series.repeat(periods),
            "ds": list(pd.date_range("2022-01-01", periods=periods, freq="MS")) * len(series),
            "y": 1.0,
        }
    )


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
            ("S02", "a" * 65, "10"),  # static_attribute_too_long
            ("S02", "format", "v" * 64),  # static_value_too_long
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
    panel = monthly_panel()
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


def test_numbers_are_standardised_categories_one_hot_and_each_choice_is_said():
    series = pd.Index([f"S{i:02d}" for i in range(30)])
    rows = [(s, "size", str(10 * (i + 1))) for i, s in enumerate(series[:29])]  # S29: none
    rows += [(s, "format", "mall" if i % 3 else "outlet") for i, s in enumerate(series)]
    rows += [(s, "chain", "acme") for s in series]  # the same everywhere: no feature
    rows += [(series[0], "zone", "7"), (series[1], "zone", "B")]  # not every value a number
    rows += [(s, "postcode", f"{i:05d}") for i, s in enumerate(series)]  # a number: one feature
    rows += [(s, "city", f"c{i}") for i, s in enumerate(series)]  # 30 categories
    rows += [(s, "parking", "1") for s in series[:10]]  # a flag where given: who has it
    rows += [(series[0], "rating", "inf"), (series[1], "rating", "4")]  # not all finite
    rows += [(s, "holiday_region", "US") for s in series]  # the calendar, not a feature
    values, kinds, notes = encode_statics(statics(rows), series)
    assert set(kinds.values()) == {"static"}
    size = values[values["name"] == "size"].set_index("series_id")["value"]
    assert size.mean() == pytest.approx(0) and size.std(ddof=0) == pytest.approx(1)
    assert "S29" not in size.index  # no row: 0, the mean, when frames fills it
    assert "1 series have no static attribute size: the mean of the others" in notes
    outlet = values[values["name"] == "format=outlet"]["series_id"]
    assert sorted(outlet) == [s for i, s in enumerate(series) if i % 3 == 0]
    assert {"format=mall", "format=outlet"} <= set(kinds)
    assert not any(name.startswith(("chain", "holiday_region")) for name in kinds)
    assert "static attribute chain is the same for every series: unused" in notes
    assert {"zone=7", "zone=B"} <= set(kinds)
    assert any("zone is used as categories" in note and "'B'" in note for note in notes)
    assert "postcode" in kinds
    parking = values[values["name"] == "parking=1"]
    assert sorted(parking["series_id"]) == list(series[:10]) and (parking["value"] == 1).all()
    assert {"rating=inf", "rating=4"} <= set(kinds)
    assert any("rating is used as categories" in note and "'inf'" in note for note in notes)
    assert sum(name.startswith("city=") for name in kinds) == MAX_CATEGORIES
    assert any(f"city has 30 categories: the {MAX_CATEGORIES} most common" in n for n in notes)


def test_static_features_reach_every_row_of_the_history_a_model_sees():
    raw = statics([("S00", "format", "outlet"), ("S01", "format", "mall"),
                   ("S00", "size", "10"), ("S01", "size", "30")])  # fmt: skip
    panel = monthly_panel()
    covariates = prepare_covariates(None, make_grid("MS"), panel, load_settings(horizon=6), raw)
    assert covariates.static_names == ("format=mall", "format=outlet", "size")
    assert covariates.rows_read == 4 and covariates.rows_used == 4
    cutoffs = panel.groupby("series_id")["ds"].max() - pd.DateOffset(months=6)
    inputs = CovariateInput(covariates.values, covariates.kinds, "MS")
    history, future = inputs.frames(cutoffs, 6)
    train = panel[panel["ds"] <= panel["series_id"].map(cutoffs)]
    seen = with_history(train, history, list(covariates.kinds))
    from tidecast.models.covariates import covariate_block

    block = covariate_block(seen, list(covariates.static_names))
    by_series = pd.DataFrame(block, columns=list(covariates.static_names)).groupby(
        seen["series_id"].to_numpy()
    )
    assert (by_series.nunique() == 1).all().all()  # constant over each series' rows
    assert by_series.first().to_dict("index") == {
        "S00": {"format=mall": 0.0, "format=outlet": 1.0, "size": -1.0},
        "S01": {"format=mall": 1.0, "format=outlet": 0.0, "size": 1.0},
        "S02": {"format=mall": 0.0, "format=outlet": 0.0, "size": 0.0},  # none: 0
    }
    assert future.columns.tolist() == ["series_id", "ds"]  # nothing ahead to cover


def test_a_static_source_of_nothing_but_nulls_is_quarantined_not_a_traceback():
    raw = statics([(None, None, None)] * 3).astype(float)  # as a database returns NULLs
    attributes, rejected = validate_statics(raw, SERIES)
    assert attributes.empty and len(rejected) == 3
    assert set(rejected["check_name"]) <= set(STATIC_CHECKS)
