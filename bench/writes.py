"""Writing forecast rows: rows per second on SQLite and PostgreSQL, bulk path vs row inserts.

Each measurement writes N rows of the `forecasts` table (the shape a retrain writes:
series × steps with intervals) into a fresh, empty database in one transaction, through
`tidecast.db.insert_frame` — one executemany on SQLite, COPY into a staging table and
one INSERT … ON CONFLICT on PostgreSQL. The peer, measured in the same run, is the
executemany path on PostgreSQL (what tidecast used before the COPY path). Medians of
`--repeats` runs; the time includes turning the frame into what the driver takes.

    python bench/writes.py --rows 1000000 --postgres-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.databases import fresh_postgres_database  # noqa: E402
from tidecast.db import init_db, insert_frame, make_engine, to_records  # noqa: E402
from tidecast.sql.tables import forecasts  # noqa: E402

STEPS = 18


def forecast_rows(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """`n_rows` forecast rows: n_rows / 18 series of 18 monthly steps."""
    rng = np.random.default_rng(seed)
    n_series = -(-n_rows // STEPS)
    step = np.tile(np.arange(1, STEPS + 1), n_series)[:n_rows]
    series = np.repeat([f"S{i:07d}" for i in range(n_series)], STEPS)[:n_rows]
    yhat = rng.normal(100, 20, n_rows)
    width = np.abs(rng.normal(10, 2, n_rows))
    return pd.DataFrame(
        {
            "run_id": "00000000-0000-0000-0000-000000000001",
            "series_id": series,
            "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta((step - 1) * 31, "D"),
            "step": step,
            "model": "auto_ets",
            "yhat": yhat,
            "yhat_lower_80": yhat - width,
            "yhat_upper_80": yhat + width,
            "yhat_lower_95": yhat - 1.5 * width,
            "yhat_upper_95": yhat + 1.5 * width,
            "created_at": pd.Timestamp("2025-01-01"),
        }
    )


def fresh_url(backend: str, workdir: Path, postgres_url: str | None, number: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'writes-{number}.db'}"
    return fresh_postgres_database(postgres_url, f"tidecast_writes_{number}")


def write_once(url: str, rows: pd.DataFrame, path: str) -> float:
    engine = make_engine(url)
    init_db(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        if path == "executemany":
            conn.execute(forecasts.insert(), to_records(rows))
        else:
            insert_frame(conn, forecasts, rows)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM forecasts")).scalar() == len(rows)
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres-url", help="a server where databases may be created")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = forecast_rows(args.rows)
    cases = [("sqlite", "insert_frame (executemany)")]
    if args.postgres_url:
        cases += [("postgresql", "insert_frame (COPY)"), ("postgresql", "executemany")]
    results = []
    number = 0
    with tempfile.TemporaryDirectory(prefix="tidecast-writes-") as workdir:
        for backend, path in cases:
            seconds = []
            for _ in range(args.repeats):
                number += 1
                url = fresh_url(backend, Path(workdir), args.postgres_url, number)
                seconds.append(
                    write_once(url, rows, "executemany" if path == "executemany" else "bulk")
                )
            median = statistics.median(seconds)
            results.append(
                {
                    "backend": backend,
                    "path": path,
                    "rows": args.rows,
                    "median_s": round(median, 2),
                    "runs_s": [round(s, 2) for s in seconds],
                    "rows_per_s": round(args.rows / median),
                }
            )
            print(json.dumps(results[-1]), flush=True)
    table = pd.DataFrame(results)
    if args.postgres_url:
        peer = table.loc[table["path"] == "executemany", "median_s"].iloc[0]
        table["speedup_vs_pg_executemany"] = (peer / table["median_s"]).round(2)
    print()
    print(table.drop(columns=["runs_s"]).to_markdown(index=False))
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv[1:], "results": results}, indent=1))


if __name__ == "__main__":
    main()
