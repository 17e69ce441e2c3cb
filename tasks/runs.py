"""The run record: one `forecast_runs` row per run, from `running` to `completed` or `failed`."""

from __future__ import annotations

import json
import uuid
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from tidecast.db import (
    connected,
    describe_db_error,
    init_db,
    make_engine,
    utcnow,
)
from tidecast.errors import TidecastError
from tidecast.progress import report
from tidecast.runlock import RunLock, refusal, try_run_lock
from tidecast.settings import Settings
from tidecast.sql.tables import forecast_runs


def code_version() -> str:
    try:
        return version("tidecast")
    except PackageNotFoundError:
        return "unknown"


ORPHANED = (
    "orphaned: the process running it stopped before finishing (killed or crashed); "
    "marked failed by run {run_id}, which found the database's run lock free"
)
_LOCKS: dict[str, RunLock] = {}  # run id -> the run lock it holds, released by close_run


def open_run(
    settings: Settings,
    flow_name: str,
    parameters: dict[str, Any],
    prefect_flow_run_id: str | None = None,
) -> str:
    """Create the tables if needed, take the job's run lock, and record the run.

    One writing run per job at a time (jobs never wait for each other): when another run
    of the job holds the lock, this one is recorded as `failed` with a message naming the
    other, and `TidecastError` says so. Holding the lock, any run of the job still
    `running` is an orphan (its process died, which released the lock) and is marked
    `failed`. Returns the new run id.
    """
    run_id = str(uuid.uuid4())
    now = utcnow()
    row = {
        "run_id": run_id,
        "job": settings.job,
        "unit": settings.unit,
        "prefect_flow_run_id": prefect_flow_run_id,
        "flow_name": flow_name,
        "started_at": now,
        "parameters": json.loads(json.dumps(parameters, default=str)),
        "code_version": code_version(),
    }
    engine = make_engine(settings.database_url)
    lock, refused = None, None
    try:
        init_db(engine, auto_migrate=settings.auto_migrate)
        lock = try_run_lock(settings.database_url, settings.job)
        with engine.begin() as conn:
            if lock is None:
                refused = refusal(conn, f"this {flow_name} run", settings.job)
                conn.execute(
                    forecast_runs.insert().values(
                        **row, status="failed", finished_at=now, message=refused
                    )
                )
            else:
                orphans = conn.execute(
                    update(forecast_runs)
                    .where(forecast_runs.c.status == "running")
                    .where(forecast_runs.c.job == settings.job)
                    .values(
                        status="failed", finished_at=now, message=ORPHANED.format(run_id=run_id)
                    )
                ).rowcount
                if orphans:
                    report("run", f"{orphans} orphaned run(s) marked failed")
                conn.execute(forecast_runs.insert().values(**row, status="running"))
    except OperationalError as exc:
        if lock is not None:
            lock.release()
        raise describe_db_error(settings.database_url, exc) from None
    finally:
        engine.dispose()
    if refused:
        raise TidecastError(refused)
    _LOCKS[run_id] = lock
    return run_id


def close_run(
    settings: Settings,
    run_id: str,
    status: str,
    stage_seconds: dict[str, float] | None = None,
    **fields: Any,
) -> None:
    """Mark the run `completed` or `failed` (counts, message, stage timings); release the lock."""
    try:
        with connected(settings.database_url, write=True) as conn:
            conn.execute(
                update(forecast_runs)
                .where(forecast_runs.c.run_id == run_id)
                .values(
                    status=status,
                    finished_at=utcnow(),
                    stage_seconds=stage_seconds or None,
                    **fields,
                )
            )
    finally:
        lock = _LOCKS.pop(run_id, None)
        if lock is not None:
            lock.release()
