"""The data contract: row checks by name, in priority order, and one timestamp format per
source."""

from __future__ import annotations

import pandas as pd
import pytest

from tidecast.errors import TidecastError
from tidecast.frequency import make_grid
from tidecast.schemas import (
    ROW_CHECKS,
    coerce_observations,
    exact_duplicates,
    min_series_length,
    observation_schema,
    parse_timestamps,
    row_failures,
)

NOW = pd.Timestamp("2024-06-01")


def failures_of(rows: list[tuple], nonnegative: bool = False) -> dict[int, str]:
    raw = pd.DataFrame(rows, columns=["series_id", "ts", "value"], dtype=object)
    typed, _ = coerce_observations(raw)
    schema = observation_schema(make_grid("MS"), NOW, max_abs_value=1e6, nonnegative=nonnegative)
    return row_failures(typed, schema).sort_index().to_dict()


def test_each_bad_row_gets_the_named_check_it_fails_first():
    rows = [
        ("a", "2024-01-01", "1.0"),  # good
        (None, "2024-02-01", "1.0"),
        ("a", "not a date", "1.0"),
        ("a", "2024-03-01", None),
        ("a", "2024-04-01", "inf"),
        ("a", "2024-05-01", "1e7"),
        ("a", "2024-02-15", "1.0"),
        ("a", "2024-09-01", "1.0"),
        (None, "2024-09-15", "nan"),  # fails three checks: the series id is named
    ]
    found = failures_of(rows)
    assert found == {
        1: "series_id_missing",
        2: "ts_invalid",
        3: "value_missing",
        4: "value_not_finite",
        5: "value_too_large",
        6: "ts_off_grid",
        7: "ts_in_future",
        8: "series_id_missing",
    }
    assert set(found.values()) <= set(ROW_CHECKS)


def test_negative_values_fail_only_where_the_target_is_declared_non_negative():
    rows = [("a", "2024-01-01", "-1.0")]
    assert failures_of(rows) == {}
    assert failures_of(rows, nonnegative=True) == {0: "value_negative"}


def test_two_values_for_one_period_conflict_and_an_exact_copy_is_a_duplicate():
    rows = [("a", "2024-01-01", "1.0"), ("a", "2024-01-01", "2.0"), ("b", "2024-01-01", "3.0")]
    assert failures_of(rows) == {0: "duplicate_conflict", 1: "duplicate_conflict"}
    typed, _ = coerce_observations(
        pd.DataFrame([("a", "2024-01-01", 1.0)] * 3, columns=["series_id", "ts", "value"])
    )
    assert exact_duplicates(typed).tolist() == [False, True, True]  # the first copy is kept


def test_one_format_per_source_day_first_when_the_days_say_so():
    parsed = parse_timestamps(pd.Series(["13/01/2024", "01/02/2024", "14/03/2024"]))
    assert parsed.format == "%d/%m/%Y"
    assert parsed.ts.tolist() == [
        pd.Timestamp(d) for d in ("2024-01-13", "2024-02-01", "2024-03-14")
    ]
    # a date in another format than the column's is not reinterpreted: NaT, and flagged
    mixed = parse_timestamps(pd.Series(["2024-01-01", "2024-02-01", "03/01/2024"]))
    assert mixed.ts.isna().tolist() == [False, False, True]
    assert mixed.other_format.tolist() == [False, False, True]


def test_aware_timestamps_are_read_in_utc():
    parsed = parse_timestamps(pd.Series(["2024-01-01T01:00:00+01:00", "2024-01-01T02:00:00Z"]))
    assert parsed.ts.tolist() == [
        pd.Timestamp("2024-01-01 00:00"),
        pd.Timestamp("2024-01-01 02:00"),
    ]


def test_an_unusable_timestamp_format_setting_is_one_error_naming_it():
    with pytest.raises(TidecastError, match="TIDECAST_TS_FORMAT"):
        parse_timestamps(pd.Series(["2024-01-01"]), ts_format="%Q")


def test_a_series_needs_a_horizon_and_a_season_plus_a_point():
    assert min_series_length(horizon=6, season_length=12) == 19
    assert min_series_length(horizon=6, season_length=1) == 9  # at least 3 to train on
