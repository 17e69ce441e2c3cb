"""Helpers the tests share: seeded synthetic data, database queries, real databases,
the `tidecast` command as a user runs it, and a shared Prefect server for it.

Fixtures live in tests/conftest.py (which sets Prefect's test environment before anything
imports Prefect); runs of the pipeline in this process in tests/in_process.py. No test
module imports another.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from tidecast.db import init_db, make_engine, replace_observations
from tidecast.edge.server import prefect_server_process
from tidecast.settings import load_settings

POSTGRES_URL = os.environ.get("TIDECAST_TEST_POSTGRES_URL")


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def post_json(url: str, body: object | None = None) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(body or {}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def stop_process(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM to the process's own session (its flow-run children too), SIGKILL after `grace`."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    try:
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its session
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


_SHARED_SERVER = ExitStack()  # closed when the session ends (`_stop_shared_prefect_server`)
_SHARED_API: list[str] = []


def shared_prefect_api() -> str:
    """The API URL of one real Prefect server for this test process's `tidecast` commands,
    started on first use and stopped when the session ends.

    Without one, every command that runs a flow starts Prefect's temporary server: 8-14 s
    of a 14-20 s command on a 6-series panel, measured. A Prefect API that is already
    running is also how tidecast runs in production (`PREFECT_API_URL`); the tests of
    the embedded default pass `temporary_server=True`.
    """
    if not _SHARED_API:
        log = Path(os.environ["PREFECT_HOME"]) / "shared-server.log"
        # a cold first start creates the server's database
        server = _SHARED_SERVER.enter_context(prefect_server_process(log, dict(os.environ)))
        _SHARED_API.append(server.wait_healthy())
        _keep_as_template(Path(os.environ["PREFECT_HOME"]))
    return _SHARED_API[0]


_TEMPLATE_FILES = ("prefect.db", "memo_store.toml")


def _template_home() -> Path:
    return Path(os.environ["PREFECT_HOME"]) / "template-home"


def _keep_as_template(home: Path) -> None:
    """Copy the shared server's database as it is when first healthy (migrated, block
    types registered, no runs yet) and its block-registration memo, for `warm_prefect_home`."""
    template = _template_home()
    template.mkdir(exist_ok=True)
    source = sqlite3.connect(home / "prefect.db")
    copy = sqlite3.connect(template / "prefect.db")
    try:
        source.backup(copy)  # consistent while the server writes (its WAL included)
    finally:
        copy.close()
        source.close()
    if (home / "memo_store.toml").exists():
        shutil.copy(home / "memo_store.toml", template / "memo_store.toml")


def warm_prefect_home(home: Path) -> Path:
    """A Prefect home of its own whose database is already set up, as a user's is from
    their second command on: a server started there skips the migrations and block
    registration a cold home pays for (8-14 s a start against about 5.5 s, measured).
    The tests whose subject is a first start use an empty home instead."""
    shared_prefect_api()  # its first healthy database is the template
    home.mkdir(parents=True, exist_ok=True)
    for name in _TEMPLATE_FILES:
        if (_template_home() / name).exists():
            shutil.copy(_template_home() / name, home / name)
    return home


def tidecast(
    *args: str, cwd, env_extra: dict | None = None, temporary_server: bool = False
) -> subprocess.CompletedProcess:
    """`tidecast ARGS` as a user runs it: a process of its own, with no `TIDECAST_*`
    setting but those in `env_extra` (and one worker, see below).

    Its flow runs go to this process's shared Prefect server (`shared_prefect_api`)
    unless `temporary_server` is set or `env_extra` sets a `PREFECT_*` variable: then
    the command starts Prefect's temporary server, the default a user gets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDECAST_")}
    # The chunks of these small panels run in the CLI's own process: starting a pool of
    # worker processes costs 4-5 s a run. Tests of the pool pass --workers or set it.
    env["TIDECAST_WORKERS"] = "1"
    own_prefect = temporary_server or any(k.startswith("PREFECT_") for k in env_extra or {})
    if not own_prefect:
        env["PREFECT_API_URL"] = shared_prefect_api()
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "tidecast.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


