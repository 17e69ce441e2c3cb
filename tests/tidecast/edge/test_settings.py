"""The database URL from a Prefect Secret block, resolved at the edge."""

from __future__ import annotations

import pytest

from tidecast.edge.settings import resolve_secret
from tidecast.errors import TidecastError
from tidecast.settings import load_settings


def test_the_database_url_can_come_from_a_prefect_secret_block(prefect_harness, tmp_path):
    from prefect.blocks.system import Secret

    url = f"sqlite:///{tmp_path / 'from-secret.db'}"
    Secret(value=url).save("tidecast-test-db", overwrite=True)
    settings = resolve_secret(
        load_settings(database_url="sqlite:///elsewhere.db", database_url_secret="tidecast-test-db")
    )
    assert settings.database_url == url
    assert "database_url" not in settings.run_parameters()
    assert settings.run_parameters()["database_url_secret"] == "tidecast-test-db"


def test_a_missing_secret_block_is_named(prefect_harness):
    with pytest.raises(TidecastError, match="Secret block 'no-such-block' was not found"):
        resolve_secret(load_settings(database_url_secret="no-such-block"))


def test_settings_alone_never_reach_prefect_for_the_secret():
    # building settings reads no block (the edge does): no Prefect server is needed here
    settings = load_settings(database_url_secret="no-such-block")
    assert settings.database_url_secret == "no-such-block"
