"""A source whose columns are not the types tidecast writes: integer series ids.

Every later step that meets the source again (the forecast flow's incremental read, the
report's history) compares the source's ids with the text ids in tidecast's tables. The
runs are the pipeline's, in this process (`tests/in_process.py`).
"""

from __future__ import annotations

from tests.helpers import query, synthetic_panel
from tests.in_process import forecast_in_process, pipeline_settings, retrain_in_process
from tidecast.db import init_db, make_engine
from tidecast.tasks.html_report import write_report


def test_integer_series_ids_work_through_retrain_forecast_and_the_report(db_url, tmp_path):
    frame = synthetic_panel(n_series=3)
    frame["series_id"] = frame["series_id"].str[1:].astype(int) + 100  # 100, 101, 102
    engine = make_engine(db_url)
    init_db(engine)
    frame.to_sql("int_observations", engine, index=False)
    engine.dispose()
    settings = pipeline_settings(
        db_url, tmp_path / "artifacts", source_table="int_observations", forecast_lookback=24
    )

    retrain_in_process(settings.with_overrides(horizon=6, freq="MS"))
    refreshed = forecast_in_process(settings)
    rows = query(db_url, "SELECT rows_read FROM forecast_runs WHERE run_id = :r", r=refreshed)
    # the incremental read matched every series' window: only the lookback, not all rows
    assert 0 < rows["rows_read"].iloc[0] < len(frame)
    latest = query(db_url, "SELECT DISTINCT series_id FROM latest_forecasts")
    assert set(latest["series_id"]) == {"100", "101", "102"}
    path = write_report(settings, None, tmp_path / "report.html", ["101"])
    assert "101" in path.read_text()
