"""Promotion: per series, champion/challenger on mean backtest MASE.

The best candidate (any model or ensemble) replaces the current champion only when it
beats the champion's score on this run's folds by the margin; seasonal naive is always
a candidate, and a champion worse than it in this backtest is never kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tidecast.progress import report
from tidecast.tasks.backtest import BacktestResult
from tidecast.tasks.context import RunContext
from tidecast.tasks.ensembles import CandidateKind, candidate_kind
from tidecast.tasks.leaderboard import champions_changed

NO_PREVIOUS = pd.DataFrame(columns=["series_id", "model"])  # a first run, or a backfill


def _mean_scores(
    scores: pd.DataFrame, series_ids: pd.Index, candidates: list[str], metric: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Per series and candidate the mean score over the series' folds (NaN where the
    candidate missed any of them), and the number of folds per series."""
    mean = scores.groupby(["series_id", "model"], sort=False)[metric].mean().unstack("model")
    mean = mean.reindex(index=series_ids, columns=candidates)
    folds = scores.groupby("series_id")["fold"].nunique().reindex(series_ids).fillna(0)
    # A model that failed on some of a series' folds is no candidate there: its mean over
    # the folds it survived (often the easy ones) is not comparable with the others'.
    scored_folds = scores.groupby(["series_id", "model"], sort=False)["fold"].nunique()
    scored_folds = scored_folds.unstack("model").reindex(index=series_ids, columns=candidates)
    return mean.where(scored_folds.to_numpy() >= folds.to_numpy()[:, None]), folds


