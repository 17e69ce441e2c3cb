"""Prefect's logging as tidecast uses it: progress lines forwarded to the run's Prefect
logs, and Prefect's own console lines kept out of the CLI's terminal."""

from __future__ import annotations

import logging
import os

from tidecast.progress import logger as progress_logger

# Quiet, offline-safe defaults for Prefect when run from this command (the user's own
# environment wins). Set before Prefect is imported, which reads them at import time.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "tidecast",
    # progress lines outside a flow run (the demo's loading step) stay local
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    # The first temporary server on a machine creates and migrates ~/.prefect/prefect.db,
    # which took longer than Prefect's 20 s default on a fresh 2-core machine (a run then
    # failed with "Timed out while attempting to connect to ephemeral Prefect API server").
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def quiet_prefect_console(verbose: bool) -> None:
    """Keep Prefect's own console lines (and task tracebacks) out of the terminal.

    The run's logs still go to the Prefect API; `--verbose` shows them here too.
    """
    if verbose:
        return
    # The chunk tasks' worker processes configure their own logging from the environment.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    from prefect.logging.configuration import setup_logging
    from prefect.logging.handlers import PrefectConsoleHandler

    setup_logging()
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                # A filter, not a level: Prefect re-applies handler levels when a run starts.
                handler.addFilter(lambda record: record.levelno >= logging.CRITICAL)


def forward_to_prefect() -> None:
    """Send progress lines to the logs of the Prefect run they happen in, from this process
    and from the worker processes it starts (they read the variable when they import
    Prefect). Lines outside any run stay local. Idempotent.
    """
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "tidecast")
    from prefect.logging.handlers import APILogHandler

    if any(isinstance(handler, APILogHandler) for handler in progress_logger.handlers):
        return  # Prefect attached one already (tidecast among its extra loggers)

    class RunLogHandler(APILogHandler):
        def emit(self, record: logging.LogRecord) -> None:
            from prefect.context import FlowRunContext, TaskRunContext

            if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
                super().emit(record)

    progress_logger.addHandler(RunLogHandler())
    if progress_logger.getEffectiveLevel() > logging.INFO:
        progress_logger.setLevel(logging.INFO)
