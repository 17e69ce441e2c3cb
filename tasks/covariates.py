"""Covariates: drivers of the target read beside the observations, validated like them.

The source (a table or a query file, per job) returns long rows `series_id, ts, name,
value, kind` and optionally `known_at`:

* `series_id` NULL: the value applies to every series (a shop-wide promotion day);
* `kind` `future`: known ahead (a price plan, a promotion calendar); `past`: only
  observed (footfall, temperature actuals), so a model sees it up to the forecast origin;
* `known_at`: when the value became known (a weather forecast's issue date). A backtest
  at cutoff c uses only values known by the end of c's period; of several vintages of
  one value, the newest known then. NULL: known all along.

Every row read is used or quarantined in `rejected_covariates` with the check it
failed, as observations are. Holiday features (`tidecast.tasks.holidays`) join the
covariates as `future` values for every series.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from tidecast.errors import TidecastError
from tidecast.frequency import Grid
from tidecast.progress import report
from tidecast.schemas import (
    as_read,
    nonempty_text,
    parse_timestamps,
    row_failures,
    series_id_column,
    text_at_most,
)
from tidecast.settings import Settings
from tidecast.sql.tables import SERIES_ID_MAX
from tidecast.tasks.ingest import SideSource

REQUIRED_COLUMNS = ("series_id", "ts", "name", "value", "kind")
KINDS = ("future", "past")
NAME_MAX = 64
REJECTED_COLUMNS = [
    "series_id", "ts", "name", "value", "kind", "known_at", "check_name", "reason",
]  # fmt: skip

# check_name -> what it means (rejected_covariates.check_name; README's table contract)
COVARIATE_CHECKS: dict[str, str] = {
    "covariate_name_missing": "name is NULL or empty",
    "covariate_name_too_long": f"name is longer than {NAME_MAX} characters",
    "covariate_kind_unknown": "kind is not 'future' or 'past'",
    "covariate_kind_conflict": "the same name is given as both 'future' and 'past'",
    "covariate_series_id_too_long": f"series_id is longer than {SERIES_ID_MAX} characters",
    "covariate_ts_invalid": "ts is NULL or not a timestamp",
    "covariate_ts_off_grid": "ts is not on the run's frequency grid",
    "covariate_known_at_invalid": "known_at is given but is not a timestamp",
    "covariate_value_missing": "value is NULL, NaN or not a number",
    "covariate_value_not_finite": "value is infinite",
    "covariate_duplicate_exact": "the same (series_id, ts, name, known_at, value) appears "
    "more than once; one copy is kept",
    "covariate_duplicate_conflict": "several rows for the same (series_id, ts, name, "
    "known_at) with different values",
    "covariate_series_unknown": "series_id has no usable observations in this run",
}
# Checks on a whole series or name rather than on the row itself: like the series checks
# of observations, they do not count towards the rejected-rows limit.
GROUP_CHECKS = ("covariate_kind_conflict", "covariate_series_unknown")

_PANDERA_TO_CHECK: list[tuple[str, str, str]] = [
    ("name", "not_nullable", "covariate_name_missing"),
    ("name", "nonempty", "covariate_name_missing"),
    ("name", "name_length", "covariate_name_too_long"),
    ("kind", "kind_known", "covariate_kind_unknown"),
    ("kind", "not_nullable", "covariate_kind_unknown"),
    ("series_id", "series_id_length", "covariate_series_id_too_long"),
    ("ts", "not_nullable", "covariate_ts_invalid"),
    ("value", "not_nullable", "covariate_value_missing"),
    ("value", "finite", "covariate_value_not_finite"),
    ("ts", "on_grid", "covariate_ts_off_grid"),
    ("*", "multiple_fields_uniqueness", "covariate_duplicate_conflict"),
]


def covariate_schema(grid: Grid) -> pa.DataFrameSchema:
    """The row contract of covariates coerced to (str, datetime64, str, float, str, datetime64)."""
    return pa.DataFrameSchema(
        {
            "series_id": series_id_column(nullable=True),  # NULL: every series
            "ts": pa.Column(
                "datetime64[ns]",
                nullable=False,
                checks=pa.Check(
                    lambda s: pd.Series(grid.positions(s)[1], index=s.index),
                    name="on_grid",
                    ignore_na=True,
                ),
            ),
            "name": pa.Column(
                str,
                nullable=False,
                checks=[nonempty_text(), text_at_most(NAME_MAX, "name_length")],
            ),
            "value": pa.Column(
                float,
                nullable=False,
                checks=pa.Check(np.isfinite, name="finite", ignore_na=True),
            ),
            "kind": pa.Column(
                str, nullable=False, checks=pa.Check(lambda s: s.isin(KINDS), name="kind_known")
            ),
            "known_at": pa.Column("datetime64[ns]", nullable=True),
        },
        unique=["series_id", "ts", "name", "known_at"],
        report_duplicates="all",
        name="covariates",
        coerce=False,
    )


class ByKind:
    """The names of `kinds` (name -> `future`, `past` or `static`) by kind."""

    kinds: dict[str, str]

    @property
    def future_names(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.kinds.items() if kind == "future")

    @property
    def past_names(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.kinds.items() if kind == "past")

    @property
    def static_names(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.kinds.items() if kind == "static")


@dataclass
class Covariates(ByKind):
    """Validated covariates: long values and each name's kind.

    `values`: `series_id` (None: every series), `ds`, `name`, `value`, `known_at` (NaT:
    known all along). Holiday features are among them (as `future` values for every
    series), and so are static features (kind `static`: one row per series and feature,
    `ds` NaT; `CovariateInput.frames` puts them at each series' cutoff), but not among
    the counts, which are of the rows read.
    """

    values: pd.DataFrame
    kinds: dict[str, str]
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTED_COLUMNS))
    rows_read: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_used(self) -> int:
        return self.rows_read - len(self.rejected)

    @property
    def rows_rejected_by_row_checks(self) -> int:
        from tidecast.tasks.statics import GROUP_CHECKS as STATIC_GROUP_CHECKS

        group = [*GROUP_CHECKS, *STATIC_GROUP_CHECKS]
        return int((~self.rejected["check_name"].isin(group)).sum())

    def input(self, freq: str, coded_as: pd.Index | None = None) -> CovariateInput:
        """What model work takes (`CovariateInput`); with `coded_as` (the series names in
        code order, as the backtest's panel has them), only the values of those series (and
        of every series), their series as those integer codes (NaN: every series)."""
        if coded_as is None:
            return CovariateInput(self.values, self.kinds, freq)
        values = self.values
        code_of = pd.Series(np.arange(len(coded_as)), index=pd.Index(coded_as).astype(str))
        keep = values["series_id"].isna() | values["series_id"].isin(code_of.index)
        values = values[keep.to_numpy()]
        coded = values.assign(series_id=values["series_id"].map(code_of).astype(float))
        return CovariateInput(coded, self.kinds, freq)

    def with_values(self, extra: pd.DataFrame, kinds: dict[str, str]) -> Covariates:
        """These covariates plus generated `future` values (holiday features)."""
        values = pd.concat([self.values, extra[self.values.columns]], ignore_index=True)
        return Covariates(
            values, {**self.kinds, **kinds}, self.rejected, self.rows_read, self.notes
        )


def empty_values() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": pd.Series(dtype=object),
            "ds": pd.Series(dtype="datetime64[ns]"),
            "name": pd.Series(dtype=object),
            "value": pd.Series(dtype=float),
            "known_at": pd.Series(dtype="datetime64[ns]"),
        }
    )


COVARIATES = SideSource(
    "covariates", "covariate", "covariates_table", "covariates_query",
    REQUIRED_COLUMNS, ("known_at",),
)  # fmt: skip


def read_covariates(settings: Settings) -> pd.DataFrame | None:
    """The covariate source's rows (`series_id, ts, name, value, kind, known_at`), or None
    when the job has none (a step of its own, so the run row times it by this name)."""
    return COVARIATES.read(settings)


def has_drivers(settings: Settings) -> bool:
    """Whether the job gives any: a covariate source, static attributes, holiday regions."""
    from tidecast.tasks.statics import STATICS

    return (
        COVARIATES.configured(settings) or STATICS.configured(settings) or bool(settings.holidays)
    )


def _as_text(raw: pd.DataFrame, index: pd.Index, check: str, detail: str = "") -> pd.DataFrame:
    return as_read(raw.loc[index]).assign(
        check_name=check, reason=COVARIATE_CHECKS[check] + detail
    )[REJECTED_COLUMNS]


def validate_covariates(
    raw: pd.DataFrame, grid: Grid, series_ids: pd.Index, ts_format: str | None = None
) -> Covariates:
    """Row checks (Pandera), then names given two kinds and series without usable
    observations; what passes becomes `Covariates`."""
    raw = raw.reset_index(drop=True)
    known_given = raw["known_at"].notna()
    known = parse_timestamps(raw["known_at"], ts_format).ts
    typed = pd.DataFrame(
        {
            # object even when every row is for every series (all NULL: read as float)
            "series_id": raw["series_id"].map(str, na_action="ignore").astype(object),
            "ts": parse_timestamps(raw["ts"], ts_format).ts,
            "name": raw["name"].map(str, na_action="ignore").astype(object),
            "value": pd.to_numeric(raw["value"], errors="coerce").astype("float64"),
            "kind": raw["kind"]
            .map(lambda k: str(k).strip().lower(), na_action="ignore")
            .astype(object),
            "known_at": known,
        },
        index=raw.index,
    )
    key = ["series_id", "ts", "name", "known_at", "value"]
    exact = typed.duplicated(key, keep="first") & typed[["ts", "name", "value"]].notna().all(axis=1)
    failures = pd.concat(
        [
            pd.Series("covariate_known_at_invalid", index=raw.index[known_given & known.isna()]),
            pd.Series("covariate_duplicate_exact", index=raw.index[exact]),
        ]
    )
    failures = failures[~failures.index.duplicated()]
    rest = typed.drop(index=failures.index)
    found = row_failures(rest, covariate_schema(grid), _PANDERA_TO_CHECK)
    failures = pd.concat([failures, found])
    rejected = [
        _as_text(raw, failures.index[failures == check], check) for check in failures.unique()
    ]
    clean = typed.drop(index=failures.index)

    kinds_per_name = clean.groupby("name")["kind"].unique()
    conflicting = [name for name, kinds in kinds_per_name.items() if len(kinds) > 1]
    if conflicting:
        rows = clean.index[clean["name"].isin(conflicting)]
        rejected.append(_as_text(raw, rows, "covariate_kind_conflict"))
        clean = clean.drop(index=rows)
    unknown = clean["series_id"].notna() & ~clean["series_id"].isin(series_ids.astype(str))
    if unknown.any():
        rejected.append(_as_text(raw, clean.index[unknown], "covariate_series_unknown"))
        clean = clean[~unknown]

    rejected_frame = (
        pd.concat(rejected).sort_index() if rejected else pd.DataFrame(columns=REJECTED_COLUMNS)
    )
    kinds = dict(clean.groupby("name", sort=True)["kind"].first())
    values = pd.DataFrame(
        {
            "series_id": clean["series_id"].astype(object).where(clean["series_id"].notna(), None),
            "ds": clean["ts"],
            "name": clean["name"],
            "value": clean["value"],
            "known_at": clean["known_at"],
        }
    ).reset_index(drop=True)
    notes = []
    if len(rejected_frame):
        by_check = rejected_frame["check_name"].value_counts().to_dict()
        notes.append(f"{len(rejected_frame)} covariate rows quarantined: {by_check}")
    report(
        "validate",
        f"{len(raw)} covariate rows read, {len(rejected_frame)} quarantined, "
        f"covariates: {', '.join(f'{n} ({k})' for n, k in kinds.items()) or 'none'}",
    )
    return Covariates(values, kinds, rejected_frame, len(raw), notes)


def enforce_covariate_threshold(covariates: Covariates | None, max_share: float) -> None:
    """Fail the run (after the quarantine is written) when too many covariate rows are bad."""
    if covariates is None or not covariates.rows_read:
        return
    share = covariates.rows_rejected_by_row_checks / covariates.rows_read
    if share > max_share:
        by_check = covariates.rejected["check_name"].value_counts().to_dict()
        raise TidecastError(
            f"{share:.1%} of the covariate rows read failed validation (limit "
            f"{max_share:.0%}, setting TIDECAST_MAX_REJECTED_SHARE): {by_check}; "
            "see rejected_covariates for this run"
        )


@dataclass
class CovariateInput(ByKind):
    """The covariates one unit of work (a chunk) needs, in the frame its panel uses.

    `values` as `Covariates.values`, with `series_id` in the panel's own keys (integer
    codes in the backtest) and NaN for values of every series.
    """

    values: pd.DataFrame
    kinds: dict[str, str]
    freq: str

    def for_series(self, keys: pd.Index) -> CovariateInput:
        """Only the values of these series (and those of every series)."""
        values = self.values
        keep = values["series_id"].isna() | values["series_id"].isin(keys)
        return CovariateInput(values[keep.to_numpy()], self.kinds, self.freq)

    def of_rows(self, rows: pd.DataFrame) -> CovariateInput:
        """Only the values of the series in `rows` (a chunk's panel; and those of every
        series)."""
        return self.for_series(pd.Index(rows["series_id"].unique()))

    def frames(
        self, cutoffs: pd.Series, horizon: int, as_of_cutoff: bool = True
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(history, future) as known at each series' cutoff (`cutoffs`: key -> last ds).

        history: `series_id, ds` and every name, for ds up to the cutoff; future:
        `series_id, ds` and the `future` names for the `horizon` steps after it (rows
        missing where a value is). With `as_of_cutoff` (the backtest) only values known by
        the end of the cutoff's period count; without (the final forecast), all.
        """
        from tidecast.frequency import make_grid

        grid = make_grid(self.freq)
        names = list(self.kinds)
        is_static = self.values["name"].map(self.kinds).eq("static").to_numpy()
        statics, values = self.values[is_static], self.values[~is_static]
        specific = values[values["series_id"].notna()]
        specific = specific.assign(
            series_id=pd.Index(specific["series_id"]).astype(cutoffs.index.dtype)
        )
        specific = specific[specific["series_id"].isin(cutoffs.index).to_numpy()]
        shared = values[values["series_id"].isna()]
        keys = pd.DataFrame({"series_id": cutoffs.index.to_numpy()})
        parts = [specific.assign(priority=1)]
        if len(shared):
            parts.append(
                shared.drop(columns="series_id").merge(keys, how="cross").assign(priority=0)
            )
        frame = pd.concat(parts, ignore_index=True)
        positions = grid.positions(pd.Series(cutoffs.to_numpy()))[0]
        bounds = pd.DataFrame(
            {
                "cutoff": cutoffs.to_numpy(),
                "last": grid.timestamps(positions + horizon),
                "period_end": grid.period_bounds(pd.Series(cutoffs.to_numpy()))[1],
            },
            index=cutoffs.index,
        )
        frame = frame.join(bounds, on="series_id")
        past = frame["name"].map(self.kinds).eq("past")
        keep = (frame["ds"] <= frame["last"]) & ~(past & (frame["ds"] > frame["cutoff"]))
        if as_of_cutoff:
            keep &= frame["known_at"].isna() | (frame["known_at"] < frame["period_end"])
        frame = frame[keep.to_numpy()]
        # a series' own value before one for every series; of vintages, the newest known
        frame = frame.sort_values(["priority", "known_at"], na_position="first", kind="stable")
        frame = frame.drop_duplicates(["series_id", "ds", "name"], keep="last")
        wide = frame.set_index(["series_id", "ds", "name"])["value"].unstack("name")
        wide = wide.reindex(columns=names).reset_index()
        wide.columns.name = None
        # keys typed as the caller's, even when no value was found (an empty frame)
        wide["series_id"] = wide["series_id"].astype(cutoffs.index.dtype)
        cut = wide["series_id"].map(bounds["cutoff"])
        history = wide[(wide["ds"] <= cut).to_numpy()].reset_index(drop=True)
        if self.static_names:
            history = _with_statics(history, statics, bounds["cutoff"], self.static_names)
        future = wide[(wide["ds"] > cut).to_numpy()][["series_id", "ds", *self.future_names]]
        return history, future.reset_index(drop=True)


