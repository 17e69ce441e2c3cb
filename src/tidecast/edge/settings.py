"""A run's settings at the Prefect edge: the database URL read from its Prefect `Secret`
block (setting `database_url_secret`), and a flow run's settings from its parameters."""

from __future__ import annotations

from typing import Any

from tidecast.errors import TidecastError
from tidecast.settings import Settings, load_settings


def run_settings(given: Settings | None, **overrides: Any) -> Settings:
    """A flow run's settings: those handed to the flow (the CLI's, or a deployment's
    `settings` parameter), else the environment's; the flow's own parameters override.
    """
    settings = given if given is not None else load_settings()
    return resolve_secret(settings.with_overrides(**overrides))


def resolve_secret(settings: Settings) -> Settings:
    """`settings` with database_url read from its Prefect Secret block, when one is named."""
    if not settings.database_url_secret or settings._secret_resolved:
        return settings
    resolved = settings.model_copy(
        update={"database_url": secret_value(settings.database_url_secret)}
    )
    resolved._secret_resolved = True
    return resolved


def secret_value(block_name: str) -> str:
    """The value of a Prefect Secret block (from the Prefect server the process talks to)."""
    from prefect.blocks.system import Secret

    try:
        return Secret.load(block_name).get()
    except ValueError:
        raise TidecastError(
            f"Prefect Secret block {block_name!r} was not found (setting "
            "TIDECAST_DATABASE_URL_SECRET); create it with "
            f"Secret(value=...).save({block_name!r}) or in the Prefect UI"
        ) from None
