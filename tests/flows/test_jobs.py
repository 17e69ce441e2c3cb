"""Several jobs in one database: daily, weekly and monthly series under the same ids, each
job's runs, champions and read windows its own, and BI's views holding all three."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers import query, three_job_database
from tidecast.errors import TidecastError
from tidecast.flows.forecast import forecast_flow
from tidecast.flows.retrain import retrain
from tidecast.settings import load_settings


@pytest.fixture
def three_jobs(db_url, run_env, tmp_path):
    run_env(db_url, jobs_file=str(three_job_database(db_url, tmp_path)))
    return db_url


def _latest_runs(url: str) -> dict[str, set[str]]:
    latest = query(url, "SELECT job, run_id FROM latest_forecasts")
    return latest.groupby("job")["run_id"].agg(set).to_dict()


def test_three_jobs_share_one_database_each_from_its_own_latest_run(three_jobs):
    url = three_jobs
    retrained = {
        job: retrain(settings=load_settings(job=job)) for job in ("daily", "weekly", "monthly")
    }
    assert _latest_runs(url) == {job: {run} for job, run in retrained.items()}
    latest = query(url, "SELECT * FROM latest_forecasts")
    shape = latest.groupby("job").agg(
        series=("series_id", "nunique"), rows=("yhat", "size"), freq=("freq", "first")
    )
    assert shape.loc["daily"].tolist() == [4, 28, "D"]
    assert shape.loc["weekly"].tolist() == [4, 16, "W-MON"]
    assert shape.loc["monthly"].tolist() == [4, 24, "MS"]
    # the period each row covers, whatever day the grid labels it by
    for column in ("ts", "period_start", "period_end"):
        latest[column] = pd.to_datetime(latest[column])
    monthly = latest[latest["job"] == "monthly"]
    assert (monthly["period_start"] == monthly["ts"]).all()
    assert (monthly["period_end"] == monthly["ts"] + pd.DateOffset(months=1)).all()
    weekly = latest[latest["job"] == "weekly"]  # W-MON: weeks end on Monday
    assert (weekly["period_start"] == weekly["ts"] - pd.Timedelta(days=6)).all()
    assert (weekly["period_end"] == weekly["ts"] + pd.Timedelta(days=1)).all()
    units = latest.groupby("job")["unit"].first()
    assert units["daily"] == "orders" and units["monthly"] == "EUR" and pd.isna(units["weekly"])
    champions = query(url, "SELECT job, series_id FROM current_champions")
    assert champions.groupby("job").size().to_dict() == {"daily": 4, "monthly": 4, "weekly": 4}
    windows = query(url, "SELECT job, series_id FROM series_read_windows")
    assert windows.groupby("job").size().to_dict() == {"daily": 4, "monthly": 4, "weekly": 4}

    # a forecast run of one job moves that job's forecasts only, from its own champions
    refreshed = forecast_flow(settings=load_settings(job="daily"))
    assert _latest_runs(url) == {
        **{job: {run} for job, run in retrained.items()},
        "daily": {refreshed},
    }
    runs = query(url, "SELECT run_id, job, flow_name FROM forecast_runs WHERE status = 'completed'")
    assert runs.set_index("run_id").loc[refreshed, "job"] == "daily"
    # every completed run's forecasts stay in forecast_history, stamped with when BI saw them
    history = query(url, "SELECT job, run_id, as_of FROM forecast_history")
    assert set(history["run_id"]) == {*retrained.values(), refreshed}
    assert history["as_of"].notna().all()


HOLD_LOCK = """
import sys, time
from tidecast.runlock import try_run_lock
lock = try_run_lock(sys.argv[1], sys.argv[2])
print("held" if lock else "busy", flush=True)
time.sleep(600)
"""


def test_a_job_runs_at_once_while_another_process_holds_another_jobs_lock(three_jobs):
    """Another process is writing job `weekly` (it holds the job's run lock): a retrain of
    `daily` runs at once, while a retrain of `weekly` is refused and changes nothing."""
    url = three_jobs
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, url, "weekly"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        daily = retrain(settings=load_settings(job="daily"))
        with pytest.raises(TidecastError, match="another tidecast run of job 'weekly'"):
            retrain(settings=load_settings(job="weekly"))
    finally:
        holder.kill()
        holder.wait()
    runs = query(url, "SELECT job, status FROM forecast_runs ORDER BY started_at")
    assert runs.values.tolist() == [["daily", "completed"], ["weekly", "failed"]]
    assert set(query(url, "SELECT run_id FROM latest_forecasts")["run_id"]) == {daily}


def test_backfill_and_the_report_are_per_job(three_jobs, tmp_path):
    """Backfills of two jobs both stay in backfill_forecasts (keyed by job too), and the
    report of a job shows its own runs and refuses another job's."""
    from tidecast.flows.backfill import backfill
    from tidecast.tasks.html_report import write_report

    url = three_jobs
    daily = retrain(settings=load_settings(job="daily"))
    backfill("2026-03-20", "2026-03-21", settings=load_settings(job="daily"))
    backfill("2025-01-06", "2025-01-13", settings=load_settings(job="weekly"))
    rows = query(url, "SELECT job, cutoff FROM backfill_forecasts")
    assert rows.groupby("job")["cutoff"].nunique().to_dict() == {"daily": 2, "weekly": 2}
    assert set(query(url, "SELECT job FROM backfill_accuracy")["job"]) == {"daily", "weekly"}

    weekly = load_settings(job="weekly")
    with pytest.raises(TidecastError, match="no completed retrain run of job 'weekly'"):
        write_report(weekly, None, tmp_path / "weekly.html")
    with pytest.raises(TidecastError, match=f"run {daily} is a run of job 'daily'"):
        write_report(weekly, daily, tmp_path / "weekly.html")
    assert write_report(load_settings(job="daily"), None, tmp_path / "daily.html").is_file()
