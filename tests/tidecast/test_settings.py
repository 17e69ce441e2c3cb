import pytest

from tidecast.errors import TidecastError
from tidecast.settings import load_settings


def test_environment_is_read_and_flags_override_it(monkeypatch):
    monkeypatch.setenv("TIDECAST_HORIZON", "7")
    monkeypatch.setenv("TIDECAST_MODELS", "naive")
    assert load_settings().horizon == 7
    assert load_settings().models == ["naive"]
    assert load_settings(horizon=3).horizon == 3
    assert load_settings(horizon=None).horizon == 7  # an unset flag leaves the environment's


def test_invalid_value_names_the_flag_and_the_variable():
    with pytest.raises(TidecastError, match=r"horizon \(flag --horizon or TIDECAST_HORIZON\)"):
        load_settings(horizon=0)


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(TidecastError, match="unknown model.*available"):
        load_settings(models="naive,prophet")


def test_invalid_frequency_is_rejected_up_front():
    with pytest.raises(TidecastError, match="frequency 'B'"):
        load_settings(freq="B")


def test_run_parameters_leave_out_the_database_url():
    settings = load_settings(database_url="postgresql://u:secret@db/x")
    assert "database_url" not in settings.run_parameters()
    assert "secret" not in str(settings.run_parameters())
