import numpy as np
from statsforecast import models as sf

from tests.helpers import as_panel, synthetic_panel
from tests.models.faulty import Exploding


def test_a_failing_series_falls_back_to_seasonal_naive_and_is_named():
    panel = as_panel(synthetic_panel(n_series=3, lengths=(48,)))
    panel.loc[panel.series_id.eq("S01").idxmax(), "y"] = 999.0
    out = Exploding(season_length=12, freq="MS").fit(panel).predict(6)
    assert out.attrs["fallbacks"] == ["S01"]
    assert np.isfinite(out["yhat"]).all()
    marked = out[out.series_id == "S01"]["yhat"].to_numpy()
    season = panel[panel.series_id == "S01"]["y"].to_numpy()[-12:]
    np.testing.assert_allclose(marked, season[:6])  # the seasonal naive forecast


def test_auto_ets_matches_statsforecast_run_directly():
    from statsforecast import StatsForecast

    from tidecast.models.statistical import AutoETS

    panel = as_panel(synthetic_panel(n_series=3))
    ours = AutoETS(season_length=12, freq="MS").fit(panel).predict(6)
    direct = StatsForecast(models=[sf.AutoETS(season_length=12)], freq="MS").forecast(
        df=panel.rename(columns={"series_id": "unique_id"}), h=6
    )
    np.testing.assert_allclose(ours["yhat"].to_numpy(), direct["AutoETS"].to_numpy())


def test_auto_ets_with_forms_fixed_estimates_only_their_parameters():
    from tidecast.models.statistical import AutoETS

    panel = as_panel(synthetic_panel(n_series=4))
    searched = AutoETS(season_length=12, freq="MS").fit(panel)
    # data a search reads differently (a steep trend on every series)...
    trended = panel.assign(y=panel["y"] * (1 + 0.2 * panel.groupby("series_id").cumcount()))
    fresh = AutoETS(season_length=12, freq="MS").fit(trended)
    assert any(fresh.forms_[s] != searched.forms_[s] for s in searched.forms_)
    # ...keeps the forms it is given, and searches the series it is given none for
    given = {s: form for s, form in searched.forms_.items() if s != "S03"}
    fixed = AutoETS(season_length=12, freq="MS", forms=given).fit(trended)
    assert {s: fixed.forms_[s] for s in given} == given
    assert fixed.forms_["S03"] == fresh.forms_["S03"]
    assert np.isfinite(fixed.predict(6)["yhat"]).all()
