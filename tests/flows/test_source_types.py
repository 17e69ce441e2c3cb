"""A source whose columns are not the types tidecast writes: integer series ids.

Every later step that meets the source again (the forecast flow's incremental read, the
report's history) compares the source's ids with the text ids in tidecast's tables.
"""

from __future__ import annotations

from tests.conftest import query, synthetic_panel
from tidecast.db import init_db, make_engine
from tidecast.flows.forecast import forecast_flow
from tidecast.flows.retrain import retrain
from tidecast.settings import load_settings
from tidecast.tasks.html_report import write_report


def test_integer_series_ids_work_through_retrain_forecast_and_the_report(db_url, run_env, tmp_path):
    frame = synthetic_panel(n_series=3)
    frame["series_id"] = frame["series_id"].str[1:].astype(int) + 100  # 100, 101, 102
    engine = make_engine(db_url)
    init_db(engine)
    frame.to_sql("int_observations", engine, index=False)
    engine.dispose()
    run_env(db_url, source_table="int_observations", forecast_lookback="24")

    retrain(horizon=6, freq="MS")
    refreshed = forecast_flow()
    rows = query(db_url, "SELECT rows_read FROM forecast_runs WHERE run_id = :r", r=refreshed)
    # the incremental read matched every series' window: only the lookback, not all rows
    assert 0 < rows["rows_read"].iloc[0] < len(frame)
    latest = query(db_url, "SELECT DISTINCT series_id FROM latest_forecasts")
    assert set(latest["series_id"]) == {"100", "101", "102"}
    path = write_report(load_settings(), None, tmp_path / "report.html", ["101"])
    assert "101" in path.read_text()
