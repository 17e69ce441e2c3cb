"""Each model of the zoo on the M3 official test, beside statsforecast run directly.

    .venv/bin/python bench/m3_models.py [--subset monthly] [--models a,b] [--limit N]

Every model is fitted on the training part (`x`) of every series and forecasts the
official horizon; scores come from the held-out test part (`xx`), never seen in fitting.
In the same process and on the same data, statsforecast's AutoETS and AutoTheta are run
directly (`StatsForecast.forecast`, n_jobs = cores) as the peer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from bench.m3 import SUBSETS, m3_train_test, score  # noqa: E402
from tidecast.models.registry import MODELS, build_model  # noqa: E402
from tidecast.settings import load_settings  # noqa: E402


def peer_forecast(train: pd.DataFrame, horizon: int, freq: str, season_length: int, name: str):
    from statsforecast import StatsForecast
    from statsforecast import models as sf

    model = {"AutoETS": sf.AutoETS, "AutoTheta": sf.AutoTheta}[name](season_length=season_length)
    engine = StatsForecast(models=[model], freq=freq, n_jobs=os.cpu_count() or 1)
    raw = engine.forecast(df=train.rename(columns={"series_id": "unique_id"}), h=horizon)
    return raw.rename(columns={"unique_id": "series_id", name: "yhat"})


def score_models(subset: str, limit: int | None, names: list[str], peer: bool) -> pd.DataFrame:
    """Fit each model on the training parts, forecast, and score on the official test."""
    freq, horizon, season_length = SUBSETS[subset]
    train, test = m3_train_test(subset, limit)
    settings = load_settings(horizon=horizon, freq=freq, season_length=season_length)
    context = settings.model_context(season_length, freq)
    print(
        f"M3 {subset}: {train.series_id.nunique()} series, h={horizon}, "
        f"{os.cpu_count()} cores, torch budget {settings.train_max_steps} steps",
        flush=True,
    )
    runs = [
        (name, lambda name=name: build_model(name, **context).fit(train).predict(horizon))
        for name in names
    ]
    if peer:
        runs += [
            (
                f"statsforecast {name}",
                lambda name=name: peer_forecast(train, horizon, freq, season_length, name),
            )
            for name in ("AutoETS", "AutoTheta")
        ]
    rows = []
    for label, run in runs:
        started = time.perf_counter()
        forecast = run()
        seconds = time.perf_counter() - started
        rows.append(
            {
                "model": label,
                **score(train, test, forecast, season_length),
                "fit_predict_s": seconds,
            }
        )
        print(
            f"  {label:24s} sMAPE {rows[-1]['smape']:6.2f}  MASE {rows[-1]['mase']:.3f}  "
            f"{seconds:7.1f}s",
            flush=True,
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subset", default="monthly", choices=sorted(SUBSETS))
    parser.add_argument("--models", default=",".join(m for m in MODELS if m != "auto_arima"))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    table = score_models(args.subset, args.limit, args.models.split(","), not args.no_peer)
    print()
    print(table.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
