"""Real data with drivers: two panels that statsmodels (installed with statsforecast)
ships inside its package, so nothing is downloaded.

* **Grunfeld** (1935–1954): the yearly gross investment of 11 US firms, with each firm's
  market value (`market_value`) and capital stock (`capital`), the drivers of Grunfeld's
  investment model. Both are observed, not known ahead: `past` covariates. The last 3
  years are held out (horizon 3).
* **US macro** (macrodata, 1959Q1–2009Q3): real GDP, consumption, investment, government
  spending and disposable income, with the 3-month T-bill rate, unemployment, inflation
  and the real interest rate as `past` covariates of every series (`series_id` NULL).
  The last 8 quarters (2007Q4–2009Q3, the recession) are held out (horizon 8).

Each panel is retrained through the CLI on a fresh SQLite file, default preset, without
and with its covariates; `latest_forecasts` is scored on the held-out part (MASE with
the seasonal-naive scale of each series' training part, sMAPE).

    python -m bench.real_drivers [--out bench/results/real-drivers-DATE.json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.heldout import retrain_held_out, summary


@dataclass
class RealPanel:
    observations: pd.DataFrame  # series_id, ts, value
    covariates: pd.DataFrame  # series_id, ts, name, value, kind (the training part only)
    freq: str
    season_length: int
    horizon: int


def _long(frame: pd.DataFrame, names: list[str], series_id) -> pd.DataFrame:
    long = frame.melt(id_vars="ts", value_vars=names, var_name="name", value_name="value")
    return long.assign(series_id=series_id, kind="past")


def grunfeld() -> RealPanel:
    from statsmodels.datasets import grunfeld as source

    data = source.load_pandas().data.rename(columns={"value": "market_value"})
    data = data.assign(ts=pd.to_datetime(data["year"].astype(int).astype(str) + "-01-01"))
    observations = data.rename(columns={"firm": "series_id", "invest": "value"})
    horizon = 3
    train = data[data["ts"] <= data["ts"].max() - pd.DateOffset(years=horizon)]
    covariates = pd.concat(
        [_long(own, ["market_value", "capital"], firm) for firm, own in train.groupby("firm")],
        ignore_index=True,
    )
    return RealPanel(observations[["series_id", "ts", "value"]], covariates, "YS", 1, horizon)


def us_macro() -> RealPanel:
    from statsmodels.datasets import macrodata as source

    data = source.load_pandas().data
    data = data.assign(
        ts=pd.PeriodIndex.from_fields(
            year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q"
        ).to_timestamp()
    )
    targets = ["realgdp", "realcons", "realinv", "realgovt", "realdpi"]
    observations = data.melt(
        id_vars="ts", value_vars=targets, var_name="series_id", value_name="value"
    )
    horizon = 8
    train = data.iloc[:-horizon]
    covariates = _long(train, ["tbilrate", "unemp", "infl", "realint"], None)
    return RealPanel(observations, covariates, "QS", 4, horizon)


def run_one(panel: RealPanel, with_covariates: bool) -> dict:
    args = ["--horizon", str(panel.horizon), "--freq", panel.freq]
    if with_covariates:
        args += ["--covariates-table", "covariates"]
    result = retrain_held_out(
        panel.observations,
        panel.horizon,
        args,
        panel.season_length,
        {"covariates": panel.covariates},
    )
    return summary(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = {}
    for name, panel in (("grunfeld", grunfeld()), ("us_macro", us_macro())):
        results[name] = {
            "without": run_one(panel, with_covariates=False),
            "with": run_one(panel, with_covariates=True),
        }
        change = results[name]["with"]["mase"] / results[name]["without"]["mase"] - 1
        results[name]["mase_change"] = round(change, 4)
        print(name, json.dumps(results[name], indent=1, default=str), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
