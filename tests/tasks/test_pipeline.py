"""The pipeline written once: its recorded runs, what it publishes, and the sequences of
retrain, forecast and backfill, in this process (`InProcess` steps, no Prefect)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import query, runs
from tests.in_process import (
    backfill_in_process,
    forecast_in_process,
    pipeline_settings,
    retrain_in_process,
)
from tidecast.errors import TidecastError
from tidecast.tasks import pipeline

H = 6


@pytest.fixture
def settings(loaded_db, tmp_path):
    return pipeline_settings(loaded_db, tmp_path / "artifacts", horizon=H, freq="MS")


def test_a_recorded_run_is_completed_with_the_fields_it_finished_with(settings):
    with pipeline.recorded_run(settings, "retrain") as run:
        run.finish({"message": "all done", "series_forecast": 3})
    row = runs(settings.database_url).set_index("run_id").loc[run.id]
    assert (row["status"], row["message"], row["series_forecast"]) == ("completed", "all done", 3)
    assert row["flow_name"] == "retrain" and row["job"] == "default"


def test_a_run_that_raises_is_marked_failed_with_why_and_the_error_goes_on(settings):
    with pytest.raises(TidecastError, match="the source is gone"):
        with pipeline.recorded_run(settings, "retrain"):
            raise TidecastError("the source is gone")
    row = runs(settings.database_url).iloc[-1]
    assert (row["status"], row["message"]) == ("failed", "the source is gone")


@pytest.mark.parametrize("signal", [KeyboardInterrupt, SystemExit])
def test_an_interrupted_run_says_so_as_its_edge_tells_it(settings, signal):
    with pytest.raises(signal):
        with pipeline.recorded_run(settings, "retrain", interrupted=lambda exc: True):
            raise signal()
    row = runs(settings.database_url).iloc[-1]
    assert row["status"] == "failed" and row["message"].startswith("stopped (SIGTERM or Ctrl-C)")


class Recording(pipeline.Publisher):
    """A `Publisher` that keeps what it was handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def leaderboard(self, run_id, validated, scored, chosen, job) -> None:
        self.calls.append(("leaderboard", run_id))
        assert len(chosen) == validated.panel["series_id"].nunique() and not scored.scores.empty

    def degraded(self, run_id, accuracy, factor, job) -> list[str]:
        self.calls.append(("degraded", run_id))
        return [f"{accuracy.scored} points scored"]


def test_retrain_and_forecast_publish_through_their_publisher(settings):
    publisher = Recording()
    with pipeline.recorded_run(settings, "retrain", publish=publisher) as run:
        pipeline.retrain(run)
    retrained = run.id
    refreshed, trained = pipeline.settings_of_last_retrain(settings, pipeline.InProcess())
    with pipeline.recorded_run(refreshed, "forecast", publish=publisher) as run:
        pipeline.forecast(run, trained)
    assert publisher.calls == [("leaderboard", retrained), ("degraded", run.id)]
    row = runs(settings.database_url).set_index("run_id").loc[run.id]
    assert "points scored" in row["message"]  # the publisher's notes reach the run row


def test_retrain_forecast_and_backfill_in_process_forecast_every_series(settings, observations):
    retrained = retrain_in_process(settings)
    latest = query(settings.database_url, "SELECT * FROM latest_forecasts")
    assert set(latest["run_id"]) == {retrained}
    assert latest.groupby("series_id").size().eq(H).all()
    assert set(latest["series_id"]) == set(observations["series_id"])
    refreshed = forecast_in_process(settings)
    latest = query(settings.database_url, "SELECT * FROM latest_forecasts")
    assert set(latest["run_id"]) == {refreshed}
    last = pd.Timestamp(observations["ts"].max())
    backfilled = backfill_in_process(
        settings, str((last - pd.DateOffset(months=2)).date()), str(last.date())
    )
    rows = query(settings.database_url, "SELECT * FROM backfill_forecasts")
    assert set(rows["run_id"]) == {backfilled} and len(rows)
    # BI still reads the forecast run: a backfill never touches latest_forecasts
    assert set(query(settings.database_url, "SELECT run_id FROM latest_forecasts")["run_id"]) == {
        refreshed
    }
    assert runs(settings.database_url)["status"].eq("completed").all()
