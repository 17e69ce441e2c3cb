"""The pipeline's steps as Prefect tasks.

The pipeline (`tidecast.tasks.pipeline`) is written once, against the small `Steps`
protocol; `PrefectSteps` is its Prefect implementation:
- every step is a Prefect task named like its function (`promote_champions` runs as
  `promote-champions`), never cached (frames are passed in memory, not hashed);
- steps that talk to the database are retried, on outages only, as the run's settings say;
- fan-out (`map`) submits one task per chunk through the flow's task runner (threads,
  processes or a Dask cluster), results in chunk order;
- each step's wall time is kept per flow run, for the run row's `stage_seconds`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from tidecast.errors import DatabaseUnavailableError, should_retry
from tidecast.settings import Settings
from tidecast.tasks.pipeline import handed_on

T = TypeVar("T")

# flow run id -> {stage: seconds}. Filled in the flow's process; a long-lived `serve`
# process keeps only the most recent runs.
_STAGE_SECONDS: OrderedDict[str, dict[str, float]] = OrderedDict()
_KEEP_RUNS = 100
_lock = threading.Lock()


def record_stage(name: str, seconds: float) -> None:
    """Add `seconds` to stage `name` of the current flow run (nothing outside a flow run)."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    with _lock:
        stages = _STAGE_SECONDS.setdefault(run_id, {})
        stages[name] = stages.get(name, 0.0) + seconds
        while len(_STAGE_SECONDS) > _KEEP_RUNS:
            _STAGE_SECONDS.popitem(last=False)


def stage_seconds(flow_run_id: str | None) -> dict[str, float]:
    """Wall seconds of each stage of this flow run so far (retries included), in run order."""
    with _lock:
        return {name: round(s, 3) for name, s in _STAGE_SECONDS.get(flow_run_id or "", {}).items()}


def task_name(fn: Callable) -> str:
    """A step's task name: its function's, in Prefect's kebab case."""
    return fn.__name__.replace("_", "-")


@functools.cache
def compute_task(fn: Callable) -> Task:
    """The task of a step that computes: no cache key, no retries."""
    return task(fn, name=task_name(fn), cache_policy=NO_CACHE)


@functools.cache
def io_task(fn: Callable) -> Task:
    """The task of a step that talks to the database: retried when the database is
    unavailable (`errors.should_retry`), and its failure names the step."""

    @functools.wraps(fn)
    def naming_the_step(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailableError as exc:  # the run row says which step lost it
            raise DatabaseUnavailableError(f"{task_name(fn)}: {exc}") from None

    return task(
        naming_the_step,
        name=task_name(fn),
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=5,
        retry_condition_fn=should_retry,
    )


class PrefectSteps:
    """`Steps` as Prefect tasks, retried and timed as the run's settings say."""

    def __init__(self, settings: Settings) -> None:
        # Exponential backoff: a database restarting or failing over gets 5, 10, 20 s …
        delays = [
            settings.io_retry_delay_seconds * 2**attempt for attempt in range(settings.io_retries)
        ]
        self._io_options = {"retries": settings.io_retries, "retry_delay_seconds": delays or 0}

    def _timed(self, stage: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return call()
        finally:
            record_stage(stage, time.perf_counter() - started)

    def step(self, fn: Callable[..., T], *args: Any, stage: str | None = None, **kwargs: Any) -> T:
        return self._timed(stage or task_name(fn), lambda: compute_task(fn)(*args, **kwargs))

    def io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        retried = io_task(fn).with_options(**self._io_options)
        return self._timed(task_name(fn), lambda: retried(*args, **kwargs))

    def map(
        self,
        fn: Callable[[Any], T],
        items: Sequence[Any],
        stage: str,
        each: Callable[[T], Any] | None = None,
    ) -> list[T]:
        # The chunks may run in other processes or machines: their time is the wall time
        # of all of them together, measured here.
        def submitted() -> list[T]:
            futures: list[Any] = [compute_task(fn).submit(item) for item in items]

            def results() -> Iterator[T]:
                for number in range(len(futures)):
                    # nothing here keeps a result once it has been handed on
                    future, futures[number] = futures[number], None
                    yield future.result()

            return handed_on(results(), each)

        return self._timed(stage, submitted)
