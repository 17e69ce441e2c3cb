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
