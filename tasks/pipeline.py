"""The pipeline, written once, as plain functions (no Prefect here).

    retrain  = read ► validate ► backtest ► promote ► calibrate ► final forecast ► write
    forecast = read ► validate ► monitor ► final forecast of the current champions ► write
    backfill = read ► validate ► for each cutoff: the retrain's compute on the data up to it

Each step is a function of `tidecast.tasks`; how a step runs is the `Steps` given: in
order in this process (`InProcess`, for tests and notebooks), or as Prefect tasks with
retries, timings and fan-out through a task runner (`tidecast.edge.steps.PrefectSteps`, for
the flows). `map` is the fan-out: one call per chunk of series, never per series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

import pandas as pd

from tidecast.settings import Settings
from tidecast.tasks.backfill import cutoffs_between, history_at, score_backfill, write_backfill
from tidecast.tasks.backtest import (
    Backtested,
    BacktestResult,
    backtest_chunk,
    backtest_spec,
    check_named_models,
    combine_backtests,
    plan_backtest,
)
from tidecast.tasks.champions import (
    champions_for_series,
    read_backtest_scores,
    read_current_champions,
    read_last_retrain,
)
from tidecast.tasks.context import RunContext
from tidecast.tasks.covariates import (
    Covariates,
    enforce_covariate_threshold,
    has_drivers,
    known_by,
    prepare_covariates,
    read_covariates,
)
from tidecast.tasks.demand import demand_note, with_demand_classes
from tidecast.tasks.forecast import (
    FinalForecast,
    Retrained,
    assemble_forecasts,
    calibrate_intervals,
    final_fit_chunk,
    final_fit_spec,
    plan_final_fit,
    without_uncovered_covariates,
)
from tidecast.tasks.ingest import read_observations, window_start, write_read_windows
from tidecast.tasks.monitor import LiveAccuracy, monitor_live_accuracy
from tidecast.tasks.promote import NO_PREVIOUS, best_without_covariates, promote_champions
from tidecast.tasks.runs import close_run, open_run
from tidecast.tasks.short_history import (
    forecast_short_series,
    with_short_series,
    without_backtest,
)
from tidecast.tasks.statics import read_statics
from tidecast.tasks.summary import backfill_summary, failure_fields, run_summary
from tidecast.tasks.validate import (
    ValidatedPanel,
    enforce_rejection_threshold,
    validate_observations,
)
from tidecast.tasks.write import (
    read_calibration,
    read_model_versions,
    write_quarantine,
    write_results,
)

T = TypeVar("T")


class Steps(Protocol):
    """How the pipeline's steps run."""

    def step(self, fn: Callable[..., T], *args: Any, stage: str | None = None, **kwargs: Any) -> T:
        """A step that computes. `stage` groups its time with others' on the run row."""

    def io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A step that talks to the database (retried on outages where that is possible)."""

    def map(
        self,
        fn: Callable[[Any], T],
        items: Sequence[Any],
        stage: str,
        each: Callable[[T], Any] | None = None,
    ) -> list[T]:
        """`fn` on every item, possibly in parallel; results in the items' order. With
        `each`, every result is handed to it in that order as soon as it is ready and
        not kept (a large fan-out's results need not all be held at once)."""


class InProcess:
    """`Steps` run one after another in this process: tests, notebooks, debugging."""

    def step(self, fn: Callable[..., T], *args: Any, stage: str | None = None, **kwargs: Any) -> T:
        return fn(*args, **kwargs)

    def io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)

    def map(
        self,
        fn: Callable[[Any], T],
        items: Sequence[Any],
        stage: str,
        each: Callable[[T], Any] | None = None,
    ) -> list[T]:
        return handed_on((fn(item) for item in items), each)


def handed_on(results: Iterable[T], each: Callable[[T], Any] | None) -> list[T]:
    """`Steps.map`'s answer from its results, produced in the items' order: all of them,
    or, with `each`, none, every one handed to `each` as it comes."""
    if each is None:
        return list(results)
    for result in results:
        each(result)
    return []


