"""The window regressors with covariates: they learn a known effect, forecast only the
series whose future covariates cover the horizon, and refuse weights of other covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tidecast.models.registry import build_model

H = 6
LIFT = 0.5


def promoted_panel(n_series: int = 12, periods: int = 96, seed: int = 0):
    """Monthly sales lifted by LIFT in promotion months; the promotion calendar runs H
    months past the data."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2015-01-01", periods=periods + H, freq="MS")
    history, future = [], []
    for i in range(n_series):
        promo = (rng.random(len(stamps)) < 0.3).astype(float)
        season = 1 + 0.2 * np.sin(2 * np.pi * np.arange(len(stamps)) / 12)
        y = (100 + 20 * i) * season * (1 + LIFT * promo) * rng.lognormal(0, 0.03, len(stamps))
        frame = pd.DataFrame({"series_id": f"S{i:02d}", "ds": stamps, "y": y, "promo": promo})
        history.append(frame.iloc[:periods])
        future.append(frame.iloc[periods:][["series_id", "ds", "promo"]])
    return pd.concat(history, ignore_index=True), pd.concat(future, ignore_index=True)


@pytest.mark.parametrize(
    "name", ["ridge_cov", "hgb_cov", pytest.param("auto_arima_cov", marks=pytest.mark.slow)]
)
def test_the_learned_promotion_lift_is_close_to_the_true_one(name, context):
    history, future = promoted_panel()
    model = build_model(name, **{**context, "horizon": H, "future_covariates": ("promo",)}).fit(
        history
    )
    on = model.predict(H, future=future.assign(promo=1.0))
    off = model.predict(H, future=future.assign(promo=0.0))
    lift = (on["yhat"] / off["yhat"]).mean() - 1
    assert lift == pytest.approx(LIFT, abs=0.1)
    # and the same model without the covariates cannot tell the two apart
    plain = build_model(name, **{**context, "horizon": H}).fit(history[["series_id", "ds", "y"]])
    assert not plain.uses_covariates


def test_a_series_whose_future_covariates_stop_short_gets_no_forecast(context):
    history, future = promoted_panel()
    model = build_model("ridge_cov", **{**context, "horizon": H, "future_covariates": ("promo",)})
    model.fit(history)
    short = future[~((future["series_id"] == "S03") & (future["ds"] == future["ds"].max()))]
    out = model.predict(H, future=short)
    assert "S03" not in set(out["series_id"])
    assert out.groupby("series_id").size().eq(H).all() and out["series_id"].nunique() == 11


def test_stored_weights_forecast_as_the_fit_did_and_other_covariates_are_refused(context, tmp_path):
    history, future = promoted_panel()
    given = {**context, "horizon": H, "future_covariates": ("promo",)}
    fitted = build_model("ridge_cov", **given).fit(history)
    path = tmp_path / "ridge_cov.npz"
    fitted.save_weights(path)
    loaded = build_model("ridge_cov", **given).load_weights(path, history)
    pd.testing.assert_frame_equal(
        loaded.predict(H, future=future), fitted.predict(H, future=future)
    )
    other = {**given, "future_covariates": ("promo", "price")}
    with pytest.raises(ValueError, match="covariates changed"):
        build_model("ridge_cov", **other).load_weights(path, history.assign(price=1.0))
