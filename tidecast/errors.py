"""Exceptions whose message is meant for the person running tidecast."""


class TidecastError(Exception):
    """A problem the user can fix; the message names the thing to fix.

    The CLI prints it as one line, without a traceback.
    """


class DatabaseUnavailableError(TidecastError):
    """The database could not be reached or answered with an error; worth a retry."""


def should_retry(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook signature
    """Prefect `retry_condition_fn`: retry transient failures, not mistakes a retry can't fix."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, DatabaseUnavailableError) or not isinstance(exc, TidecastError)
