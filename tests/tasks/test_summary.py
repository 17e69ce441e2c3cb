"""What a run row says when the run ends."""

from __future__ import annotations

import pandas as pd

from tidecast.errors import TidecastError
from tidecast.settings import load_settings
from tidecast.tasks.summary import backfill_summary, failure_fields
from tidecast.tasks.validate import validate_observations

SETTINGS = load_settings(horizon=6, freq="MS", database_url="sqlite://")


def validated(observations: pd.DataFrame):
    raw = pd.concat([observations, observations.iloc[:2]], ignore_index=True)  # 2 duplicates
    return validate_observations(raw, SETTINGS)


def test_a_failure_says_what_was_read_and_why(observations):
    fields = failure_fields(TidecastError("too many bad rows"), validated(observations))
    assert fields["message"] == "too many bad rows"
    assert fields["rows_read"] == len(observations) + 2
    assert fields["rows_read"] == fields["rows_used"] + fields["rows_rejected"]
    assert fields["freq"] == "MS"


def test_a_failure_before_validation_has_no_input_fields():
    fields = failure_fields(ValueError("boom"), None)
    assert fields == {"message": "ValueError: boom"}


def test_an_interrupted_run_says_bi_keeps_the_previous_run():
    for fields in (
        failure_fields(KeyboardInterrupt(), None),
        failure_fields(SystemExit(), None, interrupted=True),  # a signal the edge knows
    ):
        assert fields["message"].startswith("stopped (SIGTERM or Ctrl-C) before it completed")
        assert "BI keeps the previous run" in fields["message"]


def test_a_backfill_says_how_many_cutoffs_were_skipped(observations):
    fields = backfill_summary(validated(observations), [36, 0, 36])
    assert fields["message"].startswith("2 cutoffs backfilled: 72 rows in backfill_forecasts")
    assert "1 cutoffs skipped" in fields["message"]
    assert fields["rows_rejected"] == 2
