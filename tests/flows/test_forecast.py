"""The forecast flow: fresh forecasts from the current champions, no backtest.

Most runs here are the flows' work in this process (`tests/in_process.py`); the test of
the degradation event runs the Prefect flows, which publish it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import fast_lane_runs, query, runs
from tests.in_process import forecast_flow, retrain
from tidecast.db import init_db, make_engine, replace_observations
from tidecast.errors import TidecastError

H = 6


def test_forecast_moves_latest_forecasts_forward_with_the_same_champions(
    loaded_db, pipeline_env, observations
):
    pipeline_env(loaded_db)
    trained = retrain(horizon=H, freq="MS")
    champions_before = query(loaded_db, "SELECT series_id, model FROM current_champions")
    # a new month arrives for every series
    last = observations.groupby("series_id").tail(1)
    new = last.assign(ts=last["ts"] + pd.DateOffset(months=1), value=last["value"] + 1)
    engine = make_engine(loaded_db)
    replace_observations(engine, pd.concat([observations, new], ignore_index=True))
    engine.dispose()

    refreshed = forecast_flow()
    history = runs(loaded_db)
    assert history["flow_name"].tolist() == ["retrain", "forecast"]
    assert history["status"].tolist() == ["completed", "completed"]
    latest = query(loaded_db, "SELECT * FROM latest_forecasts")
    assert set(latest["run_id"]) == {refreshed}
    first = pd.to_datetime(latest[latest.step == 1].set_index("series_id")["ts"]).sort_index()
    expected = (new.set_index("series_id")["ts"] + pd.DateOffset(months=1)).sort_index()
    pd.testing.assert_series_equal(first, expected, check_names=False, check_index_type=False)
    by_series = latest.drop_duplicates("series_id").set_index("series_id")["model"]
    assert (
        by_series.sort_index().to_dict()
        == champions_before.set_index("series_id")["model"].sort_index().to_dict()
    )
    assert latest["yhat_lower_80"].notna().all()  # the retrain's calibration is reused
    assert len(query(loaded_db, f"SELECT * FROM backtest_scores WHERE run_id = '{refreshed}'")) == 0
    assert set(query(loaded_db, "SELECT run_id FROM current_champions")["run_id"]) == {trained}


def test_forecast_before_any_retrain_says_what_to_do(db_url, pipeline_env):
    engine = make_engine(db_url)
    init_db(engine)
    engine.dispose()
    pipeline_env(db_url)
    with pytest.raises(TidecastError, match="run `tidecast retrain` first"):
        forecast_flow()


def _flip_last_bytes(path):
    data = path.read_bytes()
    path.write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:]))


@pytest.mark.parametrize(
    ("damage", "said"),
    fast_lane_runs(
        [
            (_flip_last_bytes, "does not match its recorded SHA-256"),
            (lambda path: path.write_bytes(path.read_bytes()[:100]), "does not match"),
            (lambda path: path.unlink(), "is missing"),
        ],
        ids=["bytes-changed", "truncated", "deleted"],
    ),
)
def test_a_damaged_artifact_is_refused_and_its_model_refitted(
    loaded_db, pipeline_env, damage, said
):
    from pathlib import Path

    pipeline_env(loaded_db, models="ridge,seasonal_naive", ensemble_top_k="0")
    trained = retrain(horizon=H, freq="MS")
    champions = query(loaded_db, "SELECT series_id, model FROM current_champions")
    ridge_series = set(champions.loc[champions["model"] == "ridge", "series_id"])
    assert ridge_series  # the stored ridge weights matter for this test
    stored = query(
        loaded_db,
        "SELECT artifact_path FROM model_versions WHERE run_id = :r AND model = 'ridge'",
        r=trained,
    )
    damage(Path(stored["artifact_path"].iloc[0]))

    refreshed = forecast_flow()
    run = runs(loaded_db).set_index("run_id").loc[refreshed]
    assert run["status"] == "completed"
    assert said in run["message"] and "ridge refitted instead" in run["message"]
    latest = query(loaded_db, "SELECT * FROM latest_forecasts")
    assert set(latest["run_id"]) == {refreshed}
    assert set(latest.loc[latest["model"] == "ridge", "series_id"]) == ridge_series
    assert np.isfinite(latest["yhat"].astype(float)).all()


def test_forecast_scores_past_forecasts_and_flags_a_series_gone_wrong(
    loaded_db, run_env, observations
):
    from tidecast.flows.forecast import forecast_flow
    from tidecast.flows.retrain import retrain

    run_env(loaded_db)
    trained = retrain(horizon=H, freq="MS")
    predicted = query(loaded_db, "SELECT series_id, ts, yhat FROM latest_forecasts")
    predicted["ts"] = pd.to_datetime(predicted["ts"])
    # three months of actuals arrive: close to the forecasts, except S00, which jumps
    arrived = predicted[predicted.groupby("series_id")["ts"].rank() <= 3]
    values = arrived["yhat"].astype(float) + 0.1
    arrived = arrived.assign(value=values.where(arrived["series_id"] != "S00", values * 5))
    engine = make_engine(loaded_db)
    replace_observations(
        engine, pd.concat([observations, arrived[["series_id", "ts", "value"]]], ignore_index=True)
    )
    engine.dispose()

    refreshed = forecast_flow()
    run = runs(loaded_db).set_index("run_id").loc[refreshed]
    assert run["status"] == "completed"
    assert "18 forecast points scored against actuals" in run["message"]
    assert "published tidecast.accuracy.degraded (event " in run["message"]
    scored = query(loaded_db, "SELECT * FROM forecast_accuracy")
    assert len(scored) == 6 * 3 and set(scored["forecast_run_id"]) == {trained}
    assert set(scored["run_id"]) == {refreshed}
    flagged = query(loaded_db, "SELECT * FROM degraded_series")
    assert flagged["series_id"].tolist() == ["S00"]
    assert (flagged["live_mase"] > 1.5 * flagged["backtest_mase"]).all()
    summary = query(loaded_db, "SELECT * FROM accuracy_summary")
    assert summary["points"].sum() == 18
    assert summary["coverage_80"].between(0, 1).all()
    # nothing is scored twice: the refreshed forecasts have no actuals yet
    again = forecast_flow()
    assert "0 forecast points scored" in runs(loaded_db).set_index("run_id").loc[again, "message"]
    assert len(query(loaded_db, "SELECT * FROM forecast_accuracy")) == 18


def test_forecast_reads_each_series_lookback_window_and_retrain_reads_everything(
    loaded_db, pipeline_env, observations
):
    pipeline_env(loaded_db, forecast_lookback="24")
    retrain(horizon=H, freq="MS")
    windows = query(loaded_db, "SELECT * FROM series_read_windows")
    assert len(windows) == observations.series_id.nunique()
    # a late correction to an old observation, and a new month for every series
    corrected = observations.copy()
    corrected.loc[0, "value"] += 1000.0  # S00's first month, years before its window
    last = observations.groupby("series_id").tail(1)
    new = last.assign(ts=last["ts"] + pd.DateOffset(months=1), value=last["value"] + 1)
    engine = make_engine(loaded_db)
    replace_observations(engine, pd.concat([corrected, new], ignore_index=True))
    engine.dispose()

    refreshed = forecast_flow()
    run = runs(loaded_db).set_index("run_id").loc[refreshed]
    n_series = observations.series_id.nunique()
    assert run["rows_read"] == n_series * (24 + 1 + 1)  # the window, inclusive, and the new month
    latest = query(loaded_db, "SELECT run_id, series_id FROM latest_forecasts")
    assert set(latest["run_id"]) == {refreshed} and latest["series_id"].nunique() == n_series
    later = retrain(horizon=H, freq="MS")  # the retrain reads all, the correction included
    assert runs(loaded_db).set_index("run_id").loc[later, "rows_read"] == len(observations) + len(
        new
    )


@pytest.mark.slow  # two retrains
def test_retrain_can_cap_the_history_it_reads(loaded_db, pipeline_env, observations):
    pipeline_env(loaded_db, retrain_max_history="36")
    first = retrain(horizon=H, freq="MS")  # no watermark yet: back from the source's newest
    second = retrain(horizon=H, freq="MS")  # back from the first run's watermark
    history = runs(loaded_db).set_index("run_id")
    start = observations.ts.max() - pd.DateOffset(months=36)
    assert 0 < history.loc[first, "rows_read"] == (observations.ts >= start).sum()
    assert history.loc[first, "rows_read"] < len(observations)
    watermark = pd.Timestamp(history.loc[first, "data_watermark"])
    assert (
        history.loc[second, "rows_read"]
        == (observations.ts >= watermark - pd.DateOffset(months=36)).sum()
    )


def _month_first(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%m/%d/%Y %H:%M")


def _unpadded(ts: pd.Series) -> pd.Series:
    return ts.map(lambda t: f"{t.year}-{t.month}-{t.day}")


def _offset_west(ts: pd.Series) -> pd.Series:  # the same instants, written at UTC-05:00
    return (ts - pd.Timedelta(hours=5)).dt.strftime("%Y-%m-%dT%H:%M:%S-05:00")


@pytest.mark.parametrize(
    ("write", "env", "source"),
    fast_lane_runs(
        [
            (_month_first, {"ts_format": "%m/%d/%Y %H:%M"}, "query"),
            (_unpadded, {}, "query"),
            (_offset_west, {}, "query"),
            (_unpadded, {}, "table"),
        ],
        ids=["month-first-with-format", "unpadded", "utc-offset", "unpadded-table"],
    ),
)
def test_forecast_reads_its_window_of_text_timestamps_as_timestamps(
    db_url, pipeline_env, observations, tmp_path, write, env, source
):
    """A staging table of text: the read window compares instants, not strings."""
    from sqlalchemy import Column, MetaData, Table, Text, insert

    raw_table = Table(
        "raw_text_observations",
        MetaData(),
        Column("series_id", Text),
        Column("ts", Text),
        Column("value", Text),
    )
    engine = make_engine(db_url)
    init_db(engine)
    raw_table.create(engine)

    def append(frame: pd.DataFrame) -> None:
        rows = pd.DataFrame(
            {"series_id": frame["series_id"], "ts": write(frame["ts"]), "value": frame["value"]}
        )
        with engine.begin() as conn:
            conn.execute(insert(raw_table), rows.astype(str).to_dict("records"))

    append(observations)
    query_file = tmp_path / "source.sql"
    query_file.write_text("SELECT series_id, ts, value FROM raw_text_observations")
    where = {"source_table": "raw_text_observations"} if source == "table" else {}
    pipeline_env(db_url, source_query=str(query_file), forecast_lookback="24", **where, **env)
    retrain(horizon=H, freq="MS")
    last = observations.groupby("series_id").tail(1)
    new = last.assign(ts=last["ts"] + pd.DateOffset(months=1), value=last["value"] + 1)
    append(new)
    engine.dispose()

    refreshed = forecast_flow()
    run = runs(db_url).set_index("run_id").loc[refreshed]
    assert run["status"] == "completed", run["message"]
    n_series = observations.series_id.nunique()
    assert run["rows_read"] == n_series * (24 + 1 + 1)  # the window, inclusive, and the new month
    assert run["rows_rejected"] == 0
    latest = query(db_url, "SELECT * FROM latest_forecasts")
    assert set(latest["run_id"]) == {refreshed} and latest["series_id"].nunique() == n_series
    first = pd.to_datetime(latest[latest.step == 1].set_index("series_id")["ts"]).sort_index()
    expected = (new.set_index("series_id")["ts"] + pd.DateOffset(months=1)).sort_index()
    pd.testing.assert_series_equal(first, expected, check_names=False, check_index_type=False)
