"""How tidecast's tasks are wrapped for Prefect: no input hashing, retries only on I/O,
and each task's wall time kept per flow run for the run row (`forecast_runs.stage_seconds`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from tidecast.errors import DatabaseUnavailableError, should_retry

# flow run id -> {task name: seconds}. Filled in the process that runs the task; a
# long-lived `serve` process keeps only the most recent runs.
_STAGE_SECONDS: OrderedDict[str, dict[str, float]] = OrderedDict()
_KEEP_RUNS = 100
_lock = threading.Lock()


def record_stage(name: str, seconds: float) -> None:
    """Add `seconds` to stage `name` of the current flow run (nothing outside a flow run)."""
    run_id = flow_run.get_id()
    if run_id is None:  # called as a plain function (tests): nothing to record
        return
    with _lock:
        stages = _STAGE_SECONDS.setdefault(run_id, {})
        stages[name] = stages.get(name, 0.0) + seconds
        while len(_STAGE_SECONDS) > _KEEP_RUNS:
            _STAGE_SECONDS.popitem(last=False)


def _timed(fn: Callable, name: str) -> Callable:
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            record_stage(name, time.perf_counter() - started)

    return timed


def stage_seconds(flow_run_id: str | None) -> dict[str, float]:
    """Wall seconds of each task of this flow run so far (retries included), in run order."""
    with _lock:
        return {name: round(s, 3) for name, s in _STAGE_SECONDS.get(flow_run_id or "", {}).items()}


def compute_task(fn: Callable, name: str, stage: str | None = None) -> Task:
    """A task for pure computation; frames are passed in memory, never hashed for a cache key.

    Its wall time counts towards `stage` (default: its own name) on the run row.
    """
    return task(_timed(fn, stage or name), name=name, cache_policy=NO_CACHE)


def chunk_task(fn: Callable, name: str) -> Task:
    """A task run once per chunk of series through the flow's task runner (`run_chunks`).

    It may run in another process or on another machine, so its time is not recorded
    here: `run_chunks` records the wall time of all chunks together in the flow's process.
    """
    return task(fn, name=name, cache_policy=NO_CACHE)


def run_chunks(chunk_work: Task, chunks: Sequence, stage: str) -> list:
    """`chunk_work` on every chunk, submitted through the flow's task runner (threads,
    processes or a Dask cluster), results in chunk order; the wall time counts to `stage`.
    """
    started = time.perf_counter()
    try:
        futures = [chunk_work.submit(chunk) for chunk in chunks]
        return [future.result() for future in futures]
    finally:
        record_stage(stage, time.perf_counter() - started)


def io_task(fn: Callable, name: str) -> Task:
    """A task that talks to the database: retried with a delay when the database is unavailable.

    The flow sets the retry count and delay from the run's settings with `with_options`.
    """

    @functools.wraps(fn)
    def naming_the_stage(*args, **kwargs):
        # The run row and the CLI then say which step lost the database.
        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailableError as exc:
            raise DatabaseUnavailableError(f"{name}: {exc}") from None

    return task(
        _timed(naming_the_stage, name),
        name=name,
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=5,
        retry_condition_fn=should_retry,
    )
