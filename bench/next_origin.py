"""What handing a fit on to the next backtest origin saves, and whether the backtest stays honest.

    .venv/bin/python bench/next_origin.py --subset monthly --models nbeats_ensemble [--limit N]

A model with `next_origin()` hands what its fit at one backtest origin chose on to the
next origin: AutoETS its forms, AutoARIMA its orders (their parameters re-estimated), the
torch models their weights (fine-tuned for `fine_tune` of the step budget). The
backtest's scores are what promotion and the intervals rely on, so they must still
estimate what a fit from scratch would score. This runs the pipeline's backtest (3
folds, as `tidecast retrain`) of each model on an M3 subset's *training* parts twice, in
this process on one core: as shipped, and with every origin fitted from scratch (the
same model with `next_origin()` returning a fresh copy), and prints per fold the pooled
sMAPE and MASE of both and the seconds each spent; for a seeded model also from scratch
with another seed, how far the seed alone moves a fold's score. The official test parts
are not read.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from bench.m3 import SUBSETS, m3_train_test  # noqa: E402
from tidecast.models.base import clone  # noqa: E402
from tidecast.models.registry import MODELS  # noqa: E402
from tidecast.settings import load_settings  # noqa: E402
from tidecast.tasks.backtest import BacktestSpec, backtest_chunk, plan_backtest  # noqa: E402

FOLDS = 3


def from_scratch(cls: type) -> type:
    """`cls` with every backtest origin fitted from scratch."""

    class FromScratch(cls):
        def next_origin(self):
            return clone(self)

    return FromScratch


def backtest(train: pd.DataFrame, subset: str, model: str, handed_on: bool, seed: int = 0) -> tuple:
    freq, horizon, season_length = SUBSETS[subset]
    settings = load_settings(database_url="sqlite://", horizon=horizon, seed=seed)
    context = settings.model_context(season_length, freq)
    shipped = MODELS[model]
    MODELS[model] = shipped if handed_on else from_scratch(shipped)
    try:
        spec = BacktestSpec([model], horizon, FOLDS, season_length, context)
        plan = plan_backtest(train, spec, chunk_size=10**9)
        started = time.perf_counter()
        parts = [backtest_chunk(chunk) for chunk in plan.chunks]
        seconds = time.perf_counter() - started
    finally:
        MODELS[model] = shipped
    scores = pd.concat([part.scores for part in parts], ignore_index=True)
    return scores[scores["model"] == model], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", choices=sorted(SUBSETS), default="monthly")
    parser.add_argument("--models", default="nbeats_ensemble")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one core, as a chunk worker runs it
    torch.set_num_threads(1)
    # the rejected experiments (bench/rejected_handoffs.py)
    from bench.rejected_handoffs import ArimaHandingOrders, EtsHandingForms

    MODELS["auto_arima_orders"], MODELS["auto_ets_forms"] = ArimaHandingOrders, EtsHandingForms
    train, _ = m3_train_test(args.subset, args.limit)  # the test part is not used
    _, horizon, _ = SUBSETS[args.subset]
    rows = []
    for model in args.models.split(","):
        variants = [("from scratch", False, 0), ("handed on", True, 0)]
        if "seed" in inspect.signature(MODELS[model].__init__).parameters:
            # the yardstick: how far another seed alone moves a fold's score
            variants.append(("from scratch, seed 1", False, 1))
        for label, handed_on, seed in variants:
            scores, seconds = backtest(train, args.subset, model, handed_on, seed)
            for fold, part in scores.groupby("fold"):
                rows.append(
                    {
                        "model": model,
                        "origins": label,
                        "fold": fold,
                        "series": len(part),
                        "smape": part["smape"].mean(),
                        "mase": part["mase"].mean(),
                        "backtest_s": round(seconds, 1),
                    }
                )
            print(f"{args.subset} {model} {label}: {seconds:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    print(f"\nM3 {args.subset} training parts, h={horizon}, {FOLDS} folds (no test part read):")
    print(table.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
