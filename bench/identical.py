"""Are two versions of tidecast's numbers the same to the last bit? (A refactoring check.)

    .venv/bin/python bench/identical.py run OUT [--subset monthly|quarterly|yearly|other]
        [--limit N] [--runner local|dask] [--backfill FROM,TO]
    .venv/bin/python bench/identical.py compare OUT_A OUT_B

`run` loads the training parts of an M3 subset (monthly unless --subset; the first N
series with --limit) into a fresh SQLite file and runs, through the CLI as a user would:
`tidecast retrain` (the subset's horizon as in bench/accuracy.py, default preset), then
`tidecast forecast`, then `tidecast backfill` when asked. It writes what
the runs left in the numeric tables (forecasts, backtest scores, champions, interval
calibration, backfill forecasts) to CSV files in OUT, every float with 17 significant
digits, keyed and sorted without run ids or times. `compare` says which files differ.
Run it with the old version's Python and with the new one's, then compare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.m3 import SUBSETS, m3_train_test  # noqa: E402
from bench.process import run_tidecast  # noqa: E402

# table -> (columns compared, sort key); run ids and timestamps of the run are left out.
TABLES = {
    "forecasts": (
        ["flow", "series_id", "ts", "step", "model", "yhat", "yhat_lower_80", "yhat_upper_80",
         "yhat_lower_95", "yhat_upper_95"],
        ["flow", "series_id", "ts"],
    ),
    "champion_backtest_forecasts": (
        ["series_id", "fold", "ds", "model", "y", "yhat"],
        ["series_id", "fold", "ds"],
    ),
    "backtest_scores": (
        ["series_id", "model", "fold", "mase", "smape", "rmse", "coverage_80", "coverage_95"],
        ["series_id", "model", "fold"],
    ),
    "champions": (["series_id", "model", "members"], ["series_id"]),
    "interval_calibration": (None, None),
    "backfill_forecasts": (None, None),
}  # fmt: skip
DROP = {"run_id", "created_at", "promoted_at", "updated_at"}


def dump(url: str, out: Path) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        runs = pd.read_sql(text("SELECT run_id, flow_name FROM forecast_runs"), conn)
        flows = dict(zip(runs["run_id"], runs["flow_name"], strict=True))
        for table, (columns, key) in TABLES.items():
            try:
                frame = pd.read_sql(text(f"SELECT * FROM {table}"), conn)
            except Exception:  # noqa: BLE001 - a table an older version did not have
                continue
            if "run_id" in frame and table == "forecasts":
                frame["flow"] = frame["run_id"].map(flows)
            frame = frame[columns] if columns else frame.drop(columns=DROP & set(frame))
            key = key or [c for c in frame.columns if frame[c].dtype == object][:3]
            frame = frame.sort_values(key or list(frame.columns), kind="stable")
            frame.to_csv(out / f"{table}.csv", index=False, float_format="%.17g")
    engine.dispose()


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="tidecast-identical-"))
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    train, _ = m3_train_test(args.subset)
    if args.limit:
        train = train[train["series_id"].isin(train["series_id"].unique()[: args.limit])]
    from tidecast.db import init_db, make_engine, replace_observations

    engine = make_engine(url)
    init_db(engine)
    replace_observations(engine, train.rename(columns={"ds": "ts", "y": "value"}))
    engine.dispose()
    common = ["--database-url", url, "--runner", args.runner]
    freq, horizon, season_length = SUBSETS[args.subset]
    shape = ["--horizon", str(horizon), "--freq", freq, "--season-length", str(season_length)]
    measured = run_tidecast(["retrain", *common, *shape], workdir)
    print(f"retrain: {measured['wall_s']:.0f} s")
    run_tidecast(["forecast", *common], workdir)
    if args.backfill:
        start, end = args.backfill.split(",")
        run_tidecast(["backfill", *common, *shape, "--from", start, "--to", end], workdir)
    dump(url, out)
    print(f"wrote {sorted(p.name for p in out.glob('*.csv'))} to {out}")


def compare(args: argparse.Namespace) -> None:
    a, b = Path(args.a), Path(args.b)
    names = sorted({p.name for p in a.glob("*.csv")} | {p.name for p in b.glob("*.csv")})
    differ = [n for n in names if not (a / n).exists() or not (b / n).exists()
              or (a / n).read_bytes() != (b / n).read_bytes()]  # fmt: skip
    for name in names:
        print(f"{name}: {'DIFFERS' if name in differ else 'identical'}")
    sys.exit(1 if differ else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    first = commands.add_parser("run")
    first.add_argument("out")
    first.add_argument("--subset", default="monthly", choices=sorted(SUBSETS))
    first.add_argument("--limit", type=int)
    first.add_argument("--runner", default="local", choices=["local", "dask"])
    first.add_argument("--backfill", help="FROM,TO dates of a backfill after the runs")
    second = commands.add_parser("compare")
    second.add_argument("a")
    second.add_argument("b")
    args = parser.parse_args()
    (run if args.command == "run" else compare)(args)


if __name__ == "__main__":
    main()
