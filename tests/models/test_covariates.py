"""The window models with covariates (regressors and torch networks): they learn a known
effect, and one that depends on a series' static attribute, forecast only the series
whose future covariates cover the horizon, and refuse weights of other covariates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tidecast.models.registry import build_model

H = 6
LIFT = 0.5


def promoted_panel(n_series: int = 12, periods: int = 96, seed: int = 0, lifts=(LIFT,)):
    """Monthly sales lifted in promotion months, series i by `lifts[i % len(lifts)]`;
    the promotion calendar runs H months past the data."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2015-01-01", periods=periods + H, freq="MS")
    history, future = [], []
    for i in range(n_series):
        promo = (rng.random(len(stamps)) < 0.3).astype(float)
        season = 1 + 0.2 * np.sin(2 * np.pi * np.arange(len(stamps)) / 12)
        lift = lifts[i % len(lifts)]
        y = (100 + 20 * i) * season * (1 + lift * promo) * rng.lognormal(0, 0.03, len(stamps))
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


@pytest.mark.parametrize("name, suffix", [("ridge_cov", "npz"), ("nbeats_cov", "pt")])
def test_stored_weights_forecast_as_the_fit_did_and_other_covariates_are_refused(
    name, suffix, context, tmp_path
):
    history, future = promoted_panel()
    given = {**context, "horizon": H, "future_covariates": ("promo",)}
    fitted = build_model(name, **given).fit(history)
    path = tmp_path / f"{name}.{suffix}"
    fitted.save_weights(path)
    loaded = build_model(name, **given).load_weights(path, history)
    pd.testing.assert_frame_equal(
        loaded.predict(H, future=future), fitted.predict(H, future=future)
    )
    short = future[~((future["series_id"] == "S03") & (future["ds"] == future["ds"].max()))]
    assert "S03" not in set(loaded.predict(H, future=short)["series_id"])
    # more covariates; or as many, renamed (same shapes, another meaning): both refused
    other = {**given, "future_covariates": ("promo", "price")}
    with pytest.raises(ValueError, match="covariates changed"):
        build_model(name, **other).load_weights(path, history.assign(price=1.0))
    renamed = {**given, "future_covariates": ("discount",)}
    with pytest.raises(ValueError, match="covariates changed"):
        build_model(name, **renamed).load_weights(
            path, history.rename(columns={"promo": "discount"})
        )


TORCH = {"max_steps": 400, "max_seconds": 120.0}


@pytest.mark.parametrize(
    "name",
    [
        "nbeats_cov",
        *(
            pytest.param(n, marks=pytest.mark.slow)
            # gru_cov is lstm_cov's RecurrentNet with another cell
            for n in ("lstm_cov", "transformer_cov")
        ),
    ],
)
def test_a_torch_network_learns_the_promotion_lift_from_its_covariate_channels(name, context):
    history, future = promoted_panel()
    given = {**context, **TORCH, "horizon": H, "future_covariates": ("promo",)}
    model = build_model(name, **given).fit(history)
    assert not model.time_capped_
    on = model.predict(H, future=future.assign(promo=1.0))
    off = model.predict(H, future=future.assign(promo=0.0))
    lift = (on["yhat"] / off["yhat"]).mean() - 1
    # without covariates the two are the same forecast: a lift of exactly 0
    assert lift == pytest.approx(LIFT, abs=0.1 if name == "nbeats_cov" else 0.2)


def opposite_seasons(n_series: int = 16, periods: int = 96, seed: int = 0):
    """Monthly sales that peak in winter (even series; static feature `peak=winter` 1) or
    in summer (odd ones), with 10% noise; (history, the H held-out months)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2015-01-01", periods=periods + H, freq="MS")
    frames = []
    for i in range(n_series):
        sign = 1.0 if i % 2 == 0 else -1.0
        season = 1 + sign * 0.3 * np.sin(2 * np.pi * np.arange(len(stamps)) / 12)
        y = 100 * season * rng.lognormal(0, 0.1, len(stamps))
        frames.append(
            pd.DataFrame(
                {"series_id": f"S{i:02d}", "ds": stamps, "y": y, "peak=winter": float(sign > 0)}
            )
        )
    full = pd.concat(frames, ignore_index=True)
    return full.groupby("series_id").head(periods), full.groupby("series_id").tail(H)


@pytest.mark.parametrize("name", ["hgb_cov", pytest.param("nbeats_cov", marks=pytest.mark.slow)])
def test_a_static_attribute_tells_a_model_what_a_short_window_cannot(name, context):
    """Three months of inputs cannot show which way a series' season goes; its static
    feature can: the forecasts' error falls by far more than noise explains."""
    history, held_out = opposite_seasons()

    def error(static: tuple[str, ...]) -> float:
        given = {**context, **TORCH, "horizon": H, "lookback": 3, "static_covariates": static}
        seen = history if static else history.drop(columns="peak=winter")
        model = build_model(name, **given).fit(seen)
        found = model.predict(H, future=held_out[["series_id", "ds"]]).merge(held_out)
        return float(((found["y"] - found["yhat"]).abs() / found["y"]).mean())

    assert error(("peak=winter",)) < 0.8 * error(())
