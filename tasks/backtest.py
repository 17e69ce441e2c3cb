"""Rolling-origin backtest: every model refits a fresh copy up to each cutoff and forecasts `h`.

Cutoffs are `h` apart and the last fold ends at each series' last observation. A
series gets as many folds (up to `folds`) as its history allows with at least
`min_train_length` points before the cutoff. Work is done per chunk of series.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from models.base import Forecaster, clone, positions_from_end, sort_panel
from models.registry import build_model, is_global
from tasks.budget import ModelTimeoutError, call_with_budget
from tasks.ensembles import ensemble_fold_forecasts, ensemble_members
from tasks.intervals import interval_coverage
from tasks.options import compute_task
from tidecast.metrics import insample_scale, score_errors
from tidecast.progress import report
from tidecast.schemas import min_train_length
from tidecast.settings import Settings

SCORE_COLUMNS = [
    "series_id",
    "model",
    "fold",
    "cutoff",
    "mase",
    "smape",
    "rmse",
    "coverage_80",
    "coverage_95",
]
FOLD_FORECAST_COLUMNS = ["series_id", "model", "fold", "ds", "step", "y", "yhat", "scale"]


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _named(frame: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    """`frame` with integer series codes turned back into the series' names."""
    codes = frame["series_id"].to_numpy(dtype=np.int64)
    return frame.assign(series_id=names.take(codes).to_numpy())


@dataclass
class BacktestResult:
    """Scores per series, model and fold, and the fold forecasts they come from.

    Fold forecasts are kept so intervals (and later ensembles) are calibrated on the
    same folds without refitting anything.
    """

    scores: pd.DataFrame  # SCORE_COLUMNS
    fold_forecasts: pd.DataFrame  # FOLD_FORECAST_COLUMNS
    model_seconds: dict[str, float]
    failures: list[str] = field(default_factory=list)
    members: pd.DataFrame = field(  # series_id, ensemble, model (see tasks/ensembles.py)
        default_factory=lambda: pd.DataFrame(columns=["series_id", "ensemble", "model"])
    )


