"""The task runner the flows' chunk tasks go through, chosen by the settings.

- `local` (default): one process per worker on this machine (`ProcessPoolTaskRunner`),
  since the models hold the GIL and threads would share one core; one worker runs the
  chunks one after another on a thread instead, with no process to start.
- `dask`: prefect-dask's `DaskTaskRunner` on an existing cluster (`dask_address`) or a
  `LocalCluster` of `workers` single-threaded worker processes on 127.0.0.1.

Threads: a worker that shares the machine with other workers runs each model fit on one
thread (`single_threaded`, run where the worker process starts). torch, OpenMP (scikit-
learn's gradient boosting) and BLAS otherwise start a pool of as many threads as the
machine has cores in every worker, and two workers' pools oversubscribe the cores. Dask's
nanny does the same for its workers (`distributed.nanny.pre-spawn-environ` sets the
OpenMP, MKL and OpenBLAS variables to 1), so both runners give each fit one thread.
`workers=1` runs the chunks in the flow's process, which owns the machine: its pools
keep their default size.

Only the chunk tasks are submitted; the database tasks run in the flow's own process.
The flows carry a `ConfiguredTaskRunner`, so a manual run, `tidecast serve` and a
deployment's worker all get the runner their settings name.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from tidecast.progress import report, show_in_terminal
from tidecast.settings import Settings, load_settings

# read by OpenMP, OpenBLAS, MKL, Apple Accelerate and numexpr when they load
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def single_threaded() -> None:
    """Make this process's model fits run on one thread each (torch intra-op, OpenMP, BLAS).

    The variables reach the libraries that load after this call (a fresh worker has
    loaded none of them yet); threadpoolctl and torch resize the pools of those already
    loaded.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def start_pool_worker(modules: tuple[str, ...] = ()) -> None:
    """Where each process-pool worker starts: one thread per fit, progress on stdout, and
    the run's model modules (`modules`) imported before the first chunk arrives."""
    single_threaded()
    show_in_terminal()
    for module in modules:
        importlib.import_module(module)


def model_modules(settings: Settings) -> tuple[str, ...]:
    """The modules of the models a run may fit: those it names, else its preset's (for
    any season length or panel size, so a few more than it may need)."""
    from tidecast.models.registry import INFO, preset_models

    names = settings.models or [
        name
        for season_length in (1, 12)
        for name in preset_models(settings.preset, season_length, None, ("future", "past"))
    ]
    return tuple(
        dict.fromkeys(
            f"tidecast.models.{INFO[name].cls.partition(':')[0]}" for name in names if name in INFO
        )
    )


def uses_dask(settings: Settings) -> bool:
    """Whether chunks go to Dask: asked for, or implied by a scheduler address."""
    return settings.runner == "dask" or settings.dask_address is not None


def task_runner(settings: Settings) -> TaskRunner:
    """A fresh task runner for one flow run, as the settings ask."""
    if uses_dask(settings):
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": settings.workers,
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": None,
                # Dask's spill and lock files (removed by Dask as its workers close); it
                # otherwise writes /tmp/dask-scratch-space.
                "local_directory": str((settings.artifacts_dir / "dask-scratch").resolve()),
            },
        )
    if settings.workers > 1:
        # progress lines of the chunks, as the parent prints its own
        return ProcessPoolTaskRunner(
            max_workers=settings.workers,
            initializer=start_pool_worker,
            initargs=(model_modules(settings),),
        )
    return ThreadPoolTaskRunner(max_workers=1)


def share_prefect_api() -> str | None:
    """Give worker processes the address of this process's Prefect API; returns the
    variable's old value to restore, or None when nothing was changed.

    Workers report their task runs to the flow's Prefect API. Without `PREFECT_API_URL`
    the flow talks to a temporary local server known only to this process, and each
    worker would start a temporary server of its own (seconds each, and its task runs
    recorded where nobody looks). Workers inherit this process's environment.
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return None
    with get_client(sync_client=True) as client:
        address = str(client.api_url)
    previous = os.environ.get("PREFECT_API_URL", "")
    os.environ["PREFECT_API_URL"] = address
    return previous


def describe(settings: Settings) -> str:
    """The runner in a few words, for the run's first log line."""
    if settings.dask_address:
        return f"Dask cluster at {settings.dask_address}"
    if uses_dask(settings):
        return f"local Dask cluster of {settings.workers} workers on 127.0.0.1"
    if settings.workers > 1:
        return f"{settings.workers} local processes"
    return "this process"


def _run_settings() -> Settings:
    """The settings of the flow run being executed: its `settings` parameter as the flow
    received it (the CLI's, or a deployment's), else the environment's."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    given = context.parameters.get("settings") if context is not None else None
    return given if isinstance(given, Settings) else load_settings()


class ConfiguredTaskRunner(TaskRunner):
    """The flows' task runner: the runner the settings name, made at the first submit.

    A flow's runner is fixed where the flow is defined, before any settings are read;
    this one defers the choice to the run (`runner`, `workers`, `dask_address` of the
    run's settings), and starts nothing (no processes, no cluster) for a run that
    submits nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self._inner: TaskRunner | None = None
        self._previous_api_url: str | None = None

    def duplicate(self) -> ConfiguredTaskRunner:
        return type(self)()

    def start(self) -> None:
        """Start the run's workers now (they are otherwise started at the first submit).

        A flow calls this as it begins: process-pool workers then start and import the
        run's model modules (seconds each) on the cores that reading and validating the
        input leave idle, instead of at the first chunk; a Dask cluster starts its workers.
        """
        if self._inner is not None:
            return
        settings = _run_settings()
        report("runner", f"chunk tasks run on {describe(settings)}")
        inner = task_runner(settings)
        if not isinstance(inner, ThreadPoolTaskRunner):
            self._previous_api_url = share_prefect_api()
        self._inner = inner.__enter__()
        pool = getattr(self._inner, "_executor", None)
        if isinstance(self._inner, ProcessPoolTaskRunner) and pool is not None:
            # one trivial job per worker: the pool starts a process for each, as none is idle
            for _ in range(settings.workers):
                pool.submit(int)

    def submit(self, task, parameters, wait_for=None, dependencies=None) -> Any:
        self.start()
        return self._inner.submit(task, parameters, wait_for, dependencies)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        inner, self._inner = self._inner, None
        try:
            if inner is not None:
                inner.__exit__(exc_type, exc_value, traceback)
        finally:
            if self._previous_api_url is not None:  # the temporary server ends with the run
                os.environ.pop("PREFECT_API_URL", None)
                if self._previous_api_url:
                    os.environ["PREFECT_API_URL"] = self._previous_api_url
                self._previous_api_url = None
            super().__exit__(exc_type, exc_value, traceback)
