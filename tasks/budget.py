"""A wall-time budget for one model's fit and forecast on one chunk of series.

The work runs in a daemon thread and the caller waits at most `seconds` for it. Why a
thread and not a process: a process would have to pickle the model and the panel (or
fork a process that already holds torch and statsforecast state) for every fold, which
costs more than many fits. The price is that a thread cannot be killed: an abandoned
fit keeps running in the background until it returns on its own. A time budget accepts
that — the run goes on without that model's forecasts and its series fall back — and
the torch models stop themselves anyway at `TIDECAST_TRAIN_MAX_SECONDS`. Being a
daemon, a thread still stuck when the run ends does not keep the process alive.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ModelTimeoutError(TimeoutError):
    """A model did not finish within its time budget and was abandoned."""


def call_with_budget(fn: Callable[[], T], seconds: float | None, what: str) -> T:
    """`fn()`, or `ModelTimeoutError` when it has not returned after `seconds`.

    `what` names the work in the message, e.g. "auto_ets on chunk 1 fold 0". An exception
    raised by `fn` is re-raised here unchanged. `seconds` None runs `fn` inline, unbounded.
    """
    if seconds is None:
        return fn()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread, re-raised there
            outcome["error"] = exc

    # The caller's context (Prefect's run context, for one) follows the work into the thread.
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run, args=(target,), name=f"tidecast budget: {what}", daemon=True
    )
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise ModelTimeoutError(f"{what} exceeded its time budget of {seconds:g}s; abandoned")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
