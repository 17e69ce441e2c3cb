"""Final forecasts: refit each champion on its series' full history, add calibrated intervals."""

from __future__ import annotations

import pandas as pd

from models.base import sort_panel
from models.registry import build_model
from tasks.backtest import BacktestResult
from tasks.options import compute_task
from tidecast.metrics import insample_scale
from tidecast.progress import report
from tidecast.settings import Settings

FORECAST_COLUMNS = [
    "series_id",
    "ts",
    "step",
    "model",
    "yhat",
    "yhat_lower_80",
    "yhat_upper_80",
    "yhat_lower_95",
    "yhat_upper_95",
]
# interval column -> quantile of the backtest's scaled errors
_QUANTILES = {
    "yhat_lower_95": 0.025,
    "yhat_lower_80": 0.10,
    "yhat_upper_80": 0.90,
    "yhat_upper_95": 0.975,
}


def error_quantiles(fold_forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per model and step, the quantiles of backtest errors divided by the series' scale.

    Pooling scaled errors across series gives every step enough samples even when
    each series has only a few folds; scaling back by the series' own MASE scale
    makes the band as wide as the series is noisy.
    """
    if fold_forecasts.empty:
        return pd.DataFrame(columns=["model", "step", *_QUANTILES])
    scaled_error = (fold_forecasts["y"] - fold_forecasts["yhat"]) / fold_forecasts["scale"]
    group = scaled_error.groupby([fold_forecasts["model"], fold_forecasts["step"]])
    table = pd.DataFrame({column: group.quantile(q) for column, q in _QUANTILES.items()})
    return table.reset_index()


def forecast_with_intervals(
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    quantiles: pd.DataFrame,
    *,
    horizon: int,
    season_length: int,
    freq: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Forecasts for every series from its champion, with 80% and 95% intervals.

    A champion that fails on the full history falls back to seasonal naive for its
    series; the returned notes say which.
    """
    ordered = sort_panel(panel)
    scale = insample_scale(ordered, season_length)
    notes: list[str] = []
    parts = []
    for name, members in champions.groupby("model", sort=False)["series_id"]:
        history = ordered[ordered["series_id"].isin(members)]
        report("forecast", f"{name}: fitting {len(members)} series on full history")
        try:
            predicted = (
                build_model(name, season_length=season_length, freq=freq)
                .fit(history)
                .predict(horizon)
            )
            used = name
        except Exception as exc:  # keep the dashboard whole: fall back, and say so
            notes.append(f"{name} failed on the final fit ({exc!r}); seasonal_naive used instead")
            predicted = (
                build_model("seasonal_naive", season_length=season_length, freq=freq)
                .fit(history)
                .predict(horizon)
            )
            used = "seasonal_naive"
        parts.append(predicted.assign(model=used))
    out = pd.concat(parts, ignore_index=True).sort_values(["series_id", "ds"], kind="stable")
    out["step"] = out.groupby("series_id").cumcount() + 1
    out = out.merge(quantiles, on=["model", "step"], how="left").join(scale, on="series_id")
    for column in _QUANTILES:
        out[column] = out["yhat"] + out[column] * out["scale"]
    out = out.rename(columns={"ds": "ts"})
    return out[FORECAST_COLUMNS].reset_index(drop=True), notes


def forecast_champions(
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    backtest_result: BacktestResult,
    settings: Settings,
    season_length: int,
    freq: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Intervals calibrated on this run's backtest, then the final forecasts."""
    return forecast_with_intervals(
        panel,
        champions,
        error_quantiles(backtest_result.fold_forecasts),
        horizon=settings.horizon,
        season_length=season_length,
        freq=freq,
    )


forecast = compute_task(forecast_champions, "forecast")
