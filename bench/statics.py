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
from pathlib import Path

import numpy as np
import pandas as pd

from bench.drivers import FORMAT_HOLIDAY_EFFECT, REGION, format_panel
from bench.heldout import retrain_held_out, scores, summary

HORIZON = 28
SEASON = 7


def run_one(observations: pd.DataFrame, held_out: int, statics: pd.DataFrame | None) -> dict:
    import holidays

    args = ["--horizon", str(HORIZON), "--freq", "D", "--holidays", REGION]
    tables = {}
    if statics is not None:
        tables["shop_attributes"] = statics
        args += ["--static-table", "shop_attributes"]
    result = retrain_held_out(observations, held_out, args, SEASON, tables)
    pairs = result.pairs
    calendar = holidays.country_holidays(REGION, years=pairs["ts"].dt.year.unique().tolist())
    on_holiday = pairs["ts"].dt.date.map(lambda day: day in calendar).astype(bool).to_numpy()
    return {
        **summary(result),
        "holidays": scores(pairs[on_holiday], result.scale),
        "holiday_days": int(pairs.loc[on_holiday, "ts"].nunique()),
        "notes": result.run["message"],
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