def series_chunks(sorted_panel: pd.DataFrame, chunk_size: int) -> list[pd.DataFrame]:
    """Contiguous row slices of a sorted panel, each holding at most `chunk_size` series."""
    codes, _ = pd.factorize(sorted_panel["series_id"], sort=False)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    edges = bounds[::chunk_size].tolist()
    if edges[-1] != bounds[-1]:
        edges.append(int(bounds[-1]))
    return [sorted_panel.iloc[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def fold_split(
    chunk: pd.DataFrame, fold: int, folds: int, horizon: int, min_train: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows up to the fold's cutoff and the `horizon` rows after it, per series.

    Series whose training part would be shorter than `min_train` sit this fold out.
    The test frame carries `step`, 1 for the first point after the cutoff.
    """
    from_end = positions_from_end(chunk)
    held_out = horizon * (folds - fold)
    sizes = chunk.groupby("series_id", sort=False)["y"].transform("size").to_numpy()
    eligible = sizes - held_out >= min_train
    train = chunk[eligible & (from_end >= held_out)]
    in_test = eligible & (from_end < held_out) & (from_end >= held_out - horizon)
    test = chunk[in_test].assign(step=held_out - from_end[in_test])
    return train, test


def _first_ten(names: list[str] | pd.Index) -> str:
    return ", ".join(names[:10]) + (" …" if len(names) > 10 else "")


def _fresh_forecast(model: Forecaster, train: pd.DataFrame, horizon: int) -> pd.DataFrame:
    return clone(model).fit(train).predict(horizon)


def rolling_origin_backtest(
    panel: pd.DataFrame,
    model_names: list[str],
    *,
    horizon: int,
    folds: int,
    season_length: int,
    chunk_size: int,
    context: dict,
    ensemble_top_k: int = 0,
    metric: str = "mase",
    time_budget: float | None = None,
) -> BacktestResult:
    """Backtest every model on every series; a model failing on a chunk skips only that chunk.

    `context` is what models are built with (see `Settings.model_context`). With
    `ensemble_top_k` > 0 the ensembles of tasks/ensembles.py are scored as candidates too.
    A model's fit and forecast of one fold taking longer than `time_budget` seconds is
    abandoned (tasks/budget.py), as are its later folds on that chunk.
    """
    ordered = sort_panel(panel)
    # Integer series keys inside the backtest: the many joins and group-bys per fold run
    # several times faster on them than on strings. Codes follow the sorted order, so
    # every model sees its series in the same order as with the names.
    codes, series_names = pd.factorize(ordered["series_id"], sort=False)
    ordered = ordered.assign(series_id=codes)
    models = {name: build_model(name, **context) for name in model_names}
    local = [name for name, model in models.items() if not is_global(model)]
    global_ = [name for name, model in models.items() if is_global(model)]
    # Local models work per chunk of series; a global model learns from all series at once.
    plan = [(series_chunks(ordered, chunk_size), local), ([ordered], global_)]
    min_train = min_train_length(season_length)
    seconds: dict[str, float] = defaultdict(float)
    scores, fold_forecasts, failures = [], [], []
    for chunks, names in plan:
        if not names:
            continue
        for number, chunk in enumerate(chunks, start=1):
            # A model past its budget on one fold would most likely be past it on the next
            # (which trains on more data), so it sits out the rest of this chunk.
            timed_out: set[str] = set()
            report(
                "backtest",
                f"{', '.join(names)}: chunk {number}/{len(chunks)}, "
                f"{chunk['series_id'].nunique()} series",
            )
            for fold in range(folds):
                train, test = fold_split(chunk, fold, folds, horizon, min_train)
                if train.empty:
                    continue
                scale = insample_scale(train, season_length)
                cutoff = train.groupby("series_id", sort=True)["ds"].last().rename("cutoff")
                test = test.join(scale, on="series_id").join(cutoff, on="series_id")
                for name in names:
                    if name in timed_out:
                        continue
                    started = time.perf_counter()
                    try:
                        predicted = call_with_budget(
                            partial(_fresh_forecast, models[name], train, horizon),
                            time_budget,
                            f"{name} on chunk {number} fold {fold}",
                        )
                    except Exception as exc:  # one model's failure must not stop the others
                        failures.append(f"{name} failed on chunk {number} fold {fold}: {exc!r}")
                        if isinstance(exc, ModelTimeoutError):
                            timed_out.add(name)
                            failures[-1] += " (not run on this chunk's later folds)"
                        report("backtest", failures[-1])
                        continue
                    finally:
                        spent = time.perf_counter() - started
                        seconds[name] += spent
                    report("backtest", f"{name} fold {fold + 1}/{folds}: {spent:.1f}s")
                    fell_back = [
                        str(series_names[int(code)])
                        for code in predicted.attrs.get("fallbacks", [])
                    ]
                    if fell_back:
                        failures.append(
                            f"{name} fell back to seasonal_naive on fold {fold} for "
                            f"{len(fell_back)} series: {_first_ten(fell_back)}"
                        )
                    pairs = test.merge(predicted, on=["series_id", "ds"], how="inner")
                    bad = ~np.isfinite(pairs["yhat"].to_numpy())
                    if bad.any():
                        codes = pairs.loc[bad, "series_id"].unique()
                        failures.append(
                            f"{name} returned non-finite forecasts for {len(codes)} series on "
                            f"fold {fold}: {_first_ten(series_names.take(codes).map(str))}"
                        )
                        pairs = pairs[~bad]
                    pairs = pairs.assign(model=name, fold=fold)
                    scored = score_errors(pairs, ["series_id", "model", "fold"])
                    scores.append(scored.join(cutoff, on="series_id"))
                    fold_forecasts.append(pairs[FOLD_FORECAST_COLUMNS])
    fold_forecasts = _concat(fold_forecasts, FOLD_FORECAST_COLUMNS)
    scores = _concat(scores, SCORE_COLUMNS[:-2])
    members = pd.DataFrame(columns=["series_id", "ensemble", "model"])
    if ensemble_top_k and not scores.empty:
        members = ensemble_members(scores, model_names, ensemble_top_k, metric)
        combined = ensemble_fold_forecasts(fold_forecasts, members)
        cutoffs = scores.drop_duplicates(["series_id", "fold"])[["series_id", "fold", "cutoff"]]
        scores = pd.concat(
            [
                scores,
                score_errors(combined, ["series_id", "model", "fold"]).merge(
                    cutoffs, on=["series_id", "fold"]
                ),
            ],
            ignore_index=True,
        )
        fold_forecasts = pd.concat(
            [fold_forecasts, combined[FOLD_FORECAST_COLUMNS]], ignore_index=True
        )
    scored = scores.merge(
        interval_coverage(fold_forecasts), on=["series_id", "model", "fold"], how="left"
    )
    return BacktestResult(
        members=_named(members, series_names),
        scores=_named(scored[SCORE_COLUMNS], series_names),
        fold_forecasts=_named(fold_forecasts, series_names),
        model_seconds={name: round(seconds[name], 3) for name in model_names},
        failures=failures,
    )


def backtest_models(
    panel: pd.DataFrame, settings: Settings, season_length: int, freq: str
) -> BacktestResult:
    """`rolling_origin_backtest` with the run's settings."""
    return rolling_origin_backtest(
        panel,
        settings.backtest_models,
        horizon=settings.horizon,
        folds=settings.folds,
        season_length=season_length,
        chunk_size=settings.chunk_size,
        context=settings.model_context(season_length, freq),
        ensemble_top_k=settings.ensemble_top_k,
        metric=settings.selection_metric,
        time_budget=settings.model_time_budget_seconds,
    )


backtest = compute_task(backtest_models, "backtest")
