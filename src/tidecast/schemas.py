"""Data contracts: the Pandera schema every observation must pass, and the series-level rules.

Each rule has a stable `check_name` (what `rejected_observations.check_name` holds) and
a reason template written for the person who has to fix the source data.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.tseries.api import guess_datetime_format

from tidecast.errors import TidecastError
from tidecast.frequency import Grid
from tidecast.sql.tables import SERIES_ID_MAX

ISO8601 = "ISO8601"  # pandas' parser for every ISO 8601 spelling, offsets included

# check_name -> what it means, for reasons and for the README's table contract.
ROW_CHECKS: dict[str, str] = {
    "series_id_missing": "series_id is NULL",
    "series_id_too_long": f"series_id is longer than {SERIES_ID_MAX} characters",
    "ts_invalid": "ts is NULL or not a timestamp",
    "ts_format_mismatch": "ts is a date written in another format than the source's other "
    "timestamps; it is not reinterpreted",
    "ts_off_grid": "ts is not on the series' frequency grid",
    "value_missing": "value is NULL, NaN or not a number",
    "value_formatted": "value is a number written as text for reading (thousands "
    "separators, a currency or percent sign); whether 1,234 means 1234 or 1.234 depends on "
    "the locale, so it is not guessed: cast it to a number in the source query",
    "value_not_finite": "value is infinite",
    "value_too_large": "|value| is above the limit set by TIDECAST_MAX_ABS_VALUE",
    "value_negative": "value is negative, and the target is declared non-negative "
    "(TIDECAST_NONNEGATIVE)",
    "ts_in_future": "ts is later than the time the run started",
    "duplicate_exact": "the same (series_id, ts, value) appears more than once; one copy is kept",
    "duplicate_conflict": "several rows for the same (series_id, ts) with different values",
}
SERIES_CHECKS: dict[str, str] = {
    "series_id_ambiguous": "the series id differs from another one only in case, "
    "whitespace or Unicode normalisation (BI tools and databases may treat them as one); "
    "which is meant is not guessed: make the ids distinct or the same in the source",
    "frequency_mismatch": "the series' own spacing is not the run's frequency (its timestamps "
    "are several grid steps apart, or mostly off the grid)",
    "too_many_gaps": "more of the series' grid points would be interpolated than "
    "TIDECAST_MAX_FILLED_SHARE allows",
}

# (column, Pandera check) -> check_name; the order is the priority when a row fails several.
_PANDERA_TO_CHECK: list[tuple[str, str, str]] = [
    ("series_id", "not_nullable", "series_id_missing"),
    ("series_id", "series_id_length", "series_id_too_long"),
    ("ts", "not_nullable", "ts_invalid"),
    ("value", "not_nullable", "value_missing"),
    ("value", "finite", "value_not_finite"),
    ("value", "magnitude", "value_too_large"),
    ("value", "nonnegative", "value_negative"),
    ("ts", "on_grid", "ts_off_grid"),
    ("ts", "not_future", "ts_in_future"),
    ("*", "multiple_fields_uniqueness", "duplicate_conflict"),
]


def text_at_most(limit: int, name: str) -> pa.Check:
    """The check `name`: text of at most `limit` characters."""
    # as object: a column of nothing but NULLs reads as float, without .str
    return pa.Check(lambda s: s.astype(object).str.len() <= limit, name=name, ignore_na=True)


def nonempty_text() -> pa.Check:
    """The check `nonempty`: text with more than white space."""
    return pa.Check(
        lambda s: s.astype(object).str.strip().str.len() > 0, name="nonempty", ignore_na=True
    )


def series_id_column(nullable: bool = False) -> pa.Column:
    """The `series_id` column of every input contract (observations, covariates, static
    attributes): text of at most SERIES_ID_MAX characters."""
    return pa.Column(
        str,
        nullable=nullable,
        checks=text_at_most(SERIES_ID_MAX, "series_id_length"),
        description="Identifier of the series, at most 255 characters.",
    )


def as_read(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as text, exactly as read, None where a value is missing: what a quarantine
    table keeps, so a value that is not even a number stays as it was."""
    text = rows.astype("string")
    return text.astype(object).where(text.notna(), None)


def observation_schema(
    grid: Grid,
    now: pd.Timestamp,
    max_abs_value: float = 1e15,
    nonnegative: bool = False,
) -> pa.DataFrameSchema:
    """The row-level contract for observations coerced to (str, datetime64[ns], float64).

    `now` (naive UTC) is when the run started: a later timestamp is a period not yet
    observed, or one only partly observed (an end-labelled week or month still running).
    """
    value_checks = [
        pa.Check(np.isfinite, name="finite", ignore_na=True),
        # beyond this, squared errors overflow and float32 networks see infinities
        pa.Check(lambda s: s.abs() <= max_abs_value, name="magnitude", ignore_na=True),
    ]
    if nonnegative:
        value_checks.append(pa.Check(lambda s: s >= 0, name="nonnegative", ignore_na=True))
    return pa.DataFrameSchema(
        {
            "series_id": series_id_column(),
            "ts": pa.Column(
                "datetime64[ns]",
                nullable=False,
                checks=[
                    pa.Check(
                        lambda s: pd.Series(grid.positions(s)[1], index=s.index),
                        name="on_grid",
                        ignore_na=True,
                    ),
                    pa.Check(lambda s: s <= now, name="not_future", ignore_na=True),
                ],
                description=f"Timestamp on the {grid.freq} grid, naive or converted to UTC.",
            ),
            "value": pa.Column(
                float,
                nullable=False,
                checks=value_checks,
                description="Observed value, a finite number within the configured bounds.",
            ),
        },
        unique=["series_id", "ts"],
        report_duplicates="all",
        name="observations",
        coerce=False,
    )