class Publisher:
    """Where a run announces what it did. This one tells nobody (tests, notebooks); the
    flows' edge hands in `tidecast.edge.runs.PrefectPublisher` (artifacts and events)."""

    def leaderboard(
        self,
        run_id: str,
        validated: ValidatedPanel,
        scored: BacktestResult,
        chosen: pd.DataFrame,
        job: str,
    ) -> None:
        """A completed retrain's leaderboard and summary."""

    def degraded(self, run_id: str, accuracy: LiveAccuracy, factor: float, job: str) -> list[str]:
        """A forecast run's live accuracy (an event when series degraded); notes for the
        run row."""
        return []


@dataclass
class Run:
    """One recorded run: its settings, its id, how its steps run, where it publishes.

    `validated` is set once the input is validated (a failed run's row then still says
    what was read); `finish` hands over the completed run row's fields.
    """

    settings: Settings
    id: str
    steps: Steps = field(default_factory=InProcess)
    publish: Publisher = field(default_factory=Publisher)
    validated: ValidatedPanel | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def finish(self, fields: dict[str, Any]) -> None:
        self.fields = fields


@contextmanager
def recorded_run(
    settings: Settings,
    flow_name: str,
    steps: Steps | None = None,
    publish: Publisher | None = None,
    *,
    flow_run_id: str | None = None,
    stage_seconds: Callable[[], dict[str, float]] = dict,
    interrupted: Callable[[BaseException], bool] = lambda exc: False,
    opened: Callable[[], None] = lambda: None,
) -> Iterator[Run]:
    """The run row of one run, from `running` to `completed` or `failed`, around the block.

    Opening it takes the job's run lock (a second writing run is refused); the block's
    `run.finish(fields)` gives the completed row's fields. Any exception (a SIGTERM or
    Ctrl-C included; `interrupted` names other signals, such as Prefect's) marks the run
    failed with what is known of its input, and goes on up. In this process by default
    (`InProcess`, a `Publisher` that tells nobody: tests, notebooks); the flows' edge
    (`tidecast.edge.runs`) hands in Prefect's steps and publisher, the flow run's id, its
    stage timings and `opened` (starts the chunk workers once the run row exists).
    """
    steps = steps or InProcess()
    run_id = steps.io(open_run, settings, flow_name, settings.run_parameters(), flow_run_id)
    opened()
    run = Run(settings, run_id, steps, publish or Publisher())
    try:
        yield run
        steps.io(close_run, settings, run_id, "completed", stage_seconds(), **run.fields)
    except BaseException as exc:  # marking it completed failing included
        fields = failure_fields(exc, run.validated, interrupted(exc))
        steps.io(close_run, settings, run_id, "failed", stage_seconds(), **fields)
        raise


def context_of(run: Run, validated: ValidatedPanel) -> RunContext:
    """The run's context, now that its data's season length, frequency and covariates
    are known."""
    covariates = validated.covariates
    return RunContext(
        run.settings,
        run.id,
        validated.season_length,
        validated.grid.freq,
        n_series=len(validated.series_ids),
        future_covariates=covariates.future_names if covariates else (),
        past_covariates=covariates.past_names if covariates else (),
        static_covariates=covariates.static_names if covariates else (),
    )


def read_validated(
    run: Run, since: datetime | None = None, incremental: bool = False
) -> ValidatedPanel:
    """The source's rows, validated, and the job's covariates (read whole: their newest
    values are what forecasts use); the rejected rows of both stored with their reasons.
    Fails the run (after storing them) when too many rows were rejected."""
    settings = run.settings
    raw = run.steps.io(read_observations, settings, since, incremental)
    validated = run.steps.step(validate_observations, raw, settings)
    run.validated = validated
    covariates = None
    if has_drivers(settings):
        raw_covariates = run.steps.io(read_covariates, settings)
        raw_statics = run.steps.io(read_statics, settings)
        covariates = run.steps.step(
            prepare_covariates, raw_covariates, validated.grid, validated.every_series,
            settings, raw_statics,
        )  # fmt: skip
    validated.covariates = covariates
    rejected_covariates = None if covariates is None else covariates.rejected
    run.steps.io(write_quarantine, settings, run.id, validated.rejected, rejected_covariates)
    enforce_rejection_threshold(validated, settings)
    enforce_covariate_threshold(covariates, settings.max_rejected_share)
    return validated


