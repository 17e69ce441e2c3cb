"""One writing run per job at a time, released by the operating system if the run dies.

Jobs sharing a database never wait for each other; two runs of one job never overlap.
PostgreSQL: a session-level advisory lock (keyed by the job) on a connection the run
keeps open. SQLite: an exclusive `flock` on a file beside the database file, named after
the job (symlinks resolved). Both vanish with
the process that held them, so a run killed mid-write never blocks the next one, and the
next one knows that any run still marked `running` is an orphan.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from tidecast.db import make_engine
from tidecast.errors import TidecastError
from tidecast.jobs import of_job
from tidecast.sql.tables import forecast_runs

# 'tide' as a big-endian 32-bit integer: the first advisory lock key of tidecast's runs;
# the second is the job's (a CRC-32 of its name, so the same on every client).
ADVISORY_KEY = int.from_bytes(b"tide", "big")


def job_key(job: str) -> int:
    """The job's advisory lock key: its name's CRC-32, as PostgreSQL's signed integer."""
    return int.from_bytes(zlib.crc32(job.encode()).to_bytes(4, "big"), "big", signed=True)


@dataclass
class RunLock:
    connection: Connection | None = None
    fd: int | None = None

    def release(self) -> None:
        if self.connection is not None:
            engine = self.connection.engine
            self.connection.close()  # ends the session, which releases the advisory lock
            engine.dispose()
            self.connection = None
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


def lock_path(database: str, job: str) -> str:
    """The job's lock file of a SQLite database file: beside the file, symlinks resolved.

    Keyed by the resolved file, not by how the URL spells it, so the same database
    reached through a symlink or a relative path still has one writer at a time.
    """
    return f"{os.path.realpath(database)}.{job}.run-lock"


def _open_lock_file(path: str) -> int:
    try:
        return os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    except OSError as exc:
        if os.path.isfile(path):  # made by someone else, read-only to us: flock still works
            try:
                return os.open(path, os.O_RDONLY)
            except OSError:
                pass
        directory = os.path.dirname(path)
        raise TidecastError(
            f"cannot create the run lock {os.path.basename(path)} in {directory}: "
            f"{exc.strerror or type(exc).__name__}; tidecast writes beside the SQLite "
            "database, so its directory must exist and be writable by this user"
        ) from None


def try_run_lock(url: str, job: str) -> RunLock | None:
    """The job's run lock in the database, or None when another process holds it.

    An in-memory SQLite database has no other process to exclude: an empty lock.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:":
            return RunLock()
        fd = _open_lock_file(lock_path(path, job))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return RunLock(fd=fd)
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    connection = engine.connect()  # no open transaction while the run holds the session
    locked = select(func.pg_try_advisory_lock(ADVISORY_KEY, job_key(job)))
    if connection.execute(locked).scalar():
        return RunLock(connection=connection)
    connection.close()
    engine.dispose()
    return None


def refusal(conn: Connection, attempt: str, job: str) -> str:
    """Why `attempt` (e.g. "this retrain run") does not start: which run holds the lock."""
    holder = conn.execute(
        select(forecast_runs.c.run_id, forecast_runs.c.flow_name, forecast_runs.c.started_at)
        .where(forecast_runs.c.status == "running")
        .where(forecast_runs.c.job == job)
        .order_by(forecast_runs.c.started_at.desc())
        .limit(1)
    ).first()
    other = (
        f"{holder.flow_name} run {holder.run_id}, started {holder.started_at:%Y-%m-%d %H:%M:%S} UTC"
        if holder
        else "another process"
    )
    return (
        f"another tidecast run{of_job(job)} is writing to this database ({other}); "
        f"{attempt} did not start and changed nothing — run it again when that one has "
        "finished"
    )
