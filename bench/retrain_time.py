"""How long `tidecast retrain` takes with the default settings, as a new user runs it.

    .venv/bin/python bench/retrain_time.py [--panels 20,200,m3-monthly] [--repeats 3]
                                           [--workers 2] [--preset default]
                                           [--models a,b]  (a peer: another zoo, same run)

Each panel goes into a fresh SQLite file: `20` and `200` are bench/synthetic.py's seeded
monthly series of at most 72 points (every tenth intermittent); `hourly-N` is N of its
hourly series of 28 days (a daily season; horizon 48); `daily-N` is N of its daily
series of two years (weekly and yearly seasons; horizon 28); `m3-monthly` is the 1428
M3 monthly training parts, as `tidecast demo` loads them. Then `tidecast retrain` runs in
a subprocess with nothing set but the database, the horizon (12; 18 for M3 monthly),
`--workers` and `--preset`: wall time from the command's start (Python start-up and the
temporary Prefect server included), peak RSS of the process tree, and the run row's
stage seconds. Medians of `--repeats`, a fresh database each time (every run is a first
retrain). For M3 monthly it also scores `latest_forecasts` on the official test part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.m3 import m3_train_test, score  # noqa: E402
from bench.process import run_tidecast  # noqa: E402
from bench.scale import load  # noqa: E402
from bench.synthetic import daily_panel, hourly_panel, synthetic_panel  # noqa: E402
from tidecast.demo import m3_observations  # noqa: E402

LENGTH = 72


def panel_of(name: str) -> tuple[pd.DataFrame, int]:
    """(observations, horizon) of a panel named on the command line."""
    if name == "m3-monthly":
        return m3_observations("monthly", "MS"), 18
    if name.startswith("hourly-"):
        return hourly_panel(int(name.removeprefix("hourly-"))), 48
    if name.startswith("daily-"):
        return daily_panel(int(name.removeprefix("daily-"))), 28
    return synthetic_panel(int(name), LENGTH, seed=0), 12


def one_run(name: str, panel: pd.DataFrame, horizon: int, args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"tidecast-time-{name}-"))
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    load(url, panel)
    command = ["retrain", "--database-url", url, "--horizon", str(horizon)]
    command += ["--workers", str(args.workers), "--preset", args.preset]
    command += ["--models", args.models] if args.models else []
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir)}  # nothing TIDECAST_* inherited
    measured = run_tidecast(command, workdir, env)
    engine = create_engine(url)
    with engine.connect() as conn:
        run = pd.read_sql(text("SELECT * FROM forecast_runs"), conn).iloc[-1]
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn, parse_dates=["ts"])
    engine.dispose()
    stages = run["stage_seconds"]
    result = {
        "wall_s": measured["wall_s"],
        "peak_tree_rss_mb": measured["peak_tree_rss_mb"],
        "stages": stages if isinstance(stages, dict) else json.loads(stages),
        "message": run["message"],
    }
    if name == "m3-monthly":
        train, test = m3_train_test("monthly")
        forecast = latest.rename(columns={"ts": "ds"})
        result.update(score(train, test, forecast, 12))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--panels", default="20,200,m3-monthly")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--models", help="name the zoo instead of the preset's (a peer run)")
    args = parser.parse_args()
    rows = []
    for name in args.panels.split(","):
        panel, horizon = panel_of(name)
        runs = [one_run(name, panel, horizon, args) for _ in range(args.repeats)]
        walls = [run["wall_s"] for run in runs]
        row = {
            "panel": name,
            "series": panel["series_id"].nunique(),
            "rows": len(panel),
            "walls_s": " / ".join(f"{wall:.1f}" for wall in walls),
            "median_wall_s": round(statistics.median(walls), 1),
            "median_peak_tree_rss_mb": round(
                statistics.median(run["peak_tree_rss_mb"] for run in runs)
            ),
            "median_backtest_s": round(
                statistics.median(run["stages"].get("backtest", 0.0) for run in runs), 1
            ),
        }
        if "smape" in runs[0]:
            row.update(smape=round(runs[0]["smape"], 2), mase=round(runs[0]["mase"], 3))
        rows.append(row)
        print(f"{name}: {row}", flush=True)
        print(f"  run row: {runs[-1]['message']}", flush=True)
    zoo = f"models {args.models}" if args.models else f"preset {args.preset}"
    print(f"\nworkers {args.workers}, {zoo}, {args.repeats} repeats")
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
