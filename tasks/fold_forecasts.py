"""The backtest's fold forecasts, held compactly in the flow's process.

They are what the ensembles, the interval calibration and coverage, and the champions'
stored backtest forecasts are made from. At 100,000 series, 3 folds, h = 12 and eight
candidates there are 29 million of them: as a frame of one row per forecast (series,
model, fold, ds, step, y, yhat, scale) they took 4 GB, and combining them (concatenations,
merges, naming) 10 GB (BENCHMARKS.md, "Speed and scale").

Here every (series, fold, step) has one *slot* in dense arrays of its timestamp, actual
and scale, which every model shares, and a model keeps only its forecasts and their
slots: 16 bytes a forecast. Work that needs frames gets them one model, or one range of
series, at a time, in the layout of `FOLD_FORECAST_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

FOLD_FORECAST_COLUMNS = ["series_id", "model", "fold", "ds", "step", "y", "yhat", "scale"]


class FoldForecasts:
    """Fold forecasts of the series coded `first` on (`names` their names), `folds` folds
    of `horizon` steps, added a frame at a time (`add`) or a chunk's at a time (`merge`).

    A chunk's worker builds one for its series, so what travels back to the flow (and
    what Prefect keeps of a task's result) is this compact form, not a frame.
    """

    def __init__(self, names: pd.Index, folds: int, horizon: int, first: int = 0) -> None:
        self.names = names
        self.folds, self.horizon, self.first = folds, horizon, first
        slots = len(names) * folds * horizon
        self._ds = np.full(slots, np.datetime64("NaT", "ns"))
        self._y = np.full(slots, np.nan)
        self._scale = np.full(slots, np.nan)
        # model -> parts added, merged and sorted by slot on first read
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._sorted: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def models(self) -> list[str]:
        """Models in the order they were first added."""
        return list(self._pending)

    def __len__(self) -> int:
        return sum(len(self._model(name)[0]) for name in self.models)

    def add(self, frame: pd.DataFrame) -> None:
        """Fold forecasts in the layout of `FOLD_FORECAST_COLUMNS`, series as codes."""
        if frame.empty:
            return
        slots = self._slots(
            frame["series_id"].to_numpy(dtype=np.int64),
            frame["fold"].to_numpy(dtype=np.int64),
            frame["step"].to_numpy(dtype=np.int64),
        )
        self._ds[slots] = frame["ds"].to_numpy(dtype="datetime64[ns]")
        self._y[slots] = frame["y"].to_numpy(dtype=float)
        self._scale[slots] = frame["scale"].to_numpy(dtype=float)
        yhat = frame["yhat"].to_numpy(dtype=float)
        models = frame["model"].to_numpy()
        for name in pd.unique(models):
            mine = models == name
            self._pending.setdefault(str(name), []).append((slots[mine], yhat[mine]))
            self._sorted.pop(str(name), None)

    def merge(self, other: FoldForecasts) -> None:
        """Add everything `other` (a chunk's, its series within these) holds."""
        offset = (other.first - self.first) * self.folds * self.horizon
        filled = np.flatnonzero(~np.isnat(other._ds))
        self._ds[filled + offset] = other._ds[filled]
        self._y[filled + offset] = other._y[filled]
        self._scale[filled + offset] = other._scale[filled]
        for name, parts in other._pending.items():
            mine = self._pending.setdefault(name, [])
            mine += [(slots + offset, yhat) for slots, yhat in parts]
            self._sorted.pop(name, None)

    def _slots(self, series: np.ndarray, fold: np.ndarray, step: np.ndarray) -> np.ndarray:
        return ((series - self.first) * self.folds + fold) * self.horizon + (step - 1)

    def _model(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A model's slots (ascending: series, fold, step) and forecasts."""
        if name not in self._sorted:
            parts = self._pending[name]
            slots = np.concatenate([part[0] for part in parts])
            yhat = np.concatenate([part[1] for part in parts])
            order = np.argsort(slots, kind="stable")
            self._sorted[name] = (slots[order], yhat[order])
            self._pending[name] = [self._sorted[name]]
        return self._sorted[name]

    def dense(self, names: list[str], first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The forecasts of the models `names` for the series coded `first` to `stop - 1`,
        as (model, slot) arrays over those series' slots: each forecast (NaN where the
        model has none) and whether the model has a forecast there."""
        per_series = self.folds * self.horizon
        low, high = (first - self.first) * per_series, (stop - self.first) * per_series
        yhat = np.full((len(names), high - low), np.nan)
        present = np.zeros((len(names), high - low), dtype=bool)
        for row, name in enumerate(names):
            slots, values = self._model(name)
            a, b = np.searchsorted(slots, [low, high])
            yhat[row, slots[a:b] - low] = values[a:b]
            present[row, slots[a:b] - low] = True
        return yhat, present

    def slot_frame(
        self, name: str, slots: np.ndarray, yhat: np.ndarray, named: bool = False
    ) -> pd.DataFrame:
        """Forecasts `yhat` of the model `name` at `slots` (counted from the series coded
        `first`), in the layout of `FOLD_FORECAST_COLUMNS`."""
        per_series = self.folds * self.horizon
        series = slots // per_series  # relative to `first`
        return pd.DataFrame(
            {
                "series_id": self.names.take(series).to_numpy() if named else series + self.first,
                "model": name,
                "fold": (slots // self.horizon) % self.folds,
                "ds": self._ds[slots],
                "step": slots % self.horizon + 1,
                "y": self._y[slots],
                "yhat": yhat,
                "scale": self._scale[slots],
            }
        )

    def of_model(self, name: str, named: bool = True) -> pd.DataFrame:
        """One model's fold forecasts, ordered by series, fold and step."""
        return self.slot_frame(name, *self._model(name), named)

    def by_model(self, named: bool = True) -> Iterator[pd.DataFrame]:
        """Every model's fold forecasts, a model at a time, models in name order."""
        for name in sorted(self.models):
            yield self.of_model(name, named)

    def frame(self) -> pd.DataFrame:
        """Every fold forecast in one frame, series named (small panels: tests, studies)."""
        parts = [self.of_model(name) for name in self.models]
        if not parts:
            return pd.DataFrame(columns=FOLD_FORECAST_COLUMNS)
        return pd.concat(parts, ignore_index=True)

    def of_champions(self, chosen: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """The fold forecasts of each series' champion (`chosen`: named `series_id`, `model`)."""
        code_of = pd.Series(np.arange(len(self.names)), index=self.names.astype(str))  # relative
        codes = chosen["series_id"].astype(str).map(code_of)
        parts = []
        for name in self.models:
            mine = codes[(chosen["model"] == name).to_numpy() & codes.notna().to_numpy()]
            if mine.empty:
                continue
            slots, yhat = self._model(name)
            keep = np.isin(slots // (self.folds * self.horizon), mine.to_numpy(dtype=np.int64))
            parts.append(self.slot_frame(name, slots[keep], yhat[keep], named=True)[columns])
        if not parts:
            return pd.DataFrame(columns=columns)
        return pd.concat(parts, ignore_index=True)
