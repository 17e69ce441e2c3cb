"""How promotion should choose, decided on the training data alone: a study on M3.

    .venv/bin/python bench/policy_study.py fit [--subset S] [--models a,b] [--limit N]
    .venv/bin/python bench/policy_study.py evaluate [--subset S] [--test]

`fit` runs every model through a rolling-origin backtest of `folds + 1` folds on the
training part (`x`) of each M3 series, and once more on the whole training part for the
official horizon, and caches the forecasts (one file per subset and model).

`evaluate` replays promotion policies on that cache without fitting anything:

* **validation** (the default, what choices are made on): the last fold of the training
  data plays the held-out test; the policy sees only the `folds` folds before it. The
  official test part is never read.
* **--test** (confirmation only): the policy sees the last `folds` folds, exactly what a
  `tidecast retrain` run backtests, and its pick's final forecast is scored on `xx`.

Scores are sMAPE (%) and MASE, per subset and overall; overall both point-weighted (the
published M3 convention: series x horizon) and series-weighted, labelled.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.m3 import SUBSETS, m3_train_test, score  # noqa: E402

CACHE = Path(os.environ.get("TIDECAST_STUDY_CACHE", "/tmp/tidecast-policy-study"))
FOLDS = 3  # what a retrain backtests; the study fits one more, earlier fold
STUDY_MODELS = (
    "naive",
    "seasonal_naive",
    "drift",
    "window_average",
    "auto_ets",
    "theta",
    "dynamic_theta",
    "auto_theta",
    "auto_ces",
    "auto_arima",
    "ridge",
    "nbeats_ensemble",
)


def _cache_file(subset: str, model: str, limit: int | None) -> Path:
    return CACHE / f"{subset}-{model}{'' if limit is None else f'-{limit}'}.pkl"


def fit_one(subset: str, model: str, limit: int | None) -> str:
    """Backtest `model` with FOLDS + 1 folds and forecast the official horizon; cache both."""
    from tidecast.models.registry import build_model
    from tidecast.settings import load_settings
    from tidecast.tasks.context import RunContext
    from tidecast.tasks.pipeline import InProcess, backtest

    path = _cache_file(subset, model, limit)
    if path.exists():
        return f"{path.name}: cached"
    freq, horizon, season_length = SUBSETS[subset]
    train, _ = m3_train_test(subset, limit)
    settings = load_settings(
        horizon=horizon, freq=freq, season_length=season_length, models=[model],
        folds=FOLDS + 1, chunk_size=10**6, workers=1, ensemble_top_k=0,
    )  # fmt: skip
    ctx = RunContext(settings, "policy-study", season_length, freq)
    started = time.perf_counter()
    backtested = backtest(ctx, train, InProcess())
    final = build_model(model, **ctx.model_context).fit(train).predict(horizon)
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        folds = backtested.fold_forecasts  # seasonal naive, always a candidate, is dropped
        folds = folds[folds["model"] == model]
        pickle.dump({"folds": folds, "final": final, "seconds": seconds}, out)
    return f"{path.name}: {seconds:.0f} s"


def cmd_fit(args: argparse.Namespace) -> None:
    subsets = args.subset or list(SUBSETS)
    models = args.models.split(",") if args.models else list(STUDY_MODELS)
    jobs = [(s, m) for m in models for s in subsets]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(fit_one, s, m, args.limit) for s, m in jobs]
        for future in futures:
            print(future.result(), flush=True)


# Fixed combinations the study compares: equal-weight means of the named models' forecasts.
COMBINATIONS = {
    "mean(ets,theta,dot)": ("auto_ets", "theta", "dynamic_theta"),
    "mean(ets,theta,dot,arima)": ("auto_ets", "theta", "dynamic_theta", "auto_arima"),
    "mean(ets,dot)": ("auto_ets", "dynamic_theta"),
    "mean(theta,dot)": ("theta", "dynamic_theta"),
    "mean(ets,theta,dot,ces)": ("auto_ets", "theta", "dynamic_theta", "auto_ces"),
    "mean(ets,autotheta,arima)": ("auto_ets", "auto_theta", "auto_arima"),
    "median(ets,theta,dot,arima)": ("auto_ets", "theta", "dynamic_theta", "auto_arima"),
    "mean(ets,theta,dot,nbeats)": ("auto_ets", "theta", "dynamic_theta", "nbeats_ensemble"),
    "mean(ets,theta,dot,arima,nbeats)": (
        "auto_ets",
        "theta",
        "dynamic_theta",
        "auto_arima",
        "nbeats_ensemble",
    ),
}


# Short names of the combination members in the combinations' labels.
SHORT = {
    "auto_ets": "ets",
    "theta": "theta",
    "dynamic_theta": "dot",
    "auto_arima": "arima",
    "nbeats_ensemble": "nbeats",
}
# Every mean of two or more of the default preset's members, for the policy that picks
# the run's strongest of them by pooled backtest MASE (rejected on validation;
# BENCHMARKS.md).
DEFAULT_MEMBERS = ("auto_ets", "theta", "dynamic_theta", "auto_arima")
MEMBER_SUBSETS = {
    "mean(" + ",".join(SHORT[m] for m in members) + ")": members
    for k in range(2, len(DEFAULT_MEMBERS) + 1)
    for members in itertools.combinations(DEFAULT_MEMBERS, k)
}


def load_cache(subset: str, limit: int | None) -> dict[str, dict]:
    found = {}
    for model in STUDY_MODELS:
        path = _cache_file(subset, model, limit)
        if path.exists():
            with path.open("rb") as handle:
                found[model] = pickle.load(handle)
    return found


def wide_folds(cache: dict[str, dict]) -> pd.DataFrame:
    """(series_id, fold, step) x model -> yhat, with y and scale, combinations added."""
    parts = [entry["folds"] for entry in cache.values()]
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(
        index=["series_id", "fold", "step"], columns="model", values="yhat", aggfunc="first"
    )
    base = long.drop_duplicates(["series_id", "fold", "step"]).set_index(
        ["series_id", "fold", "step"]
    )[["y", "scale"]]
    return add_combinations(wide).join(base)


def add_combinations(wide: pd.DataFrame) -> pd.DataFrame:
    extra = {}
    for name, members in {**COMBINATIONS, **MEMBER_SUBSETS}.items():
        if all(m in wide.columns for m in members):
            values = wide[list(members)]
            extra[name] = (
                values.median(axis=1) if name.startswith("median") else values.mean(axis=1)
            )
    return wide.assign(**extra)


def fold_scores(wide: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """(series_id, fold) x candidate -> MASE of that fold."""
    ase = wide[candidates].sub(wide["y"], axis=0).abs().div(wide["scale"], axis=0)
    return ase.groupby(level=["series_id", "fold"]).mean()


def long_scores(scores: pd.DataFrame, metric: str = "mase") -> pd.DataFrame:
    """The wide (series_id, fold) x candidate table as promotion's long score rows."""
    out = scores.stack().rename(metric).reset_index()
    return out.rename(columns={out.columns[2]: "model"})


