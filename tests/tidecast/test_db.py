import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tidecast.db import connected
from tidecast.errors import DatabaseUnavailableError


def test_a_mistake_in_sql_is_not_reported_as_an_outage(db_url):
    with pytest.raises(DBAPIError):  # raised as is: retrying would not help
        with connected(db_url) as conn:
            conn.execute(text("SELECT nope FROM nowhere"))


def test_an_unreachable_database_is_an_outage_without_the_password():
    with pytest.raises(DatabaseUnavailableError, match=r"u:\*\*\*@127\.0\.0\.1:1/x is not usable"):
        with connected("postgresql://u:secret-pw@127.0.0.1:1/x") as conn:
            conn.execute(text("SELECT 1"))


def test_awkward_rows_survive_the_bulk_write_unchanged(db_url):
    import numpy as np
    import pandas as pd

    from tidecast.db import init_db, insert_frame, make_engine
    from tidecast.sql.tables import forecasts, rejected_observations

    engine = make_engine(db_url)
    init_db(engine)
    ids = ["plain", 'comma, "quoted"', "new\nline", "ünïcødé ✓", "tab\there", "back\\slash", ""]
    rows = pd.DataFrame(
        {
            "run_id": "r1",
            "series_id": ids,
            "ts": pd.to_datetime("2024-01-31 23:59:59.123456") + pd.to_timedelta(range(7), "D"),
            "step": range(1, 8),
            "model": "naive",
            "yhat": [1.0, -2.5, 1e300, 1 / 3, 0.0, 123456789.123456789, -0.0],
            "yhat_lower_80": [np.nan, 1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
            "yhat_upper_80": 1.0,
            "yhat_lower_95": np.nan,
            "yhat_upper_95": 2.0,
            "created_at": pd.Timestamp("2024-02-01 00:00:00"),
        }
    )
    rejected = pd.DataFrame(
        {"run_id": "r1", "series_id": [None, "x"], "ts": ["not a date", None],
         "value": ["1e999", "NaN"], "check_name": "value_not_finite", "reason": "why, \"so\""}
    )  # fmt: skip
    with engine.begin() as conn:
        assert insert_frame(conn, forecasts, rows) == 7
        assert insert_frame(conn, rejected_observations, rejected) == 2
    with engine.connect() as conn:
        back = pd.read_sql(text("SELECT * FROM forecasts ORDER BY step"), conn)
        kept = pd.read_sql(text("SELECT * FROM rejected_observations ORDER BY id"), conn)
    engine.dispose()
    assert back["series_id"].tolist() == ids
    assert pd.to_datetime(back["ts"]).tolist() == rows["ts"].tolist()
    np.testing.assert_array_equal(back["yhat"].to_numpy(), rows["yhat"].to_numpy())
    assert back["yhat_lower_80"].isna().tolist() == rows["yhat_lower_80"].isna().tolist()
    assert back["yhat_lower_95"].isna().all()
    assert kept[["series_id", "ts", "value", "reason"]].to_dict("records") == [
        {"series_id": None, "ts": "not a date", "value": "1e999", "reason": 'why, "so"'},
        {"series_id": "x", "ts": None, "value": "NaN", "reason": 'why, "so"'},
    ]
