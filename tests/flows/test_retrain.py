"""The retrain flow end to end, through Prefect, on SQLite and PostgreSQL; the runs whose
subject is the pipeline's behaviour (views, validation, the run lock) are the flow's work
in this process (`tests/in_process.py`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import in_process
from tests.helpers import ON_SQLITE_ONLY, fast_lane_runs, load_observations, query, runs
from tidecast.db import init_db, make_engine, replace_observations
from tidecast.errors import TidecastError
from tidecast.flows.retrain import retrain

H = 6


def test_retrain_fills_what_bi_reads(loaded_db, run_env, observations):
    run_env(loaded_db)
    run_id = retrain(horizon=H, freq="MS")
    n_series = observations.series_id.nunique()
    latest = query(loaded_db, "SELECT * FROM latest_forecasts")
    assert len(latest) == n_series * H
    assert set(latest["run_id"]) == {run_id}
    assert (
        latest.groupby("series_id")["step"]
        .apply(sorted)
        .map(lambda s: s == list(range(1, H + 1)))
        .all()
    )
    for low, high in [
        ("yhat_lower_95", "yhat_lower_80"),
        ("yhat_lower_80", "yhat_upper_80"),
        ("yhat_upper_80", "yhat_upper_95"),
    ]:
        assert (latest[low] <= latest[high]).all()
    # the first forecast is the month after each series' last observation
    last = observations.groupby("series_id")["ts"].max() + pd.DateOffset(months=1)
    first = pd.to_datetime(latest[latest.step == 1].set_index("series_id")["ts"])
    pd.testing.assert_series_equal(
        first.sort_index(), last.sort_index(), check_names=False, check_index_type=False
    )
    run = runs(loaded_db).iloc[-1]
    assert run["status"] == "completed" and run["flow_name"] == "retrain"
    assert run["rows_read"] == len(observations) and run["rows_rejected"] == 0
    assert run["series_forecast"] == n_series and run["prefect_flow_run_id"]
    assert run["finished_at"] is not None and run["code_version"]
    stages = run["stage_seconds"]
    stages = json.loads(stages) if isinstance(stages, str) else stages
    # every stage of the pipeline is timed, in the order it ran
    assert list(stages)[:5] == [
        "open-run",
        "window-start",
        "read-observations",
        "validate-observations",
        "write-quarantine",
    ]
    assert {"backtest", "promote-champions", "forecast", "write-results"} <= set(stages)
    assert all(seconds >= 0 for seconds in stages.values()) and stages["backtest"] > 0
    scores = query(loaded_db, f"SELECT * FROM backtest_scores WHERE run_id = '{run_id}'")
    # two models and their two top-k ensembles, three folds each
    assert set(scores["model"]) == {
        "naive",
        "seasonal_naive",
        "ensemble_mean_top3",
        "ensemble_median_top3",
    }
    assert len(scores) == n_series * 4 * 3
    champions = query(loaded_db, "SELECT * FROM current_champions")
    assert len(champions) == n_series and set(champions["run_id"]) == {run_id}


def test_two_runs_leave_one_completed_run_per_series_in_the_view(loaded_db, pipeline_env):
    pipeline_env(loaded_db)
    first = in_process.retrain(horizon=H, freq="MS")
    second = in_process.retrain(horizon=H, freq="MS")
    latest = query(loaded_db, "SELECT run_id, series_id, ts FROM latest_forecasts")
    assert set(latest["run_id"]) == {second}
    assert not latest.duplicated(["series_id", "ts"]).any()
    assert runs(loaded_db)["status"].tolist() == ["completed", "completed"]
    history = query(loaded_db, "SELECT * FROM champions")
    assert set(history["run_id"]) == {first, second}  # history kept, not overwritten
    current = query(loaded_db, "SELECT * FROM current_champions")
    assert current["previous_model"].notna().all()


def test_failed_run_keeps_the_previous_forecasts_and_says_why(
    loaded_db, pipeline_env, observations
):
    pipeline_env(loaded_db)
    good = in_process.retrain(horizon=H, freq="MS")
    bad = observations.astype(object)
    bad.loc[bad.index[::6][:60], "value"] = None  # spread over all series, far past 5%
    engine = make_engine(loaded_db)
    replace_observations(engine, bad)
    engine.dispose()
    with pytest.raises(TidecastError, match="failed validation"):
        in_process.retrain(horizon=H, freq="MS")
    history = runs(loaded_db)
    assert history["status"].tolist() == ["completed", "failed"]
    assert "failed validation" in history["message"].iloc[-1]
    assert history["rows_rejected"].iloc[-1] == 60
    assert set(query(loaded_db, "SELECT run_id FROM latest_forecasts")["run_id"]) == {good}
    rejected = query(loaded_db, "SELECT * FROM rejected_observations")
    assert len(rejected) == 60 and set(rejected["check_name"]) == {"value_missing"}
    assert set(rejected["run_id"]) == {history["run_id"].iloc[-1]}


def test_a_series_too_short_to_backtest_gets_a_marked_forecast_with_wide_bands(
    loaded_db, pipeline_env, observations
):
    last = observations["ts"].max()
    short = pd.DataFrame(
        {
            "series_id": ["tiny"] * 5 + ["single"],
            "value": [10.0, 12.0, 11.0, 13.0, 12.0, 7.0],
            "ts": [*pd.date_range(end=last, periods=5, freq="MS"), last],
        }
    )
    engine = make_engine(loaded_db)
    replace_observations(engine, pd.concat([observations, short], ignore_index=True))
    engine.dispose()
    pipeline_env(loaded_db, max_rejected_share="0.01")
    run_id = in_process.retrain(horizon=H, freq="MS")
    run = runs(loaded_db).iloc[-1]
    assert run["status"] == "completed"
    assert "2 series shorter than 19 points" in run["message"]
    assert run["rows_used"] == len(observations) + 6 and run["rows_rejected"] == 0
    latest = query(loaded_db, "SELECT * FROM latest_forecasts")
    assert latest["series_id"].nunique() == observations["series_id"].nunique() + 2
    mine = latest[latest["series_id"].isin(["tiny", "single"])].sort_values(["series_id", "step"])
    assert set(mine["model"]) == {"short_history"} and len(mine) == 2 * H
    assert (mine["yhat_lower_95"] < mine["yhat_lower_80"]).all()
    assert (mine["yhat_lower_80"] < mine["yhat"]).all()
    assert (mine["yhat"] < mine["yhat_upper_80"]).all()
    single = mine[mine["series_id"] == "single"]
    assert np.allclose(single["yhat"], 7.0)  # one point: its value, and a band all the same
    width = (mine["yhat_upper_95"] - mine["yhat_lower_95"]).to_numpy()
    assert (np.diff(width.reshape(2, H), axis=1) > 0).all()  # wider further out
    champions = query(loaded_db, "SELECT series_id, model, reason FROM current_champions")
    marked = champions.set_index("series_id").loc[["tiny", "single"]]
    assert (marked["model"] == "short_history").all()
    assert marked["reason"].str.startswith("short history: ").all()
    assert "5 points, fewer than the 19" in marked.loc["tiny", "reason"]
    classes = query(loaded_db, "SELECT series_id, demand_class, adi FROM current_champions")
    assert set(classes["demand_class"]) == {"smooth"} and (classes["adi"] == 1.0).all()
    assert "demand classes: smooth 8" in run["message"]
    assert query(loaded_db, "SELECT * FROM rejected_observations").empty
    assert run_id

    # The forecast flow forecasts them again the same way; once one has grown long
    # enough to backtest it gets seasonal naive until the next retrain.
    grown = pd.DataFrame(
        {
            "series_id": "tiny",
            "value": 12.0,
            "ts": pd.date_range(end=last, periods=30, freq="MS"),
        }
    )
    engine = make_engine(loaded_db)
    replace_observations(
        engine, pd.concat([observations, short[short.series_id == "single"], grown])
    )
    engine.dispose()
    in_process.forecast_flow()
    latest = query(loaded_db, "SELECT series_id, model FROM latest_forecasts")
    by_series = latest.drop_duplicates("series_id").set_index("series_id")["model"]
    assert by_series["single"] == "short_history" and by_series["tiny"] == "seasonal_naive"


def test_when_every_series_is_too_short_each_still_gets_a_forecast(loaded_db, pipeline_env):
    pipeline_env(loaded_db)
    run_id = in_process.retrain(horizon=100, freq="MS")  # every series has 48-72 points
    latest = query(loaded_db, "SELECT series_id, model, step FROM latest_forecasts")
    assert set(latest["model"]) == {"short_history"} and latest["series_id"].nunique() == 6
    assert (latest.groupby("series_id")["step"].max() == 100).all()
    assert query(loaded_db, "SELECT * FROM backtest_scores").empty
    assert runs(loaded_db)["status"].tolist() == ["completed"] and run_id


def test_a_series_never_negative_gets_no_negative_forecast_or_bound_without_a_setting(
    db_url, pipeline_env
):
    months = pd.date_range("2016-01-01", periods=48, freq="MS")
    falling = np.linspace(60.0, 1.0, 48) + np.tile([0.0, 2.0, -1.0, 1.0], 12).clip(-1, 2)
    frame = pd.concat(
        [
            pd.DataFrame({"series_id": "sales", "ts": months, "value": falling.clip(0)}),
            pd.DataFrame({"series_id": "temperature", "ts": months, "value": falling - 70}),
        ]
    )
    load_observations(db_url, frame)
    pipeline_env(db_url, models="drift")
    in_process.retrain(horizon=H, freq="MS")
    latest = query(db_url, "SELECT * FROM latest_forecasts").set_index("series_id")
    bounds = ["yhat", "yhat_lower_80", "yhat_lower_95"]
    assert (latest.loc["sales", bounds] >= 0).all().all()
    assert (latest.loc["sales", "yhat_lower_95"] == 0).any()  # it would have gone below
    assert (latest.loc["temperature", "yhat"] < -65).all()  # not demand: keeps its sign


@ON_SQLITE_ONLY
def test_zero_demand_and_a_single_sale_get_forecasts_and_their_class(
    db_url, pipeline_env, observations
):
    months = pd.date_range("2015-01-01", periods=48, freq="MS")
    rng = np.random.default_rng(0)
    items = {
        "zeros": np.zeros(48),
        "once": np.r_[np.zeros(40), 7.0, np.zeros(7)],
        "sparse": rng.poisson(0.3, 48).astype(float),
    }
    frames = [pd.DataFrame({"series_id": k, "ts": months, "value": v}) for k, v in items.items()]
    load_observations(db_url, pd.concat([observations, *frames], ignore_index=True))
    pipeline_env(db_url, models="naive,croston,tsb,theta,auto_ets,ridge")
    in_process.retrain(horizon=H, freq="MS")
    latest = query(db_url, "SELECT * FROM latest_forecasts")
    mine = latest[latest["series_id"].isin(list(items))]
    assert mine.groupby("series_id").size().to_dict() == {name: H for name in items}
    bounds = ["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    assert np.isfinite(mine[bounds]).all().all() and (mine[bounds] >= 0).all().all()
    assert (mine.loc[mine["series_id"] == "zeros", bounds] == 0).all().all()
    classes = query(db_url, "SELECT series_id, demand_class FROM current_champions")
    assert classes.set_index("series_id")["demand_class"].loc[list(items)].tolist() == [
        "no_demand", "intermittent", "intermittent"
    ]  # fmt: skip


def test_empty_source_fails_the_run_with_a_clear_message(db_url, pipeline_env):
    engine = make_engine(db_url)
    from tidecast.db import init_db

    init_db(engine)
    engine.dispose()
    pipeline_env(db_url)
    with pytest.raises(TidecastError, match="returned no rows"):
        in_process.retrain(horizon=H, freq="MS")
    assert runs(db_url)["status"].tolist() == ["failed"]


def test_source_query_missing_a_column_fails_the_run(loaded_db, pipeline_env, tmp_path):
    source = tmp_path / "source.sql"
    source.write_text("SELECT series_id, value FROM observations")
    pipeline_env(loaded_db, source_query=str(source))
    with pytest.raises(TidecastError, match="missing: ts"):
        in_process.retrain(horizon=H, freq="MS")
    run = runs(loaded_db).iloc[-1]
    assert run["status"] == "failed" and "missing: ts" in run["message"]


KILL_BEFORE_COMPLETION = textwrap.dedent(
    """
    import os, signal
    import tidecast.tasks.pipeline as pipeline
    from tidecast.flows.retrain import retrain

    real_close = pipeline.close_run

    def kill_before_completed(settings, run_id, status, *args, **fields):
        # Stands in for close-run: the forecasts are committed, then the process dies.
        if status == "completed":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_close(settings, run_id, status, *args, **fields)

    pipeline.close_run = kill_before_completed
    retrain(horizon=6, freq="MS")
    """
)


@pytest.mark.slow  # a real child process, killed
def test_run_killed_between_writing_and_completing_is_invisible_to_bi(loaded_db, run_env, tmp_path):
    run_env(loaded_db)
    good = retrain(horizon=H, freq="MS")
    env = {**os.environ, "TIDECAST_DATABASE_URL": loaded_db}
    log = tmp_path / "killed.log"
    with log.open("w") as out:
        # Its own session, so the temporary Prefect server it starts can be stopped with it.
        killed = subprocess.Popen(
            [sys.executable, "-c", KILL_BEFORE_COMPLETION],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = killed.wait(timeout=300)
        finally:
            try:
                os.killpg(killed.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert returncode == -signal.SIGKILL, log.read_text()[-2000:]
    history = runs(loaded_db)
    assert history["status"].tolist() == ["completed", "running"]
    orphan = history["run_id"].iloc[-1]
    written = query(loaded_db, f"SELECT COUNT(*) AS n FROM forecasts WHERE run_id = '{orphan}'")
    assert written["n"].iloc[0] > 0  # the kill really came after the write
    assert set(query(loaded_db, "SELECT run_id FROM latest_forecasts")["run_id"]) == {good}
    # the dead process released the run lock: the next run starts, and marks the orphan failed
    later = retrain(horizon=H, freq="MS")
    history = runs(loaded_db).set_index("run_id")
    assert history.loc[orphan, "status"] == "failed"
    assert history.loc[orphan, "message"].startswith("orphaned:")
    assert set(query(loaded_db, "SELECT run_id FROM latest_forecasts")["run_id"]) == {later}


KILL_DURING_THE_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    import tidecast.tasks.write as write
    from tests.in_process import pipeline_settings, retrain_in_process

    real_insert = write.insert_frame

    def insert_then_die(conn, table, frame):
        # inside the write's transaction: the forecasts go in, then the process dies
        written = real_insert(conn, table, frame)
        if table.name == "forecasts":
            os.kill(os.getpid(), signal.SIGKILL)
        return written

    write.insert_frame = insert_then_die
    retrain_in_process(pipeline_settings(sys.argv[1], sys.argv[2], horizon=6, freq="MS"))
    """
)