def choose(
    evidence: pd.DataFrame, singles: list[str], combination: str | None, spec: dict
) -> pd.Series:
    """Per series, what tidecast's promotion (tasks/promote.py) picks from the evidence
    folds, with `combination` playing the run's fixed combination `ensemble_stats`."""
    from tidecast.tasks.promote import choose_champions

    columns = [*singles, *([combination] if combination else [])]
    table = evidence[columns].rename(columns={combination: "ensemble_stats"})
    series = table.index.get_level_values("series_id").unique()
    none = pd.DataFrame(columns=["series_id", "model"])
    champions = choose_champions(long_scores(table), series, singles, none, **spec)
    return champions.set_index("series_id")["model"].replace("ensemble_stats", combination)


def pick_scores(wide: pd.DataFrame, picks: pd.Series, folds: list[int]) -> pd.DataFrame:
    """sMAPE and MASE per (series, step) of each series' pick on the given folds."""
    rows = wide[wide.index.get_level_values("fold").isin(folds)]
    pick = picks.reindex(rows.index.get_level_values("series_id")).to_numpy()
    cols = pd.Index(rows.columns).get_indexer(pick)
    values = rows.to_numpy(dtype=float)
    yhat = values[np.arange(len(rows)), cols]
    y, scale = rows["y"].to_numpy(), rows["scale"].to_numpy()
    err = np.abs(y - yhat)
    return pd.DataFrame(
        {"smape": 200 * err / (np.abs(y) + np.abs(yhat)), "ase": err / scale},
        index=rows.index,
    )


