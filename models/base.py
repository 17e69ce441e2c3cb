"""The model protocol every forecaster follows, and the helpers they share.

A *panel* is a long frame with `series_id`, `ds`, `y`, sorted or not. A forecaster:

* stores its parameters in `__init__` and does nothing else there;
* `fit(panel)` learns from all series in the panel and returns `self`
  (fitted attributes end in `_`; fitting again discards the old fit);
* `predict(h)` returns `series_id`, `ds`, `yhat` for the next `h` steps of every
  fitted series and changes nothing on the object;
* optionally, `next_origin()` on a fitted model returns the unfitted model the backtest
  fits at the next (later) origin, carrying what this fit chose (AutoETS: each series'
  form); without it every fold fits a fresh copy.

Models never touch the database or Prefect; intervals are added by the pipeline
from backtest errors, so a model only has to produce point forecasts.
"""

from __future__ import annotations

import inspect
from typing import Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from tidecast.frequency import make_grid


@runtime_checkable
class Forecaster(Protocol):
    def fit(self, panel: pd.DataFrame) -> Self: ...

    def predict(self, h: int) -> pd.DataFrame: ...


def get_params(model: object) -> dict[str, object]:
    """The constructor arguments of `model`, read back from its attributes (scikit-learn style)."""
    names = [name for name in inspect.signature(type(model).__init__).parameters if name != "self"]
    return {name: getattr(model, name) for name in names}


def clone(model: Forecaster) -> Forecaster:
    """A fresh, unfitted copy with the same parameters."""
    return type(model)(**get_params(model))


def sort_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """A sorted copy of the panel (the caller's frame is never reordered in place)."""
    return panel.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)


def positions_from_end(sorted_panel: pd.DataFrame) -> np.ndarray:
    """0 for each series' last row, 1 for the one before, and so on."""
    group = sorted_panel.groupby("series_id", sort=False)
    return (group["y"].transform("size") - group.cumcount() - 1).to_numpy()


def future_frame(last_ds: pd.Series, h: int, freq: str) -> pd.DataFrame:
    """`series_id`, `ds`, `step` for the `h` steps after each series' last timestamp.

    `last_ds` is indexed by series_id.
    """
    grid = make_grid(freq)
    last_pos = grid.positions(pd.Series(last_ds.to_numpy()))[0]
    steps = np.tile(np.arange(1, h + 1), len(last_ds))
    return pd.DataFrame(
        {
            "series_id": np.repeat(last_ds.index.to_numpy(), h),
            "ds": grid.timestamps(np.repeat(last_pos, h) + steps),
            "step": steps,
        }
    )
