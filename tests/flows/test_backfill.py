"""The backfill flow: past cutoffs' forecasts, scored, idempotent, and invisible to BI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.backfill import backfill
from flows.retrain import retrain
from tests.flows.test_retrain import query, runs
from tidecast.errors import TidecastError

H = 6


def test_backfill_writes_each_cutoffs_forecasts_once_and_leaves_bi_alone(
    loaded_db, run_env, observations
):
    run_env(loaded_db)
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
    run_env(loaded_db)
    with pytest.raises(TidecastError, match="--from 2019-05-01 is after --to 2019-01-01"):
        backfill("2019-05-01", "2019-01-01", horizon=H, freq="MS")
    with pytest.raises(TidecastError, match="no cutoff .* has any data"):
        backfill("2001-01-01", "2001-06-01", horizon=H, freq="MS")
    assert runs(loaded_db)["status"].tolist() == ["failed", "failed"]