def summarise_points(points: pd.DataFrame) -> dict[str, float]:
    per_series = points.groupby(level="series_id").mean()
    return {
        "smape": float(per_series["smape"].mean()),
        "mase": float(per_series["ase"].mean()),
        "points": len(points),
        "series": len(per_series),
    }


def strongest_subset(evidence: pd.DataFrame, zoo: list[str]) -> str | None:
    """The mean of the zoo's members with the lowest MASE pooled over the evidence folds
    (per series the mean over its folds, then the mean over series all were scored on)."""
    names = [n for n, members in MEMBER_SUBSETS.items() if set(members) <= set(zoo)]
    names = [n for n in names if n in evidence.columns]
    if not names:
        return None
    pooled = evidence[names].groupby(level="series_id").mean().dropna().mean()
    return str(pooled.idxmin())


def policies(candidates: list[str]) -> list[tuple[str, str | None, dict]]:
    """(label, combination, choose_champions arguments) of every policy compared."""
    combos = [c for c in candidates if c in COMBINATIONS]
    out: list[tuple[str, str | None, dict]] = [("per-series lowest mean", None, {})]
    for combo in combos:
        out.append((f"fixed {combo}", combo, {"fixed": True}))
        for tau in (0.0, 0.1, 0.2, 0.3, 0.5):
            for min_folds in (2, 3):
                spec = {"policy": "combination", "override_threshold": tau,
                        "override_min_folds": min_folds}  # fmt: skip
                out.append((f"{combo}; overrides tau={tau}, folds>={min_folds}", combo, spec))
        out.append((f"{combo}; no overrides", combo,
                    {"policy": "combination", "override_min_folds": 99}))  # fmt: skip
    return out


def _score_picks(picks: pd.Series, phase: dict) -> dict:
    """sMAPE and MASE of each series' pick on the judged part (validation fold or test)."""
    if phase["test"] is None:
        result = summarise_points(pick_scores(phase["wide"], picks, [phase["judged"]]))
        return {"smape": result["smape"], "mase": result["mase"], "points": result["points"]}
    final_wide = phase["final_wide"]
    series = final_wide.index.get_level_values("series_id").unique()
    picks = picks.reindex(series).fillna("seasonal_naive")
    columns = final_wide.columns.get_indexer(
        picks.reindex(final_wide.index.get_level_values("series_id"))
    )
    chosen = final_wide.to_numpy()[np.arange(len(final_wide)), columns]
    forecast = final_wide.index.to_frame(index=False).assign(yhat=chosen)
    result = score(phase["train"], phase["test"], forecast, phase["season_length"])
    return {"smape": result["smape"], "mase": result["mase"], "points": len(phase["test"])}


def preset_policies(season_length: int, n_series: int, candidates: list[str]) -> list[tuple]:
    """Each preset replayed with the shipped promotion settings: its zoo for a panel of
    this season length and size, and the mean of its combination members as
    `ensemble_stats`."""
    from tidecast.models.registry import combination_members, preset_models
    from tidecast.settings import Settings

    defaults = Settings.model_fields
    spec = {
        "policy": "combination",
        "override_threshold": defaults["override_threshold"].default,
        "override_min_folds": defaults["override_min_folds"].default,
    }
    out = []
    for preset in ("fast", "default", "best"):
        zoo = [*preset_models(preset, season_length, n_series), "seasonal_naive"]
        members = combination_members(zoo)
        combo = "mean(" + ",".join(SHORT[m] for m in SHORT if m in members) + ")"
        if combo in candidates and all(m in candidates for m in zoo):
            out.append((f"preset {preset} (shipped policy)", combo, combo, {**spec, "zoo": zoo}))
            for tau in (0.2, 0.3, 0.5):
                for min_folds in (2, 3):
                    other = {**spec, "override_threshold": tau, "override_min_folds": min_folds}
                    label = f"preset {preset}, tau={tau}, folds>={min_folds}"
                    out.append((label, combo, combo, {**other, "zoo": zoo}))
                    strict = {**other, "zoo": zoo, "strict_floor": True}
                    out.append((label + ", strict seasonal-naive floor", combo, combo, strict))
    return out


