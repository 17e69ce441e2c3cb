"""Rolling-origin backtest: every model refits up to each cutoff and forecasts `h`.

Cutoffs are `h` apart and the last fold ends at each series' last observation. A
series gets as many folds (up to `folds`) as its history allows with at least
`min_train_length` points before the cutoff. Work is done per chunk of series.

A fold fits a fresh copy of each model, except that a model may hand what it learnt at
the previous origin on to the next (`next_origin`): the torch models fine-tune the
earlier origin's weights instead of training from scratch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from tidecast.errors import TidecastError
from tidecast.metrics import insample_scale, score_errors
from tidecast.models.base import Forecaster, clone, positions_from_end, sort_panel
from tidecast.models.registry import build_model, is_global, model_uses_covariates
from tidecast.progress import report
from tidecast.schemas import min_train_length
from tidecast.tasks.chunks import Chunk, ChunkKind, chunk_layout
from tidecast.tasks.context import RunContext
from tidecast.tasks.covariates import Covariates, with_history
from tidecast.tasks.ensembles import ensemble_fold_forecasts, ensemble_members
from tidecast.tasks.failures import Failure
from tidecast.tasks.fold_forecasts import FOLD_FORECAST_COLUMNS, FoldForecasts
from tidecast.tasks.importance import combine_importance, empty_importance, fold_importance
from tidecast.tasks.intervals import interval_coverage
from tidecast.tasks.modelrun import fit_forecast, run_model

# Series whose ensembles are combined at once: bounded memory, without the overhead of
# one small combination per chunk.
ENSEMBLE_SERIES = 10_000
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


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _named(frame: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    """`frame` with integer series codes turned back into the series' names."""
    codes = frame["series_id"].to_numpy(dtype=np.int64)
    return frame.assign(series_id=names.take(codes).to_numpy())


@dataclass
class BacktestChunkResult:
    """One chunk's backtest: scores per series (integer codes), model and fold, without
    interval coverage yet (that needs the ensembles, which need every chunk), and the
    fold forecasts they come from."""

    scores: pd.DataFrame  # SCORE_COLUMNS but the coverage
    fold_forecasts: FoldForecasts  # of the chunk's series
    model_seconds: dict[str, float]
    kind: ChunkKind
    failures: list[Failure] = field(default_factory=list)
    importance: pd.DataFrame = field(default_factory=empty_importance)


@dataclass
class BacktestResult:
    """The run's backtest: scores per series, model and fold (ensembles and interval
    coverage included, series named), and the fold forecasts they come from.

    Fold forecasts are kept (compactly, tasks/fold_forecasts.py) so intervals are
    calibrated on the same folds without refitting anything.
    """

    scores: pd.DataFrame  # SCORE_COLUMNS
    folds: FoldForecasts
    model_seconds: dict[str, float]
    failures: list[Failure] = field(default_factory=list)
    members: pd.DataFrame = field(  # series_id, ensemble, model (see tasks/ensembles.py)
        default_factory=lambda: pd.DataFrame(columns=["series_id", "ensemble", "model"])
    )
    # model, feature, importance, method: of the last fold's fits (tasks/importance.py)
    importance: pd.DataFrame = field(default_factory=empty_importance)

    @property
    def fold_forecasts(self) -> pd.DataFrame:
        """Every fold forecast in one frame (FOLD_FORECAST_COLUMNS, series named): for
        small panels; the pipeline reads them a model at a time."""
        return self.folds.frame()


@dataclass(frozen=True)
class BacktestSpec:
    """What every chunk of one backtest is evaluated with.

    `context` is what models are built with (see `Settings.model_context`). With
    `ensemble_top_k` > 0 the ensembles of tasks/ensembles.py are scored as candidates too.
    A model's fit and forecast of one fold taking longer than `time_budget` seconds is
    abandoned (tasks/budget.py), as are its later folds on that chunk.
    """

    model_names: list[str]
    horizon: int
    folds: int
    season_length: int
    context: dict
    ensemble_top_k: int = 0
    metric: str = "mase"
    time_budget: float | None = None


@dataclass(kw_only=True)
class BacktestChunk(Chunk):
    """One unit of backtest work (`tasks/chunks.py`): some series and the models to
    backtest on them.

    Series are integer codes (the many joins and group-bys per fold run several times
    faster on them than on strings); `names` holds the names of codes `first_code` on,
    for messages; the covariates' series are codes too.
    """

    models: list[str]
    spec: BacktestSpec
    names: pd.Index
    first_code: int = 0

    def series_names(self, codes) -> pd.Index:
        return self.names.take(np.asarray(codes, dtype=np.int64) - self.first_code).map(str)