def lowest_scores(mean: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `mean` (series × candidates): the column position of the lowest score
    (the first on ties; 0 where none was scored), and whether any candidate was scored."""
    values = mean.to_numpy(dtype=float)
    scored = ~np.isnan(values).all(axis=1)
    lowest = np.where(scored, np.nanargmin(np.where(np.isnan(values), np.inf, values), axis=1), 0)
    return lowest, scored


def is_fixed_choice(name: str) -> bool:
    """A candidate that is the same rule for every series: a model or a fixed combination
    (not a top-k ensemble, whose members are picked per series)."""
    return candidate_kind(name) is not CandidateKind.TOP_K


def run_default(mean: pd.DataFrame, candidates: list[str]) -> str | None:
    """The run's strongest fixed choice: the fixed combination (`ensemble_stats` or
    `ensemble_wide`) with the lowest mean score pooled over every series when the run has
    one, else the model with the lowest mean score pooled over every series that
    all models were scored on (each judged on the same series); registry order breaks ties.

    A single model is the default only without a combination: on the training data's own
    validation folds a model that won the pooled backtest (ridge on M3 "other") did worse
    than the combination on the next, unseen fold (BENCHMARKS.md, "Accuracy on M3"). Models
    that use the run's covariates are the exception (docs/covariates.md). Seasonal
    naive is the default when it beats that choice pooled over the run's series: the
    seasonal-naive floor, applied where the evidence is (per series it replaces the
    default only like any other candidate, with clear evidence on every fold).
    """
    from tidecast.models.registry import uses_covariates

    fixed = [c for c in candidates if is_fixed_choice(c) and mean[c].notna().any()]
    combinations = [c for c in fixed if candidate_kind(c) is CandidateKind.COMBINATION]
    # Models using the run's covariates stand beside the combination: they know what the
    # history alone cannot tell (a promotion next week), and pooled over every series and
    # fold a covariate that does not help shows as no gain.
    with_covariates = [c for c in fixed if uses_covariates(c)]
    pool = [*combinations, *with_covariates] if combinations else fixed
    if not pool:
        return None
    # The floor, pooled: a default behind seasonal naive over all series is no default.
    judged = [*pool, *(["seasonal_naive"] if "seasonal_naive" in fixed else [])]
    common = mean[list(dict.fromkeys(judged))].dropna()
    pooled = (common if len(common) else mean[judged]).mean()
    best = min(pool, key=lambda c: (pooled[c], pool.index(c)))
    if "seasonal_naive" in pooled and pooled["seasonal_naive"] < pooled[best]:
        return "seasonal_naive"
    return best


def clear_overrides(
    scores: pd.DataFrame,
    mean: pd.DataFrame,
    folds: pd.Series,
    default: str,
    candidates: list[str],
    metric: str,
    threshold: float,
    min_folds: int,
) -> pd.Series:
    """Per series, a candidate that beat `default` on every one of at least `min_folds`
    folds by more than the `threshold` share (NaN where none did); the lowest mean wins."""
    per_fold = scores.pivot_table(
        index=["series_id", "fold"], columns="model", values=metric, aggfunc="first"
    ).reindex(columns=candidates)
    if default not in per_fold or per_fold.empty:
        return pd.Series(np.nan, index=mean.index, dtype=object)
    beats = per_fold.lt(per_fold[default] * (1 - threshold), axis=0)
    every_fold = beats.groupby(level="series_id").all().reindex(mean.index, fill_value=False)
    clear = every_fold & mean.notna() & (folds >= min_folds).to_numpy()[:, None]
    clear[default] = False
    best = mean.where(clear).astype(float)
    found = best.notna().any(axis=1)
    picks = pd.Series(np.nan, index=mean.index, dtype=object)
    picks[found] = best[found].idxmin(axis=1)
    return picks


def choose_champions(
    scores: pd.DataFrame,
    series_ids: pd.Index,
    model_names: list[str],
    previous: pd.DataFrame,
    metric: str = "mase",
    margin: float = 0.0,
    policy: str = "per_series",
    override_threshold: float = 0.3,
    override_min_folds: int = 3,
    strict_floor: bool = False,
) -> pd.DataFrame:
    """One champion per series in `series_ids`.

    Candidates are `model_names` (their order breaks ties: simpler first) plus any other
    model in `scores` (the ensembles), after them. The challenger of each series is:

    * `per_series`: the candidate with the lowest mean score over the series' folds;
    * `combination`: the run's strongest fixed choice (`run_default`: pooled over every
      series, so it rests on all the run's folds), unless another candidate beat it on
      every fold of the series by more than `override_threshold` (with at least
      `override_min_folds` folds): a few short folds cannot tell close candidates apart.

    The challenger replaces the previous champion only when it beats the champion's score
    by the `margin`; a previous champion worse than seasonal naive is never kept. A series
    no candidate could be scored on falls back to `seasonal_naive` (or the first model).
    """
    extra = sorted(set(scores["model"]) - set(model_names))
    candidates = [*model_names, *extra]
    mean, folds = _mean_scores(scores, series_ids, candidates, metric)
    values = mean.to_numpy(dtype=float)
    rows = np.arange(len(values))
    lowest, scored = lowest_scores(mean)
    names = np.asarray(candidates, dtype=object)
    best_name = names[lowest]
    label = metric.upper()
    fold_text = folds.astype(int).astype(str).to_numpy()
    why_best = np.full(len(values), "", dtype=object)
    if policy == "combination":
        default = run_default(mean, candidates)
        if default is not None:
            override = clear_overrides(
                scores, mean, folds, default, candidates, metric, override_threshold,
                override_min_folds,
            ).to_numpy()  # fmt: skip
            has_default = mean[default].notna().to_numpy()
            overridden = pd.notna(override)
            best_name = np.where(overridden, override, np.where(has_default, default, best_name))
            why_best = np.where(
                overridden,
                "beat the run default " + default + " by more than "
                + f"{override_threshold:.0%} on each of " + fold_text + " folds",
                np.where(
                    has_default,
                    "the run default: lowest " + label + " pooled over all series",
                    "the run default " + default + " was not scored here; lowest mean " + label,
                ),
            )  # fmt: skip
    best_col = pd.Index(candidates).get_indexer(best_name)
    best_score = values[rows, best_col]
    if strict_floor and "seasonal_naive" in mean:
        behind = best_score > mean["seasonal_naive"].to_numpy(dtype=float)
        best_name = np.where(behind, "seasonal_naive", best_name)
        best_score = np.where(behind, mean["seasonal_naive"].to_numpy(dtype=float), best_score)
        why_best = np.where(behind, "the challenger was behind seasonal naive", why_best)

    previous_model = previous.set_index("series_id")["model"].reindex(series_ids).to_numpy()
    previous_col = pd.Index(candidates).get_indexer(previous_model)
    previous_score = np.where(previous_col >= 0, values[rows, np.maximum(previous_col, 0)], np.nan)
    baseline = (
        mean["seasonal_naive"].to_numpy(dtype=float)
        if "seasonal_naive" in mean
        else np.full(len(values), np.inf)
    )
    keep = (
        ~np.isnan(previous_score)
        & (best_score >= previous_score * (1 - margin))
        & ~(previous_score > baseline)
    )
    fallback = "seasonal_naive" if "seasonal_naive" in model_names else model_names[0]
    chosen = np.where(keep, previous_model, np.where(scored, best_name, fallback))
    score = np.where(keep, previous_score, np.where(scored, best_score, np.nan))
    reason = np.select(
        [
            ~scored,
            keep,
            ~np.isnan(previous_score) & (previous_model != best_name),
            pd.isna(previous_model),
        ],
        [
            "no model could be backtested on this series; fallback",
            "kept: no challenger beat it by the margin over " + fold_text + " fold(s)",
            "promoted: beat the previous champion by more than the margin on " + label,
            "first champion: lowest mean " + label + " over " + fold_text + " fold(s)",
        ],
        default="lowest mean " + label + " over " + fold_text + " fold(s)",
    )
    if policy == "combination":
        reason = np.where(~scored | keep, reason, reason + "; challenger: " + why_best)
        reason = np.where(
            scored & ~keep & pd.isna(previous_model),
            "first champion: " + why_best + " over " + fold_text + " fold(s)",
            reason,
        )
    champions = pd.DataFrame(
        {
            "series_id": series_ids.to_numpy(),
            "model": chosen,
            "score": score,
            "metric": metric,
            "previous_model": previous_model,
            "reason": reason,
        }
    )
    changed = int(champions_changed(champions).sum())
    report(
        "promote",
        f"{changed} champions changed; "
        + ", ".join(f"{m}: {n}" for m, n in champions["model"].value_counts().items()),
    )
    return champions


def with_members(champions: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Add `members`: for an ensemble champion, its models for that series, comma-separated."""
    joined = members.groupby(["series_id", "ensemble"], sort=False)["model"].agg(",".join)
    keys = pd.MultiIndex.from_frame(champions[["series_id", "model"]])
    return champions.assign(members=joined.reindex(keys).to_numpy())


