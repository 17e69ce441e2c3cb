import pandas as pd
import pytest
from sqlalchemy import select

from tidecast.db import make_engine
from tidecast.errors import DatabaseUnavailableError, TidecastError
from tidecast.sql.tables import observations as observations_table
from tidecast.tasks.ingest import fetch_in_batches, read_observations


def test_reads_the_source_query(loaded_db, settings_for, observations):
    raw = read_observations(settings_for(loaded_db))
    assert list(raw.columns) == ["series_id", "ts", "value"]
    assert len(raw) == len(observations)


def test_missing_column_names_the_query_file_and_the_column(loaded_db, settings_for, tmp_path):
    query = tmp_path / "source.sql"
    query.write_text("SELECT series_id, ts AS stamp, value FROM observations")
    with pytest.raises(TidecastError, match=r"source\.sql must return .*missing: ts"):
        read_observations(settings_for(loaded_db, source_query=query))


def test_extra_columns_are_dropped(loaded_db, settings_for, tmp_path):
    query = tmp_path / "source.sql"
    query.write_text("SELECT series_id, ts, value, 1 AS batch FROM observations")
    raw = read_observations(settings_for(loaded_db, source_query=query))
    assert list(raw.columns) == ["series_id", "ts", "value"]


def test_broken_query_is_reported_as_the_query_not_the_database(loaded_db, settings_for, tmp_path):
    query = tmp_path / "source.sql"
    query.write_text("SELECT series_id, ts, value FROM no_such_table")
    with pytest.raises(TidecastError, match="source.sql failed") as info:
        read_observations(settings_for(loaded_db, source_query=query))
    assert not isinstance(info.value, DatabaseUnavailableError)


def test_unreachable_database_is_one_line_without_the_password(settings_for):
    url = "postgresql://tide:hunter2@127.0.0.1:1/nowhere"
    with pytest.raises(DatabaseUnavailableError) as info:
        read_observations(settings_for(url))
    message = str(info.value)
    assert "127.0.0.1:1/nowhere" in message and "hunter2" not in message
    assert "\n" not in message


def test_missing_query_file_is_named(settings_for, tmp_path):
    with pytest.raises(TidecastError, match="does not exist"):
        read_observations(settings_for("sqlite://", source_query=tmp_path / "nope.sql"))


def test_a_source_table_is_read_by_name_and_schema(loaded_db, settings_for, observations):
    schema = "main" if loaded_db.startswith("sqlite") else "public"
    for name in ("observations", f"{schema}.observations"):
        raw = read_observations(settings_for(loaded_db, source_table=name))
        assert list(raw.columns) == ["series_id", "ts", "value"]
        assert len(raw) == len(observations)


def test_a_missing_source_table_is_named_with_its_setting(loaded_db, settings_for):
    with pytest.raises(TidecastError, match="source table no_such_table .*TIDECAST_SOURCE_TABLE"):
        read_observations(settings_for(loaded_db, source_table="no_such_table"))


@pytest.mark.parametrize("source", ["query", "table"])
def test_an_incremental_read_starts_each_series_at_its_window(
    loaded_db, settings_for, observations, source
):
    import pandas as pd

    from tidecast.db import insert_frame, make_engine
    from tidecast.sql.tables import series_read_windows

    read_from = pd.Timestamp("2019-06-01")
    engine = make_engine(loaded_db)
    with engine.begin() as conn:
        insert_frame(
            conn,
            series_read_windows,
            pd.DataFrame(
                {"job": ["default"], "series_id": ["S00"], "last_ts": [read_from],
                 "read_from": [read_from], "run_id": ["r"]}
            ),
        )  # fmt: skip
    engine.dispose()
    options = {"source_table": "observations"} if source == "table" else {}
    raw = read_observations(settings_for(loaded_db, **options), incremental=True)
    raw["ts"] = pd.to_datetime(raw["ts"])
    s00 = observations[observations.series_id == "S00"]
    assert raw[raw.series_id == "S00"]["ts"].min() == read_from  # inclusive
    assert (raw.series_id == "S00").sum() == (s00.ts >= read_from).sum()
    others = observations[observations.series_id != "S00"]
    assert (raw.series_id != "S00").sum() == len(others)  # no window: read whole
    since = read_observations(settings_for(loaded_db, **options), since=read_from)
    assert len(since) == (observations.ts >= read_from).sum()


def test_the_source_streams_in_batches_and_loses_no_row(loaded_db, observations):
    engine = make_engine(loaded_db)
    statement = select(observations_table).order_by(
        observations_table.c.series_id, observations_table.c.ts
    )
    with engine.connect() as conn:
        streaming = conn.execution_options(stream_results=True, yield_per=7)
        result = streaming.execute(statement)
        if loaded_db.startswith("postgresql"):  # a server-side (named) cursor, not fetchall
            assert type(result.cursor).__name__ == "ServerCursor"
        raw = fetch_in_batches(result, batch_rows=7)
    engine.dispose()
    expected = observations.sort_values(["series_id", "ts"], ignore_index=True)
    assert len(raw) == len(expected) and len(raw) % 7 != 0  # a short last batch too
    assert raw["series_id"].tolist() == expected["series_id"].tolist()
    assert raw["value"].to_numpy() == pytest.approx(expected["value"].to_numpy())
    assert (pd.to_datetime(raw["ts"]) == expected["ts"]).all()
    # one string object per series id within a batch, not one per row
    first = raw[raw["series_id"] == raw["series_id"].iloc[0]]["series_id"].head(7)
    assert len({id(value) for value in first}) == 1


