"""Calendar arithmetic on a frequency grid, vectorized.

Every timestamp on a regular grid maps to an integer *position* (a period ordinal
for calendar frequencies, a count of fixed steps since the epoch for the rest), so
gaps, horizons and future timestamps become integer arithmetic on numpy arrays.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries import offsets
from pandas.tseries.frequencies import to_offset

from tidecast.errors import TidecastError

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
SUPPORTED = (
    "MS, ME, QS, QE, YS, YE (with an anchor like QS-OCT), W-SUN..W-SAT, D, h, min, s "
    "or a multiple like 15min"
)


@dataclass(frozen=True)
class Grid:
    """A regular time grid: `freq` as pandas spells it, plus how positions are computed."""

    freq: str
    period: str | None  # pandas period alias for calendar grids, None for fixed steps
    anchored_end: bool  # calendar periods labelled by their last day (ME, QE, YE, W-*)
    step_ns: int | None  # fixed step in nanoseconds for tick grids
    season_length: int  # the usual seasonal period of data on this grid

    def positions(self, ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Integer grid position of each timestamp, and whether it lies exactly on the grid."""
        values = pd.DatetimeIndex(ts).as_unit("ns")
        if self.step_ns is not None:
            ns = values.asi8
            return ns // self.step_ns, ns % self.step_ns == 0
        periods = values.to_period(self.period)
        on_grid = self._timestamps(periods) == values
        return periods.asi8, np.asarray(on_grid)

    def timestamps(self, positions: np.ndarray) -> pd.DatetimeIndex:
        """The timestamps at the given integer grid positions."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.step_ns is not None:
            return pd.DatetimeIndex(positions * self.step_ns, dtype="datetime64[ns]")
        return self._timestamps(pd.PeriodIndex.from_ordinals(positions, freq=self.period))

    def shifted(self, ts: pd.Timestamp, periods: int) -> pd.Timestamp:
        """The grid timestamp `periods` steps after `ts`'s grid point (negative: before)."""
        position, _ = self.positions(pd.Series([pd.Timestamp(ts)]))
        return self.timestamps(position + periods)[0]

    def period_bounds(self, ts: pd.Series) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
        """(start, end) of the period each grid timestamp labels, the end exclusive (the
        next period's start): BI's answer to "which days does this forecast cover",
        whether the grid labels periods by their first day (MS) or their last (ME, W-SUN)."""
        values = pd.DatetimeIndex(ts).as_unit("ns")
        if self.step_ns is not None:
            return values, values + pd.Timedelta(self.step_ns, unit="ns")
        periods = values.to_period(self.period)
        start = periods.to_timestamp(how="start").as_unit("ns")
        return start, (periods + 1).to_timestamp(how="start").as_unit("ns")

    def _timestamps(self, periods: pd.PeriodIndex) -> pd.DatetimeIndex:
        how = "end" if self.anchored_end else "start"
        return periods.to_timestamp(how=how).normalize().as_unit("ns")


def make_grid(freq: str) -> Grid:
    """Build the grid for a pandas frequency string, or say which ones are supported."""
    try:
        offset = to_offset(freq)
    except ValueError as exc:
        raise TidecastError(
            f"frequency {freq!r} is not valid: {exc}. Supported: {SUPPORTED}."
        ) from exc
    if isinstance(offset, offsets.Tick | offsets.Day):  # pandas 3 made Day a calendar offset
        step_ns = int(
            pd.Timedelta(days=offset.n).value
            if isinstance(offset, offsets.Day)
            else pd.Timedelta(offset).value
        )
        season = {86_400 * 10**9: 7, 3_600 * 10**9: 24}.get(step_ns, 1)
        return Grid(offset.freqstr, None, False, step_ns, season)
    if offset.n != 1:
        raise TidecastError(
            f"frequency {freq!r}: multiples of calendar frequencies are not supported."
        )
    if isinstance(offset, offsets.MonthBegin | offsets.MonthEnd):
        return Grid(offset.freqstr, "M", isinstance(offset, offsets.MonthEnd), None, 12)
    if isinstance(offset, offsets.QuarterBegin | offsets.QuarterEnd):
        end_month = offset.startingMonth
        if isinstance(offset, offsets.QuarterBegin):
            # QS-JAN quarters start in JAN/APR/JUL/OCT, so the yearly quarter ends in DEC
            end_month = (offset.startingMonth - 2) % 12 + 1
        period = f"Q-{_MONTHS[end_month - 1]}"
        return Grid(offset.freqstr, period, isinstance(offset, offsets.QuarterEnd), None, 4)
    if isinstance(offset, offsets.YearBegin | offsets.YearEnd):
        end_month = offset.month
        if isinstance(offset, offsets.YearBegin):
            end_month = (offset.month - 2) % 12 + 1
        period = f"Y-{_MONTHS[end_month - 1]}"
        return Grid(offset.freqstr, period, isinstance(offset, offsets.YearEnd), None, 1)
    if isinstance(offset, offsets.Week) and offset.weekday is not None:
        return Grid(offset.freqstr, f"W-{_DAYS[offset.weekday]}", True, None, 52)
    raise TidecastError(f"frequency {freq!r} is not supported. Supported: {SUPPORTED}.")


