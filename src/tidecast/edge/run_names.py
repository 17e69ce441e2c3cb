"""Flow run names that say what ran (`retrain-h18`), instead of Prefect's random pair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _setting(parameters: dict[str, Any], name: str) -> Any:
    """A setting of the run: its own parameter, else its `settings` parameter's."""
    if parameters.get(name):
        return parameters[name]
    given = parameters.get("settings")
    if isinstance(given, dict):
        return given.get(name)
    return getattr(given, name, None)


def run_name(kind: str) -> Callable[[], str]:
    """The `flow_run_name` of a flow: its kind, its job and, where the run sets it, the
    horizon (`retrain-daily-sales-h28`).

    The forecast flow without a horizon uses its last retrain's, unknown at naming time.
    """

    def name() -> str:
        from prefect.runtime import flow_run

        parameters = flow_run.parameters
        horizon = _setting(parameters, "horizon")
        what = f"{kind}-{_setting(parameters, 'job') or 'default'}"
        if parameters.get("start") and parameters.get("end"):  # a backfill's cutoffs
            what = f"{what}-{parameters['start']}..{parameters['end']}"
        return f"{what}-h{horizon}" if horizon else what

    return name