def test_sharing_equal_ids_never_merges_values_of_other_types(settings_for, tmp_path):
    # SQLite returns the integer 1 and the real 1.0 as they are (PostgreSQL gives a
    # column one type); hashing takes them (and True) for one value, which would fold
    # the series "1.0" into "1".
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    query = tmp_path / "source.sql"
    query.write_text(
        "SELECT 'a' AS series_id, '2024-01-01' AS ts, 1.0 AS value "
        "UNION ALL SELECT 1, '2024-01-01', 2.0 UNION ALL SELECT 1.0, '2024-01-01', 3.0 "
        "UNION ALL SELECT NULL, NULL, 4.0"
    )
    raw = read_observations(settings_for(url, source_query=query))
    assert raw["series_id"].tolist()[:3] == ["a", 1, 1.0]
    assert [type(value) for value in raw["series_id"]] == [str, int, float, type(None)]
    assert raw["ts"].iloc[3] is None
    # equal text timestamps are one object, not one per row
    assert len({id(value) for value in raw["ts"].iloc[:3]}) == 1


@pytest.mark.parametrize("source", ["query", "table"])
@pytest.mark.parametrize(
    ("written", "ts_format"),
    [("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M"), ("%Y-%m-%d", None), ("%Y-%m-%dT%H:%M:%S-05:00", None)],
    ids=["month-first", "date-only", "utc-offset"],
)
def test_windows_on_text_timestamps_compare_instants_not_strings(
    db_url, settings_for, observations, tmp_path, source, written, ts_format
):
    from sqlalchemy import Column, MetaData, Table, Text, insert

    from tidecast.db import init_db, insert_frame
    from tidecast.sql.tables import series_read_windows
    from tidecast.tasks.ingest import window_start

    raw_table = Table(
        "raw_text", MetaData(), Column("series_id", Text), Column("ts", Text), Column("value", Text)
    )
    stamps = observations["ts"] + (
        pd.Timedelta(hours=-5) if "-05:00" in written else pd.Timedelta(0)
    )
    rows = observations.assign(
        ts=stamps.dt.strftime(written), value=observations["value"].map(repr)
    )
    read_from = pd.Timestamp("2019-06-01")
    engine = make_engine(db_url)
    init_db(engine)
    raw_table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(raw_table), rows.to_dict("records"))
        insert_frame(
            conn,
            series_read_windows,
            pd.DataFrame(
                {"job": ["default"], "series_id": ["S00"], "last_ts": [read_from],
                 "read_from": [read_from], "run_id": ["r"]}
            ),
        )  # fmt: skip
    engine.dispose()
    query = tmp_path / "source.sql"
    query.write_text("SELECT series_id, ts, value FROM raw_text")
    where = {"source_table": "raw_text"} if source == "table" else {"source_query": query}
    settings = settings_for(db_url, ts_format=ts_format, freq="MS", **where)

    raw = read_observations(settings, incremental=True)
    s00 = observations[observations.series_id == "S00"]
    assert (raw.series_id == "S00").sum() == (s00.ts >= read_from).sum()  # inclusive
    assert (raw.series_id != "S00").sum() == (observations.series_id != "S00").sum()
    since = read_observations(settings, since=read_from.to_pydatetime())
    assert len(since) == (observations.ts >= read_from).sum()
    # no completed run yet: the newest timestamp of the source, as an instant
    start = window_start(settings, 12)
    assert pd.Timestamp(start) == observations.ts.max() - pd.DateOffset(months=12)


def test_a_read_window_longer_than_the_calendar_starts_at_the_first_timestamp_there_is():
    from tidecast.frequency import make_grid
    from tidecast.tasks.ingest import EARLIEST_TIMESTAMP, read_windows

    panel = pd.DataFrame(
        {"series_id": ["a", "b"], "ds": pd.to_datetime(["2020-12-01", "1700-01-01"]), "y": 1.0}
    )
    windows = read_windows(panel, make_grid("MS"), lookback=8000, run_id="r")  # 4 × h 2000
    assert (windows["read_from"] >= EARLIEST_TIMESTAMP).all()
    assert windows.set_index("series_id").loc["b", "read_from"] == pd.Timestamp("1678-02-01")
    short = read_windows(panel, make_grid("MS"), lookback=12, run_id="r")
    assert short.set_index("series_id").loc["a", "read_from"] == pd.Timestamp("2019-12-01")
