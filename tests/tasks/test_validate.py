import numpy as np
import pandas as pd
import pytest

from tidecast.errors import TidecastError
from tidecast.settings import load_settings
from tidecast.tasks.validate import enforce_rejection_threshold, validate_observations

SETTINGS = load_settings(horizon=6, freq="MS", database_url="sqlite://")


def with_rows(observations: pd.DataFrame, rows: list[tuple]) -> pd.DataFrame:
    extra = pd.DataFrame(rows, columns=["series_id", "ts", "value"])
    return pd.concat([observations.astype(object), extra.astype(object)], ignore_index=True)


def accounted(result) -> int:
    """Rows that made it into the panel as observed (not interpolated) plus quarantined rows."""
    return result.rows_used + len(result.rejected)


def test_clean_input_is_used_whole(observations):
    result = validate_observations(observations, SETTINGS)
    assert result.rejected.empty and result.skipped == {}
    assert len(result.panel) == len(observations)
    assert list(result.panel.columns) == ["series_id", "ds", "y"]
    assert result.grid.freq == "MS" and result.season_length == 12


def test_frequency_and_season_length_are_inferred(observations):
    result = validate_observations(observations, load_settings(horizon=6, database_url="sqlite://"))
    assert result.grid.freq == "MS" and result.season_length == 12


@pytest.mark.parametrize(
    ("row", "check_name", "reason_part"),
    [
        (("S00", "2021-01-01", None), "value_missing", "NULL"),
        (("S00", "2021-01-01", np.nan), "value_missing", "NaN"),
        (("S00", "2021-01-01", "twelve"), "value_missing", "not a number"),
        (("S00", "2021-01-01", "1,234.5"), "value_formatted", "thousands separators"),
        (("S00", "2021-01-01", "1.234,5"), "value_formatted", "not guessed"),
        (("S00", "2021-01-01", "$12"), "value_formatted", "currency"),
        (("S00", "2021-01-01", np.inf), "value_not_finite", "infinite"),
        ((None, "2021-01-01", 1.0), "series_id_missing", "NULL"),
        (("x" * 300, "2021-01-01", 1.0), "series_id_too_long", "255"),
        (("S00", "not a date", 1.0), "ts_invalid", "not a timestamp"),
        (("S00", None, 1.0), "ts_invalid", "NULL"),
        (("S00", "2021-01-15", 1.0), "ts_off_grid", "grid"),
        (("S00", "2021-01-01", 1e300), "value_too_large", "TIDECAST_MAX_ABS_VALUE"),
        (("S00", "2099-01-01", 1.0), "ts_in_future", "later than the time the run started"),
    ],
)
def test_bad_row_is_quarantined_with_its_check(observations, row, check_name, reason_part):
    # Replace one clean observation so the series keeps its length and grid.
    clean = observations[~((observations.series_id == "S00") & (observations.ts == "2021-01-01"))]
    raw = with_rows(clean, [row])
    result = validate_observations(raw, SETTINGS)
    assert result.rejected["check_name"].tolist() == [check_name]
    assert reason_part in result.rejected["reason"].iloc[0]
    assert accounted(result) == len(raw)


def test_rejected_rows_keep_the_raw_values_as_text(observations):
    raw = with_rows(observations, [("S01", "2031-01-01", "twelve")])
    rejected = validate_observations(raw, SETTINGS).rejected
    assert rejected[["series_id", "ts", "value"]].iloc[0].tolist() == [
        "S01",
        "2031-01-01",
        "twelve",
    ]


def test_exact_duplicate_keeps_one_copy(observations):
    raw = with_rows(observations, [tuple(observations.iloc[5])])
    result = validate_observations(raw, SETTINGS)
    assert result.rejected["check_name"].tolist() == ["duplicate_exact"]
    assert len(result.panel) == len(observations)


def test_conflicting_duplicates_are_all_quarantined_and_the_gap_filled(observations):
    first = observations.iloc[5]
    raw = with_rows(observations, [(first.series_id, first.ts, first.value + 1)])
    result = validate_observations(raw, SETTINGS)
    assert result.rejected["check_name"].tolist() == ["duplicate_conflict"] * 2
    assert result.gaps_filled == 1
    assert len(result.panel) == len(observations)
    assert accounted(result) == len(raw)


