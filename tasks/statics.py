"""Static attributes: one value per series and attribute (`series_id`, `attribute`,
`value`), read from a table or a query file per job and validated like covariates.

`holiday_region` gives each series the holiday calendar of its own region (`US`,
`DE-BY`) as the `future` covariates `holiday`, and on daily grids `holiday_near`,
`bridge`, `days_to_holiday` and `days_from_holiday` (tasks/holidays.py). Every other
attribute becomes static features of the models that take them (`encode_statics`): an
attribute whose every value is a number, one feature standardised across the series; any
other, one 0/1 feature per category.
Rejected rows are quarantined in `rejected_covariates` with kind `static` and count
among the covariate rows of the run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from tidecast.errors import TidecastError
from tidecast.schemas import as_read, nonempty_text, row_failures, series_id_column, text_at_most
from tidecast.settings import Settings
from tidecast.sql.tables import SERIES_ID_MAX
from tidecast.tasks.ingest import SideSource

REQUIRED_COLUMNS = ("series_id", "attribute", "value")
HOLIDAY_REGION = "holiday_region"
# categories of one attribute that get a feature of their own, the most common first; a
# series in a rarer one gets none of them (a store chain's 300 postcodes would otherwise
# make 300 features that each describe a few series)
MAX_CATEGORIES = 20
# a category's feature is named `attribute=value`, and feature_importance.feature holds
# 128 characters
ATTRIBUTE_MAX = 64
VALUE_MAX = 63

STATIC_CHECKS: dict[str, str] = {
    "static_series_id_missing": "series_id is NULL",
    "static_series_id_too_long": f"series_id is longer than {SERIES_ID_MAX} characters",
    "static_attribute_missing": "attribute is NULL or empty",
    "static_attribute_too_long": f"attribute is longer than {ATTRIBUTE_MAX} characters",
    "static_value_missing": "value is NULL or empty",
    "static_value_too_long": f"value is longer than {VALUE_MAX} characters",
    "static_duplicate_exact": "the same (series_id, attribute, value) appears more than once; "
    "one copy is kept",
    "static_duplicate_conflict": "several values for the same (series_id, attribute)",
    "static_series_unknown": "series_id has no usable observations in this run",
    "static_holiday_region_unknown": "holiday_region is not a region the holidays package "
    "knows (a country code, optionally - and a subdivision: US, DE-BY)",
}
GROUP_CHECKS = ("static_series_unknown",)

_PANDERA_TO_CHECK: list[tuple[str, str, str]] = [
    ("series_id", "not_nullable", "static_series_id_missing"),
    ("series_id", "series_id_length", "static_series_id_too_long"),
    ("attribute", "not_nullable", "static_attribute_missing"),
    ("attribute", "nonempty", "static_attribute_missing"),
    ("attribute", "attribute_length", "static_attribute_too_long"),
    ("value", "not_nullable", "static_value_missing"),
    ("value", "nonempty", "static_value_missing"),
    ("value", "value_length", "static_value_too_long"),
    ("*", "multiple_fields_uniqueness", "static_duplicate_conflict"),
]


def static_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "series_id": series_id_column(),
            "attribute": pa.Column(
                str,
                nullable=False,
                checks=[nonempty_text(), text_at_most(ATTRIBUTE_MAX, "attribute_length")],
            ),
            "value": pa.Column(
                str,
                nullable=False,
                checks=[nonempty_text(), text_at_most(VALUE_MAX, "value_length")],
            ),
        },
        unique=["series_id", "attribute"],
        report_duplicates="all",
        name="static_attributes",
        coerce=False,
    )


STATICS = SideSource(
    "static attributes", "static attribute", "static_table", "static_query", REQUIRED_COLUMNS
)


def read_statics(settings: Settings) -> pd.DataFrame | None:
    """The static attributes' rows, or None when the job has no such source (a step of its
    own, so the run row times it by this name)."""
    return STATICS.read(settings)


def _quarantined(raw: pd.DataFrame, index: pd.Index, check: str) -> pd.DataFrame:
    rows = as_read(raw.loc[index])
    return pd.DataFrame(
        {
            "series_id": rows["series_id"],
            "ts": None,
            "name": rows["attribute"],
            "value": rows["value"],
            "kind": "static",
            "known_at": None,
            "check_name": check,
            "reason": STATIC_CHECKS[check],
        },
        index=index,
    )


def validate_statics(raw: pd.DataFrame, series_ids: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(attributes: `series_id`, `attribute`, `value` as text, the rejected rows in
    `rejected_covariates`' columns): row checks (Pandera), then series without usable
    observations and holiday regions the holidays package does not know."""
    from tidecast.calendars import region_calendar

    raw = raw.reset_index(drop=True)
    typed = pd.DataFrame(
        {
            # object even when every value is NULL (read as float, without .str)
            name: raw[name].map(lambda v: str(v).strip(), na_action="ignore").astype(object)
            for name in REQUIRED_COLUMNS
        }
    )
    exact = typed.duplicated(keep="first") & typed.notna().all(axis=1)
    failures = pd.concat(
        [
            pd.Series("static_duplicate_exact", index=raw.index[exact]),
            row_failures(typed[~exact], static_schema(), _PANDERA_TO_CHECK),
        ]
    )
    rejected = [
        _quarantined(raw, failures.index[failures == check], check) for check in failures.unique()
    ]
    clean = typed.drop(index=failures.index)
    unknown = ~clean["series_id"].isin(series_ids.astype(str))
    if unknown.any():
        rejected.append(_quarantined(raw, clean.index[unknown], "static_series_unknown"))
        clean = clean[~unknown]
    regions = clean["attribute"] == HOLIDAY_REGION
    known = {}
    for region in clean.loc[regions, "value"].unique():
        try:
            region_calendar(region, range(2024, 2025))
            known[region] = True
        except TidecastError:
            known[region] = False
    bad = regions & ~clean["value"].map(lambda region: known.get(region, True)).astype(bool)
    if bad.any():
        rejected.append(_quarantined(raw, clean.index[bad], "static_holiday_region_unknown"))
        clean = clean[~bad]
    frame = (
        pd.concat(rejected) if rejected else _quarantined(raw, pd.Index([]), "static_value_missing")
    )
    return clean.reset_index(drop=True), frame.sort_index()