# Small, fast, seeded context for building any model in tests (see Settings.model_context).
MODEL_CONTEXT = {
    "season_length": 12,
    "freq": "MS",
    "horizon": 6,
    "seed": 0,
    "n_jobs": 1,
    "max_steps": 40,
    "max_seconds": 30.0,
}
IN_CI = os.environ.get("CI", "").lower() == "true"


def query(url: str, sql: str, **params) -> pd.DataFrame:
    """The rows of `sql` (with bound `params`) in the database at `url`, as a frame."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    finally:
        engine.dispose()


def runs(url: str) -> pd.DataFrame:
    """Every run row, oldest first."""
    return query(url, "SELECT * FROM forecast_runs ORDER BY started_at")


def fast_lane_runs(values: list, ids: list[str], keep: set[str] | int = 1) -> list:
    """Parameters for `pytest.mark.parametrize`: the full suite runs them all; the fast
    lane (`-m "not slow"`) only those whose id is in `keep` (or the first `keep`), so a
    long family of cases costs the inner loop one or two runs, not all of them."""
    kept = set(ids[:keep]) if isinstance(keep, int) else keep
    assert kept <= set(ids), kept - set(ids)
    return [
        pytest.param(*(value if isinstance(value, tuple) else (value,)), id=name,
                     marks=() if name in kept else pytest.mark.slow)
        for value, name in zip(values, ids, strict=True)
    ]  # fmt: skip


def backtest_of(
    panel: pd.DataFrame,
    models: list[str] | tuple[str, ...],
    *,
    horizon: int = MODEL_CONTEXT["horizon"],
    folds: int = 3,
    chunk_size: int = 1000,
    ensemble_top_k: int = 0,
    covariates=None,
):
    """The pipeline's backtest of `models` (and seasonal naive, always a candidate) on a
    panel of monthly series, run in this process as the flows run it; with `covariates`
    (tidecast.tasks.covariates.Covariates) for the models that use them."""
    from tidecast.tasks.context import RunContext
    from tidecast.tasks.pipeline import InProcess, backtest

    settings = load_settings(
        database_url="sqlite://",
        horizon=horizon,
        folds=folds,
        models=list(models),
        chunk_size=chunk_size,
        workers=1,
        ensemble_top_k=ensemble_top_k,
        train_max_steps=MODEL_CONTEXT["max_steps"],
        train_max_seconds=MODEL_CONTEXT["max_seconds"],
    )
    names = {} if covariates is None else {
        "future_covariates": covariates.future_names, "past_covariates": covariates.past_names
    }  # fmt: skip
    ctx = RunContext(
        settings, "test", MODEL_CONTEXT["season_length"], MODEL_CONTEXT["freq"], **names
    )
    return backtest(ctx, panel, InProcess(), covariates)


def synthetic_panel(
    n_series: int = 6, lengths: tuple[int, ...] = (72, 60, 48), seed: int = 0
) -> pd.DataFrame:
    """Monthly series with trend, yearly season and noise: `series_id`, `ts`, `value`."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        n = lengths[i % len(lengths)]
        t = np.arange(n)
        level = 100 + 10 * i
        values = level + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)
        frames.append(
            pd.DataFrame(
                {
                    "series_id": f"S{i:02d}",
                    "ts": pd.date_range("2015-01-01", periods=n, freq="MS"),
                    "value": values,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def noise_panel(
    n_series: int, length: int, seed: int = 0, start: str = "2020-01-01"
) -> pd.DataFrame:
    """`n_series` monthly series of `length` points of seeded noise around 100, as a
    model panel (`series_id`, `ds`, `y`): short histories for the window models."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "series_id": np.repeat([f"s{i}" for i in range(n_series)], length),
            "ds": np.tile(pd.date_range(start, periods=length, freq="MS"), n_series),
            "y": rng.normal(100, 5, n_series * length),
        }
    )


def as_panel(observations: pd.DataFrame) -> pd.DataFrame:
    """The same data named as the model protocol names it: series_id, ds, y."""
    return observations.rename(columns={"ts": "ds", "value": "y"})


def postgres_database():
    if not POSTGRES_URL:
        message = "TIDECAST_TEST_POSTGRES_URL is not set (PostgreSQL tests)"
        if IN_CI:
            pytest.fail(message + " under CI=true")
        pytest.skip(message)
    name = f"tidecast_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_engine(POSTGRES_URL).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_engine(POSTGRES_URL).url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# For a test whose subject is not the database (a server's lifecycle, deployments), one
# database instead of `db_url`'s two: the embedded default, or production's PostgreSQL.
ON_SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ON_POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def load_observations(url: str, observations: pd.DataFrame) -> str:
    """Create tidecast's tables in `url` and put `observations` in; returns `url`."""
    engine = make_engine(url)
    init_db(engine)
    replace_observations(engine, observations)
    engine.dispose()
    return url


# Three jobs in one database (tests/flows/test_jobs.py, tests/tidecast/test_serve.py):
# daily, weekly and monthly series under the same ids, each job reading its own table.
THREE_JOBS = """\
jobs:
  - name: daily
    source_table: daily_obs
    freq: D
    horizon: 7
    unit: orders
  - name: weekly
    source_table: weekly_obs
    freq: W-MON
    season_length: 4
    horizon: 4
  - name: monthly
    source_table: monthly_obs
    freq: MS
    horizon: 6
    unit: EUR
"""


def _job_panel(freq: str, start: str, periods: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=periods, freq=freq)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "series_id": f"S{i:02d}",
                    "ts": stamps,
                    "value": 50 + i + rng.normal(0, 1, periods),
                }
            )
            for i in range(4)  # the same ids in every job
        ],
        ignore_index=True,
    )