class AmbiguousTimestampsError(TidecastError):
    """Text timestamps that read completely under two formats that disagree (e.g. day-first
    and month-first dates whose days are all 12 or less)."""


class ParsedTimestamps(NamedTuple):
    ts: pd.Series  # datetime64[ns], naive UTC; NaT where a value is not a timestamp
    format: str | None  # the one format every text value was read with (None: no text)
    other_format: pd.Series  # bool: text that is a date, but not in `format`


# A time followed by a UTC offset or a zone name: the text names an instant.
_AWARE = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z][\w/+-]*)$"


def _parse_text(texts: pd.Series, fmt: str) -> pd.Series:
    """`texts` read with `fmt`, as UTC; NaT where it does not read.

    Texts with and without a UTC offset are read apart: in one call, pandas reads naive
    texts that follow an aware one at that one's offset.
    """
    aware = texts.str.contains(_AWARE, regex=True).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns, UTC]")
    for part in (aware, ~aware):
        if part.any():
            out[part] = pd.to_datetime(texts[part], format=fmt, errors="coerce", utc=True)
    return out


def _year_then_day(fmt: str) -> bool:
    """YYYY-DD-MM: a reading no source means; ISO 8601 puts the month first after the year."""
    year, day, month = fmt.find("%Y"), fmt.find("%d"), fmt.find("%m")
    return 0 <= year < day < month


def _guess(text: str, dayfirst: bool) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return guess_datetime_format(text, dayfirst=dayfirst)