def test_a_retrain_killed_during_its_write_leaves_no_row_and_the_rerun_completes(
    loaded_db, pipeline_env, tmp_path
):
    pipeline_env(loaded_db)
    good = in_process.retrain(horizon=H, freq="MS")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_THE_WRITE, loaded_db, str(tmp_path / "artifacts")],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    orphan = runs(loaded_db)["run_id"].iloc[-1]
    assert orphan != good
    for table in ("forecasts", "champions", "backtest_scores"):
        left = query(loaded_db, f"SELECT COUNT(*) AS n FROM {table} WHERE run_id = '{orphan}'")
        assert left["n"].iloc[0] == 0, table  # the transaction never committed
    assert set(query(loaded_db, "SELECT run_id FROM latest_forecasts")["run_id"]) == {good}
    later = in_process.retrain(horizon=H, freq="MS")
    history = runs(loaded_db).set_index("run_id")
    assert history.loc[orphan, "status"] == "failed"
    assert history.loc[orphan, "message"].startswith("orphaned:")
    assert set(query(loaded_db, "SELECT run_id FROM latest_forecasts")["run_id"]) == {later}


def test_a_retrain_started_while_another_run_writes_is_refused_and_changes_nothing(
    loaded_db, pipeline_env, settings_for
):
    from tidecast.tasks.runs import close_run, open_run

    pipeline_env(loaded_db)
    good = in_process.retrain(horizon=H, freq="MS")
    other = open_run(settings_for(loaded_db), "retrain", {})  # e.g. the scheduled run
    with pytest.raises(TidecastError, match=f"another tidecast run .*{other}"):
        in_process.retrain(horizon=H, freq="MS")
    assert set(query(loaded_db, "SELECT run_id FROM latest_forecasts")["run_id"]) == {good}
    statuses = runs(loaded_db)["status"].tolist()
    assert statuses == ["completed", "running", "failed"]
    close_run(settings_for(loaded_db), other, "failed")
    assert in_process.retrain(horizon=H, freq="MS") != good  # free again