def _with_statics(
    history: pd.DataFrame, statics: pd.DataFrame, cutoffs: pd.Series, names: tuple[str, ...]
) -> pd.DataFrame:
    """`history` with each series' static features at its cutoff (the panel's last row
    there, so `with_history` finds it, and models carry it back over the series' rows;
    a series without a value gets 0: the mean of a number, no category)."""
    own = statics.assign(series_id=pd.Index(statics["series_id"]).astype(cutoffs.index.dtype))
    own = own[own["series_id"].isin(cutoffs.index).to_numpy()]
    wide = own.set_index(["series_id", "name"])["value"].unstack("name")
    wide = wide.reindex(index=cutoffs.index, columns=list(names)).fillna(0.0)
    wide = wide.assign(ds=cutoffs.to_numpy()).rename_axis("series_id").reset_index()
    wide.columns.name = None
    merged = history.drop(columns=list(names)).merge(wide, on=["series_id", "ds"], how="outer")
    return merged[history.columns]


def with_history(panel: pd.DataFrame, history: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """`panel` with a column per covariate name (NaN where no value is known)."""
    merged = panel.merge(history, on=["series_id", "ds"], how="left", sort=False)
    for name in names:
        if name not in merged:
            merged[name] = np.nan
    return merged


def covered_series(future: pd.DataFrame, cutoffs: pd.Series, horizon: int) -> pd.Index:
    """The series whose every `future` covariate has a value at each of the `horizon`
    steps after their cutoff."""
    names = [c for c in future.columns if c not in ("series_id", "ds")]
    if not names:
        return pd.Index(cutoffs.index)
    complete = future[names].notna().all(axis=1)
    steps = future[complete.to_numpy()].groupby("series_id")["ds"].nunique()
    return pd.Index(steps.index[steps.to_numpy() >= horizon])


def prepare_covariates(
    raw: pd.DataFrame | None,
    grid: Grid,
    panel: pd.DataFrame,
    settings: Settings,
    raw_statics: pd.DataFrame | None = None,
) -> Covariates | None:
    """The run's covariates: the source's rows validated against the usable series of
    `panel`; the holiday features of `settings.holidays`, and of each series' own
    `holiday_region` (a static attribute, `raw_statics`), from the panel's first timestamp
    to `horizon` steps past its last; the other static attributes as static features
    (`statics.encode_statics`). None when the job has none of them."""
    from tidecast.tasks.holidays import holiday_features, regional_holiday_features
    from tidecast.tasks.statics import HOLIDAY_REGION, encode_statics, validate_statics

    series_ids = pd.Index(panel["series_id"].unique())
    if raw is None and raw_statics is None and not settings.holidays:
        return None
    base = (
        validate_covariates(raw, grid, series_ids, settings.ts_format)
        if raw is not None
        else Covariates(empty_values(), {})
    )
    generated, kinds = [], {}
    start = panel["ds"].min()
    end = grid.shifted(panel["ds"].max(), settings.horizon) if not panel.empty else None
    if settings.holidays and not panel.empty:
        values, named = holiday_features(settings.holidays, grid, start, end)
        generated.append(values)
        kinds.update(named)
    if raw_statics is not None:
        attributes, rejected = validate_statics(raw_statics, series_ids)
        base = Covariates(
            base.values,
            base.kinds,
            pd.concat([base.rejected, rejected], ignore_index=True),
            base.rows_read + len(raw_statics),
            base.notes
            + ([f"{len(rejected)} static attribute rows quarantined"] if len(rejected) else []),
        )
        features, named, notes = encode_statics(attributes, series_ids)
        if len(features):
            generated.append(features)
            kinds.update(named)
        base.notes.extend(notes)
        regions = attributes[attributes["attribute"] == HOLIDAY_REGION]
        if len(regions) and not panel.empty:
            own = pd.Series(regions["value"].to_numpy(), index=regions["series_id"].to_numpy())
            values, named = regional_holiday_features(own, grid, start, end)
            # a series without a region has no holidays: 0, for every series, which a
            # series' own value overrides (CovariateInput.frames)
            none = values.drop_duplicates(["ds", "name"]).assign(series_id=None, value=0.0)
            generated += [values, none]
            kinds.update(named)
            without = len(series_ids) - own.index.isin(series_ids.astype(str)).sum()
            if without:
                base.notes.append(
                    f"{without} series have no {HOLIDAY_REGION}: no holidays for them"
                )
    clash = sorted(set(kinds) & set(base.kinds))
    if clash:
        raise TidecastError(
            f"covariate name(s) {', '.join(clash)} of {COVARIATES.description(settings)} "
            "are also holiday features (settings holidays or the static attribute "
            "holiday_region) or static attribute features; rename them in the source"
        )
    if not generated:
        return base
    return base.with_values(pd.concat(generated, ignore_index=True), kinds)


def known_by(covariates: Covariates | None, grid: Grid, cutoff: pd.Timestamp) -> Covariates | None:
    """The covariates as known at the end of `cutoff`'s period (a backfill's cutoff):
    values with a later `known_at` left out."""
    if covariates is None:
        return None
    end = grid.period_bounds(pd.Series([pd.Timestamp(cutoff)]))[1][0]
    values = covariates.values
    known = values["known_at"].isna() | (values["known_at"] < end)
    return Covariates(
        values[known.to_numpy()], covariates.kinds, covariates.rejected, covariates.rows_read
    )


def coverage(covariates: Covariates, panel: pd.DataFrame, freq: str, horizon: int) -> pd.DataFrame:
    """Per covariate (and static feature): its kind, rows, first and last timestamp, and
    (for `future` ones) how many series have a value at each of the `horizon` steps after
    their last observation, and which do not (`tidecast covariates check`)."""
    last = panel.groupby("series_id", sort=True)["ds"].max()
    _, future = covariates.input(freq).frames(last, horizon, as_of_cutoff=False)
    rows = []
    for name, kind in covariates.kinds.items():
        own = covariates.values[covariates.values["name"] == name]
        row = {
            "name": name,
            "kind": kind,
            "rows": len(own),
            "series": "all" if own["series_id"].isna().any() else own["series_id"].nunique(),
            "first_ts": own["ds"].min(),
            "last_ts": own["ds"].max(),
            "covers_horizon": "",
            "missing": "",
        }
        if kind == "static":  # a series' attribute: no span in time, nothing ahead to cover
            row["first_ts"] = row["last_ts"] = ""
        if kind == "future":
            covered = covered_series(future[["series_id", "ds", name]], last, horizon)
            lacking = last.index.difference(covered)
            row["covers_horizon"] = f"{len(covered)}/{len(last)} series"
            row["missing"] = ", ".join(map(str, lacking[:5])) + (", …" if len(lacking) > 5 else "")
        rows.append(row)
    return pd.DataFrame(rows)