def encode_statics(
    attributes: pd.DataFrame, series_ids: pd.Index
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The validated attributes (but `holiday_region`) as static features of the series:
    (values in `Covariates.values`' columns, one row per series and feature that is not 0;
    each feature's kind, `static`; notes for the run row).

    An attribute whose every value is a finite number, not all the same, is one feature
    named as the attribute, standardised across the series that have it (a series without
    it gets 0, their mean). Any other is categorical: a 0/1 feature `attribute=value` for
    each of its `MAX_CATEGORIES` most common values. One value for every series tells models nothing
    and is left out; each of these choices is said in the notes.
    """
    rows, kinds, notes = [], {}, []
    n_series = len(series_ids)
    used = attributes[attributes["attribute"] != HOLIDAY_REGION]
    for attribute, own in used.groupby("attribute", sort=True):
        numbers = pd.to_numeric(own["value"], errors="coerce")
        finite = np.isfinite(numbers).to_numpy()
        lacking = n_series - own["series_id"].nunique()
        spread = float(numbers.std(ddof=0)) if finite.all() else 0.0
        # one number where given (a flag `1` on some series) is a category: standardised,
        # it would be 0 everywhere, and who has it would be lost
        if spread > 0:
            scaled = (numbers - numbers.mean()) / spread
            rows.append(pd.DataFrame({"series_id": own["series_id"], "name": attribute,
                                      "value": scaled.to_numpy()}))  # fmt: skip
            kinds[attribute] = "static"
            if lacking:
                notes.append(
                    f"{lacking} series have no static attribute {attribute}: the mean of the others"
                )
            continue
        if finite.any() and not finite.all():
            odd = own.loc[~finite, "value"].iloc[0]
            notes.append(
                f"static attribute {attribute} is used as categories: not every value is "
                f"a number (e.g. {odd!r})"
            )
        counts = own["value"].value_counts()
        if len(counts) == 1 and not lacking:
            notes.append(f"static attribute {attribute} is the same for every series: unused")
            continue
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = [value for value, _ in ranked[:MAX_CATEGORIES]]
        if len(ranked) > MAX_CATEGORIES:
            notes.append(
                f"static attribute {attribute} has {len(ranked)} categories: the "
                f"{MAX_CATEGORIES} most common are features, a series in another has none"
            )
        hot = own[own["value"].isin(kept)]
        names = attribute + "=" + hot["value"]
        rows.append(pd.DataFrame({"series_id": hot["series_id"], "name": names, "value": 1.0}))
        kinds.update({f"{attribute}={value}": "static" for value in kept})
    values = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["series_id", "name", "value"])
    )
    values = values.assign(ds=pd.NaT, known_at=pd.NaT)
    values["ds"] = values["ds"].astype("datetime64[ns]")
    values["known_at"] = values["known_at"].astype("datetime64[ns]")
    return values[["series_id", "ds", "name", "value", "known_at"]], kinds, notes
