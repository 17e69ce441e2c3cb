"""What Prefect records of a run: a name that says what ran, and tidecast's progress lines
in the run's logs, with no Prefect logging settings of tidecast's in the environment
(as for a run a deployment's worker starts)."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler

from tests.helpers import runs
from tidecast.flows.retrain import retrain


def test_a_retrain_run_is_named_by_its_horizon_and_logs_its_progress(
    loaded_db, run_env, monkeypatch
):
    monkeypatch.delenv("PREFECT_LOGGING_EXTRA_LOGGERS", raising=False)  # no CLI here
    run_env(loaded_db)
    retrain(horizon=6, freq="MS")
    APILogHandler().flush()
    flow_run_id = runs(loaded_db)["prefect_flow_run_id"].iloc[0]
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run_id).name == "retrain-default-h6"
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    lines = [log.message for log in logs]
    assert any(line.startswith("[backtest]") for line in lines), lines
    assert any(line.startswith("[forecast]") for line in lines), lines
