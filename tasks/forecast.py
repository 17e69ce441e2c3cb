"""Final forecasts: refit what the champions need on the full history, add intervals.

A single-model champion refits that model; an ensemble champion refits its members for
that series and combines them as in the backtest. A champion that fails, runs past its
time budget, or gives non-finite values falls back to seasonal naive for its series (the
one candidate every series has, and cheap enough never to fail), and the notes say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd

from tidecast.metrics import interval_scale
from tidecast.models.base import Forecaster, sort_panel
from tidecast.models.registry import (
    build_model,
    is_global,
    model_uses_covariates,
    uses_covariates,
)
from tidecast.progress import report
from tidecast.tasks.artifacts import ArtifactError, ArtifactStore, StoredModels
from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.chunks import Chunk, ChunkKind, chunk_layout
from tidecast.tasks.context import RunContext
from tidecast.tasks.covariates import CovariateInput, Covariates, covered_series, with_history
from tidecast.tasks.ensembles import combine, is_ensemble
from tidecast.tasks.failures import Failure
from tidecast.tasks.intervals import add_intervals, build_calibration
from tidecast.tasks.modelrun import (
    clipped_at_zero,
    fit_forecast,
    never_negative_series,
    predict_ahead,
    run_model,
)

FORECAST_COLUMNS = [
    "series_id", "ts", "step", "model", "yhat",
    "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95",
]  # fmt: skip


def models_needed(champions: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """`series_id`, `model`: every fitted model the champions of each series rely on."""
    chosen = champions[["series_id", "model"]]
    in_ensembles = members.merge(
        chosen.rename(columns={"model": "ensemble"}), on=["series_id", "ensemble"]
    )[["series_id", "model"]]
    single = chosen[~chosen["model"].map(is_ensemble).astype(bool)]
    return pd.concat([single, in_ensembles], ignore_index=True).drop_duplicates()


def _fit_and_forecast(
    name: str,
    model: Forecaster,
    history: pd.DataFrame,
    horizon: int,
    stored: StoredModels | None,
    series_wanted: int,
    future: pd.DataFrame | None = None,
) -> tuple[Forecaster, pd.DataFrame, list[str]]:
    """The fitted (or loaded) model, its forecasts, and a note if stored weights were refused."""
    if stored is not None and stored.has_weights(name):
        try:
            loaded = stored.load(name, model, history)
            report(
                "forecast",
                f"{name}: stored weights, newest window of {history['series_id'].nunique()} series",
            )
            return loaded, clipped_at_zero(predict_ahead(loaded, horizon, future), history), []
        except ArtifactError as exc:
            note = f"{exc}; {name} refitted instead"
            report("forecast", note)
            return (*fit_forecast(model, history, horizon, future), [note])
    report(
        "forecast",
        f"{name}: fitting on {history['series_id'].nunique()} series, forecasting {series_wanted}",
    )
    return (*fit_forecast(model, history, horizon, future), [])


def _forecasts_for(output: tuple, wanted: pd.Series) -> pd.DataFrame:
    """The forecasts of `_fit_and_forecast`'s output for the series that want them."""
    predicted = output[1]
    return predicted[predicted["series_id"].isin(wanted)]