@dataclass
class BacktestPlan:
    """Every chunk of a backtest, and the series names their codes stand for."""

    chunks: list[BacktestChunk]
    names: pd.Index
    spec: BacktestSpec


def plan_backtest(
    panel: pd.DataFrame,
    spec: BacktestSpec,
    chunk_size: int,
    workers: int = 1,
    covariates: Covariates | None = None,
) -> BacktestPlan:
    """The backtest in chunks (`tasks/chunks.py`): the global models, which learn from
    all series at once, in one chunk of every series; local models per chunk of series. A
    chunk with models that use covariates carries those of its series."""
    ordered = sort_panel(panel)
    codes, names = pd.factorize(ordered["series_id"], sort=False)
    ordered = ordered.assign(series_id=codes)
    models = {name: build_model(name, **spec.context) for name in spec.model_names}
    local = [name for name, model in models.items() if not is_global(model)]
    global_ = [name for name, model in models.items() if is_global(model)]
    coded = None
    if covariates is not None and any(map(model_uses_covariates, models.values())):
        coded = covariates.input(spec.context["freq"], coded_as=names)
    layout = chunk_layout(ordered, ordered if local else None, bool(global_), chunk_size, workers)
    chunks = []
    for kind, label, part in layout:
        names_in = global_ if kind is ChunkKind.GLOBAL else local
        first, last = int(part["series_id"].iloc[0]), int(part["series_id"].iloc[-1])
        uses = coded is not None and any(model_uses_covariates(models[n]) for n in names_in)
        chunks.append(
            BacktestChunk(
                panel=part,
                kind=kind,
                label=label,
                covariates=coded.of_rows(part) if uses else None,
                models=names_in,
                spec=spec,
                names=names[first : last + 1],
                first_code=first,
            )
        )
    return BacktestPlan(chunks, names, spec)


def backtest_spec(ctx: RunContext) -> BacktestSpec:
    """What every chunk of the run's backtest is evaluated with."""
    settings = ctx.settings
    return BacktestSpec(
        model_names=ctx.model_names,
        horizon=settings.horizon,
        folds=settings.folds,
        season_length=ctx.season_length,
        context=ctx.model_context,
        ensemble_top_k=settings.ensemble_top_k,
        metric=settings.selection_metric,
        time_budget=settings.model_time_budget_seconds,
    )


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


def for_next_fold(model: Forecaster, earlier: Forecaster | None) -> Forecaster:
    """The unfitted model a fold fits: what the same model fitted at the earlier origin
    hands on (`next_origin()`, e.g. a network's weights) when there is such a fit, else
    a fresh copy. Handing forward in time never leaks: a later origin's history contains
    an earlier one's."""
    return earlier.next_origin() if earlier is not None else clone(model)


