"""Flow run names that say what ran (`retrain-h18`), instead of Prefect's random pair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _horizon(parameters: dict[str, Any]) -> int | None:
    if parameters.get("horizon"):
        return parameters["horizon"]
    given = parameters.get("settings")
    if isinstance(given, dict):
        return given.get("horizon")
    return getattr(given, "horizon", None)


def run_name(kind: str) -> Callable[[], str]:
    """The `flow_run_name` of a flow: its kind and, where the run sets it, the horizon.

    The forecast flow without a horizon uses its last retrain's, unknown at naming time.
    """

    def name() -> str:
        from prefect.runtime import flow_run

        parameters = flow_run.parameters
        horizon = _horizon(parameters)
        what = kind
        if parameters.get("start") and parameters.get("end"):  # a backfill's cutoffs
            what = f"{kind}-{parameters['start']}..{parameters['end']}"
        return f"{what}-h{horizon}" if horizon else what

    return name
