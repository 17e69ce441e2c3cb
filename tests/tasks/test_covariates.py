"""Covariates: validation names every rejected row's check; `frames` gives each model only
what was known at the cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import covariate_rows
from tidecast.errors import TidecastError
from tidecast.frequency import make_grid
from tidecast.tasks.covariates import (
    COVARIATE_CHECKS,
    CovariateInput,
    covered_series,
    enforce_covariate_threshold,
    validate_covariates,
)

GRID = make_grid("MS")


def raw_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Covariate rows as a text staging table holds them."""
    text = frame.astype(object)
    text["ts"] = frame["ts"].dt.strftime("%Y-%m-%d")
    text["known_at"] = None
    return text


def test_every_bad_row_is_quarantined_under_its_check_and_nothing_is_lost(observations):
    good = raw_of(covariate_rows(observations))
    first = good.iloc[0]
    bad = [
        {**first, "name": None},  # covariate_name_missing
        {**first, "name": "x" * 65},  # covariate_name_too_long
        {**first, "name": "other", "kind": "sometimes"},  # covariate_kind_unknown
        {**first, "ts": "not a date", "name": "b"},  # covariate_ts_invalid
        {**first, "ts": "2015-01-15", "name": "c"},  # covariate_ts_off_grid
        {**first, "value": "n/a", "name": "d"},  # covariate_value_missing
        {**first, "value": "inf", "name": "e"},  # covariate_value_not_finite
        {**first, "known_at": "yesterday", "name": "f"},  # covariate_known_at_invalid
        {**first},  # covariate_duplicate_exact (of the first row)
        {**first, "series_id": "S99", "name": "g"},  # covariate_series_unknown
        {**first, "series_id": "S" * 256, "name": "g"},  # covariate_series_id_too_long
        {**first, "name": "h", "kind": "future"},
        {**first, "name": "h", "kind": "past", "ts": "2015-02-01"},  # covariate_kind_conflict
    ]
    # two values for the same key: both refused, neither guessed
    conflict = [{**first, "name": "i", "value": 1.0}, {**first, "name": "i", "value": 2.0}]
    raw = pd.concat([good, pd.DataFrame(bad + conflict)], ignore_index=True)
    found = validate_covariates(raw, GRID, pd.Index(observations["series_id"].unique()))

    checks = found.rejected["check_name"].value_counts().to_dict()
    assert set(checks) == set(COVARIATE_CHECKS)
    assert checks["covariate_duplicate_conflict"] == 2
    assert checks["covariate_kind_conflict"] == 2
    assert found.rows_read == len(raw)
    assert found.rows_used == len(good) == len(found.values)  # read = used + rejected
    assert found.kinds == {"footfall": "past", "promo": "future"}
    # the raw text is kept as read, for the person fixing the source
    assert "not a date" in found.rejected["ts"].tolist()


def test_covariates_all_for_every_series_are_used_as_a_database_returns_them(observations):
    """Every row's series_id NULL (a market-wide driver): the column comes back from the
    database as floats (NaN), which once stopped validation with a traceback."""
    rows = raw_of(covariate_rows(observations))
    shared = rows[rows["series_id"] == rows["series_id"].iloc[0]].assign(series_id=np.nan)
    found = validate_covariates(shared, GRID, pd.Index(observations["series_id"].unique()))
    assert found.rows_used == len(shared) and found.rejected.empty
    assert found.values["series_id"].isna().all()
    nameless = validate_covariates(
        shared.assign(name=np.nan), GRID, pd.Index(observations["series_id"].unique())
    )
    assert set(nameless.rejected["check_name"]) == {"covariate_name_missing"}
    assert nameless.rows_read == len(nameless.rejected) == len(shared)


def test_too_many_bad_covariate_rows_fail_the_run(observations):
    raw = raw_of(covariate_rows(observations)).assign(value="n/a")
    found = validate_covariates(raw, GRID, pd.Index(observations["series_id"].unique()))
    with pytest.raises(TidecastError, match="covariate rows read failed validation"):
        enforce_covariate_threshold(found, 0.05)


def values(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["series_id", "ds", "name", "value", "known_at"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["known_at"] = pd.to_datetime(frame["known_at"])
    return frame


def test_a_backtest_sees_the_newest_vintage_known_at_its_cutoff_and_no_later_past_values():
    cutoff = pd.Series(pd.to_datetime(["2020-03-01"]), index=pd.Index(["A"], name="series_id"))
    rows = values(
        [
            # the weather of April, forecast twice: in February and (too late) in April
            ("A", "2020-04-01", "weather", 10.0, "2020-02-10"),
            ("A", "2020-04-01", "weather", 99.0, "2020-04-01"),
            # every series' value, and one series' own, which wins
            (None, "2020-04-01", "promo", 0.0, None),
            ("A", "2020-04-01", "promo", 1.0, None),
            # a past covariate is seen up to the cutoff only
            ("A", "2020-03-01", "footfall", 5.0, None),
            ("A", "2020-04-01", "footfall", 6.0, None),
        ]
    )
    kinds = {"weather": "future", "promo": "future", "footfall": "past"}
    covariates = CovariateInput(values=rows, kinds=kinds, freq="MS")

    history, future = covariates.frames(cutoff, horizon=1)
    assert future[["weather", "promo"]].to_numpy().tolist() == [[10.0, 1.0]]
    assert "footfall" not in future
    assert history["footfall"].tolist() == [5.0]
    # the final forecast knows everything known now
    _, now = covariates.frames(cutoff, horizon=1, as_of_cutoff=False)
    assert now["weather"].tolist() == [99.0]


def test_a_series_without_every_future_value_of_the_horizon_is_not_covered():
    cutoffs = pd.Series(pd.to_datetime(["2020-03-01", "2020-03-01"]), index=["A", "B"])
    future = pd.DataFrame(
        {
            "series_id": ["A", "A", "B", "B"],
            "ds": pd.to_datetime(["2020-04-01", "2020-05-01"] * 2),
            "promo": [1.0, 0.0, 1.0, np.nan],
        }
    )
    assert covered_series(future, cutoffs, 2).tolist() == ["A"]
