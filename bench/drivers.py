"""A seeded daily retail panel whose demand has known drivers, for the covariates work.

Each series is a shop's daily sales: a level, a weekly pattern and noise, times
* a promotion lift: sales are `PROMO_LIFT` higher on promotion days (the promotion
  calendar is a `future` covariate, `promo`);
* a price response: sales scale as (price / usual price) ** -`ELASTICITY` (the price
  plan is a `future` covariate, `price`);
* closures: the shop is closed (sales 0) on the public holidays of `REGION` (given to
  tidecast only as the setting `holidays`).

With `effects=False` the same panel has no drivers, and the covariates are noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PROMO_LIFT = 0.4
ELASTICITY = 1.5
REGION = "US"
START = "2022-01-03"


@dataclass
class DriverPanel:
    observations: pd.DataFrame  # series_id, ts, value (every day, the held-out part included)
    covariates: pd.DataFrame  # series_id, ts, name, value, kind (every day + horizon)
    held_out: int  # the last days of each series, not given to the training run


def _promotions(rng: np.random.Generator, days: int) -> np.ndarray:
    """Runs of 3-7 promotion days, about one day in ten."""
    promo = np.zeros(days)
    day = int(rng.integers(0, 20))
    while day < days:
        length = int(rng.integers(3, 8))
        promo[day : day + length] = 1.0
        day += length + int(rng.integers(20, 60))
    return promo


def _prices(rng: np.random.Generator, days: int, usual: float) -> np.ndarray:
    """The usual price, with a change of up to 15% either way every 4 to 10 weeks."""
    price = np.full(days, usual)
    day = int(rng.integers(28, 70))
    while day < days:
        length = int(rng.integers(7, 28))
        price[day : day + length] = usual * float(rng.uniform(0.85, 1.15))
        day += length + int(rng.integers(28, 70))
    return np.round(price, 2)


def _days(start: str, total: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """`total` days from `start`, and 1 on the public holidays of REGION among them."""
    import holidays

    stamps = pd.date_range(start, periods=total, freq="D")
    calendar = holidays.country_holidays(REGION, years=range(stamps[0].year, stamps[-1].year + 1))
    return stamps, np.array([day in calendar for day in stamps.date], dtype=float)


def _shop_sales(rng: np.random.Generator, weekday: np.ndarray) -> np.ndarray:
    """A shop's daily sales without drivers: a level, a weekend-heavy weekly pattern, a
    slight trend and lognormal noise (σ 0.1)."""
    total = len(weekday)
    level = float(rng.uniform(50, 500))
    weekly = 1 + rng.uniform(0.1, 0.4) * np.where(weekday >= 5, 1.0, -0.3)
    trend = 1 + rng.uniform(-0.1, 0.2) * np.arange(total) / total
    noise = rng.lognormal(0.0, 0.1, total)
    return level * weekly * trend * noise


def driver_panel(
    n_series: int = 40,
    days: int = 730,
    held_out: int = 28,
    seed: int = 0,
    effects: bool = True,
) -> DriverPanel:
    """The panel: `days` days of training data plus `held_out` days to score on."""
    rng = np.random.default_rng(seed)
    total = days + held_out
    stamps, closed = _days(START, total)
    weekday = stamps.dayofweek.to_numpy()
    observations, covariates = [], []
    for number in range(n_series):
        sid = f"shop_{number:03d}"
        base = _shop_sales(rng, weekday)
        promo = _promotions(rng, total)
        usual = float(rng.uniform(2, 20))
        price = _prices(rng, total, usual)
        value = base
        if effects:
            value = value * (1 + PROMO_LIFT * promo) * (price / usual) ** -ELASTICITY
            value = value * (1 - closed)
        else:  # the same calendar shapes, unrelated to sales
            promo = _promotions(rng, total)
            price = _prices(rng, total, usual)
        observations.append(pd.DataFrame({"series_id": sid, "ts": stamps, "value": value}))
        for name, values in (("promo", promo), ("price", price)):
            covariates.append(
                pd.DataFrame(
                    {
                        "series_id": sid,
                        "ts": stamps,
                        "name": name,
                        "value": values,
                        "kind": "future",
                    }
                )
            )
    return DriverPanel(
        pd.concat(observations, ignore_index=True),
        pd.concat(covariates, ignore_index=True),
        held_out,
    )


# what a US public holiday does to a shop's sales, by format (bench/statics.py)
FORMAT_HOLIDAY_EFFECT = {"mall": -1.0, "street": -0.5, "station": 0.3}
FORMAT_START = "2021-12-20"  # so the 28 held-out days hold Christmas, New Year, MLK Day


@dataclass
class FormatPanel:
    observations: pd.DataFrame  # series_id, ts, value (every day, the held-out part included)
    statics: pd.DataFrame  # series_id, attribute, value: format, and size (unrelated)
    held_out: int


def format_panel(
    n_series: int = 45, days: int = 730, held_out: int = 28, seed: int = 0
) -> FormatPanel:
    """Shops of three formats (`FORMAT_HOLIDAY_EFFECT`), in turn: a level, a weekly
    pattern, a slight trend and noise as in `driver_panel`, times 1 + the format's effect
    on US public holidays."""
    rng = np.random.default_rng(seed)
    stamps, holiday = _days(FORMAT_START, days + held_out)
    weekday = stamps.dayofweek.to_numpy()
    formats = list(FORMAT_HOLIDAY_EFFECT)
    observations, statics = [], []
    for number in range(n_series):
        sid = f"shop_{number:03d}"
        shop_format = formats[number % len(formats)]
        value = _shop_sales(rng, weekday) * (1 + FORMAT_HOLIDAY_EFFECT[shop_format] * holiday)
        observations.append(pd.DataFrame({"series_id": sid, "ts": stamps, "value": value}))
        size = str(int(rng.integers(80, 400)))  # square metres, unrelated to the sales
        statics += [(sid, "format", shop_format), (sid, "size", size)]
    return FormatPanel(
        pd.concat(observations, ignore_index=True),
        pd.DataFrame(statics, columns=["series_id", "attribute", "value"]),
        held_out,
    )
