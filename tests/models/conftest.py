import pytest

from tests.helpers import MODEL_CONTEXT


@pytest.fixture
def context():
    """The shared test context, with the horizon the model tests use."""
    return {**MODEL_CONTEXT, "horizon": 12, "max_steps": 60}