def candidate_formats(texts: pd.Series, sample: int = 200) -> list[str]:
    """ISO 8601, then every format a spread-out sample of the texts reads as, each guessed
    both month-first and day-first."""
    found = [ISO8601]
    for text in texts.iloc[:: max(len(texts) // sample, 1)]:
        for dayfirst in (False, True):
            fmt = _guess(text, dayfirst)
            if fmt and fmt not in found and not _year_then_day(fmt):
                found.append(fmt)
    return found


def infer_ts_format(texts: pd.Series) -> str | None:
    """The one format to read a column of distinct text timestamps with.

    Each candidate format is tried on every text; the format that reads the most wins. When
    several read equally many and disagree on a value, the column is ambiguous and refused:
    reading it either way, or each value its own way, could put points on the wrong dates.
    None when no format reads any of them.
    """
    parsed = {fmt: _parse_text(texts, fmt) for fmt in candidate_formats(texts)}
    counts = {fmt: int(found.notna().sum()) for fmt, found in parsed.items()}
    best = max(counts.values())
    if best == 0:
        return None
    top = [fmt for fmt, count in counts.items() if count == best]
    chosen = parsed[top[0]]
    for other in top[1:]:
        differ = chosen.notna() & parsed[other].notna() & (chosen != parsed[other])
        if differ.any():
            example = texts[differ].iloc[0]
            raise AmbiguousTimestampsError(
                f"the text timestamps are ambiguous: all {best} distinct values read as "
                f"{top[0]} and as {other}, which disagree (e.g. {example!r} is "
                f"{chosen[differ].iloc[0]:%Y-%m-%d %H:%M} or "
                f"{parsed[other][differ].iloc[0]:%Y-%m-%d %H:%M} UTC); name the source's "
                f"format with TIDECAST_TS_FORMAT: '{top[0]}' or '{other}'"
            )
    return top[0]


def parse_timestamps(values: pd.Series, ts_format: str | None = None) -> ParsedTimestamps:
    """Read a column of timestamps as naive UTC, with ONE format for all of its text.

    Datetime values (typed database columns) are taken as they are. Text is read with
    `ts_format` when given (a strftime format or ISO8601), else with the single format
    `infer_ts_format` finds for the column; a text that does not read under it is NaT,
    flagged in `other_format` when it reads as a date in some other format. Any other
    value (a number, say) is NaT. Time zones are converted to UTC and dropped.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        ts = pd.to_datetime(values, utc=True).dt.tz_localize(None).astype("datetime64[ns]")
        return ParsedTimestamps(ts, None, pd.Series(False, index=values.index))
    # Work on the distinct values: a panel repeats each timestamp once per series.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = pd.Series(uniques, dtype=object)
    kind = uniques.map(
        lambda v: "text" if isinstance(v, str) else "stamp" if isinstance(v, dt.date) else ""
    )
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns, UTC]")
    other = pd.Series(False, index=uniques.index)
    stamps = uniques[kind == "stamp"]
    if len(stamps):
        parsed[stamps.index] = pd.to_datetime(stamps.map(pd.Timestamp), utc=True, errors="coerce")
    texts = uniques[kind == "text"].str.strip()
    fmt = None
    if len(texts):
        fmt = ts_format or infer_ts_format(texts)
        if fmt is not None:
            try:
                parsed[texts.index] = _parse_text(texts, fmt)
            except ValueError as exc:
                raise TidecastError(
                    f"timestamp format {fmt!r} (setting TIDECAST_TS_FORMAT) is not usable: "
                    f"{exc}; use a strftime format such as %d/%m/%Y %H:%M, or ISO8601"
                ) from None
        unread = texts[parsed[texts.index].isna()]
        if len(unread):
            other[unread.index] = [_guess(text, False) is not None for text in unread]
    naive = parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy()
    take = np.append(naive, np.datetime64("NaT", "ns"))[codes]  # code -1 (missing): NaT
    flags = np.append(other.to_numpy(dtype=bool), False)[codes]
    return ParsedTimestamps(
        pd.Series(take, index=values.index), fmt, pd.Series(flags, index=values.index)
    )


def coerce_observations(
    raw: pd.DataFrame, ts_format: str | None = None
) -> tuple[pd.DataFrame, ParsedTimestamps]:
    """Best-effort typed copy of the raw rows: unparseable entries become missing.

    Timestamps are read as `parse_timestamps` reads them (one format for all text; time
    zones converted to UTC and dropped, so naive and aware sources line up).
    """
    # missing stays missing; object even when every one is (all NULL reads as float)
    series_id = raw["series_id"].map(str, na_action="ignore").astype(object)
    parsed = parse_timestamps(raw["ts"], ts_format)
    value = pd.to_numeric(raw["value"], errors="coerce").astype("float64")
    typed = pd.DataFrame({"series_id": series_id, "ts": parsed.ts, "value": value}, index=raw.index)
    return typed, parsed


# A number formatted for reading: digits grouped by thousands (with , . ' or a space),
# or a currency or percent sign. Only text that failed to parse as a number is tested.
_FORMATTED_NUMBER = re.compile(
    r"""^\s*[-+(]?\s*[$€£¥]?\s*
        ( \d{1,3} ([,.'\s]\d{3})+ ([.,]\d+)?     # 1,234.5  1.234,5  1 234
        | \d+ ([.,]\d+)? )                       # 12.5 beside a sign
        \s*[%€$£¥]?\s*\)?\s*$""",
    re.VERBOSE,
)


def formatted_numbers(values: pd.Series) -> pd.Series:
    """True where a raw value is text that reads as a number formatted for people."""
    found = [isinstance(v, str) and bool(_FORMATTED_NUMBER.match(v)) for v in values]
    return pd.Series(found, index=values.index, dtype=bool)


def exact_duplicates(typed: pd.DataFrame) -> pd.Series:
    """True for the second and later copies of a row repeated exactly; the first is kept."""
    return typed.duplicated(["series_id", "ts", "value"], keep="first") & typed[
        ["series_id", "ts", "value"]
    ].notna().all(axis=1)


def row_failures(
    typed: pd.DataFrame,
    schema: pa.DataFrameSchema,
    checks: list[tuple[str, str, str]] | None = None,
) -> pd.Series:
    """check_name of the first failed row check, indexed like `typed`; only failing rows.

    `checks`: (column, Pandera check, check_name) in priority order; default the
    observations' (covariates have their own, tidecast.tasks.covariates)."""
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        whole_column = exc.failure_cases[exc.failure_cases["index"].isna()]
        if not whole_column.empty:  # a check that could not run would otherwise pass every row
            first = whole_column.iloc[0]
            raise RuntimeError(
                f"validation check {first['check']} on column {first['column']} could not run: "
                f"{first['failure_case']}"
            ) from None
        cases = exc.failure_cases
    else:
        return pd.Series(dtype=object)
    found: list[pd.Series] = []
    for column, pandera_check, check_name in checks or _PANDERA_TO_CHECK:
        match = cases["check"].astype(str) == pandera_check
        if column != "*":
            match &= cases["column"] == column
        index = cases.loc[match, "index"].astype(typed.index.dtype).unique()
        found.append(pd.Series(check_name, index=index, dtype=object))
    failures = pd.concat(found)
    return failures[~failures.index.duplicated(keep="first")]


def min_train_length(season_length: int) -> int:
    """History a model is fitted on at least: one season plus a point, so MASE has a scale."""
    return max(season_length + 1, 3)


def min_series_length(horizon: int, season_length: int) -> int:
    """Points a series needs: one backtest fold's horizon plus the minimum training history."""
    return horizon + min_train_length(season_length)