def fit_and_predict(
    ordered: pd.DataFrame,
    needed: pd.DataFrame,
    horizon: int,
    context: dict,
    store: ArtifactStore | None = None,
    stored: StoredModels | None = None,
    time_budget: float | None = None,
    covariates: CovariateInput | None = None,
) -> tuple[pd.DataFrame, list[str], list[Failure]]:
    """Forecasts (`series_id`, `ds`, `model`, `yhat`) of each needed model for its series.

    A model that uses covariates gets every value known now (the newest vintage): in its
    history and, for the steps ahead, the `future` ones.

    With `stored` (the forecast flow), a model whose weights were kept by the last
    retrain is loaded and conditioned on the newest data instead of refitted; with `store`
    (a retrain), every fitted model is recorded, with its weights where it has any. Loading
    or fitting and forecasting one model gets `time_budget` seconds (tasks/budget.py).
    """
    notes, parts, failures = [], [], []
    for name, wanted in needed.groupby("model", sort=False)["series_id"]:
        model = build_model(name, **context)
        # A global model learns from every series, as in the backtest; a local one only
        # needs the series that use it.
        history = ordered if is_global(model) else ordered[ordered["series_id"].isin(wanted)]
        future = None
        if covariates is not None and model_uses_covariates(model):
            last = history.groupby("series_id", sort=False)["ds"].max()
            known, future = covariates.frames(last, horizon, as_of_cutoff=False)
            history = with_history(history, known, list(covariates.kinds))
        ran = run_model(
            partial(_fit_and_forecast, name, model, history, horizon, stored, len(wanted), future),
            model=name,
            stage="final fit",
            where="the final fit",
            budget=time_budget,
            forecasts_of=partial(_forecasts_for, wanted=wanted),
        )
        failures += ran.failures
        if ran.forecasts is None:  # the champions relying on it fall back (assemble_forecasts)
            continue
        fitted, _, loaded = ran.output
        notes += loaded
        # Saved only once the model has forecast in time: an abandoned fit still running
        # in the background must not write the run's artifacts.
        if store is not None:
            try:
                store.save(name, fitted, history)
            except Exception as exc:  # noqa: BLE001 - as if the fit had failed: fall back
                failures.append(Failure(name, "final fit", "error", "saving it", repr(exc)))
                continue
        parts.append(ran.forecasts.assign(model=name))
    if not parts:
        return pd.DataFrame(columns=["series_id", "ds", "model", "yhat"]), notes, failures
    return pd.concat(parts, ignore_index=True), notes, failures


@dataclass(frozen=True)
class FinalFitSpec:
    """What every chunk of one final fit is fitted and forecast with.

    `context` is what models are built with (`Settings.model_context`); `quantiles` the
    interval calibration. In a retrain `store` records every fitted model (with its
    weights); in the forecast flow `stored` holds the last retrain's. Loading or fitting
    and forecasting one model gets `time_budget` seconds (tasks/budget.py).
    """

    horizon: int
    season_length: int
    context: dict
    quantiles: pd.DataFrame
    store: ArtifactStore | None = None
    stored: StoredModels | None = None
    time_budget: float | None = None
    nonnegative: bool = False


@dataclass(kw_only=True)
class FinalFitChunk(Chunk):
    """One unit of final-fit work (`tasks/chunks.py`): the needed models of some series
    (every series for a global model), fitted on their full history."""

    needed: pd.DataFrame  # series_id, model
    spec: FinalFitSpec


@dataclass
class FinalFitChunkResult:
    """What one chunk's final fits give back: forecasts, notes, failures, registry rows."""

    forecasts: pd.DataFrame  # series_id, ds, model, yhat
    notes: list[str]
    failures: list[Failure]
    versions: list[dict]


@dataclass
class FinalFitPlan:
    """The final forecast of a run: its chunks, and what turns their output into rows."""

    chunks: list[FinalFitChunk]
    panel: pd.DataFrame  # sorted
    champions: pd.DataFrame
    members: pd.DataFrame
    spec: FinalFitSpec


def final_fit_chunk(chunk: FinalFitChunk) -> FinalFitChunkResult:
    """Fit (or load) and forecast the needed models of one chunk."""
    spec = chunk.spec
    report("forecast", f"{chunk.label}: {chunk.needed['series_id'].nunique()} series")
    # A copy per chunk: the chunk may run in another process, so rows come back as values.
    store = spec.store and ArtifactStore(spec.store.directory, spec.store.run_id)
    forecasts, notes, failures = fit_and_predict(
        chunk.panel, chunk.needed, spec.horizon, spec.context, store, spec.stored,
        spec.time_budget, chunk.covariates,
    )  # fmt: skip
    return FinalFitChunkResult(forecasts, notes, failures, [] if store is None else store.versions)


def plan_final_fit(
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    spec: FinalFitSpec,
    chunk_size: int,
    workers: int = 1,
    covariates: CovariateInput | None = None,
) -> FinalFitPlan:
    """The final fit in chunks (`tasks/chunks.py`), as the backtest's: the global models
    first, once on every series; then the local models per chunk of the series that need
    them. `champions` carry their `members`."""
    ordered = sort_panel(panel)
    members = members_of(champions)
    needed = models_needed(champions, members)
    global_names = [
        name for name in needed["model"].unique() if is_global(build_model(name, **spec.context))
    ]
    local = needed[~needed["model"].isin(global_names)]
    using_local = ordered[ordered["series_id"].isin(local["series_id"])]
    layout = chunk_layout(ordered, using_local, bool(global_names), chunk_size, workers)
    chunks = []
    for kind, label, part in layout:
        if kind is ChunkKind.GLOBAL:
            wanted = needed[needed["model"].isin(global_names)]
        else:
            wanted = local[local["series_id"].isin(part["series_id"].unique())]
        uses = covariates is not None and any(map(uses_covariates, wanted["model"].unique()))
        chunks.append(
            FinalFitChunk(
                panel=part,
                kind=kind,
                label=label,
                covariates=covariates.of_rows(part) if uses else None,
                needed=wanted,
                spec=spec,
            )
        )
    return FinalFitPlan(chunks, ordered, champions, members, spec)


