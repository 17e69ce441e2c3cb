"""The run record: one `forecast_runs` row per run, from `running` to `completed` or `failed`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd
from prefect.runtime import flow_run
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from sql.tables import forecast_runs
from tasks.options import io_task, stage_seconds
from tidecast.db import connected, describe_db_error, init_db, make_engine, read_frame
from tidecast.settings import Settings


def utcnow() -> datetime:
    """Naive UTC: what both SQLite and PostgreSQL `TIMESTAMP` columns store without surprises."""
    return datetime.now(UTC).replace(tzinfo=None)


def code_version() -> str:
    try:
        return version("tidecast")
    except PackageNotFoundError:
        return "unknown"


def open_run(settings: Settings, flow_name: str, parameters: dict[str, Any]) -> str:
    """Create the tables if needed and record a new run as `running`; returns its run id."""
    run_id = str(uuid.uuid4())
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with engine.begin() as conn:
            conn.execute(
                forecast_runs.insert().values(
                    run_id=run_id,
                    prefect_flow_run_id=flow_run.get_id(),
                    flow_name=flow_name,
                    status="running",
                    started_at=utcnow(),
                    parameters=json.loads(json.dumps(parameters, default=str)),
                    code_version=code_version(),
                )
            )
    except OperationalError as exc:
        raise describe_db_error(settings.database_url, exc) from None
    finally:
        engine.dispose()
    return run_id


def close_run(settings: Settings, run_id: str, status: str, **fields: Any) -> None:
    """Mark the run `completed` or `failed`, with its counts, message and stage timings."""
    with connected(settings.database_url, write=True) as conn:
        conn.execute(
            update(forecast_runs)
            .where(forecast_runs.c.run_id == run_id)
            .values(
                status=status,
                finished_at=utcnow(),
                stage_seconds=stage_seconds(flow_run.get_id()) or None,
                **fields,
            )
        )


def read_runs(settings: Settings) -> pd.DataFrame:
    """All run rows, oldest first (for the CLI and tests)."""
    return read_frame(
        settings.database_url, select(forecast_runs).order_by(forecast_runs.c.started_at)
    )


start_run = io_task(open_run, "start-run")
finish_run = io_task(close_run, "finish-run")