def promote_champions(
    scored: BacktestResult, series_ids: pd.Index, ctx: RunContext, previous: pd.DataFrame
) -> pd.DataFrame:
    """`choose_champions` with the run's candidates, policy and margin, with ensemble members."""
    settings = ctx.settings
    chosen = choose_champions(
        scored.scores,
        series_ids,
        ctx.model_names,
        previous,
        metric=settings.selection_metric,
        margin=settings.champion_margin,
        policy=settings.promotion,
        override_threshold=settings.override_threshold,
        override_min_folds=settings.override_min_folds,
    )
    return with_members(chosen, scored.members)


def best_without_covariates(
    scores: pd.DataFrame, series_ids: pd.Index, metric: str
) -> pd.DataFrame:
    """`series_id`, `model`, `members`: per series the candidate with the best mean
    backtest score among the fixed choices that need no covariates (seasonal naive where
    none was scored on every fold): what forecasts a series whose future covariates do
    not cover the horizon."""
    from tidecast.models.registry import COMBINATIONS, combination_members, uses_covariates

    names = [
        name for name in pd.unique(scores["model"])
        if is_fixed_choice(name) and not uses_covariates(name)
    ]  # fmt: skip
    mean, _ = _mean_scores(scores[scores["model"].isin(names)], series_ids, names, metric)
    chosen = pd.Series("seasonal_naive", index=series_ids, dtype=object)
    if len(mean.columns):
        best, scored = lowest_scores(mean)
        chosen[scored] = np.asarray(mean.columns)[best[scored]]
    models = [n for n in names if candidate_kind(n) is CandidateKind.MODEL]
    members = {c: ",".join(combination_members(models, c)) or None for c in COMBINATIONS}
    return pd.DataFrame(
        {
            "series_id": series_ids,
            "model": chosen.to_numpy(),
            "members": chosen.map(members).to_numpy(),
        }
    )
