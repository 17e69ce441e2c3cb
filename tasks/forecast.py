"""Final forecasts: refit each champion on its series' full history, add calibrated intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import sort_panel
from models.registry import build_model, is_global
from tasks.backtest import BacktestResult
from tasks.intervals import add_intervals, error_quantiles
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


def forecast_with_intervals(
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    quantiles: pd.DataFrame,
    *,
    horizon: int,
    season_length: int,
    context: dict,
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
        mine = ordered["series_id"].isin(members)
        model = build_model(name, **context)
        # A global model learns from every series, as it did in the backtest; a local one
        # only needs the series it won.
        history = ordered if is_global(model) else ordered[mine]
        report(
            "forecast",
            f"{name}: fitting on {history['series_id'].nunique()} series, "
            f"forecasting {len(members)}",
        )
        fallback = build_model("seasonal_naive", **context).fit(ordered[mine]).predict(horizon)
        try:
            predicted = model.fit(history).predict(horizon)
            predicted = predicted[predicted["series_id"].isin(members)]
        except Exception as exc:  # keep the dashboard whole: fall back, and say so
            notes.append(f"{name} failed on the final fit ({exc!r}); seasonal_naive used instead")
            parts.append(fallback.assign(model="seasonal_naive"))
            continue
        bad = predicted.loc[~np.isfinite(predicted["yhat"]), "series_id"].unique()
        if len(bad):
            notes.append(
                f"{name} gave non-finite forecasts for {len(bad)} series; "
                "seasonal_naive used for them"
            )
            predicted = predicted[~predicted["series_id"].isin(bad)]
            parts.append(fallback[fallback["series_id"].isin(bad)].assign(model="seasonal_naive"))
        parts.append(predicted.assign(model=name))
    out = pd.concat(parts, ignore_index=True).sort_values(["series_id", "ds"], kind="stable")
    out["step"] = out.groupby("series_id").cumcount() + 1
    out = add_intervals(out, quantiles, scale).rename(columns={"ds": "ts"})
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
        context=settings.model_context(season_length, freq),
    )


forecast = compute_task(forecast_champions, "forecast")