def test_retrain_publishes_the_leaderboard_and_summary_artifacts(loaded_db, run_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    run_env(loaded_db)
    run_id = retrain(horizon=H, freq="MS")
    flow_run_id = runs(loaded_db).set_index("run_id").loc[run_id, "prefect_flow_run_id"]
    keys = ["tidecast-leaderboard-default", "tidecast-run-summary-default"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=keys),
                flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(flow_run_id)]),
            )
        )
    latest = {artifact.key: artifact for artifact in sorted(found, key=lambda a: a.created)}
    assert set(latest) == set(keys)
    board = latest["tidecast-leaderboard-default"].data
    board = board if isinstance(board, str) else str(board)
    assert "mean_mase" in board and "series_won" in board and "seasonal_naive" in board
    summary = latest["tidecast-run-summary-default"].data
    assert run_id in summary and "rows read: 360" in summary and "champions changed" in summary


@pytest.mark.slow  # the fast lane has the clipping test of test_interval_hardening
def test_a_non_negative_target_quarantines_negative_rows_and_gets_no_negative_forecast(
    db_url, pipeline_env, observations
):
    # every series sinks towards zero, so naive/drift intervals reach below it
    noise = np.random.default_rng(0).uniform(0, 3, len(observations))
    sinking = observations.assign(
        value=observations.groupby("series_id").cumcount().rsub(80).clip(lower=1) / 10 + noise
    )
    last_of_first = sinking.index[sinking["series_id"] == sinking["series_id"].iloc[0]][-1]
    sinking.loc[last_of_first, "value"] = -3.0  # its newest value: naive goes below 0
    engine = make_engine(db_url)
    init_db(engine)
    replace_observations(engine, sinking)
    engine.dispose()
    pipeline_env(db_url, models="naive,drift")
    in_process.retrain(horizon=H, freq="MS")
    first = query(db_url, "SELECT series_id, yhat_lower_95 FROM latest_forecasts")
    negative_once = first["series_id"] == sinking["series_id"].iloc[0]
    # without the setting: the series with a negative row keeps bounds below 0 (what the
    # setting is there to prevent), the ones never negative are clipped all the same
    assert (first.loc[negative_once, "yhat_lower_95"] < 0).any()
    assert (first.loc[~negative_once, "yhat_lower_95"] >= 0).all()
    pipeline_env(db_url, models="naive,drift", nonnegative="true")
    run_id = in_process.retrain(horizon=H, freq="MS")
    latest = query(db_url, "SELECT * FROM latest_forecasts")
    bounds = ["yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    assert set(latest["run_id"]) == {run_id} and (latest[bounds] >= 0).all().all()
    rejected = query(
        db_url, f"SELECT check_name, value FROM rejected_observations WHERE run_id = '{run_id}'"
    )
    assert rejected.values.tolist() == [["value_negative", "-3.0"]]


_TABLE_NAMES = [
    "observations; DROP TABLE forecast_runs; --",
    'observations" ; DELETE FROM forecasts; --',
    "observations WHERE 1=0 UNION SELECT run_id, started_at, 0 FROM forecast_runs",
    "public.observations.extra",
    "9observations",
]


@pytest.mark.parametrize("name", fast_lane_runs(_TABLE_NAMES, _TABLE_NAMES))
def test_a_source_table_name_with_sql_in_it_is_refused_before_anything_runs(
    loaded_db, pipeline_env, name
):
    pipeline_env(loaded_db)
    good = in_process.retrain(horizon=H, freq="MS")
    before = query(loaded_db, "SELECT * FROM latest_forecasts ORDER BY series_id, step")
    pipeline_env(loaded_db, source_table=name)
    with pytest.raises(TidecastError, match=r"source_table \(flag --source-table or TIDECAST_"):
        in_process.retrain(horizon=H, freq="MS")
    assert runs(loaded_db)["run_id"].tolist() == [good]  # refused before a run row
    after = query(loaded_db, "SELECT * FROM latest_forecasts ORDER BY series_id, step")
    pd.testing.assert_frame_equal(after, before)


@pytest.mark.slow  # the best preset's statistical zoo, AutoARIMA at season length 12 included
def test_the_best_preset_skips_its_global_network_on_a_small_panel_and_says_so(
    tmp_path, pipeline_env, monkeypatch, observations
):
    # SQLite only: choosing the zoo does not depend on the database
    loaded_db = load_observations(f"sqlite:///{tmp_path / 'zoo.db'}", observations)
    pipeline_env(loaded_db, preset="best")
    monkeypatch.delenv("TIDECAST_MODELS")  # the preset's zoo, not the fast lane's baselines
    run_id = in_process.retrain(horizon=H, freq="MS")
    run = runs(loaded_db).set_index("run_id").loc[run_id]
    assert run["status"] == "completed"
    assert "nbeats_ensemble skipped: 6 series are fewer than the 500" in run["message"]
    scored = query(loaded_db, "SELECT DISTINCT model FROM backtest_scores")["model"]
    assert {"auto_arima", "dynamic_theta", "ensemble_stats"} <= set(scored)
    assert "nbeats_ensemble" not in set(scored)
