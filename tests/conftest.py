"""Shared fixtures: quiet offline Prefect, a seeded synthetic panel, and real databases
(the helpers they use, and tests use, are in tests/helpers.py).

Database tests take the `db_url` fixture and run twice: on a SQLite file and on a fresh
database on the PostgreSQL server named by TIDECAST_TEST_POSTGRES_URL (`.ci/run` starts
one). Without that variable the PostgreSQL half is skipped, except under CI=true, where
it fails.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile

# Prefect reads its settings at import: quiet, offline and isolated from ~/.prefect.
_PREFECT_TEST_ENV = {
    "PREFECT_HOME": tempfile.mkdtemp(prefix="tidecast-prefect-"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_CLI_PROMPT": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_API_URL": "",
}
for _key, _value in _PREFECT_TEST_ENV.items():
    if _key == "PREFECT_API_URL":
        os.environ.pop(_key, None)
    else:
        os.environ[_key] = _value

# Two pytest-xdist workers share the cores: each runs its model fits on one thread, as
# tidecast's own pool workers do (torch, OpenMP and BLAS pools of two processes on the
# same cores spin instead of working, and a fit then runs into its time cap).
if os.environ.get("PYTEST_XDIST_WORKER"):
    from tidecast.edge.runners import single_threaded

    single_threaded()

# Chunk tasks on the flow's own thread: a process pool per flow run would add seconds of
# worker start-up to every flow test. tests/flows/test_runners.py runs the process pool
# and the Dask cluster.
os.environ["TIDECAST_WORKERS"] = "1"

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tests.helpers import (  # noqa: E402
    _SHARED_SERVER,
    as_panel,
    load_observations,
    postgres_database,
    synthetic_panel,
)
from tidecast.settings import Settings, load_settings  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _stop_shared_prefect_server():
    yield
    _SHARED_SERVER.close()


@pytest.fixture
def observations() -> pd.DataFrame:
    return synthetic_panel()


@pytest.fixture
def panel(observations) -> pd.DataFrame:
    return as_panel(observations)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tidecast.db'}"
    else:
        yield from postgres_database()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database, for the tests only PostgreSQL can host."""
    yield from postgres_database()


@pytest.fixture
def settings_for():
    def build(url: str, **overrides) -> Settings:
        return load_settings(database_url=url, **overrides)

    return build


@pytest.fixture
def loaded_db(db_url, observations):
    """A database with the tables created and the synthetic observations loaded."""
    return load_observations(db_url, observations)


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every flow test in the session, without flow-run
    heartbeats: a flow call otherwise waits up to a second at its end for the heartbeat
    thread to stop (an in-process retrain of 6 series took 0.8 s without them against
    1.1-2.1 s with them; the flow and retrain tests ran 11% faster). Heartbeats only tell
    Prefect's server that a run is alive; nothing in tidecast reads them, and the flows
    run from the command line and by `tidecast serve` in these tests keep theirs."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


def _environment_for_runs(monkeypatch, tmp_path):
    def use(url: str, **env: str) -> None:
        monkeypatch.setenv("TIDECAST_DATABASE_URL", url)
        monkeypatch.setenv("TIDECAST_IO_RETRY_DELAY_SECONDS", "0")
        monkeypatch.setenv("TIDECAST_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
        # The baselines keep flow tests fast; tests/flows/test_zoo.py runs the whole zoo.
        monkeypatch.setenv("TIDECAST_MODELS", "naive,seasonal_naive")
        monkeypatch.setenv("TIDECAST_N_JOBS", "1")
        for key, value in env.items():
            monkeypatch.setenv(f"TIDECAST_{key.upper()}", value)

    return use


@pytest.fixture
def run_env(monkeypatch, prefect_harness, tmp_path):
    """Point flows (which read `TIDECAST_*` at their entry) at a database; fast I/O retries."""
    return _environment_for_runs(monkeypatch, tmp_path)


@pytest.fixture
def pipeline_env(monkeypatch, tmp_path):
    """`run_env` for the runs of tests/in_process.py, which need no Prefect server."""
    return _environment_for_runs(monkeypatch, tmp_path)


@pytest.fixture
def cli(monkeypatch, capsys, prefect_harness):
    """`tidecast ARGS` in this process (`tidecast.cli.main`, what the command runs): its exit
    code and what it printed, as a `subprocess.CompletedProcess`; no `TIDECAST_*` setting
    but those in `env_extra`, flows on the session's Prefect server. A process of its own
    costs seconds of start-up: `tests.helpers.tidecast` is kept for what needs one
    (signals, child processes, the environment a process inherits)."""
    from tidecast import cli as command
    from tidecast.edge.prefect_logs import PREFECT_DEFAULTS

    # what `main` sets in the environment (its defaults, and the console level it turns
    # down) is put back after the test: the `tidecast` processes later tests start in this
    # worker inherit its environment (a leaked console level hid Prefect's own lines)
    for key in [*PREFECT_DEFAULTS, "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"]:
        monkeypatch.setenv(key, os.environ.get(key, PREFECT_DEFAULTS.get(key, "")))
        if key not in PREFECT_DEFAULTS and key not in os.environ:
            monkeypatch.delenv(key)
    for key in [k for k in os.environ if k.startswith("TIDECAST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TIDECAST_WORKERS", "1")
    logger = logging.getLogger("tidecast")
    kept = (list(logger.handlers), logger.level, logger.propagate)

    def run(*args: str, cwd=None, env_extra: dict | None = None) -> subprocess.CompletedProcess:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        for key, value in (env_extra or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            code = command.main(list(args))
        except SystemExit as exc:  # argparse's usage errors exit the process with 2
            code = exc.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["tidecast", *args], code, out, err)

    yield run
    logger.handlers[:], logger.level, logger.propagate = kept
