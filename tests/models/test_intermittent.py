"""The intermittent-demand models: statsforecast's numbers, and what zeros do to them."""

import numpy as np
import pandas as pd
import pytest
from statsforecast import StatsForecast
from statsforecast import models as sf

from tidecast.models.registry import build_model

REFERENCE = {
    "croston": sf.CrostonClassic(),
    "croston_optimized": sf.CrostonOptimized(),
    "croston_sba": sf.CrostonSBA(),
    "tsb": sf.TSB(alpha_d=0.2, alpha_p=0.2),
    "adida": sf.ADIDA(),
    "imapa": sf.IMAPA(),
}


def _demand() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = {
        "sparse": rng.poisson(0.4, 24),
        "steady": rng.poisson(2.0, 24),
        "never": np.zeros(24),
        "once": np.r_[np.zeros(23), 5.0],
    }
    return pd.concat(
        [
            pd.DataFrame(
                {"series_id": sid, "ds": pd.date_range("2020-01-01", periods=24, freq="MS"),
                 "y": y.astype(float)}
            )
            for sid, y in values.items()
        ],
        ignore_index=True,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_each_gives_statsforecasts_forecast_never_negative_and_none_missing(name):
    panel = _demand()
    ours = build_model(name, season_length=12, freq="MS", horizon=6).fit(panel).predict(6)
    theirs = StatsForecast(models=[REFERENCE[name]], freq="MS").forecast(
        df=panel.rename(columns={"series_id": "unique_id"}), h=6
    )
    column = next(c for c in theirs.columns if c not in ("unique_id", "ds"))
    both = ours.merge(theirs.rename(columns={"unique_id": "series_id"}), on=["series_id", "ds"])
    assert len(both) == len(ours) == 4 * 6
    np.testing.assert_allclose(both["yhat"], both[column], rtol=1e-12, atol=1e-12)
    assert (ours["yhat"] >= 0).all() and ours["yhat"].notna().all()
    assert (ours.loc[ours["series_id"] == "never", "yhat"] == 0).all()
    assert (ours.loc[ours["series_id"] == "once", "yhat"] > 0).all()
