"""The N-BEATS ensemble's size and budget (and whether a preset should have it), and the
members of the fixed combinations, chosen on the training data alone.

Each M3 subset's training part minus its last `h` points is the fit panel; those last
points are the validation target (the official test parts are never read here). The
statistical members of `ensemble_stats`, other registry models (`--models hgb`) and
N-BEATS variants are fitted once each and cached; `score` gives each alone and each
N-BEATS variant as a member of the equal-weight mean, or (`--means`) the equal-weight
means of the cached forecasts named.

    .venv/bin/python bench/nbeats_budget.py members monthly
    .venv/bin/python bench/nbeats_budget.py members monthly --models hgb
    .venv/bin/python bench/nbeats_budget.py nbeats monthly --name steps1000 --set max_steps=1000
    .venv/bin/python bench/nbeats_budget.py score monthly
    .venv/bin/python bench/nbeats_budget.py score monthly --means auto_ets,theta,hgb
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.m3 import SUBSETS, m3_train_test  # noqa: E402

CACHE = Path(os.environ.get("TIDECAST_NBEATS_STUDY_CACHE", "/tmp/tidecast-nbeats-study"))
MEMBERS = ("auto_ets", "theta", "dynamic_theta", "auto_arima")


def validation_split(subset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit panel, validation target): each series' last `h` training points held out;
    series with fewer than `2h + 3` points are dropped (too short to fit after it)."""
    _, horizon, _ = SUBSETS[subset]
    train, _ = m3_train_test(subset)
    train = train.sort_values(["series_id", "ds"]).reset_index(drop=True)
    from_end = train.groupby("series_id").cumcount(ascending=False)
    length = train.groupby("series_id")["y"].transform("size")
    train = train[length >= 2 * horizon + 3]
    from_end = from_end[train.index]
    return train[from_end >= horizon].reset_index(drop=True), train[from_end < horizon]


def _context(subset: str) -> dict:
    freq, horizon, season_length = SUBSETS[subset]
    return {"horizon": horizon, "freq": freq, "season_length": season_length, "seed": 0,
            "n_jobs": 1, "max_seconds": 3600.0}  # fmt: skip


def _save(subset: str, name: str, forecast: pd.DataFrame, seconds: float) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{subset}-{name}.pkl").open("wb") as out:
        pickle.dump({"forecast": forecast[["series_id", "ds", "yhat"]], "seconds": seconds}, out)
    print(f"{subset} {name}: {seconds:.0f} s", flush=True)


def cmd_members(args: argparse.Namespace) -> None:
    from tidecast.models.registry import build_model

    fit, _ = validation_split(args.subset)
    for name in args.models or MEMBERS:
        started = time.perf_counter()
        model = build_model(name, **_context(args.subset)).fit(fit)
        forecast = model.predict(SUBSETS[args.subset][1])
        _save(args.subset, name, forecast, time.perf_counter() - started)


def cmd_nbeats(args: argparse.Namespace) -> None:
    from tidecast.models.nbeats_ensemble import NBeatsEnsemble

    params = {}
    for item in args.params:
        key, _, value = item.partition("=")
        if key in ("kinds", "losses"):
            params[key] = tuple(value.split(","))
        elif key == "lookbacks":
            params[key] = tuple(int(k) for k in value.split(","))
        else:
            params[key] = float(value) if "." in value else int(value)
    fit, _ = validation_split(args.subset)
    context = {k: v for k, v in _context(args.subset).items() if k != "n_jobs"}
    started = time.perf_counter()
    model = NBeatsEnsemble(**{**context, **params}).fit(fit)
    forecast = model.predict(SUBSETS[args.subset][1])
    print(f"steps per member: {model.steps_}, time capped: {model.time_capped_}")
    _save(args.subset, f"nbeats-{args.name}", forecast, time.perf_counter() - started)


def _smape_mase(fit: pd.DataFrame, target: pd.DataFrame, yhat: pd.Series, m: int) -> tuple:
    from tidecast.metrics import insample_scale

    scale = insample_scale(fit, m)
    y = target["y"].to_numpy()
    smape = 200 * np.abs(y - yhat) / (np.abs(y) + np.abs(yhat))
    mase = np.abs(y - yhat) / target["series_id"].map(scale).to_numpy()
    return float(np.mean(smape)), float(np.mean(mase))


def cmd_score(args: argparse.Namespace) -> None:
    fit, target = validation_split(args.subset)
    m = SUBSETS[args.subset][2]
    keys = pd.MultiIndex.from_frame(target[["series_id", "ds"]])
    forecasts = {}
    for path in sorted(CACHE.glob(f"{args.subset}-*.pkl")):
        name = path.stem.removeprefix(f"{args.subset}-")
        with path.open("rb") as f:
            saved = pickle.load(f)
        keyed = saved["forecast"].set_index(["series_id", "ds"])["yhat"]
        forecasts[name] = (keyed.reindex(keys).to_numpy(), saved["seconds"])
    stats = [name for name in MEMBERS if name in forecasts]
    base = [name for name in stats if name != "auto_arima"]
    rows = []
    for name, (yhat, seconds) in forecasts.items():
        rows.append((name, *_smape_mase(fit, target, yhat, m), seconds))
    if args.means:  # the means named
        groups = [names.split(",") for names in args.means]
    else:  # each mean of the statistical members alone and with each N-BEATS variant
        groups = [base] + ([stats] if stats != base else [])
        nbeats = [name for name in forecasts if name.startswith("nbeats-")]
        groups = [g for group in groups for g in [group, *([*group, n] for n in nbeats)]]
    for group in groups:
        mean = np.mean([forecasts[n][0] for n in group], axis=0)
        rows.append((f"mean({','.join(group)})", *_smape_mase(fit, target, mean, m), np.nan))
    table = pd.DataFrame(rows, columns=["forecaster", "smape", "mase", "seconds"])
    print(f"{args.subset}: {target['series_id'].nunique()} series, validation = last h of training")
    print(table.round(4).to_markdown(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    members = commands.add_parser("members")
    members.add_argument("subset", choices=list(SUBSETS))
    members.add_argument("--models", nargs="*")
    members.set_defaults(run=cmd_members)
    nbeats = commands.add_parser("nbeats")
    nbeats.add_argument("subset", choices=list(SUBSETS))
    nbeats.add_argument("--name", required=True)
    nbeats.add_argument(
        "--set", dest="params", nargs="*", default=[], help="NBeatsEnsemble parameters, key=value"
    )
    nbeats.set_defaults(run=cmd_nbeats)
    score = commands.add_parser("score")
    score.add_argument("subset", choices=list(SUBSETS))
    score.add_argument("--means", nargs="*", help="comma-separated cached forecasts to average")
    score.set_defaults(run=cmd_score)
    args = parser.parse_args()
    torch_threads = os.environ.get("TIDECAST_TORCH_THREADS", "1")
    import torch

    torch.set_num_threads(int(torch_threads))
    args.run(args)


if __name__ == "__main__":
    main()