def backtest(
    ctx: RunContext, panel: pd.DataFrame, steps: Steps, covariates: Covariates | None = None
) -> BacktestResult:
    """Every candidate's rolling-origin backtest on every series, in chunks of series."""
    settings = ctx.settings
    plan = steps.step(
        plan_backtest, panel, backtest_spec(ctx), settings.chunk_size, settings.workers,
        covariates, stage="backtest",
    )  # fmt: skip
    done = Backtested(plan)  # each chunk's result folded in as it arrives, then dropped
    steps.map(backtest_chunk, plan.chunks, stage="backtest", each=done.add)
    return steps.step(combine_backtests, done, stage="backtest")


def final_forecast(
    ctx: RunContext,
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    calibration: pd.DataFrame,
    steps: Steps,
    stored_versions: pd.DataFrame | None = None,
    keep_artifacts: bool = True,
    covariates: Covariates | None = None,
    fallbacks: pd.DataFrame | None = None,
) -> FinalForecast:
    """The champions refitted (or loaded) on the full history, with intervals. A series
    whose champion's future covariates do not cover the horizon is forecast by its entry
    in `fallbacks` instead."""
    to_forecast, notes = steps.step(
        without_uncovered_covariates, ctx, panel, champions, covariates, fallbacks,
        stage="forecast",
    )  # fmt: skip
    settings = ctx.settings
    spec = final_fit_spec(ctx, calibration, stored_versions, keep_artifacts)
    inputs = None if covariates is None else covariates.input(ctx.freq)
    plan = steps.step(
        plan_final_fit, panel, to_forecast, spec, settings.chunk_size, settings.workers,
        inputs, stage="forecast",
    )  # fmt: skip
    parts = steps.map(final_fit_chunk, plan.chunks, stage="forecast")
    done = steps.step(assemble_forecasts, plan, parts, stage="forecast")
    done.notes[:0] = notes
    return done


def retrain_models(
    ctx: RunContext,
    panel: pd.DataFrame,
    previous: pd.DataFrame,
    steps: Steps,
    keep_artifacts: bool = True,
    covariates: Covariates | None = None,
    check: bool = False,
) -> Retrained:
    """Backtest ► promote ► calibrate ► final forecast: a retrain's compute, on `panel`.
    `check`: fail when none of the named models besides the baselines ran (a retrain;
    a backfill's early cutoffs may be too short for some)."""
    scored = backtest(ctx, panel, steps, covariates)
    if check:
        steps.step(check_named_models, scored, ctx)
    series_ids = pd.Index(panel["series_id"].unique())
    chosen = steps.step(promote_champions, scored, series_ids, ctx, previous)
    calibration = steps.step(calibrate_intervals, scored)
    fallbacks = None
    if covariates is not None:
        metric = ctx.settings.selection_metric
        fallbacks = steps.step(best_without_covariates, scored.scores, series_ids, metric)
    forecast = final_forecast(
        ctx, panel, chosen, calibration, steps, None, keep_artifacts, covariates, fallbacks
    )
    return Retrained(scored, chosen, calibration, forecast)


def retrain(run: Run) -> None:
    """The `retrain` flow's work: read the recent history, retrain, write, publish."""
    settings, steps = run.settings, run.steps
    since = steps.io(window_start, settings, settings.retrain_max_history)
    validated = read_validated(run, since)
    ctx = context_of(run, validated)
    previous = steps.io(read_current_champions, settings)
    if validated.panel.empty:  # every series too short to backtest: nothing to retrain
        done = steps.step(without_backtest, ctx)
    else:
        done = retrain_models(
            ctx, validated.panel, previous, steps, covariates=validated.covariates, check=True
        )
    short = steps.step(
        forecast_short_series, ctx, validated.short, validated.panel, previous, stage="forecast"
    )
    chosen, forecast_rows = with_short_series(done.chosen, done.forecast, short)
    chosen = steps.step(with_demand_classes, chosen, validated.every_series)
    done = replace(done, chosen=chosen, forecast=forecast_rows)
    steps.io(write_results, settings, run.id, validated.grid, done.forecast, done)
    steps.io(
        write_read_windows, settings, run.id, validated.every_series, validated.grid,
        ctx.season_length,
    )  # fmt: skip
    run.publish.leaderboard(run.id, validated, done.scored, done.chosen, settings.job)
    notes = [*ctx.notes, *filter(None, [demand_note(done.chosen)])]
    run.finish(run_summary(validated, done.chosen, done.forecast, done.scored, settings, notes))


