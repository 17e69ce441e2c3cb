"""Retrain through the CLI on a panel's training part and score `latest_forecasts` on the
held-out part: what bench/covariates.py, bench/statics.py and bench/real_drivers.py share."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from bench.process import run_tidecast
from tidecast.db import init_db, make_engine, replace_observations


@dataclass
class HeldOutRun:
    pairs: (
        pd.DataFrame
    )  # latest_forecasts joined with the actual values: series_id, ts, y, yhat, model
    scale: pd.Series  # each series' MASE scale on its training part
    run: pd.Series  # the run's forecast_runs row
    wall_s: float
    command: str


def retrain_held_out(
    observations: pd.DataFrame,
    held_out: int,
    args: list[str],
    season_length: int,
    tables: dict[str, pd.DataFrame] | None = None,
) -> HeldOutRun:
    """`tidecast retrain --database-url <fresh SQLite file> <args>` on all but the last
    `held_out` points of each series (`series_id, ts, value`), with `tables` loaded beside
    them; `latest_forecasts` paired with the held-out values."""
    workdir = Path(tempfile.mkdtemp(prefix="tidecast-heldout-"))
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    engine = make_engine(url)
    init_db(engine)
    train = observations.groupby("series_id").head(-held_out)
    replace_observations(engine, train)
    for name, frame in (tables or {}).items():
        frame.to_sql(name, engine, index=False)
    full = ["retrain", "--database-url", url, *args]
    measured = run_tidecast(full, workdir)
    with engine.connect() as conn:
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn, parse_dates=["ts"])
        run = pd.read_sql(text("SELECT * FROM forecast_runs"), conn).iloc[-1]
    engine.dispose()
    pairs = latest.merge(observations.rename(columns={"value": "y"}), on=["series_id", "ts"])
    scale = train.groupby("series_id")["value"].apply(lambda v: v.diff(season_length).abs().mean())
    command = " ".join(["tidecast", *full]).replace(url, "sqlite:///<fresh>.db")
    return HeldOutRun(pairs, scale, run, measured["wall_s"], command)


def scores(pairs: pd.DataFrame, scale: pd.Series) -> dict:
    """MASE (each series' mean absolute error over its scale, averaged over series) and
    sMAPE (%, averaged over series) of `pairs` (`series_id`, `y`, `yhat`)."""
    error = (pairs["y"] - pairs["yhat"]).abs()
    mase = (error.groupby(pairs["series_id"]).mean() / scale).dropna().mean()
    denominator = pairs["y"].abs() + pairs["yhat"].abs()
    smape = np.where(denominator > 0, 200 * error / denominator.where(denominator > 0, 1), 0.0)
    return {
        "mase": round(float(mase), 4),
        "smape": round(float(pd.Series(smape).groupby(pairs["series_id"]).mean().mean()), 3),
    }


def summary(result: HeldOutRun) -> dict:
    """The scores, points, champions, wall time and command of a run, for the JSON."""
    latest = result.pairs.drop_duplicates("series_id")
    return {
        **scores(result.pairs, result.scale),
        "points": len(result.pairs),
        "champions": latest["model"].value_counts().to_dict(),
        "wall_s": round(result.wall_s, 1),
        "command": result.command,
    }