def test_gap_is_interpolated_linearly_within_its_series(observations):
    raw = observations.drop(index=[10]).reset_index(drop=True)
    result = validate_observations(raw, SETTINGS)
    filled = result.panel.set_index(["series_id", "ds"]).loc[
        (observations.series_id[10], observations.ts[10]), "y"
    ]
    assert filled == pytest.approx((observations.value[9] + observations.value[11]) / 2)


def test_a_series_too_short_to_backtest_is_kept_apart_not_quarantined(observations):
    short = pd.DataFrame(
        {
            "series_id": ["tiny"] * 10 + ["single"],
            "ts": [*pd.date_range("2020-01-01", periods=10, freq="MS"), pd.Timestamp("2021-03-01")],
            "value": 1.0,
        }
    )
    raw = pd.concat([observations, short], ignore_index=True)
    result = validate_observations(raw, SETTINGS)
    assert result.skipped == {} and result.rejected.empty
    assert set(result.short["series_id"]) == {"tiny", "single"} and len(result.short) == 11
    assert not set(result.panel["series_id"]) & {"tiny", "single"}
    assert any("2 series shorter than 19 points" in note for note in result.notes)
    assert accounted(result) == len(raw)


def test_only_short_series_still_validate(observations):
    raw = observations.groupby("series_id").tail(10)
    result = validate_observations(raw, SETTINGS)
    assert result.panel.empty
    assert result.short["series_id"].nunique() == observations["series_id"].nunique()
    enforce_rejection_threshold(result, SETTINGS)  # something to forecast: no error


def test_time_zones_are_converted_to_utc(observations):
    raw = observations.copy()
    raw["ts"] = raw["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")
    result = validate_observations(raw, SETTINGS)
    assert result.rejected.empty
    assert result.panel["ds"].min() == observations["ts"].min()


def test_empty_source_is_a_clear_error():
    empty = pd.DataFrame(columns=["series_id", "ts", "value"])
    with pytest.raises(TidecastError, match="no rows"):
        validate_observations(empty, SETTINGS)


def test_threshold_fails_the_run_after_counting(observations):
    raw = observations.astype(object)
    raw.loc[raw.index[:40], "value"] = None
    result = validate_observations(raw, SETTINGS)
    with pytest.raises(TidecastError, match=r"failed validation.*TIDECAST_MAX_REJECTED_SHARE"):
        enforce_rejection_threshold(result, SETTINGS)
    loose = load_settings(horizon=6, freq="MS", database_url="sqlite://", max_rejected_share=0.5)
    enforce_rejection_threshold(result, loose)


def test_nothing_usable_is_a_clear_error(observations):
    raw = observations.astype(object).assign(value=None)
    loose = load_settings(horizon=6, freq="MS", database_url="sqlite://", max_rejected_share=1.0)
    result = validate_observations(raw, loose)
    with pytest.raises(TidecastError, match="no series has a usable observation"):
        enforce_rejection_threshold(result, loose)


def test_negative_values_are_quarantined_only_when_the_target_is_declared_non_negative(
    observations,
):
    clean = observations[~((observations.series_id == "S00") & (observations.ts == "2021-01-01"))]
    raw = with_rows(clean, [("S00", "2021-01-01", -5.0)])
    assert validate_observations(raw, SETTINGS).rejected.empty
    strict = load_settings(horizon=6, freq="MS", database_url="sqlite://", nonnegative=True)
    result = validate_observations(raw, strict)
    assert result.rejected["check_name"].tolist() == ["value_negative"]
    assert accounted(result) == len(raw)


def test_the_current_period_is_accepted_and_the_next_one_is_not(observations):
    now = pd.Timestamp("2021-01-20")  # inside January: January is observed, February is not
    raw = observations[observations.ts <= "2020-12-01"]
    raw = with_rows(raw, [("S00", "2021-01-01", 1.0), ("S00", "2021-02-01", 1.0)])
    result = validate_observations(raw, SETTINGS, now=now)
    rejected = result.rejected.set_index("ts")["check_name"]
    assert rejected.to_dict() == {"2021-02-01": "ts_in_future"}


