import pytest

# Small, fast, seeded settings for every model in tests.
CONTEXT = {
    "season_length": 12,
    "freq": "MS",
    "horizon": 12,
    "seed": 0,
    "n_jobs": 1,
    "max_steps": 60,
    "max_seconds": 30.0,
}


@pytest.fixture
def context():
    return dict(CONTEXT)