def merged_versions(parts: list[FinalFitChunkResult]) -> pd.DataFrame:
    """One registry row per model: a local model fitted chunk by chunk is one version."""
    rows = pd.DataFrame([row for part in parts for row in part.versions])
    if rows.empty:
        return rows
    # every field as the first chunk recorded it, but the data span and the series count
    how = {name: "first" for name in rows.columns if name != "model"}
    how.update(data_start="min", data_end="max", series_count="sum")
    return rows.groupby("model", sort=False).agg(how).reset_index()[list(rows.columns)]


@dataclass
class FinalForecast:
    """A run's forecast: its rows, notes and failures for the run row, registry rows of
    what was fitted."""

    rows: pd.DataFrame  # FORECAST_COLUMNS
    notes: list[str]
    failures: list[Failure]
    versions: pd.DataFrame


@dataclass
class Retrained:
    """A retrain's compute: the backtest, the champions, their calibration, the forecast."""

    scored: BacktestResult
    chosen: pd.DataFrame
    calibration: pd.DataFrame
    forecast: FinalForecast


def assemble_forecasts(plan: FinalFitPlan, parts: list[FinalFitChunkResult]) -> FinalForecast:
    """Rows for every series from its champion, with 80% and 95% intervals; the notes; the
    registry rows of what was fitted. A series whose champion gave no complete finite
    forecast falls back to seasonal naive."""
    ordered, champions, spec = plan.panel, plan.champions, plan.spec
    horizon = spec.horizon
    scale = interval_scale(ordered, spec.season_length)
    notes = [note for part in parts for note in part.notes]
    failures = [failure for part in parts for failure in part.failures]
    frames = [part.forecasts for part in parts if len(part.forecasts)]
    base = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["series_id", "ds", "model", "yhat"])
    )
    ensembles = combine(base, plan.members, ["series_id", "ds"])
    candidates = pd.concat([base, *([ensembles] if len(ensembles) else [])], ignore_index=True)
    out = champions[["series_id", "model"]].merge(candidates, on=["series_id", "model"])
    complete = out.groupby("series_id")["ds"].transform("size") == horizon
    out = out[complete.to_numpy()]
    lost = champions[~champions["series_id"].isin(out["series_id"])]
    missing = lost["series_id"]
    if len(missing):
        for model, series in lost.groupby("model", sort=False)["series_id"]:
            failures.append(
                Failure(model, "final forecast", "fallback", "the final forecast",
                        series=tuple(series.astype(str)))
            )  # fmt: skip
        fallback = (
            build_model("seasonal_naive", **spec.context)
            .fit(ordered[ordered["series_id"].isin(missing)])
            .predict(horizon)
        )
        out = pd.concat([out, fallback.assign(model="seasonal_naive")], ignore_index=True)
    out = out.sort_values(["series_id", "ds"], kind="stable")
    out["step"] = out.groupby("series_id").cumcount() + 1
    out = add_intervals(out, spec.quantiles, scale).rename(columns={"ds": "ts"})
    rows = floored_at_zero(out[FORECAST_COLUMNS].reset_index(drop=True), ordered, spec.nonnegative)
    return FinalForecast(rows, notes, failures, merged_versions(parts))


def floored_at_zero(rows: pd.DataFrame, history: pd.DataFrame, every: bool) -> pd.DataFrame:
    """Forecast rows (`FORECAST_COLUMNS`) whose forecast and bounds are at least 0 for
    every series whose `history` is never negative, and for all of them with `every`
    (a target declared non-negative)."""
    values = FORECAST_COLUMNS[4:]
    floor = rows["series_id"].isin(never_negative_series(history)).to_numpy() | every
    rows.loc[floor, values] = rows.loc[floor, values].clip(lower=0.0)
    return rows


