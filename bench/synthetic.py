"""A seeded synthetic panel for the scale benchmarks: many series, like a retailer's or a
utility's, built with numpy in one pass (no per-series Python loop).

Each series has a level, a trend, a yearly season and noise; one in ten is intermittent
(mostly zeros, occasional positive demand); lengths vary between 60% and 100% of the
longest, and every series ends on the same month, as a real panel does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INTERMITTENT_SHARE = 0.1


def synthetic_panel(
    n_series: int, length: int = 120, seed: int = 0, end: str = "2025-12-01"
) -> pd.DataFrame:
    """`series_id`, `ts`, `value` for `n_series` monthly series of at most `length` points."""
    rng = np.random.default_rng(seed)
    lengths = np.where(
        rng.random(n_series) < 0.7, length, rng.integers(int(0.6 * length), length + 1, n_series)
    )
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    position = np.arange(lengths.sum()) - offsets  # 0 .. length-1 within each series
    start = length - np.repeat(lengths, lengths)  # shorter series start later
    t = start + position
    per_series = {
        "level": rng.lognormal(4, 1, n_series),
        "trend": rng.normal(0, 0.004, n_series),
        "amplitude": rng.uniform(0, 0.3, n_series),
        "phase": rng.uniform(0, 2 * np.pi, n_series),
        "noise": rng.uniform(0.02, 0.15, n_series),
        "intermittent": rng.random(n_series) < INTERMITTENT_SHARE,
    }
    rows = {key: np.repeat(value, lengths) for key, value in per_series.items()}
    season = 1 + rows["amplitude"] * np.sin(2 * np.pi * t / 12 + rows["phase"])
    smooth = rows["level"] * (1 + rows["trend"] * t) * season
    value = smooth * (1 + rows["noise"] * rng.standard_normal(len(t)))
    demand = rng.random(len(t)) < 0.25
    value = np.where(
        rows["intermittent"], np.where(demand, rng.poisson(3, len(t)) + 1, 0), value
    ).astype(float)
    months = pd.date_range(end=end, periods=length, freq="MS")
    width = len(str(n_series - 1))
    ids = np.char.add("S", np.char.zfill(np.arange(n_series).astype(str), width))
    return pd.DataFrame(
        {"series_id": np.repeat(ids, lengths), "ts": months[t], "value": np.round(value, 4)}
    )


def hourly_panel(n_series: int, days: int = 28, seed: int = 1) -> pd.DataFrame:
    """`series_id`, `ts`, `value` for `n_series` hourly series of `days` days each: a
    level, a daily season, a slow trend and noise (a long horizon's cost, not realism)."""
    rng = np.random.default_rng(seed)
    length = 24 * days
    t = np.arange(length)
    level = rng.lognormal(4, 1, n_series)[:, None]
    amplitude = rng.uniform(0, 0.4, n_series)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n_series)[:, None]
    trend = rng.normal(0, 0.002, n_series)[:, None]
    noise = rng.uniform(0.03, 0.2, n_series)[:, None]
    smooth = level * (1 + amplitude * np.sin(2 * np.pi * t / 24 + phase)) * (1 + trend * t)
    value = np.maximum(smooth * (1 + noise * rng.standard_normal((n_series, length))), 0)
    hours = pd.date_range("2024-01-01", periods=length, freq="h")
    width = len(str(n_series - 1))
    ids = np.char.add("H", np.char.zfill(np.arange(n_series).astype(str), width))
    return pd.DataFrame(
        {"series_id": np.repeat(ids, length), "ts": np.tile(hours, n_series),
         "value": np.round(value.reshape(-1), 4)}
    )  # fmt: skip


def daily_panel(n_series: int, days: int = 730, seed: int = 2) -> pd.DataFrame:
    """`series_id`, `ts`, `value` for `n_series` daily series of `days` days each, like a
    retailer's store-item sales: a level, a weekly and a yearly season, a slow trend and
    noise; one in ten intermittent (a long season's and a long horizon's cost, not realism)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    level = rng.lognormal(3, 1, n_series)[:, None]
    weekly = rng.uniform(0, 0.4, n_series)[:, None]
    yearly = rng.uniform(0, 0.3, n_series)[:, None]
    phase = rng.uniform(0, 2 * np.pi, (n_series, 2))
    trend = rng.normal(0, 0.0005, n_series)[:, None]
    noise = rng.uniform(0.05, 0.25, n_series)[:, None]
    season = (1 + weekly * np.sin(2 * np.pi * t / 7 + phase[:, :1])) * (
        1 + yearly * np.sin(2 * np.pi * t / 365.25 + phase[:, 1:])
    )
    smooth = level * season * (1 + trend * t)
    value = np.maximum(smooth * (1 + noise * rng.standard_normal((n_series, days))), 0)
    intermittent = rng.random(n_series) < INTERMITTENT_SHARE
    sales = rng.poisson(2, (n_series, days)) * (rng.random((n_series, days)) < 0.2)
    value = np.where(intermittent[:, None], sales, value)
    dates = pd.date_range(end="2025-12-31", periods=days, freq="D")
    width = len(str(n_series - 1))
    ids = np.char.add("D", np.char.zfill(np.arange(n_series).astype(str), width))
    return pd.DataFrame(
        {"series_id": np.repeat(ids, days), "ts": np.tile(dates, n_series),
         "value": np.round(value.reshape(-1), 4)}
    )  # fmt: skip
