"""A local Prefect server process: for `tidecast serve` when no Prefect API is configured
(Prefect's temporary server cannot run schedules), and for the tests' shared server.

The server runs on 127.0.0.1 in its own session; its output goes to a file
(`$PREFECT_HOME/tidecast-serve-server.log` for serve), never to a pipe.
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
from pathlib import Path

from tidecast.errors import TidecastError

SERVER_START_SECONDS = 180  # a cold first start creates the server's database


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(api_url: str) -> bool:
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
        while not healthy(self.api_url):
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
    # (edge.prefect_logs.quiet_prefect_console); the server writes to its own file, at its own
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