def members_of(champions: pd.DataFrame) -> pd.DataFrame:
    """`series_id`, `ensemble`, `model` from the champions' comma-separated `members`."""
    ensembles = champions[champions["members"].notna()]
    exploded = ensembles.assign(member=ensembles["members"].str.split(",")).explode("member")
    return pd.DataFrame(
        {
            "series_id": exploded["series_id"].to_numpy(),
            "ensemble": exploded["model"].to_numpy(),
            "model": exploded["member"].to_numpy(),
        }
    )


def uncovered_series(
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    covariates: CovariateInput,
    horizon: int,
) -> pd.Index:
    """The series whose champion (or a member of it) uses covariates whose `future` values
    do not cover every one of the `horizon` steps after the series' last observation."""
    needed = models_needed(champions, members_of(champions))
    using = [n for n in needed["model"].unique() if uses_covariates(n)]
    relying = pd.Index(needed.loc[needed["model"].isin(using), "series_id"].unique())
    if relying.empty:
        return relying
    last = panel[panel["series_id"].isin(relying)].groupby("series_id")["ds"].max()
    _, future = covariates.for_series(relying).frames(last, horizon, as_of_cutoff=False)
    return relying.difference(covered_series(future, last, horizon))


def without_uncovered_covariates(
    ctx: RunContext,
    panel: pd.DataFrame,
    champions: pd.DataFrame,
    covariates: Covariates | None,
    fallbacks: pd.DataFrame | None,
) -> tuple[pd.DataFrame, list[str]]:
    """The champions to forecast with: a series whose champion needs future covariates
    that do not cover the horizon is forecast by `fallbacks` (its best candidate that
    needs none), and a note says so. The champions table itself is not changed."""
    if covariates is None or fallbacks is None or champions.empty:
        return champions, []
    inputs = covariates.input(ctx.freq)
    horizon = ctx.settings.horizon
    uncovered = uncovered_series(panel, champions, inputs, horizon)
    if uncovered.empty:
        return champions, []
    replacement = fallbacks.set_index("series_id").reindex(uncovered)
    replacement = replacement.fillna({"model": "seasonal_naive"})
    rows = champions["series_id"].isin(uncovered).to_numpy()
    chosen = champions.copy()
    if "members" not in chosen:
        chosen["members"] = None
    chosen.loc[rows, "model"] = chosen.loc[rows, "series_id"].map(replacement["model"]).to_numpy()
    chosen.loc[rows, "members"] = (
        chosen.loc[rows, "series_id"].map(replacement["members"]).to_numpy()
    )
    names = ", ".join(map(str, uncovered[:5])) + (", …" if len(uncovered) > 5 else "")
    used = chosen.loc[rows, "model"].value_counts().to_dict()
    note = (
        f"{len(uncovered)} series forecast without covariates by their best candidate "
        f"that needs none ({used}): their future covariates do not cover the {horizon} "
        f"steps ahead ({names}); `tidecast covariates check` lists what is missing"
    )
    report("forecast", note)
    return chosen, [note]


def final_fit_spec(
    ctx: RunContext,
    calibration: pd.DataFrame,
    stored_versions: pd.DataFrame | None = None,
    keep_artifacts: bool = True,
) -> FinalFitSpec:
    """What the run's final fit is made with, intervals from `calibration`.

    In a retrain (`stored_versions` None) the fitted models are kept under
    `artifacts_dir/<run_id>` and come back as registry rows; in the forecast flow the
    latest retrain's `stored_versions` are reused. A backfill keeps nothing
    (`keep_artifacts` False).
    """
    settings = ctx.settings
    store = None
    if stored_versions is None and keep_artifacts:
        store = ArtifactStore(settings.artifacts_dir / ctx.run_id, ctx.run_id)
    return FinalFitSpec(
        horizon=settings.horizon,
        season_length=ctx.season_length,
        context=ctx.model_context,
        quantiles=calibration,
        store=store,
        stored=None if stored_versions is None else StoredModels(stored_versions),
        time_budget=settings.model_time_budget_seconds,
        nonnegative=settings.nonnegative,
    )


def calibrate_intervals(backtest_result: BacktestResult) -> pd.DataFrame:
    """The interval calibration of this run's backtest (its pooled rows stored with the run)."""
    return build_calibration(backtest_result.folds.by_model())