def cmd_evaluate(args: argparse.Namespace) -> None:
    subsets = args.subset or list(SUBSETS)
    rows = []
    for subset in subsets:
        cache = load_cache(subset, args.limit)
        if not cache:
            continue
        wide = wide_folds(cache)
        candidates = [c for c in wide.columns if c not in ("y", "scale")]
        singles = [c for c in candidates if c in STUDY_MODELS]
        _, horizon, season_length = SUBSETS[subset]
        all_folds = sorted(wide.index.get_level_values("fold").unique())
        phase = {"wide": wide, "season_length": season_length, "test": None}
        if args.test:
            evidence_folds = all_folds[-FOLDS:]
            phase["train"], phase["test"] = m3_train_test(subset, args.limit)
            finals = pd.concat(
                [e["final"].assign(model=m) for m, e in cache.items()], ignore_index=True
            )
            phase["final_wide"] = add_combinations(
                finals.pivot_table(index=["series_id", "ds"], columns="model", values="yhat")
            )
        else:
            evidence_folds, phase["judged"] = all_folds[:-1][-FOLDS:], all_folds[-1]
        scores = fold_scores(wide, candidates)
        evidence = scores[scores.index.get_level_values("fold").isin(evidence_folds)]
        # Judged: series with evidence (in the replayed run, shorter ones are quarantined).
        series = evidence.index.get_level_values("series_id").unique()
        if not args.test:
            phase["wide"] = wide[wide.index.get_level_values("series_id").isin(series)]
        labelled = [(f"fixed {m}", m, None, {"fixed": True}) for m in singles]
        labelled += [(label, combo, combo, spec) for label, combo, spec in policies(candidates)]
        labelled += preset_policies(season_length, len(series), candidates)
        default = next((p for p in labelled if p[0] == "preset default (shipped policy)"), None)
        if default is not None:  # the same zoo and overrides, the run's strongest subset mean
            spec = dict(default[3])
            pick = strongest_subset(evidence, spec["zoo"])
            if pick is not None:
                label = "preset default, strongest member subset by pooled MASE"
                labelled.append((label, pick, pick, spec))
        for label, fixed_pick, combination, spec in labelled:
            zoo = spec.pop("zoo", singles)
            if spec.get("fixed"):
                picks = pd.Series(fixed_pick, index=series)
            else:
                picks = choose(evidence, [m for m in singles if m in zoo], combination, spec)
            counts = picks.value_counts()
            rows.append(
                {"subset": subset, "policy": label, **_score_picks(picks, phase),
                 "top_pick": counts.index[0], "top_share": float(counts.iloc[0] / len(picks))}
            )  # fmt: skip
    table = pd.DataFrame(rows)
    weights = table["points"]
    overall = (
        table.assign(ws=table["smape"] * weights, wm=table["mase"] * weights)
        .groupby("policy", sort=False)[["ws", "wm", "points"]]
        .sum()
    )
    overall = pd.DataFrame(
        {"smape_pointw": overall["ws"] / overall["points"],
         "mase_pointw": overall["wm"] / overall["points"]}
    )  # fmt: skip
    pivot = table.pivot_table(index="policy", columns="subset", values="smape", sort=False)
    out = pivot.join(overall).sort_values("smape_pointw")
    print(f"\n{'TEST (confirmation only)' if args.test else 'VALIDATION (training data only)'}")
    print("sMAPE per subset; overall point-weighted (series x horizon)")
    print(out.head(args.top).to_markdown(floatfmt=".3f"))
    mase = table.pivot_table(index="policy", columns="subset", values="mase", sort=False)
    print(mase.join(overall["mase_pointw"]).loc[out.index].head(args.top).to_markdown(
        floatfmt=".3f"))  # fmt: skip
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit")
    fit.add_argument("--subset", action="append", choices=sorted(SUBSETS))
    fit.add_argument("--models")
    fit.add_argument("--limit", type=int)
    fit.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ev = sub.add_parser("evaluate")
    ev.add_argument("--subset", action="append", choices=sorted(SUBSETS))
    ev.add_argument("--limit", type=int)
    ev.add_argument("--test", action="store_true")
    ev.add_argument("--csv", type=Path)
    ev.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    {"fit": cmd_fit, "evaluate": cmd_evaluate}[args.command](args)
