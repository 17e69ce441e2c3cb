"""Exceptions whose message is meant for the person running tidecast, and which are outages."""

from __future__ import annotations


class TidecastError(Exception):
    """A problem the user can fix; the message names the thing to fix.

    The CLI prints it as one line, without a traceback.
    """


class DatabaseUnavailableError(TidecastError):
    """The database could not be reached or answered with an error; worth a retry."""


# SQLite's primary result codes that mean "not now" rather than "wrong": BUSY, LOCKED,
# IOERR, FULL, CANTOPEN, PROTOCOL. (sqlite3 raises OperationalError for mistakes too.)
SQLITE_OUTAGE_CODES = {5, 6, 10, 13, 14, 15}

# PEP 249's classes for errors of the database rather than of the statement. Every driver
# defines them (SQLAlchemy mirrors them), so they are recognised by name, with or without
# SQLAlchemy's wrapper.
_DBAPI_OUTAGE_CLASSES = {"OperationalError", "InterfaceError"}


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database (or the network to it) is away or refusing for now.

    The one classification of outages: `tidecast.db` turns database errors that are
    outages into `DatabaseUnavailableError`, and the I/O tasks retry only outages. A
    mistake (a missing table, bad SQL, a constraint, a bug, a `TidecastError`) is not one:
    a retry would fail the same way.
    """
    if isinstance(exc, DatabaseUnavailableError):
        return True
    if isinstance(exc, TidecastError):
        return False
    if getattr(exc, "connection_invalidated", False):  # SQLAlchemy: the connection died
        return True
    driver = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    for candidate in (exc, driver):
        if candidate is None:
            continue
        sqlite_code = getattr(candidate, "sqlite_errorcode", None)
        if sqlite_code is not None:
            return sqlite_code & 0xFF in SQLITE_OUTAGE_CODES
    for candidate in (exc, driver):
        if isinstance(candidate, ConnectionError | TimeoutError):  # refused, reset, timed out
            return True
        if candidate is not None and any(
            cls.__name__ in _DBAPI_OUTAGE_CLASSES for cls in type(candidate).__mro__
        ):
            return True
    return False


def should_retry(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook signature
    """Prefect `retry_condition_fn`: retry outages only, not mistakes a retry can't fix."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_outage(exc)
