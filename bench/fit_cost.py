"""One model's fits in one process: tidecast's backtest folds against statsforecast's
`cross_validation` of the same model, on the same series.

    .venv/bin/python bench/fit_cost.py [--series 2000] [--repeats 3]

The section-2 panel (bench/synthetic.py, seed 0), h = 12, 3 folds, statsforecast's
standard `Theta`: tidecast's `Theta` fitted and forecast on each fold's training part
(`fold_split`, as a backtest chunk does) against `StatsForecast(...).cross_validation`
with `n_jobs=1`, alternating, medians of `--repeats`. Both on one thread: this measures
what a fit costs, apart from how a run shares the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import synthetic_panel  # noqa: E402
from tidecast.models.base import sort_panel  # noqa: E402
from tidecast.models.theta import Theta  # noqa: E402
from tidecast.schemas import min_train_length  # noqa: E402
from tidecast.tasks.backtest import fold_split  # noqa: E402

HORIZON, FOLDS, SEASON = 12, 3, 12


def tidecast_folds(panel) -> float:
    started = time.perf_counter()
    for fold in range(FOLDS):
        train, _ = fold_split(panel, fold, FOLDS, HORIZON, min_train_length(SEASON))
        Theta(SEASON, "MS").fit(train).predict(HORIZON)
    return time.perf_counter() - started


def peer_cross_validation(panel) -> float:
    from statsforecast import StatsForecast
    from statsforecast import models as sf

    df = panel.rename(columns={"series_id": "unique_id"})
    engine = StatsForecast(models=[sf.Theta(season_length=SEASON)], freq="MS", n_jobs=1)
    started = time.perf_counter()
    engine.cross_validation(df=df, h=HORIZON, n_windows=FOLDS, step_size=HORIZON)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    panel = sort_panel(
        synthetic_panel(args.series, seed=0).rename(columns={"ts": "ds", "value": "y"})
    )
    Theta(SEASON, "MS").fit(panel.head(500)).predict(HORIZON)  # compiled before timing
    ours, peer = [], []
    for _ in range(args.repeats):
        ours.append(tidecast_folds(panel))
        peer.append(peer_cross_validation(panel))
    fits = args.series * FOLDS
    a, b = statistics.median(ours), statistics.median(peer)
    print(f"tidecast Theta, {FOLDS} folds: {[round(s, 2) for s in ours]} s, median {a:.2f} s")
    print(f"statsforecast cross_validation: {[round(s, 2) for s in peer]} s, median {b:.2f} s")
    print(f"per fit: {1000 * a / fits:.2f} ms against {1000 * b / fits:.2f} ms ({a / b:.2f}x)")


if __name__ == "__main__":
    main()
