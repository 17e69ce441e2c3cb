import pytest

from tidecast.errors import TidecastError
from tidecast.models.registry import combination_members
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
    settings = load_settings(database_url="postgresql://u:hunter2-pw@db/x")
    assert "database_url" not in settings.run_parameters()
    assert "hunter2-pw" not in str(settings.run_parameters())


def test_a_secret_block_name_is_checked():
    with pytest.raises(TidecastError, match="database_url_secret .*Prefect block name"):
        load_settings(database_url_secret="Bad Name; DROP")


def test_schedules_are_checked_up_front():
    with pytest.raises(TidecastError, match="retrain_cron .*not a cron expression"):
        load_settings(retrain_cron="every sunday")
    with pytest.raises(TidecastError, match="schedule_timezone .*not an IANA time zone"):
        load_settings(schedule_timezone="Mars/Olympus")
    assert load_settings(schedule_timezone="Europe/Berlin").schedule_timezone == "Europe/Berlin"


def test_the_preset_gives_the_zoo_unless_models_are_named(monkeypatch):
    monkeypatch.delenv("TIDECAST_MODELS", raising=False)
    default = load_settings()
    assert default.preset == "default" and default.models is None
    monthly, yearly = default.backtest_models(12), default.backtest_models(1)
    # the statistical combination's members are in; AutoARIMA only where it is cheap
    assert {"auto_ets", "theta", "dynamic_theta", "nbeats_ensemble"} <= set(monthly)
    assert "auto_arima" in yearly and "auto_arima" not in monthly
    best = load_settings(preset="best").backtest_models(12)
    assert {"auto_arima", "nbeats_ensemble"} <= set(best)
    # the N-BEATS ensemble is a member of the combination, the single networks are by name
    assert "nbeats_ensemble" in combination_members(best) and "lstm" not in best
    # gradient boosting is in the wider combination only; the run's backtest picks one
    assert "hgb" in monthly and "hgb" not in combination_members(monthly)
    assert "hgb" in combination_members(monthly, "ensemble_wide")
    assert not {"auto_ets", "lstm"} & set(load_settings(preset="fast").backtest_models(12))
    named = load_settings(preset="best", models="naive,theta")
    assert named.backtest_models(12) == ["naive", "theta", "seasonal_naive"]
    twice = load_settings(models="theta, naive,theta,seasonal_naive,naive")
    assert twice.backtest_models(12) == ["theta", "naive", "seasonal_naive"]  # one candidate each


def test_a_preset_skips_a_global_network_on_a_small_panel_and_says_why(monkeypatch):
    monkeypatch.delenv("TIDECAST_MODELS", raising=False)
    best = load_settings(preset="best")
    assert "nbeats_ensemble" in best.backtest_models(12, n_series=500)
    assert best.skipped_models(500) == []
    assert best.skipped_models(499) != []
    small = best.backtest_models(12, n_series=20)
    assert "nbeats_ensemble" not in small and {"auto_arima", "theta"} <= set(small)
    (line,) = best.skipped_models(20)
    assert line.startswith("nbeats_ensemble skipped: 20 series") and "TIDECAST_MODELS" in line
    # named explicitly, it runs whatever the panel's size
    named = load_settings(preset="best", models="theta,nbeats_ensemble")
    assert "nbeats_ensemble" in named.backtest_models(12, n_series=20)
    assert named.skipped_models(20) == []
    # the default preset has it too, under the same rule; `fast` has none
    assert "nbeats_ensemble" not in load_settings().backtest_models(12, n_series=20)
    assert load_settings(preset="fast").skipped_models(20) == []


def test_an_unknown_preset_names_the_choices():
    with pytest.raises(TidecastError, match="preset .*'fast', 'default' or 'best'"):
        load_settings(preset="quick")
