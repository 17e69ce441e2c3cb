"""The bad-input corpus: each case runs a real retrain on one kind of bad input.

The retrain runs in this process as the flow runs it (`tests/in_process.py`: the real
database, run row and quarantine, without Prefect; the flow itself is tested in
tests/flows/test_retrain.py).

The source is a table of text columns (`raw_observations`), as a user's staging table
often is, so any value or timestamp can reach tidecast as written. Cases run in order on
one database per backend, after one clean run; after each, the earlier runs' forecasts
are unchanged, the run row says what happened, and every rejected row is in
`rejected_observations` with the check it failed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pytest
from sqlalchemy import Column, MetaData, Table, Text, delete

from tests.helpers import fast_lane_runs, postgres_database, query, synthetic_panel
from tests.in_process import pipeline_settings, retrain_in_process
from tidecast.db import init_db, insert_frame, make_engine
from tidecast.errors import TidecastError

H = 6
SOURCE = "SELECT series_id, ts, value FROM raw_observations"
raw_table = Table(
    "raw_observations",
    MetaData(),
    Column("series_id", Text),
    Column("ts", Text),
    Column("value", Text),
)


def clean_rows() -> pd.DataFrame:
    """The synthetic observations as text, the way a staging table holds them."""
    frame = synthetic_panel()
    return pd.DataFrame(
        {
            "series_id": frame["series_id"],
            "ts": frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "value": frame["value"].map(repr),
        }
    )


def put(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    out = frame.copy()
    out.loc[out.index[row], column] = value
    return out


def add(frame: pd.DataFrame, *rows: tuple) -> pd.DataFrame:
    extra = pd.DataFrame(list(rows), columns=["series_id", "ts", "value"])
    return pd.concat([frame, extra], ignore_index=True)


def series(name: str, values: list[str]) -> list[tuple]:
    months = pd.date_range("2016-01-01", periods=len(values), freq="MS")
    return [(name, m.strftime("%Y-%m-%d"), v) for m, v in zip(months, values, strict=True)]


def daily_day_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Six daily series written DD/MM/YYYY, ending on a day <= 12 (10 December 2020)."""
    days = pd.date_range("2019-12-12", "2020-12-10", freq="D")
    return pd.DataFrame(
        {
            "series_id": [f"S{i:02d}" for i in range(6) for _ in days],
            "ts": [d.strftime("%d/%m/%Y") for _ in range(6) for d in days],
            "value": [repr(float(100 * i + n)) for i in range(6) for n in range(len(days))],
        }
    )


def _next_day_after(last: str) -> Callable[[pd.DataFrame], None]:
    def check(latest: pd.DataFrame) -> None:
        first = latest[(latest.series_id == "S00") & (latest.step == 1)]
        assert pd.Timestamp(first["ts"].iloc[0]) == pd.Timestamp(last) + pd.Timedelta(days=1)

    return check


def quarterly(name: str, n: int) -> list[tuple]:
    quarters = pd.date_range("2016-01-01", periods=n, freq="QS")
    return [(name, q.strftime("%Y-%m-%d"), repr(float(k))) for k, q in enumerate(quarters)]


def gappy(name: str) -> list[tuple]:
    """48 months from 2016, of which 30 observed: 18 of 48 (37.5%) would be interpolated."""
    months = pd.date_range("2016-01-01", periods=48, freq="MS")
    kept = [m for k, m in enumerate(months) if k % 8 not in (1, 3, 5)]
    return [(name, m.strftime("%Y-%m-%d"), repr(float(k))) for k, m in enumerate(kept)]


INTERIOR = 30  # a row inside series S00 (72 points): replacing it keeps the series whole


@dataclass
class Case:
    name: str
    edit: Callable[[pd.DataFrame], pd.DataFrame]
    checks: dict[str, int] = field(default_factory=dict)  # expected rejected rows per check
    error: str | None = None  # the run fails with this in its message
    note: str | None = None  # a completed run's message says this
    env: dict[str, str] = field(default_factory=dict)
    source: str = SOURCE
    then: Callable[[pd.DataFrame], None] | None = None  # more checks on latest_forecasts
    freq: str = "MS"
    skipped: set[str] = field(default_factory=set)  # series the run row lists as skipped


def _short_at(name: str, level: float) -> Callable[[pd.DataFrame], None]:
    def check(latest: pd.DataFrame) -> None:
        mine = latest.loc[latest.series_id == name]
        assert mine.shape[0] == H and (mine["model"] == "short_history").all()
        assert (mine["yhat"] == level).all()

    return check


def _flat_at(level: float) -> Callable[[pd.DataFrame], None]:
    def check(latest: pd.DataFrame) -> None:
        name = "flat" if level else "zeros"
        assert (latest.loc[latest.series_id == name, "yhat"] == level).all()
        assert latest.loc[latest.series_id == name].shape[0] == H

    return check


