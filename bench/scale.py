"""How a retrain's cost grows with the number of series, on SQLite and PostgreSQL, beside
statsforecast's own `cross_validation` on the same panel.

    .venv/bin/python bench/scale.py --series 1000,10000 [--backends sqlite,postgresql]
        [--postgres-url postgresql://user@host:port/db] [--models seasonal_naive,auto_theta]
        [--runners local,dask] [--workers N] [--length 120] [--max-history N]
        [--repeats N] [--json out.json]

For each size a seeded synthetic panel (bench/synthetic.py: 120 monthly points at most,
trend, season, noise, one series in ten intermittent, lengths 72-120) is loaded into a
fresh database, and the real `retrain` flow runs through the CLI in a subprocess, as a
user runs it (h = 12, 3 folds), once per task runner asked for (`--runners`: the local
process pool, a local Dask cluster; `--workers` each). Per run: wall time of the
process, its peak RSS (largest process, and summed over the process tree), and
each stage's wall time as the run recorded it (`forecast_runs.stage_seconds`), the
backtest split per model family (`forecast_runs.model_seconds`), ingest and write rates.
`windows` is timed apart, in this process: `build_windows` over the whole panel, as the
window models call it. The peer is statsforecast's `cross_validation` with the same
statistical models, folds and horizon, on the same panel, `n_jobs` = cores. Medians over
`--repeats` runs (default: 3 when the first run took under two minutes, else 1). With one
database and one runner, the peer runs after each retrain run (this machine's speed
drifts over minutes), and `backtest / peer, paired runs' median` is the median of each
run's backtest stage over the peer run beside it.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.databases import fresh_postgres_database  # noqa: E402
from bench.process import run_tidecast  # noqa: E402
from bench.synthetic import synthetic_panel  # noqa: E402
from tidecast.db import init_db, json_value, make_engine  # noqa: E402
from tidecast.models.registry import INFO  # noqa: E402
from tidecast.models.windows import build_windows, default_lookback  # noqa: E402

HORIZON, FOLDS, SEASON, FREQ = 12, 3, 12, "MS"
# What the write stage writes in its one transaction (the quarantine is written earlier).
WRITTEN_TABLES = (
    "forecasts",
    "backtest_scores",
    "champions",
    "interval_calibration",
    "model_versions",
    "champion_backtest_forecasts",
)
SHORT_RUN_S = 120


def peer_models(names: list[str]) -> list:
    """statsforecast's counterpart of each tidecast model it has one for."""
    from statsforecast import models as sf

    counterparts = {
        "naive": lambda: sf.Naive(),
        "seasonal_naive": lambda: sf.SeasonalNaive(season_length=SEASON),
        "drift": lambda: sf.RandomWalkWithDrift(),
        "window_average": lambda: sf.WindowAverage(window_size=SEASON),
        "auto_ets": lambda: sf.AutoETS(season_length=SEASON),
        "auto_theta": lambda: sf.AutoTheta(season_length=SEASON),
        "auto_ces": lambda: sf.AutoCES(season_length=SEASON),
        "auto_arima": lambda: sf.AutoARIMA(season_length=SEASON),
        "theta": lambda: sf.Theta(season_length=SEASON),
        "seasonal_ses": lambda: sf.SeasonalExponentialSmoothingOptimized(season_length=SEASON),
    }
    return [counterparts[name]() for name in names if name in counterparts]


def fresh_database(backend: str, n_series: int, workdir: Path, postgres_url: str | None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'tidecast.db'}"
    if not postgres_url:
        sys.exit("--postgres-url is needed for the postgresql backend")
    return fresh_postgres_database(postgres_url, f"tidecast_scale_{n_series}")


