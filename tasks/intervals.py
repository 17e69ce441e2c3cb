"""Prediction intervals from backtest errors, and how often they held in the backtest.

Errors are divided by each series' MASE scale and pooled per model and step, so every
step has enough samples even when each series has only a few folds; scaling a quantile
back by the series' own scale makes the band as wide as that series is noisy.

Pooling is robust to a few odd series: a series whose backtest errors are off the scale
of the others' (its mean scaled error beyond Tukey's far-out fence, on the log scale) is
left out of the pooled quantiles, so it cannot widen every other series' band, and gets
a band at least as wide as its own backtest errors instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.api.typing import SeriesGroupBy

# interval column -> quantile of the scaled errors
QUANTILES = {
    "yhat_lower_95": 0.025,
    "yhat_lower_80": 0.10,
    "yhat_upper_80": 0.90,
    "yhat_upper_95": 0.975,
}
LOWER, UPPER = ["yhat_lower_95", "yhat_lower_80"], ["yhat_upper_80", "yhat_upper_95"]
# Tukey's "far out" fence: Q3 + 3 IQR of the series' log mean scaled errors
FENCE_IQRS = 3.0


def scaled_errors(fold_forecasts: pd.DataFrame) -> pd.Series:
    return (fold_forecasts["y"] - fold_forecasts["yhat"]) / fold_forecasts["scale"]


def outlying_series(fold_forecasts: pd.DataFrame) -> pd.Series:
    """True per (model, series_id) whose backtest errors are off the scale of the others'.

    A series' size is its mean absolute scaled error (its backtest MASE) with that model;
    it is outlying when its log lies beyond Q3 + 3 IQR of all series' log sizes for the
    model (Tukey's far-out fence). Series with no error at all are never outlying, and
    with fewer than five series none can be.
    """
    return _fenced(_errors_by_series(fold_forecasts).mean())


def _errors_by_series(fold_forecasts: pd.DataFrame) -> SeriesGroupBy:
    """Absolute scaled errors grouped by (model, series_id), groups in sorted order."""
    keys = [fold_forecasts["model"], fold_forecasts["series_id"]]
    return scaled_errors(fold_forecasts).abs().groupby(keys, sort=True)


def _fenced(size: pd.Series) -> pd.Series:
    """`outlying_series` from each (model, series)'s size."""
    by_model = size.groupby(level="model", sort=False)
    return by_model.transform(lambda s: _fenced_sizes(s.to_numpy())).astype(bool).rename("outlying")


def _fenced_sizes(size: np.ndarray) -> np.ndarray:
    """Whether each of one model's series sizes is outlying: its log beyond Q3 + 3 IQR of
    the logs of the positive sizes (Tukey's far-out fence)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_size = np.log(np.where(size > 0, size, np.nan))
    valid = log_size[~np.isnan(log_size)]
    if not len(valid):
        return np.zeros(len(size), dtype=bool)
    q1, q3 = np.percentile(valid, 25.0), np.percentile(valid, 75.0)
    with np.errstate(invalid="ignore"):
        return log_size > q3 + FENCE_IQRS * (q3 - q1)


def _outlying_rows(fold_forecasts: pd.DataFrame) -> np.ndarray:
    """Per row of `fold_forecasts`: whether its (model, series) is outlying."""
    grouped = _errors_by_series(fold_forecasts)
    flags = _fenced(grouped.mean())  # one per group, in the groups' sorted order
    # each row's group number in that order: one grouping, and a lookup instead of a
    # reindex on a MultiIndex
    return flags.to_numpy(dtype=bool)[grouped.ngroup().to_numpy()]


def _straddle_zero(table: pd.DataFrame) -> pd.DataFrame:
    """Lower quantiles at most 0 and upper ones at least 0, so a band holds its forecast
    even when a model's errors were all of one sign."""
    return table.assign(
        **{column: table[column].clip(upper=0.0) for column in LOWER},
        **{column: table[column].clip(lower=0.0) for column in UPPER},
    )


def error_quantiles(
    fold_forecasts: pd.DataFrame, outlying: np.ndarray | None = None
) -> pd.DataFrame:
    """Per model and step, the quantiles of backtest errors divided by the series' scale,
    pooled over the series that are not outlying (`outlying_series`; `outlying`, its
    flag per row, when already known)."""
    if fold_forecasts.empty:
        return pd.DataFrame(columns=["model", "step", *QUANTILES])
    if outlying is None:
        outlying = _outlying_rows(fold_forecasts)
    typical = fold_forecasts[~outlying]
    errors = scaled_errors(typical)
    group = errors.groupby([typical["model"], typical["step"]])
    table = pd.DataFrame({column: group.quantile(q) for column, q in QUANTILES.items()})
    return _straddle_zero(table.reset_index())


def own_error_quantiles(
    fold_forecasts: pd.DataFrame, outlying: np.ndarray | None = None
) -> pd.DataFrame:
    """Per outlying (series, model): the quantiles of its own backtest errors, in the
    series' units, over all its folds and steps (too few per step to split by step).
    `outlying` as in `error_quantiles`."""
    columns = ["series_id", "model", *QUANTILES]
    if fold_forecasts.empty:
        return pd.DataFrame(columns=columns)
    if outlying is None:
        outlying = _outlying_rows(fold_forecasts)
    odd = fold_forecasts[outlying]
    if odd.empty:
        return pd.DataFrame(columns=columns)
    group = (odd["y"] - odd["yhat"]).groupby([odd["series_id"], odd["model"]])
    table = pd.DataFrame({column: group.quantile(q) for column, q in QUANTILES.items()})
    return _straddle_zero(table.reset_index())[columns]


def build_calibration(fold_forecasts: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """A run's interval calibration: the pooled rows of `error_quantiles` (`series_id`
    empty; quantiles of scaled errors, per model and step) and the rows of
    `own_error_quantiles` (`series_id` set, `step` empty; quantiles in the series' units).

    `fold_forecasts`: one frame, or frames of one model each (everything here is per
    model, so a large backtest is calibrated a model at a time).

    Only the pooled rows are stored (`interval_calibration`, see `pooled_rows`); the
    forecast flow, which reads them back, gives outlying series the pooled band times
    their current scale.
    """
    frames = [fold_forecasts] if isinstance(fold_forecasts, pd.DataFrame) else fold_forecasts
    pooled_parts, own_parts = [], []
    for frame in frames:
        outlying = _outlying_rows(frame) if len(frame) else None
        pooled_parts.append(error_quantiles(frame, outlying))
        own_parts.append(own_error_quantiles(frame, outlying))
    pooled = _stacked(pooled_parts, ["model", "step", *QUANTILES]).assign(series_id=None)
    own = _stacked(own_parts, ["series_id", "model", *QUANTILES]).assign(step=np.nan)
    parts = [part for part in (pooled, own) if len(part)]
    if not parts:
        return pooled
    return pd.concat(parts, ignore_index=True)[["series_id", "model", "step", *QUANTILES]]


def _stacked(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    filled = [part for part in parts if len(part)]
    if not filled:
        return pd.DataFrame(columns=columns)
    return pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0]


def pooled_rows(calibration: pd.DataFrame) -> pd.DataFrame:
    """The per-model-and-step rows of a calibration (what `interval_calibration` stores)."""
    if "series_id" not in calibration:
        return calibration
    pooled = calibration[calibration["series_id"].isna()].drop(columns="series_id")
    return pooled.astype({"step": int})


def add_intervals(
    forecast: pd.DataFrame, calibration: pd.DataFrame, scale: pd.Series
) -> pd.DataFrame:
    """`forecast` (series_id, model, step, yhat) with the four interval columns added.

    A band is the pooled quantiles of its model and step times the series' `scale`,
    widened to the series' own backtest errors where the calibration has rows for it.
    Bounds always hold the forecast: lower_95 <= lower_80 <= yhat <= upper_80 <= upper_95.
    """
    out = forecast.merge(pooled_rows(calibration), on=["model", "step"], how="left")
    out = out.join(scale.rename("scale"), on="series_id")
    for column in QUANTILES:
        out[column] = out[column] * out["scale"]
    if "series_id" in calibration and calibration["series_id"].notna().any():
        own = calibration[calibration["series_id"].notna()].drop(columns="step")
        mine = forecast[["series_id", "model"]].merge(own, on=["series_id", "model"], how="left")
        for column in QUANTILES:
            # np.fmin/fmax: a series without own rows (NaN) keeps its pooled bound
            widen = np.fmin if column in LOWER else np.fmax
            out[column] = widen(out[column].to_numpy(), mine[column].to_numpy())
    yhat = out["yhat"].to_numpy(dtype=float)
    lower_80 = np.minimum(out["yhat_lower_80"].to_numpy(dtype=float), 0.0)
    upper_80 = np.maximum(out["yhat_upper_80"].to_numpy(dtype=float), 0.0)
    out["yhat_lower_80"] = yhat + lower_80
    out["yhat_upper_80"] = yhat + upper_80
    out["yhat_lower_95"] = yhat + np.minimum(out["yhat_lower_95"].to_numpy(dtype=float), lower_80)
    out["yhat_upper_95"] = yhat + np.maximum(out["yhat_upper_95"].to_numpy(dtype=float), upper_80)
    return out.drop(columns="scale")


def interval_coverage(fold_forecasts: pd.DataFrame) -> pd.DataFrame:
    """Share of actuals inside the 80% and 95% intervals, per series, model and fold.

    Each fold is judged by intervals calibrated on the *other* folds only, so the
    coverage is measured on errors the calibration did not see. With a single fold
    there is nothing to calibrate on and no coverage is reported.

    The calibration is `error_quantiles`' (outlying series left out, quantiles of the
    scaled errors per model and step), computed here on arrays: the backtest judges
    tens of millions of fold forecasts, where grouping and merging frames per fold cost
    most of combining the chunks' results (BENCHMARKS.md, "Speed and scale").
    """
    keys = ["series_id", "model", "fold"]
    parts = []
    models, model_names = pd.factorize(fold_forecasts["model"], sort=False)
    for number, model in enumerate(model_names):
        mine = fold_forecasts[models == number] if len(model_names) > 1 else fold_forecasts
        for fold, inside_80, inside_95, series in _model_coverage(mine):
            parts.append(
                pd.DataFrame(
                    {
                        "series_id": series,
                        "model": model,
                        "fold": fold,
                        "coverage_80": inside_80,
                        "coverage_95": inside_95,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=[*keys, "coverage_80", "coverage_95"])
    return pd.concat(parts, ignore_index=True)


def _model_coverage(fold_forecasts: pd.DataFrame):
    """Per fold of one model's fold forecasts: the fold, the shares inside the 80% and 95%
    bands per series, and those series."""
    series, series_ids = pd.factorize(fold_forecasts["series_id"], sort=True)
    folds, fold_values = pd.factorize(fold_forecasts["fold"], sort=False)
    steps, _ = pd.factorize(fold_forecasts["step"], sort=False)
    error = scaled_errors(fold_forecasts).to_numpy(dtype=float)
    n_series, n_steps = len(series_ids), int(steps.max()) + 1
    for number, fold in enumerate(fold_values):
        judged = folds == number
        others = ~judged
        if not others.any():
            continue
        # the other folds' series whose errors are off the scale (`outlying_series`)
        size = _group_mean(series[others], np.abs(error[others]), n_series)
        outlying = _fenced_sizes(size)[series]
        typical = others & ~outlying & ~np.isnan(error)
        bands = _straddle_zero(
            pd.DataFrame(_step_quantiles(steps[typical], error[typical], n_steps))
        )
        mine, step = error[judged], steps[judged]
        inside = {
            level: (mine >= bands[f"yhat_lower_{level}"].to_numpy()[step])
            & (mine <= bands[f"yhat_upper_{level}"].to_numpy()[step])
            for level in (80, 95)
        }
        count = np.bincount(series[judged], minlength=n_series)
        shown = np.flatnonzero(count)
        yield (
            fold,
            np.bincount(series[judged], inside[80], n_series)[shown] / count[shown],
            np.bincount(series[judged], inside[95], n_series)[shown] / count[shown],
            series_ids[shown],
        )


def _group_mean(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the mean of its non-NaN values (NaN where it has none)."""
    kept = ~np.isnan(values)
    total = np.bincount(groups[kept], values[kept], n_groups)
    count = np.bincount(groups[kept], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _step_quantiles(steps: np.ndarray, values: np.ndarray, n_steps: int) -> dict[str, np.ndarray]:
    """Per interval column, per step code: the column's quantile of the step's values,
    interpolated linearly as pandas' groupby quantile does (NaN for a step without values).
    Only the order statistics the quantiles need are found (a partition, not a sort)."""
    grouped = values[np.argsort(steps, kind="stable")]
    count = np.bincount(steps, minlength=n_steps)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    out = {column: np.full(n_steps, np.nan) for column in QUANTILES}
    for step in np.flatnonzero(count):
        n = count[step]
        positions = {column: q * (n - 1) for column, q in QUANTILES.items()}
        needed = sorted({min(int(p) + k, n - 1) for p in positions.values() for k in (0, 1)})
        part = np.partition(grouped[start[step] : start[step] + n], needed)
        for column, position in positions.items():
            index, fraction = int(position), position % 1
            value = part[index]
            out[column][step] = (
                value if fraction == 0.0 else value + (part[index + 1] - value) * fraction
            )
    return out
