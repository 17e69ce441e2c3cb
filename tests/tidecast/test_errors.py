"""Which failures an I/O task retries: outages of the database, never mistakes.

Real tasks in a real flow on a real SQLite file: each test counts the attempts Prefect
made of a task built by `io_task`, the way every database task of tidecast is built.
"""

from __future__ import annotations

import pytest
from prefect import flow
from sqlalchemy import create_engine, text

from tidecast.db import make_engine, read_frame
from tidecast.edge.steps import io_task
from tidecast.errors import TidecastError

RETRIES = 2


def attempts_of(work) -> tuple[int, BaseException | None]:  # noqa: ANN001 - a callable
    """How many times an io_task running `work` was attempted, and how it ended."""
    calls = []

    def counted() -> None:
        calls.append(1)
        work(len(calls))

    probe = io_task(counted).with_options(retries=RETRIES, retry_delay_seconds=0)

    @flow(name="retry-probe")
    def run() -> None:
        probe()

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - the test looks at what it was
        return len(calls), exc
    return len(calls), None


@pytest.fixture
def sqlite_url(tmp_path, prefect_harness):
    url = f"sqlite:///{tmp_path / 'tidecast.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE present (x INTEGER)"))
    engine.dispose()
    return url


def test_a_query_on_a_missing_table_is_attempted_once(sqlite_url):
    count, exc = attempts_of(lambda _: read_frame(sqlite_url, text("SELECT * FROM no_such_table")))
    assert count == 1
    assert "no_such_table" in str(exc)


def test_a_bug_is_attempted_once(sqlite_url):
    def bug(_: int) -> None:
        raise KeyError("series_id")

    assert attempts_of(bug)[0] == 1


def test_a_users_mistake_is_attempted_once(sqlite_url):
    def mistake(_: int) -> None:
        raise TidecastError("--horizon must be positive")

    assert attempts_of(mistake)[0] == 1


def test_a_database_that_cannot_be_opened_is_retried(sqlite_url, tmp_path):
    # SQLITE_CANTOPEN through a bare engine, not through tidecast.db.connected: an outage
    # however it surfaces.
    missing = f"sqlite:///{tmp_path / 'no_such_dir' / 'x.db'}"

    def cannot_open(_: int) -> None:
        engine = create_engine(missing)
        try:
            engine.connect()
        finally:
            engine.dispose()

    assert attempts_of(cannot_open)[0] == RETRIES + 1


def test_a_refused_connection_is_retried_until_it_works(sqlite_url):
    def flaky(attempt: int) -> None:
        if attempt == 1:
            raise ConnectionRefusedError(111, "Connection refused")
        read_frame(sqlite_url, text("SELECT * FROM present"))

    assert attempts_of(flaky) == (2, None)


def test_a_locked_database_is_an_outage_and_a_syntax_error_is_not(tmp_path):
    from tidecast.errors import is_outage  # the one classification, also used by tidecast.db

    url = f"sqlite:///{tmp_path / 'locked.db'}"
    holder = create_engine(url)
    waiter = create_engine(url, connect_args={"timeout": 0})
    try:
        with holder.connect() as conn:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
            with pytest.raises(Exception) as locked, waiter.connect() as other:
                other.exec_driver_sql("SELECT 1 FROM sqlite_master")
            conn.exec_driver_sql("ROLLBACK")
        with pytest.raises(Exception) as syntax, waiter.connect() as other:
            other.exec_driver_sql("SELEC 1")
    finally:
        holder.dispose()
        waiter.dispose()
    assert "locked" in str(locked.value)
    assert is_outage(locked.value)
    assert is_outage(locked.value.orig)  # the driver's own exception, unwrapped
    assert not is_outage(syntax.value)
    assert not is_outage(syntax.value.orig)
