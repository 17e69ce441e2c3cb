"""Writes: all or nothing, idempotent per run id, and invisible to BI until the run completes."""

from __future__ import annotations

import pandas as pd

from tests.helpers import query
from tests.in_process import pipeline_settings
from tidecast.frequency import make_grid
from tidecast.tasks.forecast import FORECAST_COLUMNS, FinalForecast
from tidecast.tasks.runs import close_run, open_run
from tidecast.tasks.write import write_quarantine, write_results


def forecast_rows() -> pd.DataFrame:
    stamps = pd.date_range("2024-01-01", periods=3, freq="MS")
    rows = pd.DataFrame(
        {
            "series_id": ["a"] * 3 + ["b"] * 3,
            "ts": list(stamps) * 2,
            "step": [1, 2, 3] * 2,
            "model": "naive",
            "yhat": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    for bound, offset in (("lower_80", -1), ("upper_80", 1), ("lower_95", -2), ("upper_95", 2)):
        rows[f"yhat_{bound}"] = rows["yhat"] + offset
    return rows[FORECAST_COLUMNS]


def test_a_retried_write_replaces_the_first_attempt_and_bi_waits_for_completion(db_url, tmp_path):
    settings = pipeline_settings(db_url, tmp_path / "artifacts")
    run_id = open_run(settings, "forecast", {})
    done = FinalForecast(forecast_rows(), [], [], pd.DataFrame())
    assert write_results(settings, run_id, make_grid("MS"), done) == 6
    assert write_results(settings, run_id, make_grid("MS"), done) == 6  # a retry
    written = query(db_url, "SELECT * FROM forecasts WHERE run_id = :r", r=run_id)
    assert len(written) == 6
    # each row carries the period it forecasts: [start, end) on the run's grid
    first = written.sort_values(["series_id", "ts"]).iloc[0]
    assert pd.Timestamp(first["period_start"]) == pd.Timestamp("2024-01-01")
    assert pd.Timestamp(first["period_end"]) == pd.Timestamp("2024-02-01")
    assert query(db_url, "SELECT * FROM latest_forecasts").empty  # still running
    close_run(settings, run_id, "completed")
    assert len(query(db_url, "SELECT * FROM latest_forecasts")) == 6


def test_a_retried_quarantine_replaces_the_first_attempt(db_url, tmp_path):
    settings = pipeline_settings(db_url, tmp_path / "artifacts")
    run_id = open_run(settings, "retrain", {})
    rejected = pd.DataFrame(
        {
            "series_id": ["a", None],
            "ts": ["2024-01-01", "soon"],
            "value": ["x", "1"],
            "check_name": ["value_missing", "series_id_missing"],
            "reason": ["value is NULL, NaN or not a number", "series_id is NULL"],
        }
    )
    assert write_quarantine(settings, run_id, rejected) == 2
    assert write_quarantine(settings, run_id, rejected) == 2
    kept = query(db_url, "SELECT * FROM rejected_observations WHERE run_id = :r", r=run_id)
    assert sorted(kept["check_name"]) == ["series_id_missing", "value_missing"]
    assert kept.set_index("check_name").loc["value_missing", "value"] == "x"  # as read
    close_run(settings, run_id, "completed")