def load(url: str, panel: pd.DataFrame) -> float:
    """Put the panel into `observations`; seconds taken (setup, not part of the flow).

    PostgreSQL gets COPY and SQLite a plain executemany: this is the benchmark's setup,
    and 10 million rows should not wait on row-by-row INSERTs through the ORM layer.
    """
    engine = make_engine(url)
    init_db(engine)
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        buffer = io.StringIO()
        panel.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S")
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                cursor.execute("TRUNCATE observations")
                with cursor.copy("COPY observations (series_id, ts, value) FROM STDIN CSV") as copy:
                    copy.write(buffer.getvalue())
            raw.commit()
        finally:
            raw.close()
    else:
        # sqlite3's executemany over plain tuples, in SQLAlchemy's DateTime text format:
        # building 10 million dicts for SQLAlchemy would cost more than the benchmark.
        stamps = panel["ts"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = zip(
            panel["series_id"].tolist(), stamps.tolist(), panel["value"].tolist(), strict=True
        )
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("DELETE FROM observations")
            cursor.executemany(
                "INSERT INTO observations (series_id, ts, value) VALUES (?, ?, ?)", rows
            )
            raw.commit()
        finally:
            raw.close()
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def run_retrain(
    url: str, workdir: Path, models: str, runner: str, workers: int, max_history: int | None
) -> dict:
    """`tidecast retrain` in a subprocess; its wall time, peak RSS and its run row."""
    args = [
        "retrain",
        "--database-url",
        url,
        "--horizon",
        str(HORIZON),
        "--freq",
        FREQ,
        "--season-length",
        str(SEASON),
        "--folds",
        str(FOLDS),
        "--models",
        models,
        "--runner",
        runner,
        "--workers",
        str(workers),
    ]
    env = {**os.environ, "TIDECAST_ARTIFACTS_DIR": str(workdir / "artifacts")}
    if max_history:
        env["TIDECAST_RETRAIN_MAX_HISTORY"] = str(max_history)
    measured = run_tidecast(args, workdir, env)
    engine = make_engine(url)
    with engine.connect() as conn:
        run = (
            conn.execute(text("SELECT * FROM forecast_runs ORDER BY started_at DESC LIMIT 1"))
            .mappings()
            .one()
        )
        written = {
            name: conn.execute(
                text(f"SELECT COUNT(*) FROM {name} WHERE run_id = :r"),  # names from this file
                {"r": run["run_id"]},
            ).scalar()
            for name in WRITTEN_TABLES
        }
    engine.dispose()

    return {
        "wall_s": measured["wall_s"],
        "peak_rss_mb": measured["peak_rss_mb"],
        "peak_tree_rss_mb": measured["peak_tree_rss_mb"],
        "stages": json_value(run["stage_seconds"]),
        "models": json_value(run["model_seconds"]),
        "rows_read": run["rows_read"],
        "forecast_rows": written["forecasts"],
        "rows_written": sum(written.values()),
    }


def time_windows(panel: pd.DataFrame) -> float:
    """`build_windows` over the whole panel, as the ridge/torch models call it."""
    lookback = default_lookback(SEASON, HORIZON)
    started = time.perf_counter()
    build_windows(
        panel.rename(columns={"ts": "ds", "value": "y"}), lookback, HORIZON, max_windows=200_000
    )
    return time.perf_counter() - started


def run_peer(panel: pd.DataFrame, names: list[str]) -> tuple[float, float]:
    """Seconds of statsforecast's `cross_validation`, then of its `forecast` (the final fit)."""
    from statsforecast import StatsForecast

    engine = StatsForecast(models=peer_models(names), freq=FREQ, n_jobs=os.cpu_count() or 1)
    df = panel.rename(columns={"series_id": "unique_id", "ts": "ds", "value": "y"})
    started = time.perf_counter()
    engine.cross_validation(df=df, h=HORIZON, n_windows=FOLDS, step_size=HORIZON)
    validated = time.perf_counter()
    engine.forecast(df=df, h=HORIZON)
    return validated - started, time.perf_counter() - validated


RUN_FIELDS = ("wall_s", "peak_rss_mb", "peak_tree_rss_mb", "stages", "peer_cv_s", "peer_forecast_s")


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (so its stages add up), plus spread."""
    ordered = sorted(runs, key=lambda run: run["wall_s"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["wall_s_all"] = [round(run["wall_s"], 2) for run in runs]
    return chosen


def measure(n_series: int, backends: list[str], args: argparse.Namespace) -> list[dict]:
    names = args.models.split(",")
    backtested = [*names, *(["seasonal_naive"] if "seasonal_naive" not in names else [])]
    panel = synthetic_panel(n_series, length=args.length, seed=args.seed)
    print(f"{n_series} series, {len(panel)} rows, models {backtested}", flush=True)
    repeats = args.repeats
    results: list[dict] = []
    peer: list[tuple[float, float]] = []
    combinations = [(b, r) for b in backends for r in args.runners.split(",")]
    for backend, runner in combinations:
        workdir = Path(tempfile.mkdtemp(prefix=f"tidecast-scale-{backend}-{n_series}-"))
        url = fresh_database(backend, n_series, workdir, args.postgres_url)
        load_s = load(url, panel)
        retrain = partial(
            run_retrain, url, workdir, args.models, runner, args.workers, args.max_history
        )
        # The first combination's runs each take the peer's turn right after them: on a
        # machine whose speed drifts over minutes, a ratio is then taken between runs
        # that saw the same machine.
        paired = not args.no_peer and not results and len(combinations) == 1
        runs = [retrain()]
        # medians of several runs where a run is short; one run where it is long
        repeats = repeats or (3 if runs[0]["wall_s"] < SHORT_RUN_S else 1)
        for number in range(repeats):
            if number:
                runs.append(retrain())
            if paired:
                peer.append(run_peer(panel, backtested))
                runs[-1]["peer_cv_s"], runs[-1]["peer_forecast_s"] = peer[-1]
                wall = runs[-1]["wall_s"]
                print(f"  run {number + 1}: {wall:.1f} s; peer {peer[-1]}", flush=True)
        print(f"  {backend}, {runner}: {[round(run['wall_s'], 1) for run in runs]} s", flush=True)
        run = median_run(runs)
        families: dict[str, float] = {}
        for name, seconds in run["models"].items():
            family = INFO[name].family
            families[family] = families.get(family, 0.0) + seconds
        stages = run["stages"]
        results.append(
            {
                "series": n_series,
                "rows": len(panel),
                "backend": backend,
                "runner": runner,
                "workers": args.workers,
                "length": args.length,
                "max_history": args.max_history,
                "load_s": load_s,
                **run,
                "families": families,
                "runs": [{key: r[key] for key in RUN_FIELDS if key in r} for r in runs],
                "ingest_rows_per_s": run["rows_read"] / stages["read-observations"],
                "write_rows_per_s": run["rows_written"] / stages["write-results"],
                # what the peer's cross_validation also does: everything but the final fits
                "pipeline_without_final_fit_s": sum(stages.values()) - stages.get("forecast", 0),
            }
        )
    windows = [time_windows(panel) for _ in range(repeats)]
    if not peer and not args.no_peer:
        peer = [run_peer(panel, backtested) for _ in range(repeats)]
    for result in results:
        result["windows_s"] = statistics.median(windows)
        if peer:
            cv = statistics.median(cv_s for cv_s, _ in peer)
            result["peer_cv_s"] = cv
            result["peer_cv_s_all"] = [round(cv_s, 2) for cv_s, _ in peer]
            result["peer_forecast_s"] = statistics.median(f_s for _, f_s in peer)
            result["ratio_vs_peer"] = result["pipeline_without_final_fit_s"] / cv
            result["ratio_backtest_vs_peer"] = result["stages"]["backtest"] / cv
            if "peer_cv_s" in result.get("runs", [{}])[0]:
                # each run against the peer run right after it, then the median
                result["ratio_backtest_vs_peer_paired"] = statistics.median(
                    r["stages"]["backtest"] / r["peer_cv_s"] for r in result["runs"]
                )
            # the whole process (start-up, Prefect server, final fits) against cv + forecast
            result["ratio_wall_vs_peer"] = result["wall_s"] / (cv + result["peer_forecast_s"])
    if peer:
        print(f"  statsforecast cross_validation + forecast: {peer}", flush=True)
    return results


def stage_table(results: list[dict]) -> pd.DataFrame:
    rows = []
    for result in results:
        stages = result["stages"]
        rows.append(
            {
                "series": result["series"],
                "backend": result["backend"],
                "runner": result["runner"],
                "wall s": result["wall_s"],
                "ingest": stages.get("read-observations"),
                "validate": stages.get("validate-observations"),
                "windows*": result["windows_s"],
                **{f"backtest: {k}": v for k, v in result["families"].items()},
                "backtest": stages.get("backtest"),
                "promote": stages.get("promote-champions"),
                "final fits": stages.get("forecast"),
                "write": stages.get("write-results"),
                "other stages": sum(stages.values())
                - sum(
                    stages.get(k, 0)
                    for k in (
                        "read-observations",
                        "validate-observations",
                        "backtest",
                        "promote-champions",
                        "forecast",
                        "write-results",
                    )
                ),
                "peak RSS MB (largest process)": result["peak_rss_mb"],
                "peak RSS MB (all processes)": result["peak_tree_rss_mb"],
            }
        )
    return pd.DataFrame(rows)


def rate_table(results: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "series": r["series"],
                "backend": r["backend"],
                "runner": r["runner"],
                "rows read": r["rows_read"],
                "ingest rows/s": r["ingest_rows_per_s"],
                "forecast rows": r["forecast_rows"],
                "rows written": r["rows_written"],
                "write rows/s": r["write_rows_per_s"],
                "tidecast without final fits s": r["pipeline_without_final_fit_s"],
                "peer cross_validation s": r.get("peer_cv_s"),
                "ratio": r.get("ratio_vs_peer"),
                "backtest alone / peer": r.get("ratio_backtest_vs_peer"),
                "backtest / peer, paired runs' median": r.get("ratio_backtest_vs_peer_paired"),
                "backtest s (each run)": [round(run["stages"]["backtest"], 1) for run in r["runs"]],
                "peer cv s (each run)": [
                    round(run["peer_cv_s"], 1) for run in r["runs"] if "peer_cv_s" in run
                ],
                "wall / peer cv+forecast": r.get("ratio_wall_vs_peer"),
                "runs (wall s)": r["wall_s_all"],
            }
            for r in results
        ]
    )


def growth(results: list[dict]) -> list[str]:
    """How wall time grows between consecutive sizes, per backend."""
    lines = []
    frame = pd.DataFrame(results)
    for (backend, runner), group in frame.groupby(["backend", "runner"]):
        sizes = group.sort_values("series").to_dict("records")
        for small, large in zip(sizes, sizes[1:], strict=False):
            extra = (large["wall_s"] - small["wall_s"]) / (large["series"] - small["series"]) * 1000
            power = math.log(large["wall_s"] / small["wall_s"]) / math.log(
                large["series"] / small["series"]
            )
            lines.append(
                f"{backend}, {runner}: {small['series']} -> {large['series']} series: "
                f"+{extra:.2f} s per 1,000 series; wall ~ series^{power:.2f}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", default="1000,10000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create databases on")
    parser.add_argument("--models", default="seasonal_naive,auto_theta,auto_ces")
    parser.add_argument("--runners", default="local", help="local, dask or both, comma separated")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--length", type=int, default=120, help="points of the longest series")
    parser.add_argument(
        "--max-history", type=int, help="TIDECAST_RETRAIN_MAX_HISTORY for the runs (periods)"
    )
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    backends = args.backends.split(",")
    results = [
        result
        for n_series in (int(n) for n in args.series.split(","))
        for result in measure(n_series, backends, args)
    ]
    print(
        f"\ncores {os.cpu_count()}, workers {args.workers}, models {args.models}, "
        f"h={HORIZON}, {FOLDS} folds, series of at most {args.length} points, "
        f"retrain max history {args.max_history or 'all'}\n"
    )
    print("Stage wall seconds (median run; * windows timed apart, in the benchmark process):")
    print(stage_table(results).to_markdown(index=False, floatfmt=".1f"))
    print()
    print(rate_table(results).to_markdown(index=False, floatfmt=".2f"))
    print()
    print("\n".join(growth(results)))
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv[1:], "results": results}, indent=1))


if __name__ == "__main__":
    main()
