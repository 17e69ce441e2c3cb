from sqlalchemy import inspect, text

from tidecast.db import init_db, insert_frame, make_engine
from tidecast.sql import load_query
from tidecast.sql.tables import forecasts, metadata


def test_init_db_is_idempotent_and_creates_tables_and_views(db_url):
    engine = make_engine(db_url)
    for replace_views in (False, True, False):
        init_db(engine, replace_views=replace_views)
    found = inspect(engine)
    assert set(metadata.tables) <= set(found.get_table_names())
    assert {"latest_forecasts", "current_champions"} <= set(found.get_view_names())
    pk = found.get_pk_constraint("forecasts")
    assert pk["constrained_columns"] == ["run_id", "series_id", "ts"]
    engine.dispose()


def test_source_query_returns_the_three_columns(db_url):
    engine = make_engine(db_url)
    init_db(engine)
    with engine.connect() as conn:
        result = conn.execute(load_query("source_observations"))
        assert list(result.keys()) == ["series_id", "ts", "value"]
    engine.dispose()


def test_forecast_primary_key_rejects_a_second_row_for_the_same_run_series_and_ts(db_url):
    import datetime as dt

    import pandas as pd
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    init_db(engine)
    row = {
        "run_id": "r",
        "series_id": "a",
        "ts": dt.datetime(2020, 1, 1),
        "step": 1,
        "model": "naive",
        "yhat": 1.0,
        "created_at": dt.datetime(2020, 1, 1),
    }
    with engine.begin() as conn:
        insert_frame(conn, forecasts, pd.DataFrame([row]))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_frame(conn, forecasts, pd.DataFrame([row]))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM forecasts")).scalar() == 1
    engine.dispose()
