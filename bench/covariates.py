"""Covariates end to end: `tidecast retrain` with and without drivers, scored on held-out days.

Two seeded daily panels from `bench/drivers.py` (40 shops, 730 days to train on, the next
28 held out): one whose sales follow a promotion calendar, a price plan and closures on
US public holidays; one of the same shape where the same kinds of covariates are noise.
Each panel is retrained twice through the CLI on a fresh SQLite file, default preset:

* without covariates;
* with the `promo` and `price` covariates (a table) and `--holidays US`.

What `latest_forecasts` holds is scored on the held-out days (MASE with the weekly
seasonal-naive scale of each shop's training part, and sMAPE). Then the effects the
covariate models learnt are read off their forecasts, fitted as the final fit fits them:
the ratio of forecasts with and without a promotion on every day ahead, with the price
10% above its last value, and with every day ahead a holiday; against the true effects.

    python -m bench.covariates [--series 40] [--out bench/results/covariates-DATE.json]
    python -m bench.covariates --effects-only --models nbeats_cov,lstm_cov
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from bench.drivers import ELASTICITY, PROMO_LIFT, DriverPanel, driver_panel
from bench.heldout import retrain_held_out, summary
from tidecast.frequency import make_grid
from tidecast.models.registry import build_model
from tidecast.settings import load_settings
from tidecast.tasks.covariates import CovariateInput, validate_covariates, with_history
from tidecast.tasks.holidays import DISTANCE_CAP, holiday_features

HORIZON = 28
SEASON = 7
# the US calendar's features on a day that is a holiday, and on one far from any
HOLIDAY_EVERY_DAY = {
    "holiday_us": 1.0, "holiday_near_us": 0.0, "bridge_us": 0.0,
    "days_to_holiday_us": 0.0, "days_from_holiday_us": 0.0,
}  # fmt: skip
HOLIDAY_NONE = {
    "holiday_us": 0.0, "holiday_near_us": 0.0, "bridge_us": 0.0,
    "days_to_holiday_us": float(DISTANCE_CAP), "days_from_holiday_us": float(DISTANCE_CAP),
}  # fmt: skip


def run_one(data: DriverPanel, with_covariates: bool) -> dict:
    args = ["--horizon", str(HORIZON), "--freq", "D"]
    if with_covariates:
        args += ["--covariates-table", "covariates", "--holidays", "US"]
    result = retrain_held_out(
        data.observations, data.held_out, args, SEASON, {"covariates": data.covariates}
    )
    rows = result.run["covariate_rows_read"]
    return {**summary(result), "covariate_rows_read": None if pd.isna(rows) else int(rows)}


def learned_effects(data: DriverPanel, models: list[str]) -> dict:
    """What `models` (`ridge_cov`, `hgb_cov`, …), fitted on the training part with every
    covariate, forecast when a driver changes on every day ahead, as a relative change."""
    train = data.observations.groupby("series_id").head(-data.held_out)
    panel = train.rename(columns={"ts": "ds", "value": "y"})
    grid = make_grid("D")
    raw = data.covariates.assign(known_at=None)
    covariates = validate_covariates(raw, grid, pd.Index(panel["series_id"].unique()))
    values, kinds = holiday_features(
        ["US"], grid, panel["ds"].min(), grid.shifted(panel["ds"].max(), HORIZON)
    )
    covariates = covariates.with_values(values, kinds)
    inputs = CovariateInput(covariates.values, covariates.kinds, "D")
    last = panel.groupby("series_id")["ds"].max()
    known, future = inputs.frames(last, HORIZON, as_of_cutoff=False)
    history = with_history(panel, known, list(covariates.kinds))
    settings = load_settings(horizon=HORIZON, freq="D")
    context = settings.model_context(SEASON, "D", covariates.future_names, covariates.past_names)
    last_price = history.groupby("series_id")["price"].last()
    cases = {
        "promo": (future.assign(promo=1.0), future.assign(promo=0.0), PROMO_LIFT),
        "price +10%": (
            future.assign(price=future["series_id"].map(last_price) * 1.1),
            future.assign(price=future["series_id"].map(last_price)),
            1.1**-ELASTICITY - 1,
        ),
        "holiday (closed)": (
            future.assign(**HOLIDAY_EVERY_DAY),
            future.assign(**HOLIDAY_NONE),
            -1.0,
        ),
    }
    found = {}
    for name in models:
        model = build_model(name, **context).fit(history)
        for case, (on, off, truth) in cases.items():
            ratio = (
                model.predict(HORIZON, future=on)["yhat"].sum()
                / model.predict(HORIZON, future=off)["yhat"].sum()
            )
            found.setdefault(case, {"true": round(truth, 3)})[name] = round(float(ratio - 1), 3)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=40)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--models", default="ridge_cov,hgb_cov", help="whose learned effects to read"
    )
    parser.add_argument(
        "--effects-only", action="store_true", help="only the learned effects, no retrains"
    )
    args = parser.parse_args()
    results = {}
    for kind, effects in () if args.effects_only else (("drivers", True), ("noise", False)):
        data = driver_panel(n_series=args.series, effects=effects)
        results[kind] = {
            "without": run_one(data, with_covariates=False),
            "with": run_one(data, with_covariates=True),
        }
        change = results[kind]["with"]["mase"] / results[kind]["without"]["mase"] - 1
        results[kind]["mase_change"] = round(change, 4)
        print(kind, json.dumps(results[kind], indent=1, default=str))
    models = args.models.split(",")
    results["learned_effects"] = learned_effects(driver_panel(n_series=args.series), models)
    print(json.dumps(results["learned_effects"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
