"""`tidecast serve`: both flows on their schedules in one long-running process.

Prefect's temporary server cannot run schedules, so when no Prefect API is configured,
serve starts a real local Prefect server on 127.0.0.1 first, waits until it is healthy,
and stops it on exit (SIGTERM, Ctrl-C or an error). Its output goes to
`$PREFECT_HOME/tidecast-serve-server.log`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tidecast.errors import TidecastError
from tidecast.progress import report
from tidecast.settings import Settings

SERVER_START_SECONDS = 180  # a cold first start creates the server's database


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


_URL_PASSWORD = re.compile(r"://([^:/@\s]+):\S+@")
SERVER_LOG = "tidecast-serve-server.log"  # in PREFECT_HOME, beside the server's database


def server_log_path() -> Path:
    """Where `tidecast serve`'s local Prefect server writes its output."""
    from prefect.settings import Settings

    # read afresh, as the server process will read it (PREFECT_HOME.value() is cached)
    return Path(Settings().home) / SERVER_LOG


@dataclass
class LocalServer:
    """A `prefect server start` process, its API URL and the file its output goes to."""

    process: subprocess.Popen
    api_url: str
    log: Path

    def wait_healthy(self, seconds: float = SERVER_START_SECONDS) -> str:
        """Waits until /api/health answers and returns the API URL; raises
        `TidecastError` naming the log if the server exits or is not healthy in time."""
        deadline = time.monotonic() + seconds
        while not _healthy(self.api_url):
            if self.process.poll() is not None:
                # its last words on one line (rich wraps them at the terminal's width),
                # without the password of any URL in them (its database's, say)
                said = _URL_PASSWORD.sub(r"://\1:***@", self.log.read_text(errors="replace"))
                tail = " ".join(said.split()[-40:])
                raise TidecastError(
                    f"the local Prefect server did not start (exit code "
                    f"{self.process.returncode}); its log {self.log} ends: {tail}"
                )
            if time.monotonic() > deadline:
                raise TidecastError(
                    f"the local Prefect server at {self.api_url} was not healthy after "
                    f"{seconds:g} s (its log: {self.log}); set PREFECT_API_URL to a running "
                    "server instead"
                )
            time.sleep(0.5)
        return self.api_url


@contextmanager
def prefect_server_process(
    log: Path, env: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[LocalServer]:
    """`prefect server start` on 127.0.0.1 (a free port unless `port`) for as long as the
    block runs, its stdout and stderr in the file `log` (replaced; the previous one kept
    as `log.1`). Does not wait for it: the caller calls `wait_healthy`.

    Its output goes to a file, not a pipe: a pipe that nobody reads fills (64 KiB on
    Linux) and then blocks the server's next write, and with it every request; a server
    logging at DEBUG stopped answering after 464 requests that way. It runs in its own
    session, so stopping it never signals this process, and it is stopped (SIGTERM,
    then SIGKILL after 30 s) whatever way the block ends.
    """
    port = port or _free_port()
    env = {**(os.environ if env is None else env)}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    env.pop("PREFECT_API_URL", None)
    # The CLI turns Prefect's console handler down to CRITICAL to keep its terminal quiet
    # (cli._quiet_prefect_console); the server writes to its own file, at its own
    # PREFECT_SERVER_LOGGING_LEVEL (WARNING unless set), so its warnings are kept.
    env.pop("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", None)
    command = [
        sys.executable, "-m", "prefect", "server", "start",
        "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--analytics-off",
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))
    with log.open("w") as output:
        server = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield LocalServer(server, f"http://127.0.0.1:{port}/api", log)
    finally:
        _stop(server)


@contextmanager
def local_prefect_server(port: int | None = None, log: Path | None = None) -> Iterator[str]:
    """A healthy Prefect server on 127.0.0.1 for as long as the block runs; yields its
    API URL. Its output goes to `log` (by default `server_log_path()`)."""
    with prefect_server_process(log or server_log_path(), port=port) as server:
        yield server.wait_healthy()


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


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
        if not _healthy(PREFECT_API_URL.value().rstrip("/")):
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
    from datetime import timedelta

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