def three_job_database(url: str, directory: Path) -> Path:
    """Load the three jobs' source tables into `url`; write their jobs file into
    `directory` and return its path."""
    engine = make_engine(url)
    init_db(engine)
    sources = {
        "daily_obs": _job_panel("D", "2026-01-01", 90, 1),
        "weekly_obs": _job_panel("W-MON", "2024-01-01", 60, 2),
        "monthly_obs": synthetic_panel(n_series=4, lengths=(48,)),
    }
    for name, frame in sources.items():
        frame.to_sql(name, engine, index=False)
    engine.dispose()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tidecast.yaml"
    path.write_text(THREE_JOBS)
    return path


def covariate_rows(observations: pd.DataFrame, horizon: int = 6, seed: int = 0) -> pd.DataFrame:
    """Covariates of a monthly panel, as a covariate source returns them: `promo`
    (future, one series' own, through `horizon` months past its end) and `footfall`
    (past, to its end); `series_id`, `ts`, `name`, `value`, `kind`, `known_at` (NULL)."""
    rng = np.random.default_rng(seed)
    frames = []
    for sid, rows in observations.groupby("series_id", sort=True):
        start, end = rows["ts"].min(), rows["ts"].max()
        ahead = pd.date_range(start, end + pd.DateOffset(months=horizon), freq="MS")
        seen = pd.date_range(start, end, freq="MS")
        promo = (rng.random(len(ahead)) < 0.25).astype(float)
        footfall = rng.normal(100, 10, len(seen)).round(1)
        frames += [
            pd.DataFrame({"series_id": sid, "ts": ahead, "name": "promo", "value": promo,
                          "kind": "future"}),
            pd.DataFrame({"series_id": sid, "ts": seen, "name": "footfall", "value": footfall,
                          "kind": "past"}),
        ]  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    return out.assign(known_at=pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]"))


def covariates_of(rows: pd.DataFrame):
    """`covariate_rows`-like rows as validated covariates (tidecast.tasks.covariates)."""
    from tidecast.tasks.covariates import Covariates

    values = rows.rename(columns={"ts": "ds"})[["series_id", "ds", "name", "value", "known_at"]]
    kinds = dict(rows.groupby("name", sort=True)["kind"].first())
    return Covariates(values.reset_index(drop=True), kinds, rows_read=len(rows))


NOBODY = 65534


@contextmanager
def unable_to_write(directory: Path):
    """`directory` read-only for this process; as root, by acting as `nobody` meanwhile."""
    directory.chmod(0o555)
    try:
        if os.geteuid() == 0:
            os.setegid(NOBODY)
            os.seteuid(NOBODY)
            try:
                yield
            finally:
                os.seteuid(0)
                os.setegid(0)
        else:
            yield
    finally:
        directory.chmod(0o755)
