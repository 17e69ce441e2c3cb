"""Holiday calendars as covariates: features of each grid period, from the `holidays` package.

A region is a country code, optionally with a subdivision: `US`, `DE-BY`, `GB-SCT`.
Per region, `future` covariates for every series (a calendar is known ahead):

* `holiday_<region>`: the number of public holidays in the period (0 or 1 on a daily
  grid; on an hourly grid, whether the hour's day is one);
* on daily and finer grids also `holiday_near_<region>`: 1 on the day before and the
  day after a holiday; `bridge_<region>`: 1 on a working day between a holiday and a
  weekend (a day many take off); `days_to_holiday_<region>` and
  `days_from_holiday_<region>`: the days to the next holiday and since the last one (0
  on a holiday), capped at `DISTANCE_CAP`, for effects that build up before a holiday
  (the Christmas shopping weeks) or fade after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tidecast.calendars import region_calendar
from tidecast.frequency import Grid

# days to / from a holiday beyond this count as this far: a fortnight covers the
# shopping run-up to the holidays that have one; a generic choice, not tuned on any data
DISTANCE_CAP = 14


def feature_names(region: str, daily: bool) -> list[str]:
    slug = region.lower().replace("-", "_")
    names = [f"holiday_{slug}"]
    if daily:
        names += [
            f"holiday_near_{slug}",
            f"bridge_{slug}",
            f"days_to_holiday_{slug}",
            f"days_from_holiday_{slug}",
        ]
    return names


def holiday_distances(calendar, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Days from each of `days` to the next holiday of `calendar` and since the last one
    (0 on a holiday), at most DISTANCE_CAP; `calendar` must hold the years around."""
    span = pd.date_range(
        days.min() - pd.Timedelta(days=DISTANCE_CAP), days.max() + pd.Timedelta(days=DISTANCE_CAP)
    )
    found = np.array([day.toordinal() for day in span.date if day in calendar], dtype=np.int64)
    ordinal = np.array([day.toordinal() for day in days.date], dtype=np.int64)
    if not len(found):
        cap = np.full(len(days), float(DISTANCE_CAP))
        return cap, cap.copy()
    after = np.searchsorted(found, ordinal, side="left")
    to_next = np.where(
        after < len(found), found[np.minimum(after, len(found) - 1)] - ordinal, DISTANCE_CAP
    )
    before = np.searchsorted(found, ordinal, side="right") - 1
    from_last = np.where(before >= 0, ordinal - found[np.maximum(before, 0)], DISTANCE_CAP)
    return (
        np.minimum(to_next, DISTANCE_CAP).astype(float),
        np.minimum(from_last, DISTANCE_CAP).astype(float),
    )


def _is_daily_or_finer(grid: Grid) -> bool:
    return grid.step_ns is not None and grid.step_ns <= pd.Timedelta(days=1).value


def holiday_features(
    regions: list[str], grid: Grid, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Long covariate values (for every series) of each region's features on the grid
    points from `start` to `end`, and their kinds (all `future`)."""
    positions = grid.positions(pd.Series([start, end]))[0]
    stamps = grid.timestamps(np.arange(positions[0], positions[1] + 1))
    period_start, period_end = grid.period_bounds(pd.Series(stamps))
    days = pd.date_range(period_start.min().normalize(), period_end.max().normalize(), freq="D")
    # a year either side: the distance to a holiday may cross the new year
    years = range(days.min().year - 1, days.max().year + 2)
    daily = _is_daily_or_finer(grid)
    parts, kinds = [], {}
    for region in regions:
        calendar = region_calendar(region, years)
        is_holiday = pd.Series([day in calendar for day in days.date], index=days, dtype=float)
        names = feature_names(region, daily)
        kinds.update(dict.fromkeys(names, "future"))
        if daily:
            day = pd.DatetimeIndex(stamps).normalize()
            near = is_holiday.shift(1, fill_value=0) + is_holiday.shift(-1, fill_value=0)
            near = (near > 0) & (is_holiday == 0)
            weekend = pd.Series(days.dayofweek >= 5, index=days)
            off = (is_holiday > 0) | weekend
            bridge = (
                ~off
                & ((off.shift(1, fill_value=False)) & (off.shift(-1, fill_value=False)))
                & (
                    (is_holiday.shift(1, fill_value=0) > 0)
                    | (is_holiday.shift(-1, fill_value=0) > 0)
                )
            )
            to_next, from_last = holiday_distances(calendar, days)
            columns = [
                is_holiday.reindex(day).to_numpy(),
                near.astype(float).reindex(day).to_numpy(),
                bridge.astype(float).reindex(day).to_numpy(),
                pd.Series(to_next, index=days).reindex(day).to_numpy(),
                pd.Series(from_last, index=days).reindex(day).to_numpy(),
            ]
        else:
            # holidays per period: cumulative counts differenced at the period bounds
            cumulative = np.concatenate([[0.0], is_holiday.cumsum().to_numpy()])
            first = days.get_indexer(period_start.normalize())
            after = days.get_indexer(period_end.normalize() - pd.Timedelta(days=1)) + 1
            columns = [cumulative[after] - cumulative[first]]
        for name, column in zip(names, columns, strict=True):
            parts.append(
                pd.DataFrame(
                    {
                        "series_id": None,
                        "ds": stamps,
                        "name": name,
                        "value": np.asarray(column, dtype=float),
                        "known_at": pd.NaT,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["series_id", "ds", "name", "value", "known_at"]), {}
    values = pd.concat(parts, ignore_index=True)
    values["known_at"] = values["known_at"].astype("datetime64[ns]")
    return values, kinds


def regional_holiday_features(
    regions: pd.Series, grid: Grid, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Each series' own region's features (`regions`: series_id -> region, from the static
    attribute `holiday_region`), under names without the region: `holiday` (and, on daily
    grids, `holiday_near`, `bridge`, `days_to_holiday`, `days_from_holiday`), as values of
    those series."""
    parts, kinds = [], {}
    for region, series in regions.groupby(regions, sort=True):
        values, named = holiday_features([str(region)], grid, start, end)
        suffix = "_" + str(region).lower().replace("-", "_")
        generic = {name: name.removesuffix(suffix) for name in named}
        kinds.update(dict.fromkeys(generic.values(), "future"))
        owners = pd.DataFrame({"series_id": series.index.astype(str)})
        values = values.drop(columns="series_id").assign(name=values["name"].map(generic))
        parts.append(values.merge(owners, how="cross"))
    if not parts:
        return pd.DataFrame(columns=["series_id", "ds", "name", "value", "known_at"]), {}
    return pd.concat(parts, ignore_index=True)[
        ["series_id", "ds", "name", "value", "known_at"]
    ], kinds
