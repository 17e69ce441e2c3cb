"""Data contracts: the Pandera schema every observation must pass, and the series-level rules.

Each rule has a stable `check_name` (what `rejected_observations.check_name` holds) and
a reason template written for the person who has to fix the source data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sql.tables import SERIES_ID_MAX
from tidecast.frequency import Grid

# check_name -> what it means, for reasons and for the README's table contract.
ROW_CHECKS: dict[str, str] = {
    "series_id_missing": "series_id is NULL",
    "series_id_too_long": f"series_id is longer than {SERIES_ID_MAX} characters",
    "ts_invalid": "ts is NULL or not a timestamp",
    "ts_off_grid": "ts is not on the series' frequency grid",
    "value_missing": "value is NULL, NaN or not a number",
    "value_not_finite": "value is infinite",
    "value_too_large": "|value| is above the limit set by TIDECAST_MAX_ABS_VALUE",
    "value_negative": "value is negative, and the target is declared non-negative "
    "(TIDECAST_NONNEGATIVE)",
    "ts_in_future": "ts is later than the time the run started",
    "duplicate_exact": "the same (series_id, ts, value) appears more than once; one copy is kept",
    "duplicate_conflict": "several rows for the same (series_id, ts) with different values",
}
SERIES_CHECKS: dict[str, str] = {
    "series_too_short": "series has too few usable points for the horizon and one backtest fold",
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
            "series_id": pa.Column(
                str,
                nullable=False,
                checks=pa.Check(
                    lambda s: s.str.len() <= SERIES_ID_MAX, name="series_id_length", ignore_na=True
                ),
                description="Identifier of the series, at most 255 characters.",
            ),
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


def coerce_observations(raw: pd.DataFrame) -> pd.DataFrame:
    """Best-effort typed copy of the raw rows: unparseable entries become missing.

    Time zones are converted to UTC and dropped, so naive and aware sources line up.
    """
    series_id = raw["series_id"].map(str, na_action="ignore")  # missing stays missing
    ts = pd.to_datetime(raw["ts"], errors="coerce", utc=True, format="mixed")
    value = pd.to_numeric(raw["value"], errors="coerce").astype("float64")
    return pd.DataFrame(
        {
            "series_id": series_id,
            "ts": ts.dt.tz_localize(None).astype("datetime64[ns]"),
            "value": value,
        },
        index=raw.index,
    )


def exact_duplicates(typed: pd.DataFrame) -> pd.Series:
    """True for the second and later copies of a row repeated exactly; the first is kept."""
    return typed.duplicated(["series_id", "ts", "value"], keep="first") & typed[
        ["series_id", "ts", "value"]
    ].notna().all(axis=1)


def row_failures(typed: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series:
    """check_name of the first failed row check, indexed like `typed`; only failing rows."""
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
    for column, pandera_check, check_name in _PANDERA_TO_CHECK:
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
