import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest
import threadpoolctl
import torch

from tidecast.runners import start_pool_worker


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