def backtest_chunk(chunk: BacktestChunk) -> BacktestChunkResult:
    """Every fold of every model of one chunk; a model failing on it skips only this chunk.

    Series stay integer codes in the result (`combine_backtests` names them). Scores have
    no interval coverage yet: that needs the ensembles, which need every chunk.
    """
    spec, number = chunk.spec, chunk.label
    models = {name: build_model(name, **spec.context) for name in chunk.models}
    with_covariates = {name for name, model in models.items() if model_uses_covariates(model)}
    covariates = chunk.covariates if with_covariates else None
    min_train = min_train_length(spec.season_length)
    seconds: dict[str, float] = defaultdict(float)
    scores, failures, importance = [], [], []
    fold_forecasts = FoldForecasts(chunk.names, spec.folds, spec.horizon, chunk.first_code)
    # A model past its budget on one fold would most likely be past it on the next
    # (which trains on more data), so it sits out the rest of this chunk.
    timed_out: set[str] = set()
    # each model's fit at the previous fold, for the models with `next_origin()` only
    earlier: dict[str, Forecaster] = {}
    report(
        "backtest",
        f"{', '.join(chunk.models)}: {number}, {chunk.panel['series_id'].nunique()} series",
    )
    for fold in range(spec.folds):
        train, test = fold_split(chunk.panel, fold, spec.folds, spec.horizon, min_train)
        if train.empty:
            continue
        scale = insample_scale(train, spec.season_length)
        cutoff = train.groupby("series_id", sort=True)["ds"].last().rename("cutoff")
        test = test.join(scale, on="series_id").join(cutoff, on="series_id")
        train_x = future = None
        if covariates is not None:  # as known at each series' cutoff (known_at)
            history, future = covariates.frames(cutoff, spec.horizon)
            train_x = with_history(train, history, list(covariates.kinds))
        for name in chunk.models:
            if name in timed_out:
                continue
            model = for_next_fold(models[name], earlier.pop(name, None))
            uses = covariates is not None and name in with_covariates
            ran = run_model(
                partial(
                    fit_forecast,
                    model,
                    train_x if uses else train,
                    spec.horizon,
                    future if uses else None,
                ),  # fmt: skip
                model=name,
                stage="backtest",
                where=f"{number} fold {fold}",
                budget=spec.time_budget,
                forecasts_of=lambda output: output[1],
                series_names=chunk.series_names,
            )
            seconds[name] += ran.seconds
            failures += ran.failures
            for failure in ran.failures:
                report("backtest", failure.text)
            if ran.forecasts is None:  # one model's failure must not stop the others
                if ran.timed_out:
                    timed_out.add(name)
                continue
            if hasattr(ran.output[0], "next_origin"):
                earlier[name] = ran.output[0]
            report("backtest", f"{name} {number} fold {fold + 1}/{spec.folds}: {ran.seconds:.1f}s")
            if fold == spec.folds - 1:
                importance.append(
                    _importance(name, ran.output[0], train_x if uses else train,
                                future if uses else None, test, spec,
                                list(covariates.kinds) if uses else [])
                )  # fmt: skip
            pairs = test.merge(ran.forecasts, on=["series_id", "ds"], how="inner")
            pairs = pairs.assign(model=name, fold=fold)
            scored = score_errors(pairs, ["series_id", "model", "fold"])
            scores.append(scored.join(cutoff, on="series_id"))
            fold_forecasts.add(pairs[FOLD_FORECAST_COLUMNS])
    return BacktestChunkResult(
        scores=_concat(scores, SCORE_COLUMNS[:-2]),
        fold_forecasts=fold_forecasts,
        model_seconds=dict(seconds),
        kind=chunk.kind,
        failures=failures,
        importance=combine_importance(importance),
    )


def _importance(
    name: str,
    fitted: Forecaster,
    history: pd.DataFrame,
    future: pd.DataFrame | None,
    test: pd.DataFrame,
    spec: BacktestSpec,
    covariates: list[str],
) -> pd.DataFrame:
    """`fold_importance`; a failure to measure it is a progress line, not a failed chunk."""
    try:
        seed = int(spec.context.get("seed", 0))
        return fold_importance(name, fitted, history, future, test, spec.horizon, covariates, seed)
    except Exception as exc:  # noqa: BLE001 - the importance is a by-product of the backtest
        report("backtest", f"{name}: feature importance not measured ({exc!r})")
        return empty_importance()


class Backtested:
    """Chunk results folded in as they arrive (`add`): the flow's process keeps every
    chunk's scores, but its fold forecasts only in the compact `FoldForecasts`, never
    all chunks' frames at once."""

    def __init__(self, plan: BacktestPlan) -> None:
        self.plan = plan
        self.folds = FoldForecasts(plan.names, plan.spec.folds, plan.spec.horizon)
        self.seconds: dict[str, float] = defaultdict(float)
        # (scores, failures, importance) of the local chunks and of the global one, apart:
        # the global chunk runs first (`tasks/chunks.py`) but is listed after the others
        self._local: list[tuple[pd.DataFrame, list[Failure], pd.DataFrame]] = []
        self._global: list[tuple[pd.DataFrame, list[Failure], pd.DataFrame]] = []

    def add(self, part: BacktestChunkResult) -> None:
        self.folds.merge(part.fold_forecasts)
        kept = self._global if part.kind is ChunkKind.GLOBAL else self._local
        kept.append((part.scores, part.failures, part.importance))
        for name, spent in part.model_seconds.items():
            self.seconds[name] += spent

    def kept(self) -> list[tuple[pd.DataFrame, list[Failure], pd.DataFrame]]:
        """Every chunk's (scores, failures, importance): local chunks first, in order."""
        return self._local + self._global


