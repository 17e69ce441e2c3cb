"""The real `retrain` flow on the M3 monthly series, run through the CLI as a user would.

    .venv/bin/python bench/retrain_m3.py [--models a,b]

Runs `tidecast demo` (M3 monthly training parts into a fresh SQLite file, then the
retrain flow with h=18 and the default zoo) in a subprocess, and reports its wall time,
peak memory, each model's share of the model time (from `forecast_runs.model_seconds`),
and the accuracy and interval coverage of what landed in `latest_forecasts` on the
official test part.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.m3 import m3_train_test, score  # noqa: E402
from bench.process import run_tidecast  # noqa: E402
from tidecast.models.registry import preset_models  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models")
    parser.add_argument(
        "--single-models",
        default=",".join(preset_models("default", 12)),
        help="also fit and score these models one by one (empty: skip)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tidecast-bench-"))
    command = ["demo", *(["--models", args.models] if args.models else [])]
    measured = run_tidecast(command, workdir)
    wall, peak_mb = measured["wall_s"], measured["peak_rss_mb"]
    engine = create_engine(f"sqlite:///{workdir / 'tidecast.db'}")
    with engine.connect() as conn:
        run = pd.read_sql(text("SELECT * FROM forecast_runs"), conn).iloc[-1]
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn, parse_dates=["ts"])
    latest = latest.rename(columns={"ts": "ds"}).drop(columns="step")
    seconds = json.loads(run["model_seconds"])
    total = sum(seconds.values())
    train, test = m3_train_test("monthly")
    accuracy = score(train, test, latest, 12)
    judged = test.merge(latest, on=["series_id", "ds"])
    inside = {
        level: float(
            (
                (judged["y"] >= judged[f"yhat_lower_{level}"])
                & (judged["y"] <= judged[f"yhat_upper_{level}"])
            ).mean()
        )
        for level in (80, 95)
    }
    print(f"command: {' '.join(['tidecast', *command])}")
    print(f"wall time {wall:.0f} s, peak RSS {peak_mb:.0f} MB, model time {total:.0f} s")
    print(
        f"latest_forecasts on the official test: sMAPE {accuracy['smape']:.2f}, "
        f"MASE {accuracy['mase']:.3f}; actuals inside the 80% interval {inside[80]:.1%}, "
        f"inside the 95% interval {inside[95]:.1%}"
    )
    won = latest.drop_duplicates("series_id")["model"].value_counts()
    shares = pd.DataFrame({"seconds": seconds}).assign(share=lambda t: t.seconds / total)
    shares = shares.join(won.rename("series_won"), how="outer")
    print(shares.fillna(0).sort_values("seconds", ascending=False).to_markdown(floatfmt=".2f"))
    if args.single_models:
        # Each single model and the statsforecast peers, in this same benchmark run, on the
        # same training data, scored on the same test: what the promotion has to beat.
        from bench.m3_models import score_models

        print()
        print(
            score_models("monthly", None, args.single_models.split(","), peer=True).to_markdown(
                index=False, floatfmt=".3f"
            )
        )


if __name__ == "__main__":
    main()
