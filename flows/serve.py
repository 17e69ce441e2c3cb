"""`tidecast serve`: both flows on their schedules in one long-running process.

Prefect's temporary server cannot run schedules, so when no Prefect API is configured,
serve starts a real local Prefect server on 127.0.0.1 first (`tidecast.edge.server`),
waits until it is healthy, and stops it on exit (SIGTERM, Ctrl-C or an error). Its
output goes to `$PREFECT_HOME/tidecast-serve-server.log`.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from typing import Any

from tidecast.edge.server import healthy, local_prefect_server, server_log_path
from tidecast.errors import TidecastError
from tidecast.progress import report
from tidecast.settings import Settings


def _schedule(cron: str, every_seconds: float | None, timezone: str) -> Any:
    from prefect.schedules import Cron, Interval

    if every_seconds:
        return Interval(timedelta(seconds=every_seconds))
    return Cron(cron, timezone=timezone)


def serve_flows(
    jobs: list[Settings],
    flags: dict[str, Any],
    retrain_every: float | None = None,
    forecast_every: float | None = None,
) -> str:
    """Serve every job's `retrain` and `forecast` on the job's schedules until SIGTERM or
    Ctrl-C: deployments `retrain/<job>` and `forecast/<job>`.

    `flags` (the settings the command line gave, without the database URL) and the job
    become each deployment's `settings` parameter; each run builds the job's settings
    from them, the jobs file and the environment. `*_every` (seconds) replace the cron
    schedules, for trying things out.
    """
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        if not healthy(PREFECT_API_URL.value().rstrip("/")):
            raise TidecastError(
                f"the Prefect server at PREFECT_API_URL={PREFECT_API_URL.value()} does not "
                "answer; start it, or unset PREFECT_API_URL to let serve start a local one"
            )
        report("serve", f"using the Prefect server at {PREFECT_API_URL.value()}")
        _serve(jobs, flags, retrain_every, forecast_every)
        return "stopped serving"
    report(
        "serve",
        "no PREFECT_API_URL is set and Prefect's temporary server cannot run schedules: "
        "starting a local Prefect server on 127.0.0.1 (it stops when serve stops) ...",
    )
    log = server_log_path()
    with local_prefect_server(log=log) as api_url:
        report("serve", f"local Prefect server ready at {api_url} (its log: {log})")
        from prefect.settings import temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url}):
            _serve(jobs, flags, retrain_every, forecast_every)
    return "stopped serving; the local Prefect server is stopped"


def _serve(
    jobs: list[Settings],
    flags: dict[str, Any],
    retrain_every: float | None,
    forecast_every: float | None,
) -> None:
    from prefect import serve
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    from tidecast.flows.forecast import forecast_flow
    from tidecast.flows.retrain import retrain

    # One run of each at a time; one asked for while another runs is cancelled, not queued
    # (the running retrain already covers every series), as in prefect.yaml.
    one_at_a_time = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    deployments = []
    for settings in jobs:
        job = settings.job
        given = {**flags, "job": job}
        if settings.jobs_file is not None:
            given["jobs_file"] = str(settings.jobs_file)
        zone = settings.schedule_timezone
        retrain_when = _schedule(settings.retrain_cron, retrain_every, zone)
        forecast_when = _schedule(settings.forecast_cron, forecast_every, zone)
        deployments += [
            retrain.to_deployment(
                name=job,
                parameters={"settings": given},
                concurrency_limit=one_at_a_time,
                paused=False,
                schedule=retrain_when,
                triggers=[retrain_on_degradation(job)],
            ),
            forecast_flow.to_deployment(
                name=job,
                parameters={"settings": given},
                concurrency_limit=one_at_a_time,
                paused=False,
                schedule=forecast_when,
            ),
        ]
        report(
            "serve",
            f"job {job}: retrain/{job} {_describe(retrain_when)}; "
            f"forecast/{job} {_describe(forecast_when)}",
        )
    report("serve", "serving; SIGTERM or Ctrl-C stops")
    # SIGTERM (systemd, docker stop, kill) ends serve the way Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve(*deployments, print_starting_message=False)
    except KeyboardInterrupt:
        report("serve", "stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)


def retrain_on_degradation(job: str) -> Any:
    """The trigger that runs the job's retrain when one of the job's forecast runs
    publishes degraded accuracy: at once, then at most once a day however many forecast
    runs say so (as in prefect.yaml)."""
    from prefect.events import DeploymentEventTrigger

    from tidecast.tasks.monitor import DEGRADED_EVENT

    return DeploymentEventTrigger(
        expect={DEGRADED_EVENT},
        match={"prefect.resource.id": "tidecast.run.*", "tidecast.job": job},
        threshold=1,
        within=timedelta(days=1),
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _describe(when: Any) -> str:
    if getattr(when, "interval", None):
        return f"every {when.interval.total_seconds():g} s"
    return f"cron {when.cron!r} ({when.timezone})"
