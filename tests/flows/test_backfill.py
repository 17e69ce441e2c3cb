"""The backfill flow: past cutoffs' forecasts, scored, idempotent, and invisible to BI.

The runs are the flows' work in this process (`tests/in_process.py`), but for the check of
the flow's dates, which runs the Prefect flow."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from tests.helpers import load_observations, query, runs
from tests.in_process import backfill, retrain
from tidecast.errors import TidecastError
from tidecast.schemas import min_series_length

H = 6


@pytest.mark.slow  # a retrain per cutoff; the fast lane checks the dates
def test_backfill_writes_each_cutoffs_forecasts_once_and_leaves_bi_alone(
    loaded_db, pipeline_env, observations
):
    pipeline_env(loaded_db)
    retrain(horizon=H, freq="MS")
    before = query(loaded_db, "SELECT * FROM latest_forecasts ORDER BY series_id, ts")

    first = backfill("2019-01-01", "2019-03-31", horizon=H, freq="MS")
    rows = query(loaded_db, "SELECT * FROM backfill_forecasts ORDER BY cutoff, series_id, ts")
    rows["cutoff"], rows["ts"] = pd.to_datetime(rows["cutoff"]), pd.to_datetime(rows["ts"])
    cutoffs = pd.to_datetime(["2019-01-01", "2019-02-01", "2019-03-01"])
    assert sorted(rows["cutoff"].unique()) == list(cutoffs)
    n_series = observations.series_id.nunique()  # every series has data by 2019-01
    assert len(rows) == len(cutoffs) * n_series * H
    # each cutoff only saw data up to it: forecasts start after min(cutoff, series end)
    last = observations.groupby("series_id")["ts"].max()
    starts = rows[rows.step == 1].set_index(["cutoff", "series_id"])["ts"]
    for (cutoff, series_id), ts in starts.items():
        assert ts == min(cutoff, last[series_id]) + pd.DateOffset(months=1)
    # scored where the actual is known now, and only there
    known = rows["y"].notna()
    assert known.any() and (~known).any()
    assert np.isfinite(rows.loc[known, "scaled_error"]).all()
    assert rows.loc[~known, "abs_error"].isna().all()
    summary = query(loaded_db, "SELECT * FROM backfill_accuracy")
    assert summary["points"].sum() == known.sum()

    again = backfill("2019-01-01", "2019-03-31", horizon=H, freq="MS")
    rerun = query(loaded_db, "SELECT * FROM backfill_forecasts ORDER BY cutoff, series_id, ts")
    assert set(rerun["run_id"]) == {again} != {first}
    rerun["cutoff"], rerun["ts"] = pd.to_datetime(rerun["cutoff"]), pd.to_datetime(rerun["ts"])
    same = ["run_id", "created_at"]
    pd.testing.assert_frame_equal(rerun.drop(columns=same), rows.drop(columns=same))
    after = query(loaded_db, "SELECT * FROM latest_forecasts ORDER BY series_id, ts")
    pd.testing.assert_frame_equal(after, before)
    assert runs(loaded_db)["flow_name"].tolist() == ["retrain", "backfill", "backfill"]


def test_backfill_dates_are_checked(loaded_db, run_env):
    from tidecast.flows.backfill import backfill

    run_env(loaded_db)
    with pytest.raises(TidecastError, match="--from 2019-05-01 is after --to 2019-01-01"):
        backfill("2019-05-01", "2019-01-01", horizon=H, freq="MS")
    with pytest.raises(TidecastError, match="no cutoff .* has any data"):
        backfill("2001-01-01", "2001-06-01", horizon=H, freq="MS")
    assert runs(loaded_db)["status"].tolist() == ["failed", "failed"]


@pytest.mark.parametrize(
    ("start", "end", "flag"),
    [
        ("2019-01-01", "3000-01-01", "--to"),  # beyond what a timestamp column holds
        ("1500-01-01", "2019-03-01", "--from"),
        ("2019-01-01", "2019-13-01", "--to"),
        ("", "2019-03-01", "--from"),
        ("NaT", "2019-03-01", "--from"),
        ("2019-01-01", "2019-03-01T00:00+05:00", "--to"),
    ],
)
def test_a_date_out_of_range_or_unreadable_is_refused_naming_the_flag(
    loaded_db, pipeline_env, start, end, flag
):
    pipeline_env(loaded_db)
    with pytest.raises(TidecastError, match=f"^{flag} "):
        backfill(start, end, horizon=H, freq="MS")
    assert runs(loaded_db)["status"].tolist() == ["failed"]
    assert query(loaded_db, "SELECT COUNT(*) AS n FROM backfill_forecasts")["n"][0] == 0


def test_cutoffs_after_the_last_observation_are_not_all_retrained(
    loaded_db, pipeline_env, observations
):
    # --to past the data: the cutoffs stop at the data's end (a later cutoff would see the
    # same data again), so --to 2200-01-01 is not one retrain per month until 2200.
    pipeline_env(loaded_db)
    end = observations["ts"].max()
    backfill(f"{end:%Y-%m-%d}", f"{end + pd.DateOffset(months=6):%Y-%m-%d}", horizon=H, freq="MS")
    cutoffs = query(loaded_db, "SELECT DISTINCT cutoff FROM backfill_forecasts")
    assert pd.to_datetime(cutoffs["cutoff"]).tolist() == [end]


@pytest.fixture
def progress_lines():
    """The progress lines the run reported (the `tidecast` logger, wherever it is shown)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("tidecast")
    handler, level = Keep(level=logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_cutoffs_with_less_history_than_a_retrain_needs_are_skipped_with_a_reason(
    db_url, pipeline_env, observations, progress_lines
):
    # Monthly data from 2015-01 (season 12): a retrain needs H + 12 + 1 = 19 points per
    # series. At the 2016-06 cutoff every series has 18 or fewer; at 2016-07 the others
    # have 19, but S05, which starts in 2016-06, has only 2.
    assert min_series_length(H, 12) == 19
    late = observations[(observations.series_id != "S05") | (observations.ts >= "2016-06-01")]
    url = load_observations(db_url, late)
    pipeline_env(url)
    backfill("2016-06-01", "2016-07-31", horizon=H, freq="MS")

    rows = query(url, "SELECT * FROM backfill_forecasts")
    assert set(pd.to_datetime(rows["cutoff"])) == {pd.Timestamp("2016-07-01")}
    assert sorted(rows["series_id"].unique()) == ["S00", "S01", "S02", "S03", "S04"]
    assert len(rows) == 5 * H
    bounds = ["yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    assert rows[bounds].notna().all().all()
    summary = query(url, "SELECT * FROM backfill_accuracy")
    assert summary[["coverage_80", "coverage_95"]].notna().all().all()
    assert (summary["series"] == 5).all()
    assert runs(url)["status"].tolist() == ["completed"]
    said = "\n".join(progress_lines)
    assert "cutoff 2016-06-01 skipped" in said
    assert "S05: 2 points, needs at least 19" in said