CASES = [
    Case("exact duplicate", lambda f: pd.concat([f, f.iloc[[5]]]), {"duplicate_exact": 1}),
    Case(
        "conflicting duplicate",
        lambda f: add(f, (f.series_id[5], f.ts[5], "12345.0")),
        {"duplicate_conflict": 2},
        note="1 missing grid points interpolated",
    ),
    Case("NULL value", lambda f: put(f, INTERIOR, "value", None), {"value_missing": 1}),
    Case("NaN value", lambda f: put(f, INTERIOR, "value", "NaN"), {"value_missing": 1}),
    Case("text in the value", lambda f: put(f, INTERIOR, "value", "twelve"), {"value_missing": 1}),
    Case("infinite value", lambda f: put(f, INTERIOR, "value", "inf"), {"value_not_finite": 1}),
    Case("minus infinity", lambda f: put(f, INTERIOR, "value", "-inf"), {"value_not_finite": 1}),
    Case("huge magnitude", lambda f: put(f, INTERIOR, "value", "1e300"), {"value_too_large": 1}),
    Case(
        "negative value, target declared non-negative",
        lambda f: put(f, INTERIOR, "value", "-5.0"),
        {"value_negative": 1},
        env={"nonnegative": "true"},
    ),
    Case("NULL series id", lambda f: put(f, INTERIOR, "series_id", None), {"series_id_missing": 1}),
    Case(
        "10,000-character series id",
        lambda f: add(f, ("x" * 10_000, "2016-01-01", "1.0")),
        {"series_id_too_long": 1},
    ),
    Case("NULL timestamp", lambda f: put(f, INTERIOR, "ts", None), {"ts_invalid": 1}),
    Case("unparseable timestamp", lambda f: put(f, INTERIOR, "ts", "yesterday"), {"ts_invalid": 1}),
    Case(
        "timestamp off the grid", lambda f: put(f, INTERIOR, "ts", "2017-07-15"), {"ts_off_grid": 1}
    ),
    Case(
        "aware UTC timestamps mixed with naive ones",
        lambda f: f.assign(
            ts=f.ts.where(f.series_id != "S01", f.ts.str.replace(" ", "T") + "+00:00")
        ),
    ),
    Case(
        "aware timestamp that lands off the grid in UTC",
        lambda f: put(f, INTERIOR, "ts", "2017-07-01T00:00:00+02:00"),
        {"ts_off_grid": 1},
    ),
    Case(
        "observation in the future",
        lambda f: add(f, ("S00", "2099-01-01", "1.0")),
        {"ts_in_future": 1},
    ),
    Case(
        "gap inside a series",
        lambda f: f.drop(index=f.index[INTERIOR]),
        note="1 missing grid points interpolated",
    ),
    Case(
        "series of length 1",
        lambda f: add(f, ("lonely", "2016-01-01", "3.0")),
        note="1 series shorter than 19 points",
        then=_short_at("lonely", 3.0),
    ),
    Case("constant series", lambda f: add(f, *series("flat", ["7.0"] * 48)), then=_flat_at(7.0)),
    Case("series of zeros", lambda f: add(f, *series("zeros", ["0"] * 48)), then=_flat_at(0.0)),
    Case(
        "source query missing a column",
        lambda f: f,
        error="missing: ts",
        source="SELECT series_id, value FROM raw_observations",
    ),
    Case(
        "source query with extra columns",
        lambda f: f,
        source="SELECT series_id, ts, value, 'note' AS comment FROM raw_observations",
    ),
    Case(
        "source query returning a column twice",
        lambda f: f,
        error="value more than once",
        source="SELECT series_id, ts, value, ts AS value FROM raw_observations",
    ),
    Case(
        "daily dates written day-first (DD/MM/YYYY)",
        daily_day_first,
        freq="D",
        then=_next_day_after("2020-12-10"),
    ),
    Case(
        "ambiguous dates: DD/MM/YYYY where every day is <= 12",
        lambda f: f.assign(ts=pd.to_datetime(f.ts).dt.strftime("%d/%m/%Y")),
        error="ambiguous",
    ),
    Case(
        "ambiguous dates with their format named",
        lambda f: f.assign(ts=pd.to_datetime(f.ts).dt.strftime("%d/%m/%Y")),
        env={"ts_format": "%d/%m/%Y"},
    ),
    Case(
        "a date in another format than the column's",
        lambda f: put(f, INTERIOR, "ts", "07/01/2017"),
        {"ts_format_mismatch": 1},
        note="1 missing grid points interpolated",
    ),
    Case(
        "quarterly series among monthly ones",
        lambda f: add(f, *quarterly("Q1", 24), *quarterly("Q2", 20)),
        {"frequency_mismatch": 44},
        note="2 series quarantined",
        skipped={"Q1", "Q2"},
    ),
    Case(
        "a series with more gaps than the interpolation cap",
        lambda f: add(f, *gappy("holes")),
        {"too_many_gaps": 30},
        skipped={"holes"},
    ),
    Case("empty table", lambda f: f.iloc[0:0], error="returned no rows"),
    Case(
        "too many bad rows",
        lambda f: f.assign(value=f.value.where(f.index % 10 != 3, "n/a")),
        {"value_missing": 36},
        error="failed validation",
    ),
]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def corpus_db(request, tmp_path_factory):
    """One database per backend with the raw text table; the first run is a clean one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('corpus') / 'tidecast.db'}"
        yield url
    else:
        yield from postgres_database()


def load_raw(url: str, frame: pd.DataFrame) -> None:
    engine = make_engine(url)
    init_db(engine)
    raw_table.create(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(delete(raw_table))
        insert_frame(conn, raw_table, frame)
    engine.dispose()


def forecast_snapshot(url: str) -> pd.DataFrame:
    frame = query(url, "SELECT run_id, series_id, ts, yhat FROM forecasts")
    return frame.sort_values(["run_id", "series_id", "ts"]).reset_index(drop=True)


# The fast lane runs two cases (a row check, a timestamp check; the series checks have
# unit tests in tests/tasks/test_validate.py); the full suite runs the whole corpus on
# both backends.
FAST_LANE = {"exact duplicate", "unparseable timestamp"}


@pytest.mark.parametrize(
    "case", fast_lane_runs(CASES, [case.name for case in CASES], keep=FAST_LANE)
)
def test_bad_input(case: Case, corpus_db, tmp_path):
    source = tmp_path / "source.sql"
    source.write_text(SOURCE)

    def retrain(**overrides: str) -> str:
        settings = pipeline_settings(
            corpus_db, tmp_path / "artifacts", source_query=str(source), horizon=H, **overrides
        )
        return retrain_in_process(settings)

    if query_is_empty(corpus_db):  # the first case also makes the clean run BI starts from
        load_raw(corpus_db, clean_rows())
        retrain(freq="MS")
    before = forecast_snapshot(corpus_db)
    latest_before = query(corpus_db, "SELECT * FROM latest_forecasts ORDER BY series_id, ts")
    raw = case.edit(clean_rows())
    load_raw(corpus_db, raw)
    source.write_text(case.source)

    if case.error:
        with pytest.raises(TidecastError, match=case.error):
            retrain(freq=case.freq, **case.env)
    else:
        retrain(freq=case.freq, **case.env)

    run = query(corpus_db, "SELECT * FROM forecast_runs ORDER BY started_at DESC").iloc[0]
    after = forecast_snapshot(corpus_db)
    # every earlier run's forecasts are exactly as they were
    kept = after[after.run_id.isin(before.run_id)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before)
    rejected = query(
        corpus_db, "SELECT * FROM rejected_observations WHERE run_id = :r", r=run["run_id"]
    )
    assert dict(Counter(rejected["check_name"])) == case.checks
    latest = query(corpus_db, "SELECT * FROM latest_forecasts ORDER BY series_id, ts")
    if pd.notna(run["rows_read"]):  # known once the input was validated: nothing lost
        assert run["rows_read"] == run["rows_used"] + run["rows_rejected"]
    if case.error:
        assert run["status"] == "failed" and case.error in run["message"]
        pd.testing.assert_frame_equal(latest, latest_before)  # BI still sees the last good run
        return
    assert run["status"] == "completed", run["message"]
    assert run["rows_read"] == len(raw) and run["rows_rejected"] == sum(case.checks.values())
    if case.note:
        assert case.note in run["message"]
    if case.note and "interpolated" in case.note:  # the count is a column, not only words
        assert run["gaps_filled"] == int(case.note.split()[0])
    skipped = run["series_skipped"]
    skipped = json.loads(skipped) if isinstance(skipped, str) else skipped
    assert set(skipped or {}) == case.skipped
    # the run's series now show this run (series absent from this input keep their last one)
    mine = latest[latest.run_id == run["run_id"]]
    assert mine["series_id"].nunique() == run["series_forecast"] and len(mine) == H * len(
        mine["series_id"].unique()
    )
    expected = {"S00", "S01", "S02", "S03", "S04", "S05"} | {"flat", "zeros", "lonely"}
    assert set(mine["series_id"]) == expected & set(raw["series_id"].dropna())
    if case.then:
        case.then(latest)


def query_is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not conn.dialect.has_table(conn, "forecast_runs")
    finally:
        engine.dispose()
