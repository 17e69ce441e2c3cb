import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest
import threadpoolctl
import torch

from tidecast.edge.runners import model_modules, start_pool_worker
from tidecast.settings import load_settings


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every pool has one thread")
def test_a_pool_worker_fits_on_one_thread_torch_openmp_and_blas_alike():
    # spawned like Prefect's ProcessPoolTaskRunner's workers, with the runner's initializer
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=start_pool_worker) as pool:
        torch_threads = pool.submit(torch.get_num_threads).result()
        pools = pool.submit(threadpoolctl.threadpool_info).result()
    assert torch_threads == 1
    assert pools, "torch loads OpenMP and numpy's BLAS"
    assert {(p["internal_api"], p["num_threads"]) for p in pools} == {
        (p["internal_api"], 1) for p in pools
    }


def loaded(module: str) -> bool:
    return module in sys.modules


def test_pool_workers_import_the_run_s_model_modules_as_they_start():
    # the run starts its workers while it reads its input: they import the model
    # modules then, not at the first chunk
    modules = model_modules(load_settings(models=["theta", "naive", "dynamic_theta"]))
    assert modules == ("tidecast.models.theta", "tidecast.models.baselines")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=start_pool_worker, initargs=(modules,)
    ) as pool:
        assert pool.submit(loaded, "tidecast.models.theta").result()
        assert not pool.submit(loaded, "tidecast.models.neural").result()
