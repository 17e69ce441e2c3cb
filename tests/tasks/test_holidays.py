"""Holiday calendars become covariates on the run's grid."""

from __future__ import annotations

import pandas as pd
import pytest

from tidecast.errors import TidecastError
from tidecast.frequency import make_grid
from tidecast.settings import load_settings
from tidecast.tasks.holidays import holiday_features


def feature(values: pd.DataFrame, name: str) -> pd.Series:
    return values[values["name"] == name].set_index("ds")["value"]


def test_daily_features_mark_the_holiday_the_days_beside_it_and_a_bridge_day():
    values, kinds = holiday_features(
        ["US"], make_grid("D"), pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-08")
    )
    assert set(kinds) == {
        "holiday_us", "holiday_near_us", "bridge_us", "days_to_holiday_us", "days_from_holiday_us",
    }  # fmt: skip
    assert set(kinds.values()) == {"future"}
    assert values["series_id"].isna().all()  # every series'
    holiday = feature(values, "holiday_us")
    assert holiday[holiday > 0].index.tolist() == [pd.Timestamp("2024-07-04")]
    near = feature(values, "holiday_near_us")
    assert near[near > 0].index.strftime("%m-%d").tolist() == ["07-03", "07-05"]
    # Friday 5 July lies between Independence Day (Thursday) and the weekend
    bridge = feature(values, "bridge_us")
    assert bridge[bridge > 0].index.strftime("%m-%d").tolist() == ["07-05"]


def test_daily_features_count_the_days_to_the_next_holiday_and_since_the_last_capped():
    values, _ = holiday_features(
        ["US"], make_grid("D"), pd.Timestamp("2023-12-20"), pd.Timestamp("2024-01-03")
    )
    to_next = feature(values, "days_to_holiday_us")
    since = feature(values, "days_from_holiday_us")
    assert to_next["2023-12-20"] == 5 and to_next["2023-12-25"] == 0  # Christmas Day
    assert to_next["2023-12-26"] == 6  # New Year's Day, across the year's end
    assert since["2023-12-27"] == 2 and since["2024-01-03"] == 2
    assert since["2023-12-20"] == 14  # Thanksgiving is 27 days back: capped
    # New Year's Day, then Martin Luther King Day (15 January) 13 days after the 2nd
    assert to_next["2024-01-01"] == 0 and to_next["2024-01-02"] == 13


def test_a_monthly_grid_counts_the_holidays_of_each_month_and_a_subdivision_adds_its_own():
    grid = make_grid("MS")
    start, end = pd.Timestamp("2024-10-01"), pd.Timestamp("2024-12-01")
    us, _ = holiday_features(["US"], grid, start, end)
    assert feature(us, "holiday_us").tolist() == [
        1.0,
        2.0,
        1.0,
    ]  # Columbus; Veterans, Thanksgiving; Christmas
    bavaria, kinds = holiday_features(["DE-BY"], grid, start, end)
    assert list(kinds) == ["holiday_de_by"]  # no day features on a monthly grid
    # October: German Unity; November: All Saints' (Bavaria only); December: two Christmas days
    assert feature(bavaria, "holiday_de_by").tolist() == [1.0, 1.0, 2.0]


def test_an_unknown_region_is_one_clear_error():
    with pytest.raises(TidecastError, match="holidays.*'XX'"):
        load_settings(holidays="US,XX")
    with pytest.raises(TidecastError, match="holidays.*not a holiday region"):
        load_settings(holidays="united states")