def settings_of_last_retrain(
    settings: Settings, steps: Steps, horizon: int | None = None
) -> tuple[Settings, dict]:
    """The forecast flow's settings: frequency, season length and (unless given) horizon
    of the latest completed retrain, whose champions it forecasts with; and that retrain."""
    trained = steps.io(read_last_retrain, settings)
    refreshed = settings.with_overrides(
        horizon=horizon or trained["horizon"],
        freq=trained["freq"] or None,
        season_length=trained["season_length"] or None,
    )
    return refreshed, trained


def forecast(run: Run, trained: dict) -> None:
    """The `forecast` flow's work: the newest data, the current champions refitted on it."""
    settings, steps = run.settings, run.steps
    # per series: its lookback window before the newest data already read, and all newer
    validated = read_validated(run, incremental=True)
    ctx = context_of(run, validated)
    panel = validated.panel
    accuracy = steps.io(monitor_live_accuracy, settings, run.id, panel, ctx.season_length, ctx.freq)
    current = steps.io(read_current_champions, settings)
    chosen = steps.step(champions_for_series, validated.series_ids, current)
    # calibration and weights of the same retrain whose settings this run uses
    calibration = steps.io(read_calibration, settings, trained["run_id"])
    stored = steps.io(read_model_versions, settings, trained["run_id"])
    covariates, fallbacks = validated.covariates, None
    if covariates is not None:  # the retrain's best candidates without covariates
        scores = steps.io(read_backtest_scores, settings, trained["run_id"])
        fallbacks = steps.step(
            best_without_covariates,
            scores,
            validated.series_ids,
            trained.get("selection_metric", "mase"),
        )
    done = final_forecast(
        ctx, panel, chosen, calibration, steps, stored, True, covariates, fallbacks
    )
    short = steps.step(
        forecast_short_series, ctx, validated.short, panel, current, stage="forecast"
    )
    chosen, done = with_short_series(chosen, done, short)
    steps.io(write_results, settings, run.id, validated.grid, done)
    steps.io(
        write_read_windows, settings, run.id, validated.every_series, validated.grid,
        ctx.season_length,
    )  # fmt: skip
    notes = run.publish.degraded(run.id, accuracy, settings.degradation_factor, settings.job)
    run.finish(run_summary(validated, chosen, done, settings=settings, notes=notes))


def backfill(run: Run, start: str, end: str) -> None:
    """The `backfill` flow's work: a retrain's compute as of every cutoff from `start` to
    `end`, on the data up to it, scored against today's actuals into `backfill_forecasts`.
    What BI reads is never touched."""
    validated = read_validated(run)
    ctx, panel = context_of(run, validated), validated.panel
    written = []
    for cutoff in run.steps.step(cutoffs_between, validated.grid, panel, start, end):
        seen = history_at(panel, cutoff, ctx.settings.horizon, ctx.season_length)
        rows = None
        if not seen.empty:
            as_known = known_by(validated.covariates, validated.grid, cutoff)
            done = retrain_models(
                ctx, seen, NO_PREVIOUS, run.steps, keep_artifacts=False, covariates=as_known
            )
            rows = score_backfill(done.forecast.rows, panel, seen, cutoff, ctx.season_length)
        written.append(run.steps.io(write_backfill, run.settings, run.id, cutoff, rows))
    run.finish(backfill_summary(validated, written))
