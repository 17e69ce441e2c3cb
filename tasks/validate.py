"""Validate observations: every row is either used or quarantined with the check it failed."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tidecast.db import utcnow
from tidecast.errors import TidecastError
from tidecast.frequency import Grid, infer_freq, make_grid, series_spacing
from tidecast.progress import report
from tidecast.schemas import (
    ROW_CHECKS,
    SERIES_CHECKS,
    as_read,
    coerce_observations,
    exact_duplicates,
    formatted_numbers,
    min_series_length,
    observation_schema,
    row_failures,
)
from tidecast.settings import Settings

if TYPE_CHECKING:
    from tidecast.tasks.covariates import Covariates

REJECTED_COLUMNS = ["series_id", "ts", "value", "check_name", "reason"]


@dataclass
class ValidatedPanel:
    """Clean observations as a panel (`series_id`, `ds`, `y`) plus what was set aside and why.

    `panel` holds the series long enough to backtest; `short` the others (at least one
    valid point, fewer than `min_series_length`), which are forecast without a backtest
    (tasks/short_history.py) rather than left without a forecast.
    """

    panel: pd.DataFrame
    rejected: pd.DataFrame  # REJECTED_COLUMNS, raw values as text
    skipped: dict[str, str]  # series_id -> reason
    grid: Grid
    season_length: int
    rows_read: int
    gaps_filled: int = 0
    notes: list[str] = field(default_factory=list)
    covariates: Covariates | None = None  # set once they are read (tasks/covariates.py)
    short: pd.DataFrame = field(default_factory=lambda: empty_panel())

    @property
    def series_ids(self) -> pd.Index:
        """The series long enough to backtest (those of `panel`)."""
        return pd.Index(self.panel["series_id"].unique())

    @property
    def watermark(self):  # noqa: ANN201 - a Timestamp, or None for an empty panel
        """The latest timestamp read (what the next incremental read continues from)."""
        latest = pd.concat([self.panel["ds"], self.short["ds"]])
        return None if latest.empty else pd.Timestamp(latest.max()).to_pydatetime()

    @property
    def rows_used(self) -> int:
        """Input rows in the panels as observed; with the rejected ones, every row read."""
        return len(self.panel) + len(self.short) - self.gaps_filled

    @cached_property
    def every_series(self) -> pd.DataFrame:
        """`panel` and `short` together: every series with a usable observation (joined
        once: a run reads it for covariates, demand classes and read windows)."""
        return pd.concat([self.panel, self.short], ignore_index=True)

    @property
    def empty(self) -> bool:
        """No series left to forecast, long or short."""
        return self.panel.empty and self.short.empty

    @property
    def rows_rejected_by_row_checks(self) -> int:
        return int((~self.rejected["check_name"].isin(list(SERIES_CHECKS))).sum())


def empty_panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": pd.Series(dtype=str),
            "ds": pd.Series(dtype="datetime64[ns]"),
            "y": pd.Series(dtype=float),
        }
    )


def _quarantine(
    raw: pd.DataFrame, check_names: pd.Series, detail: pd.Series | None = None
) -> pd.DataFrame:
    """Rejected rows as text, exactly as read, with the check and a readable reason."""
    rows = raw.loc[check_names.index]
    reason = check_names.map({**ROW_CHECKS, **SERIES_CHECKS})
    if detail is not None:
        reason = reason + detail.reindex(check_names.index).fillna("")
    as_text = as_read(rows)
    return pd.DataFrame(
        {
            "series_id": as_text["series_id"],
            "ts": as_text["ts"],
            "value": as_text["value"],
            "check_name": check_names.to_numpy(),
            "reason": reason.to_numpy(),
        },
        index=check_names.index,
    )


def _fill_gaps(clean: pd.DataFrame, grid: Grid) -> tuple[pd.DataFrame, int]:
    """Complete each series' grid between its first and last point; interpolate the holes.

    Both ends of every series are observed, so one linear interpolation over the
    concatenated panel never reaches across two series.
    """
    positions = grid.positions(clean["ts"])[0]
    frame = pd.DataFrame(
        {
            "series_id": clean["series_id"].to_numpy(),
            "pos": positions,
            "y": clean["value"].to_numpy(),
        }
    )
    frame = frame.sort_values(["series_id", "pos"], kind="stable")
    bounds = frame.groupby("series_id", sort=False)["pos"].agg(["min", "max"])
    lengths = (bounds["max"] - bounds["min"] + 1).to_numpy()
    starts = np.repeat(bounds["min"].to_numpy(), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    full = pd.DataFrame(
        {"series_id": np.repeat(bounds.index.to_numpy(), lengths), "pos": starts + offsets}
    )
    full = full.merge(frame, on=["series_id", "pos"], how="left", sort=False)
    gaps = int(full["y"].isna().sum())
    if gaps:
        full["y"] = full["y"].interpolate(method="linear")
    full["ds"] = grid.timestamps(full["pos"].to_numpy())
    return full[["series_id", "ds", "y"]].reset_index(drop=True), gaps


def _off_frequency(typed: pd.DataFrame, grid: Grid) -> dict[str, str]:
    """Series whose own spacing is not the grid's, each with why (series_id -> reason).

    Mostly off the grid (month ends on a month-start grid, daily points on a weekly one),
    or several grid steps apart (quarterly on a monthly grid, weekly on a daily one):
    filling such a series onto the grid would invent most of its points.
    """
    usable = typed["ts"].notna() & typed["series_id"].notna()
    spacing = series_spacing(grid, typed.loc[usable, "ts"], typed.loc[usable, "series_id"])
    off = spacing.loc[spacing["off_grid_share"] > 0.5, "off_grid_share"]
    apart = spacing.loc[(spacing["off_grid_share"] <= 0.5) & (spacing["step"] > 1), "step"]
    reasons = {
        str(sid): f"{share:.0%} of its timestamps are not on the {grid.freq} grid"
        for sid, share in off.items()
    }
    reasons.update(
        {
            str(sid): f"its timestamps are all a multiple of {step:g} {grid.freq} steps "
            f"apart: not a {grid.freq} series"
            for sid, step in apart.items()
        }
    )
    return reasons


def _id_key(series_id: str) -> str:
    """What two ids that a person (or a case-insensitive collation) reads as one share."""
    return " ".join(unicodedata.normalize("NFKC", series_id).split()).casefold()


def _ambiguous_ids(series_ids: pd.Series) -> dict[str, str]:
    """Ids that differ from another id only in case, whitespace or Unicode form, each
    with the others it collides with (series_id -> reason)."""
    distinct = pd.Series(pd.unique(series_ids.dropna()))
    if distinct.empty:
        return {}
    keys = distinct.map(_id_key)
    clashing = keys.duplicated(keep=False)
    reasons = {}
    for _, group in distinct[clashing].groupby(keys[clashing]):
        names = list(group)
        for name in names:
            others = ", ".join(repr(other) for other in names if other != name)
            reasons[str(name)] = f"{name!r} and {others} read as the same id"
    return reasons


def _too_gappy(clean: pd.DataFrame, grid: Grid, max_share: float) -> dict[str, str]:
    """Series of which more than `max_share` of the grid points would be interpolated."""
    if clean.empty:
        return {}
    filled = series_spacing(grid, clean["ts"], clean["series_id"])["filled_share"]
    over = filled[filled > max_share]
    return {
        str(sid): f"{share:.0%} of its grid points are missing, more than "
        f"{max_share:.0%} (TIDECAST_MAX_FILLED_SHARE)"
        for sid, share in over.items()
    }


def validate_observations(
    raw: pd.DataFrame, settings: Settings, now: pd.Timestamp | None = None
) -> ValidatedPanel:
    """Apply the row checks, then the series checks, and build the clean panel.

    `now` (naive UTC, default: the current time) is the latest timestamp accepted.
    """
    now = pd.Timestamp(utcnow()) if now is None else now
    rows_read = len(raw)
    if rows_read == 0:
        raise TidecastError(
            f"{settings.source_description} returned no rows; load observations into it or "
            "point tidecast at your data (TIDECAST_SOURCE_TABLE or TIDECAST_SOURCE_QUERY)"
        )
    # A read window filtered in ingest was parsed there with the format of the whole read.
    ts_format = settings.ts_format or raw.attrs.get("ts_format")
    raw = raw.reset_index(drop=True)
    typed, parsed = coerce_observations(raw, ts_format)

    freq = settings.freq
    if freq is None:
        usable = typed["ts"].notna() & typed["series_id"].notna()
        freq = infer_freq(typed.loc[usable, "ts"], typed.loc[usable, "series_id"])
    grid = make_grid(freq)
    season_length = settings.season_length or grid.season_length
    report("validate", f"frequency {grid.freq}, season length {season_length}")

    duplicates = exact_duplicates(typed)
    failures = pd.concat(
        [
            pd.Series("duplicate_exact", index=typed.index[duplicates], dtype=object),
            row_failures(
                typed[~duplicates],
                observation_schema(grid, now, settings.max_abs_value, settings.nonnegative),
            ),
        ]
    )
    # a number written for reading ("1,234.5", "$12") is named as such, never guessed
    missing = (failures == "value_missing").to_numpy()
    formatted = formatted_numbers(raw["value"].reindex(failures.index)).to_numpy()
    failures[missing & formatted] = "value_formatted"
    # a date in another format than the column's is named as such, never reinterpreted
    other_format = parsed.other_format.reindex(failures.index).to_numpy(dtype=bool)
    failures[(failures == "ts_invalid").to_numpy() & other_format] = "ts_format_mismatch"
    mismatched = _off_frequency(typed, grid)
    spacing_rows = failures.index[
        (failures == "ts_off_grid").to_numpy()
        & typed.loc[failures.index, "series_id"].isin(list(mismatched)).to_numpy()
    ]
    failures = failures.drop(index=spacing_rows)  # named by their series' spacing below
    rejected = [
        _quarantine(
            raw,
            failures,
            pd.Series(
                f": expected {parsed.format}",
                index=failures.index[failures == "ts_format_mismatch"],
            ),
        )
    ]
    clean = typed.drop(index=failures.index)
    skipped: dict[str, str] = {}
    notes: list[str] = []

    def set_aside(reasons: dict[str, str], check_name: str) -> pd.DataFrame:
        """Quarantine every remaining row of these series under one series check."""
        rows = clean.index[clean["series_id"].isin(list(reasons))]
        detail = clean.loc[rows, "series_id"].map({sid: f": {r}" for sid, r in reasons.items()})
        rejected.append(_quarantine(raw, pd.Series(check_name, index=rows, dtype=object), detail))
        skipped.update(reasons)
        return clean.drop(index=rows)

    ambiguous = _ambiguous_ids(clean["series_id"])
    mismatched = {sid: why for sid, why in mismatched.items() if sid not in ambiguous}
    if ambiguous:
        clean = set_aside(ambiguous, "series_id_ambiguous")
        notes.append(
            f"{len(ambiguous)} series quarantined: their ids differ from another's only in "
            "case, whitespace or Unicode normalisation (series_id_ambiguous)"
        )
    if mismatched:
        clean = set_aside(mismatched, "frequency_mismatch")
        notes.append(
            f"{len(mismatched)} series quarantined: their spacing is not the {grid.freq} grid "
            "(frequency_mismatch)"
        )
    gappy = _too_gappy(clean, grid, settings.max_filled_share)
    if gappy:
        clean = set_aside(gappy, "too_many_gaps")
        notes.append(
            f"{len(gappy)} series quarantined: more than {settings.max_filled_share:.0%} of "
            "their grid points would be interpolated (too_many_gaps)"
        )

    rejected_frame = pd.concat(rejected).sort_index()[REJECTED_COLUMNS]
    if clean.empty:
        panel, short, gaps = empty_panel(), empty_panel(), 0
    else:
        filled, gaps = _fill_gaps(clean, grid)
        # Too short to backtest (counted in observed points): forecast all the same, by
        # the short-history fallback, never quarantined (every series gets a forecast).
        need = min_series_length(settings.horizon, season_length)
        counts = clean.groupby("series_id")["ts"].size()
        is_short = filled["series_id"].isin(counts.index[counts < need]).to_numpy()
        panel = filled[~is_short].reset_index(drop=True)
        short = filled[is_short].reset_index(drop=True)
        if len(short):
            notes.append(
                f"{short['series_id'].nunique()} series shorter than {need} points (horizon "
                f"{settings.horizon} + season length {season_length} + 1) forecast without "
                "a backtest by the short-history fallback (champions.reason says so)"
            )
    result = ValidatedPanel(
        panel, rejected_frame, skipped, grid, season_length, rows_read, gaps, notes, short=short
    )
    if gaps:
        result.notes.append(f"{gaps} missing grid points interpolated")
    _refuse_horizon_past_timestamps(grid, result.watermark, settings.horizon)
    report(
        "validate",
        f"{rows_read} rows read, {len(rejected_frame)} quarantined, "
        f"{panel['series_id'].nunique()} series usable, {short['series_id'].nunique()} short, "
        f"{len(skipped)} skipped",
    )
    return result


def _refuse_horizon_past_timestamps(grid: Grid, newest, horizon: int) -> None:  # noqa: ANN001
    """A horizon whose last step lies past what a timestamp holds (pandas' 2262-04-11) is
    a bad setting, said as such rather than as a traceback from deep in a model."""
    if newest is None:
        return
    try:
        last = grid.positions(pd.Series([pd.Timestamp(newest)]))[0][0] + horizon
        grid.timestamps(np.array([last], dtype=np.int64))
    except (OverflowError, pd.errors.OutOfBoundsDatetime, ValueError):
        raise TidecastError(
            f"horizon {horizon} (--horizon or TIDECAST_HORIZON) runs past the last "
            f"timestamp there is (the year 2262) from the newest observation "
            f"({pd.Timestamp(newest)}, {grid.freq}): lower the horizon"
        ) from None


def enforce_rejection_threshold(validated: ValidatedPanel, settings: Settings) -> None:
    """Fail the run (after the quarantine is written) when too much input is bad or none is left."""
    share = validated.rows_rejected_by_row_checks / validated.rows_read
    if share > settings.max_rejected_share:
        by_check = validated.rejected["check_name"].value_counts().to_dict()
        raise TidecastError(
            f"{share:.1%} of the rows read failed validation (limit "
            f"{settings.max_rejected_share:.0%}, setting TIDECAST_MAX_REJECTED_SHARE): {by_check}; "
            "see rejected_observations for this run"
        )
    if validated.empty:
        raise TidecastError(
            "no series has a usable observation: "
            f"{len(validated.skipped)} series skipped (see forecast_runs.series_skipped) "
            "and every other row quarantined (see rejected_observations for this run)"
        )
