"""How tidecast's tasks are wrapped for Prefect: no input hashing, retries only on I/O."""

from __future__ import annotations

from collections.abc import Callable

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from tidecast.errors import should_retry


def compute_task(fn: Callable, name: str) -> Task:
    """A task for pure computation; frames are passed in memory, never hashed for a cache key."""
    return task(fn, name=name, cache_policy=NO_CACHE)


def io_task(fn: Callable, name: str) -> Task:
    """A task that talks to the database: retried with a delay when the database is unavailable.

    The flow sets the retry count and delay from the run's settings with `with_options`.
    """
    return task(
        fn,
        name=name,
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=5,
        retry_condition_fn=should_retry,
    )