def _regular_freq(stamps: pd.DatetimeIndex) -> object:
    """pandas' frequency of `stamps`, or, where a gap breaks it (a missing period, the
    hour a DST change skips in local wall-clock time), of their longest stretch without
    one: a gap inside a series is filled later, so it must not hide the grid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = pd.infer_freq(stamps)
        if found is not None:
            return found
        steps = np.diff(stamps.asi8)
        breaks = np.flatnonzero(steps > 1.5 * np.median(steps))
        bounds = np.concatenate([[0], breaks + 1, [len(stamps)]])
        longest = int(np.argmax(np.diff(bounds)))
        stretch = stamps[bounds[longest] : bounds[longest + 1]]
        if len(stretch) < max(3, len(stamps) // 2) or len(stretch) == len(stamps):
            return None
        return pd.infer_freq(stretch)


def infer_freq(ds: pd.Series, series_id: pd.Series, sample: int = 50) -> str:
    """Infer the grid from the longest series; the most common answer wins.

    Only a sample of series is examined, so the cost does not grow with the panel.
    """
    rows_of = pd.Series(np.arange(len(ds))).groupby(series_id.to_numpy()).indices
    longest = sorted(rows_of, key=lambda sid: -len(rows_of[sid]))[:sample]
    answers: list[str] = []
    for sid in longest:
        stamps = pd.DatetimeIndex(ds.iloc[rows_of[sid]]).sort_values().unique()
        if len(stamps) < 3:
            continue
        found = _regular_freq(stamps)
        if found is not None:
            answers.append(getattr(found, "freqstr", found))
    if not answers:
        raise TidecastError(
            "could not infer the frequency of the observations (irregular or too short series); "
            "pass --freq (or set TIDECAST_FREQ), e.g. --freq MS for monthly data."
        )
    return pd.Series(answers).mode().iloc[0]


def series_spacing(grid: Grid, ts: pd.Series, series_id: pd.Series) -> pd.DataFrame:
    """How each series sits on the grid, one row per series id.

    `off_grid_share`: the share of its timestamps that are not grid points. `step`: the
    greatest common divisor of the distances, in grid steps, between its consecutive
    distinct grid points (NaN with fewer than two): 1 for a series of this frequency, gaps
    or not; 3 for a quarterly series on a monthly grid, 7 for a weekly one on a daily grid.
    `filled_share`: the share of the grid points between its first and last that it lacks.
    """
    positions, on_grid = grid.positions(ts)
    # integer codes, not the ids: grouping and sorting millions of rows by text costs
    # several times the memory and time (ids back at the end, in order of appearance)
    codes, ids = pd.factorize(series_id.to_numpy())
    frame = pd.DataFrame({"series_id": codes, "pos": positions, "on_grid": on_grid})
    if (codes < 0).any():  # a missing id belongs to no series, as in a groupby
        frame = frame[codes >= 0]
    off = 1.0 - frame.groupby("series_id", sort=False)["on_grid"].mean()
    points = frame[frame["on_grid"]].drop_duplicates(["series_id", "pos"])
    points = points.sort_values(["series_id", "pos"], kind="stable")
    diffs = points["pos"].diff()[points["series_id"].duplicated()].astype(np.int64)
    owners = points.loc[diffs.index, "series_id"]
    step = diffs.groupby(owners, sort=False).min()
    while True:  # g <- min over rows of gcd(g, d) reaches the gcd of all d in a few rounds
        common = pd.Series(np.gcd(step.loc[owners].to_numpy(), diffs.to_numpy()))
        reduced = common.groupby(owners.to_numpy(), sort=False).min()
        if (reduced.reindex(step.index) == step).all():
            break
        step = reduced.reindex(step.index)
    bounds = points.groupby("series_id", sort=False)["pos"].agg(["min", "max", "size"])
    span = bounds["max"] - bounds["min"] + 1
    filled = (span - bounds["size"]) / span
    spacing = pd.DataFrame(
        {
            "off_grid_share": off,
            "step": step.reindex(off.index),
            "filled_share": filled.reindex(off.index).fillna(0.0),
        }
    )
    spacing.index = pd.Index(ids.take(off.index.to_numpy()), name="series_id")
    return spacing