def _daily(series_id: str, start: str, periods: int, freq: str = "D") -> pd.DataFrame:
    stamps = pd.date_range(start, periods=periods, freq=freq)
    return pd.DataFrame(
        {"series_id": series_id, "ts": stamps, "value": np.arange(periods, dtype=float)}
    )


def test_day_first_text_dates_are_read_day_first_for_the_whole_column():
    frame = _daily("a", "2020-01-01", 366)
    raw = frame.assign(ts=frame["ts"].dt.strftime("%d/%m/%Y"))
    result = validate_observations(raw, load_settings(horizon=6, database_url="sqlite://"))
    assert result.rejected.empty and result.grid.freq == "D" and result.gaps_filled == 0
    assert result.panel["ds"].tolist() == frame["ts"].tolist()
    assert result.panel["y"].tolist() == frame["value"].tolist()


@pytest.mark.parametrize("written", ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y %H:%M", "%m-%d-%Y"])
def test_ambiguous_text_dates_are_refused_unless_the_format_is_named(observations, written):
    raw = observations.assign(ts=observations["ts"].dt.strftime(written))  # every day is 01
    with pytest.raises(TidecastError, match="ambiguous.*TIDECAST_TS_FORMAT"):
        validate_observations(raw, SETTINGS)
    named = load_settings(horizon=6, freq="MS", database_url="sqlite://", ts_format=written)
    result = validate_observations(raw, named)
    assert result.rejected.empty
    assert result.panel["ds"].tolist() == observations["ts"].tolist()


def test_a_date_in_another_format_than_the_column_is_quarantined_not_reinterpreted(observations):
    raw = observations.assign(ts=observations["ts"].dt.strftime("%Y-%m-%d")).astype(object)
    raw.loc[10, "ts"] = "11/01/2015"  # S00's November 2015, written month-first
    result = validate_observations(raw, SETTINGS)
    assert result.rejected["check_name"].tolist() == ["ts_format_mismatch"]
    assert "ISO8601" in result.rejected["reason"].iloc[0]
    assert accounted(result) == len(raw)


def test_text_timestamps_with_utc_offsets_are_instants():
    frame = _daily("a", "2020-01-01", 60)
    west = (frame["ts"] - pd.Timedelta(hours=5)).dt.strftime("%m/%d/%Y %H:%M -0500")
    result = validate_observations(
        frame.assign(ts=west), load_settings(horizon=6, freq="D", database_url="sqlite://")
    )
    assert result.rejected.empty
    assert result.panel["ds"].tolist() == frame["ts"].tolist()


@pytest.mark.parametrize(
    ("run_freq", "odd_freq", "periods"),
    [("MS", "QS", 20), ("D", "W-SUN", 30), ("MS", "ME", 40), ("W-SUN", "D", 200)],
)
def test_a_series_at_another_frequency_is_quarantined_whole(run_freq, odd_freq, periods):
    regular = [_daily(f"r{i}", "2010-01-03", 120, run_freq) for i in range(3)]
    odd = _daily("odd", "2010-01-03", periods, odd_freq)
    raw = pd.concat([*regular, odd], ignore_index=True)
    settings = load_settings(horizon=6, database_url="sqlite://")
    result = validate_observations(raw, settings)
    assert result.grid.freq == pd.tseries.frequencies.to_offset(run_freq).freqstr
    rejected = result.rejected[result.rejected.series_id == "odd"]
    assert rejected["check_name"].tolist() == ["frequency_mismatch"] * periods
    assert set(result.skipped) == {"odd"} and "odd" not in set(result.panel.series_id)
    assert result.gaps_filled == 0 and accounted(result) == len(raw)
    assert any("frequency_mismatch" in note for note in result.notes)
    enforce_rejection_threshold(result, settings)  # a series check: the run goes on


def test_interpolation_is_capped_per_series(observations):
    s00 = observations[observations.series_id == "S00"]
    few_gaps = observations.drop(index=s00.index[[5, 20, 40]])  # 3 of 72 missing
    result = validate_observations(few_gaps, SETTINGS)
    assert result.rejected.empty and result.gaps_filled == 3
    many_gaps = observations.drop(index=s00.index[1:-1:3])  # a third of S00 missing
    result = validate_observations(many_gaps, SETTINGS)
    assert set(result.rejected["check_name"]) == {"too_many_gaps"}
    assert len(result.rejected) == (many_gaps.series_id == "S00").sum()
    assert set(result.skipped) == {"S00"} and "TIDECAST_MAX_FILLED_SHARE" in result.skipped["S00"]
    assert result.gaps_filled == 0 and accounted(result) == len(many_gaps)
    loose = load_settings(horizon=6, freq="MS", database_url="sqlite://", max_filled_share=0.5)
    assert validate_observations(many_gaps, loose).rejected.empty


def test_a_read_window_is_parsed_with_the_format_ingest_found_for_the_whole_read():
    frame = _daily("a", "2020-03-01", 12, "D")  # days 1-12: alone, ambiguous
    raw = frame.assign(ts=frame["ts"].dt.strftime("%m/%d/%Y"))
    settings = load_settings(horizon=2, freq="D", season_length=1, database_url="sqlite://")
    with pytest.raises(TidecastError, match="ambiguous"):
        validate_observations(raw, settings)
    raw.attrs["ts_format"] = "%m/%d/%Y"
    result = validate_observations(raw, settings)
    assert result.panel["ds"].tolist() == frame["ts"].tolist()


def test_series_ids_that_read_as_one_are_quarantined_not_merged_or_split(observations):
    nfc, nfd = "Caf\u00e9", "Cafe\u0301"
    one = observations[observations["series_id"] == "S00"]
    raw = pd.concat(
        [
            observations,
            one.assign(series_id="s00"),  # case
            one.assign(series_id=" S01 "),  # whitespace (S01 is in the data)
            one.assign(series_id=nfc),
            one.assign(series_id=nfd, value=one["value"] + 1),  # Unicode normalisation
            one.assign(series_id="S0 0"),  # a different id: kept
        ],
        ignore_index=True,
    )
    result = validate_observations(raw, SETTINGS)
    ambiguous = {"S00", "s00", "S01", " S01 ", nfc, nfd}
    assert set(result.skipped) == ambiguous
    assert "'s00' read as the same id" in result.skipped["S00"]
    rejected = result.rejected
    assert set(rejected["check_name"]) == {"series_id_ambiguous"}
    assert set(rejected["series_id"]) == ambiguous
    assert len(rejected) == raw["series_id"].isin(ambiguous).sum()
    assert set(result.panel["series_id"]) == set(observations["series_id"]) - ambiguous | {"S0 0"}
    assert accounted(result) == len(raw)


def test_hourly_data_across_both_dst_changes():
    """Aware timestamps line up in UTC (no gap, no duplicate); local wall-clock ones skip
    an hour in March (interpolated) and repeat one in October (refused as conflicting)."""
    settings = load_settings(horizon=24, database_url="sqlite://")
    for start, end in [("2026-03-20", "2026-04-05"), ("2026-10-20", "2026-11-05")]:
        local = pd.date_range(start, end, freq="h", tz="UTC").tz_convert("Europe/Paris")
        values = np.arange(len(local), dtype=float)
        aware = pd.DataFrame(
            {"series_id": "A", "ts": [t.isoformat() for t in local], "value": values}
        )
        result = validate_observations(aware, settings)
        assert result.grid.freq == "h" and result.gaps_filled == 0 and result.rejected.empty
        assert len(result.panel) == len(local)
        naive = aware.assign(ts=local.tz_localize(None).strftime("%Y-%m-%d %H:%M:%S"))
        result = validate_observations(naive, settings)
        assert result.grid.freq == "h" and result.gaps_filled == 1
        if start.startswith("2026-03"):
            assert result.rejected.empty
        else:  # 02:00 twice with two values: which is which is not guessed
            assert result.rejected["check_name"].tolist() == ["duplicate_conflict"] * 2
        assert accounted(result) == len(naive)


def test_a_horizon_past_the_last_timestamp_there_is_is_a_setting_to_lower(observations):
    for horizon in (100_000, 10**20):
        settings = load_settings(horizon=horizon, freq="MS", database_url="sqlite://")
        with pytest.raises(TidecastError, match=rf"horizon {horizon} .*2262.*lower the horizon"):
            validate_observations(observations, settings)
