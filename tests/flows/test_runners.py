"""The flows' chunk tasks through each task runner: the local process pool and Dask.

The runner changes where chunks run, never what they compute: the same seed gives the
same forecasts whichever runner ran them. Both runs read the same observations from
their own SQLite file, so neither sees the other's champions.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from tests.helpers import load_observations, query
from tidecast.flows.forecast import forecast_flow
from tidecast.flows.retrain import retrain
from tidecast.settings import load_settings

pytestmark = pytest.mark.slow  # process pools and Dask clusters

H = 6
# local models (chunked), a global regressor (one chunk of all series), ensembles on top
MODELS = "naive,seasonal_naive,auto_theta,ridge"


def forecasts(url: str, run_id: str) -> pd.DataFrame:
    rows = query(
        url, "SELECT * FROM forecasts WHERE run_id = :run ORDER BY series_id, ts", run=run_id
    )
    return rows.drop(columns=["run_id"]).reset_index(drop=True)


async def task_run_names(flow_run_id: str) -> list[str]:
    async with get_client() as client:
        flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        return [run.name for run in await client.read_task_runs(flow_run_filter=flow_runs)]


def flow_run_of(url: str, run_id: str) -> str:
    found = query(
        url, "SELECT prefect_flow_run_id FROM forecast_runs WHERE run_id = :run", run=run_id
    )
    return found["prefect_flow_run_id"].iloc[0]


def test_a_local_dask_cluster_gives_the_forecasts_of_the_process_pool(
    tmp_path, run_env, observations, caplog
):
    caplog.set_level(logging.INFO, logger="tidecast")
    runs = {}
    for runner in ("local", "dask"):
        url = load_observations(f"sqlite:///{tmp_path / f'{runner}.db'}", observations)
        # 6 series in chunks of at most 2, and two local chunks per worker beside the
        # global models' chunk: four local chunks and one of all series
        run_env(url, models=MODELS, chunk_size="2", workers="2", runner=runner)
        runs[runner] = (url, retrain(horizon=H, freq="MS"))
    assert "chunk tasks run on 2 local processes" in caplog.text
    assert "chunk tasks run on local Dask cluster of 2 workers on 127.0.0.1" in caplog.text

    local, dask = (forecasts(*runs[runner]) for runner in ("local", "dask"))
    assert len(local) == observations.series_id.nunique() * H
    keys = ["series_id", "ts", "step", "model"]
    pd.testing.assert_frame_equal(local[keys], dask[keys])
    values = [column for column in local.columns if column.startswith("yhat")]
    np.testing.assert_array_equal(local[values], dask[values])  # to the last bit
    assert set(local["model"]) - {"naive", "seasonal_naive"}, "something beyond the baselines won"

    # one task per chunk, never one per series
    names = asyncio.run(task_run_names(flow_run_of(*runs["dask"])))
    assert sum(name.startswith("backtest-chunk") for name in names) == 5
    assert 1 <= sum(name.startswith("final-fit-chunk") for name in names) <= 5


def test_the_forecast_flow_fans_out_through_the_process_pool(loaded_db, run_env, observations):
    run_env(loaded_db, models="naive,seasonal_naive,auto_theta", chunk_size="2", workers="2")
    retrain(horizon=H, freq="MS")
    run_id = forecast_flow()
    assert len(forecasts(loaded_db, run_id)) == observations.series_id.nunique() * H


@pytest.mark.parametrize(
    "address", ["localhost:8786", "tcp://host", "http://10.0.0.5:8786", "tcp://a b:1"]
)
def test_a_dask_address_must_name_a_scheduler(address):
    with pytest.raises(Exception, match="dask_address .*tcp://10.0.0.5:8786"):
        load_settings(dask_address=address)
