"""Static attributes end to end: shops whose format decides what a holiday does to them.

A seeded daily panel (`bench/drivers.py:format_panel`): 45 shops in three formats over
730 days to train on and 28 held out (20 Dec 2023 to 16 Jan 2024: Christmas, New Year's
Day and Martin Luther King Day). On US public holidays a `mall` shop closes (sales 0), a
`street` shop sells half, a `station` shop sells 30% more. A 28-day input window rarely
holds a holiday, so a model cannot tell from it which kind of shop it forecasts; the
static attribute `format` can.

Each panel is retrained through the CLI on a fresh SQLite file, default preset, with
`--holidays US` (the calendar, the same for every shop):

* without static attributes;
* with the static table (`format`, and `size`, a number unrelated to sales);
* with a static table whose formats are drawn at random (noise: no worse, within 1%).

What `latest_forecasts` holds is scored on the held-out days (MASE with the weekly
seasonal-naive scale of each shop's training part, sMAPE), over all shops and on the
three holidays alone.

    python -m bench.statics [--out bench/results/statics-DATE.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from bench.drivers import FORMAT_HOLIDAY_EFFECT, REGION, format_panel
from bench.process import run_tidecast
from tidecast.db import init_db, make_engine, replace_observations

HORIZON = 28
SEASON = 7


def _scores(pairs: pd.DataFrame, scale: pd.Series) -> dict:
    error = (pairs["y"] - pairs["yhat"]).abs()
    mase = (error.groupby(pairs["series_id"]).mean() / scale).dropna().mean()
    denominator = pairs["y"].abs() + pairs["yhat"].abs()
    smape = np.where(denominator > 0, 200 * error / denominator.where(denominator > 0, 1), 0.0)
    return {
        "mase": round(float(mase), 4),
        "smape": round(float(pd.Series(smape).groupby(pairs["series_id"]).mean().mean()), 3),
    }


def run_one(observations: pd.DataFrame, held_out: int, statics: pd.DataFrame | None) -> dict:
    import holidays

    workdir = Path(tempfile.mkdtemp(prefix="tidecast-statics-"))
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    engine = make_engine(url)
    init_db(engine)
    train = observations.groupby("series_id").head(-held_out)
    replace_observations(engine, train)
    args = ["retrain", "--database-url", url, "--horizon", str(HORIZON), "--freq", "D"]
    args += ["--holidays", REGION]
    if statics is not None:
        statics.to_sql("shop_attributes", engine, index=False)
        args += ["--static-table", "shop_attributes"]
    measured = run_tidecast(args, workdir)
    with engine.connect() as conn:
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn, parse_dates=["ts"])
        run = pd.read_sql(text("SELECT * FROM forecast_runs"), conn).iloc[-1]
    engine.dispose()
    actual = observations.rename(columns={"value": "y"})
    pairs = latest.merge(actual, on=["series_id", "ts"])
    scale = train.groupby("series_id")["value"].apply(lambda v: v.diff(SEASON).abs().mean())
    calendar = holidays.country_holidays(REGION, years=pairs["ts"].dt.year.unique().tolist())
    on_holiday = pairs["ts"].dt.date.map(lambda day: day in calendar).astype(bool)
    return {
        **_scores(pairs, scale),
        "holidays": _scores(pairs[on_holiday.to_numpy()], scale),
        "holiday_days": int(pairs.loc[on_holiday.to_numpy(), "ts"].nunique()),
        "points": len(pairs),
        "champions": latest.drop_duplicates("series_id")["model"].value_counts().to_dict(),
        "wall_s": round(measured["wall_s"], 1),
        "notes": run["message"],
        "command": " ".join(["tidecast", *args]).replace(url, "sqlite:///<fresh>.db"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data = format_panel()
    shuffled = data.statics.copy()
    formats = shuffled["attribute"] == "format"
    rng = np.random.default_rng(1)
    shuffled.loc[formats, "value"] = rng.permutation(shuffled.loc[formats, "value"].to_numpy())
    results = {"true_holiday_effect": FORMAT_HOLIDAY_EFFECT}
    for case, statics in (("none", None), ("format, size", data.statics), ("noise", shuffled)):
        results[case] = run_one(data.observations, data.held_out, statics)
        print(case, json.dumps(results[case], indent=1, default=str), flush=True)
    base = results["none"]["mase"]
    for case in ("format, size", "noise"):
        results[case]["mase_change"] = round(results[case]["mase"] / base - 1, 4)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