def _series_ranges(plan: BacktestPlan, most: int = ENSEMBLE_SERIES) -> list[tuple[int, int]]:
    """Ranges of series codes to combine at a time: consecutive local chunks' series, up
    to `most` of them (else all series at once)."""
    local = [c for c in plan.chunks if c.kind is ChunkKind.LOCAL]
    if not local:
        return [(0, len(plan.names))] if len(plan.names) else []
    ranges: list[tuple[int, int]] = []
    for chunk in local:
        first, stop = chunk.first_code, chunk.first_code + len(chunk.names)
        if ranges and stop - ranges[-1][0] <= most:
            ranges[-1] = (ranges[-1][0], stop)
        else:
            ranges.append((first, stop))
    return ranges


def combine_backtests(done: Backtested) -> BacktestResult:
    """One result from every chunk's: ensembles scored, interval coverage, series named.

    Ensembles are combined one range of series at a time (consecutive local chunks' up
    to ENSEMBLE_SERIES series, with the global models' forecasts of the same series) and
    interval coverage one model at a time, so the work holds frames of a range or of one
    model, not of the whole backtest.
    """
    plan, folds = done.plan, done.folds
    spec = plan.spec
    kept = done.kept()
    scores = _concat([scores for scores, _, _ in kept if len(scores)], SCORE_COLUMNS[:-2])
    members = pd.DataFrame(columns=["series_id", "ensemble", "model"])
    if spec.ensemble_top_k and not scores.empty:
        members = ensemble_members(scores, spec.model_names, spec.ensemble_top_k, spec.metric)
        cutoffs = scores.drop_duplicates(["series_id", "fold"])[["series_id", "fold", "cutoff"]]
        member_codes = members["series_id"].to_numpy(dtype=np.int64)
        ensemble_scores = []
        for first, stop in _series_ranges(plan):
            mine = members[(member_codes >= first) & (member_codes < stop)]
            combined = ensemble_fold_forecasts(folds, mine, first, stop)
            ensemble_scores.append(
                score_errors(combined, ["series_id", "model", "fold"]).merge(
                    cutoffs, on=["series_id", "fold"]
                )
            )
            folds.add(combined[FOLD_FORECAST_COLUMNS])
        scores = pd.concat([scores, *ensemble_scores], ignore_index=True)
    coverage = [interval_coverage(frame) for frame in folds.by_model(named=False)]
    scored = scores.merge(
        pd.concat(coverage, ignore_index=True)
        if coverage
        else interval_coverage(pd.DataFrame(columns=FOLD_FORECAST_COLUMNS)),
        on=["series_id", "model", "fold"],
        how="left",
    )
    return BacktestResult(
        members=_named(members, plan.names),
        scores=_named(scored[SCORE_COLUMNS], plan.names),
        folds=folds,
        model_seconds={name: round(done.seconds[name], 3) for name in spec.model_names},
        failures=[failure for _, failures, _ in kept for failure in failures],
        importance=combine_importance([importance for _, _, importance in kept]),
    )


def models_not_run(scored: BacktestResult, model_names: list[str]) -> dict[str, str]:
    """The candidates without a backtest score on any series, each with why: its first
    failure's detail, or that no fold had the history it needs."""
    ran = set(scored.scores["model"].unique())
    why = {}
    for name in model_names:
        if name in ran:
            continue
        failure = next((f for f in scored.failures if f.model == name), None)
        why[name] = (failure.detail or failure.text) if failure else "no fold could score it"
    return why


def check_named_models(scored: BacktestResult, ctx: RunContext) -> list[str]:
    """A line for each candidate that ran on no series (the CLI shows it as it comes).

    When the models are named (`--models`, TIDECAST_MODELS) and none of those other than
    the baselines ran, the run fails: forecasts by baselines alone are not what was
    asked for, and BI keeps the previous run's.
    """
    from tidecast.models.registry import INFO

    not_run = models_not_run(scored, ctx.model_names)
    lines = [f"{name} did not run on any series: {why}" for name, why in not_run.items()]
    for line in lines:
        report("backtest", line)
    named = [n for n in ctx.settings.models or [] if INFO.get(n) and INFO[n].family != "baseline"]
    if named and all(name in not_run for name in named):
        raise TidecastError(
            "none of the models named besides the baselines ran: "
            + "; ".join(f"{name}: {not_run[name]}" for name in named)
        )
    return lines
