"""How tidecast's tasks are wrapped for Prefect: no input hashing, retries only on I/O,
and each task's wall time kept per flow run for the run row (`forecast_runs.stage_seconds`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from tidecast.errors import DatabaseUnavailableError, should_retry

# flow run id -> {task name: seconds}. Filled in the process that runs the task; a
# long-lived `serve` process keeps only the most recent runs.
_STAGE_SECONDS: OrderedDict[str, dict[str, float]] = OrderedDict()
_KEEP_RUNS = 100
_lock = threading.Lock()


def _timed(fn: Callable, name: str) -> Callable:
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            run_id = flow_run.get_id()
            if run_id is not None:  # called as a plain function (tests): nothing to record
                with _lock:
                    stages = _STAGE_SECONDS.setdefault(run_id, {})
                    stages[name] = stages.get(name, 0.0) + time.perf_counter() - started
                    while len(_STAGE_SECONDS) > _KEEP_RUNS:
                        _STAGE_SECONDS.popitem(last=False)

    return timed


def stage_seconds(flow_run_id: str | None) -> dict[str, float]:
    """Wall seconds of each task of this flow run so far (retries included), in run order."""
    with _lock:
        return {name: round(s, 3) for name, s in _STAGE_SECONDS.get(flow_run_id or "", {}).items()}


def compute_task(fn: Callable, name: str) -> Task:
    """A task for pure computation; frames are passed in memory, never hashed for a cache key."""
    return task(_timed(fn, name), name=name, cache_policy=NO_CACHE)


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
