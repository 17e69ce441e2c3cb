"""The `tidecast` command: real databases, real flow runs. Most tests run it in this
process (the `cli` fixture: `tidecast.cli.main`); those whose subject is the process (its
environment, its children, two commands at once) start a real one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text

from tests.helpers import covariate_rows, load_observations, tidecast, warm_prefect_home
from tidecast.db import init_db, make_engine, replace_observations
from tidecast.sql.tables import metadata

pytestmark = pytest.mark.slow  # flow runs of the command; some in processes of their own


def count(url: str, sql: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar())
    finally:
        engine.dispose()


# The demo (the README's first command), the operator's commands after it and a forecast
# run: tests/packaging/test_wheel.py, from the installed wheel.


def test_init_db_twice_says_where(cli, db_url, tmp_path):
    for _ in range(2):
        done = cli("init-db", "--database-url", db_url, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert "tables and views are ready" in done.stdout


def test_unreachable_database_is_one_error_line_without_password(cli, tmp_path):
    done = cli("retrain", "--database-url", "postgresql://tide:hunter2@127.0.0.1:1/x", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: database postgresql")
    assert "tide:***@127.0.0.1:1/x is not usable: connection failed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "hunter2" not in done.stdout + done.stderr


def test_bad_flag_value_names_the_flag(cli, tmp_path):
    done = cli("retrain", "--horizon", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "--horizon" in done.stderr and "Traceback" not in done.stderr


def test_failing_run_prints_one_clear_line(cli, tmp_path, observations):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    bad = observations.astype(object)
    bad.loc[bad.index[::5], "value"] = None
    engine = make_engine(url)
    from tidecast.db import init_db

    init_db(engine)
    replace_observations(engine, bad)
    engine.dispose()
    done = cli("retrain", "--horizon", "6", cwd=tmp_path, env_extra={"TIDECAST_DATABASE_URL": url})
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "failed validation" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    runs = pd.read_sql("SELECT status FROM forecast_runs", make_engine(url))
    assert runs["status"].tolist() == ["failed"]


@pytest.fixture
def password_url(request):
    """A fresh PostgreSQL database owned by a new role whose URL carries a unique password."""
    from tests.helpers import POSTGRES_URL, postgres_database

    databases = postgres_database()
    url = next(databases)
    suffix = uuid.uuid4().hex[:10]
    role, password = f"tidecast_secret_{suffix}", f"Pw-{suffix}-never-logged"
    admin = create_engine(make_engine(POSTGRES_URL).url, isolation_level="AUTOCOMMIT")
    name = make_engine(url).url.database
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))  # names made here
        conn.execute(text(f'ALTER DATABASE "{name}" OWNER TO {role}'))
    secret = make_engine(url).url.set(username=role, password=password)
    yield secret.render_as_string(hide_password=False), password
    try:
        next(databases)
    except StopIteration:
        pass
    with admin.connect() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


SAVE_SECRET = (
    "import sys; from prefect.blocks.system import Secret; "
    "Secret(value=sys.stdin.read()).save('tidecast-db')"
)


@pytest.mark.postgres
@pytest.mark.parametrize("given_as", ["flag", "prefect-secret"])
def test_the_database_password_is_nowhere_but_where_it_was_given(
    password_url, observations, tmp_path, given_as
):
    url, password = password_url
    engine = make_engine(url)
    init_db(engine)
    replace_observations(engine, observations)
    engine.dispose()
    # the temporary Prefect server keeps its database here
    prefect_home = warm_prefect_home(tmp_path / "prefect")
    env = {"PREFECT_HOME": str(prefect_home), "TIDECAST_ARTIFACTS_DIR": str(tmp_path / "art")}
    if given_as == "flag":
        where = ["--database-url", url]
    else:  # stored in the Prefect server's (encrypted) block documents, named in the settings
        saved = subprocess.run(
            [sys.executable, "-c", SAVE_SECRET], input=url, env={**os.environ, **env},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert saved.returncode == 0, saved.stderr
        env["TIDECAST_DATABASE_URL_SECRET"] = "tidecast-db"
        where = []
    done = tidecast(
        "retrain", *where, "--models", "naive,seasonal_naive", "--horizon", "6",
        cwd=tmp_path, env_extra=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # the one model named cannot run (every fold shorter than its horizon + 1): the run
    # fails with one error line, and the failed run's row is written too
    failed = tidecast(
        "retrain", *where, "--models", "ridge", "--folds", "1", "--horizon", "40",
        cwd=tmp_path, env_extra=env,
    )  # fmt: skip
    assert failed.returncode == 2, failed.stderr
    assert "error: none of the models named besides the baselines ran: ridge" in failed.stderr
    assert "ridge did not run on any series" in failed.stdout
    # what the user saw, everything Prefect stored (runs, parameters, logs, artifacts),
    # every file tidecast wrote, and every row of every tidecast table
    seen = [done.stdout, done.stderr, failed.stdout, failed.stderr]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "prefect.db" for path in files)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM forecast_runs")).scalar() == 2
        for table in metadata.sorted_tables:
            seen.append(pd.read_sql(select(table), conn).to_csv())
    engine.dispose()
    assert not [text_ for text_ in seen if password in text_]
    assert not [str(path) for path in files if password.encode() in path.read_bytes()]


def test_rollback_refuses_while_a_run_writes(db_url, tmp_path):
    from tidecast.settings import load_settings
    from tidecast.tasks.runs import close_run, open_run

    settings = load_settings(database_url=db_url)
    running = open_run(settings, "retrain", {})
    refused = tidecast("rollback", "--all", "--database-url", db_url, cwd=tmp_path)
    close_run(settings, running, "failed")
    assert refused.returncode == 2
    assert "another tidecast run is writing" in refused.stderr
    assert "this rollback did not start and changed nothing" in refused.stderr


@pytest.mark.postgres
def test_two_retrains_started_together_one_writes_and_the_other_is_refused(
    pg_url, observations, tmp_path
):
    """A scheduled and a manual run at once, as two real processes on PostgreSQL.

    The test holds a lock on `observations`, so the first run to take the run lock waits
    at ingest, holding it, while the second arrives: no timing luck involved.
    """
    engine = make_engine(pg_url)
    init_db(engine)
    replace_observations(engine, observations)
    env = {"TIDECAST_DATABASE_URL": pg_url, "TIDECAST_MODELS": "naive,seasonal_naive"}

    def start(name: str) -> subprocess.Popen:
        home = warm_prefect_home(tmp_path / name)
        return subprocess.Popen(
            [sys.executable, "-m", "tidecast.cli", "retrain", "--horizon", "6"],
            cwd=tmp_path, env={**os.environ, **env, "PREFECT_HOME": str(home)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE observations IN ACCESS EXCLUSIVE MODE"))
        first = start("first")
        deadline = time.monotonic() + 300
        while count(pg_url, "SELECT COUNT(*) FROM forecast_runs WHERE status = 'running'") == 0:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.5)
        second = start("second")
        _, refused = second.communicate(timeout=300)
        blocker.rollback()  # the first run's ingest goes on
    out, err = first.communicate(timeout=300)
    engine.dispose()
    assert first.returncode == 0, err
    assert second.returncode == 2, refused
    assert "another tidecast run is writing" in refused and "did not start" in refused
    history = pd.read_sql(
        "SELECT run_id, status FROM forecast_runs ORDER BY started_at", make_engine(pg_url)
    )
    assert history["status"].tolist() == ["completed", "failed"]
    winner = history["run_id"].iloc[0]
    assert (
        count(pg_url, f"SELECT COUNT(DISTINCT run_id) FROM champions WHERE run_id = '{winner}'")
        == 1
    )
    assert count(pg_url, "SELECT COUNT(DISTINCT run_id) FROM champions") == 1
    assert count(pg_url, "SELECT COUNT(DISTINCT run_id) FROM latest_forecasts") == 1


def test_backfill_says_what_it_wrote(cli, db_url, observations, tmp_path):
    engine = make_engine(db_url)
    init_db(engine)
    replace_observations(engine, observations)
    engine.dispose()
    done = cli(
        "backfill", "--from", "2019-01-01", "--to", "2019-02-28", "--horizon", "6",
        "--models", "naive,seasonal_naive", "--database-url", db_url, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "completed: 72 rows for 2 cutoffs in backfill_forecasts" in done.stdout
    bad = cli("backfill", "--from", "soon", "--to", "2019-02-28", "--database-url", db_url,
                   cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and "error: --from 'soon' is not a date" in bad.stderr


def test_report_before_any_retrain_says_so(cli, db_url, tmp_path):
    done = cli("report", "--database-url", db_url, cwd=tmp_path)
    assert done.returncode == 2
    assert "error: no completed retrain run to report on yet" in done.stderr


def test_forecast_on_a_database_tidecast_never_ran_on_says_what_to_do(cli, tmp_path):
    done = cli("forecast", "--database-url", f"sqlite:///{tmp_path / 'new.db'}", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: no completed retrain run yet" in done.stderr


def test_worker_processes_report_to_the_runs_own_prefect_server(tmp_path, observations):
    # Without PREFECT_API_URL the run's temporary server is known only to the CLI's
    # process; each chunk worker starting a temporary server of its own was a bug.
    url = load_observations(f"sqlite:///{tmp_path / 'tidecast.db'}", observations)
    done = tidecast(
        "retrain", "--database-url", url, "--horizon", "6", "--models", "naive,seasonal_naive",
        "--workers", "2", "--chunk-size", "3", "--verbose", cwd=tmp_path,
        env_extra={"PREFECT_LOGGING_LEVEL": "INFO"},  # the tests' WARNING hides the server's line
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "chunk tasks run on 2 local processes" in output
    assert output.count("Starting temporary server") == 1, output[-3000:]
    assert "backtest] naive, seasonal_naive: chunk 2/2" in output  # the workers' progress


def test_champions_names_the_members_of_an_ensemble_champion(cli, tmp_path, observations):
    url = load_observations(f"sqlite:///{tmp_path / 'members.db'}", observations)
    models = "naive,seasonal_naive,theta,dynamic_theta"
    ran = cli("retrain", "--database-url", url, "--horizon", "6", "--models", models, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    ensembles = pd.read_sql(
        "SELECT series_id, model, members FROM champions WHERE model LIKE 'ensemble_mean%' "
        "ORDER BY series_id",
        create_engine(url),
    )
    assert len(ensembles) > 0  # on this panel a top-3 mean beats the run default clearly
    series, model, members = ensembles.iloc[0]
    one = cli("champions", "--database-url", url, "--series", series, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    last = one.stdout.strip().splitlines()[-1]
    named = members.replace(",", ", ")
    assert last.startswith(f"{series}: champion {model}, the equal-weight mean of {named}")
    assert members in one.stdout  # the members column of the history


def test_the_preset_flag_reaches_the_flow(cli, tmp_path, observations):
    url = load_observations(f"sqlite:///{tmp_path / 'preset.db'}", observations)
    ran = cli("retrain", "--database-url", url, "--horizon", "6", "--preset", "fast", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    scored = pd.read_sql("SELECT DISTINCT model FROM backtest_scores", create_engine(url))
    fast = {"naive", "seasonal_naive", "drift", "window_average", "theta", "dynamic_theta"}
    models = {m for m in scored["model"] if not m.startswith("ensemble_")}
    assert models == fast  # the fast zoo, not the default one (which has auto_ets and ridge)
    bad = cli("retrain", "--database-url", url, "--preset", "quick", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid choice: 'quick'" in bad.stderr


def test_covariates_check_names_the_series_a_future_covariate_does_not_cover(
    cli, tmp_path, observations
):
    url = load_observations(f"sqlite:///{tmp_path / 'tidecast.db'}", observations)
    rows = covariate_rows(observations, horizon=6)
    end_of_s02 = observations.loc[observations["series_id"] == "S02", "ts"].max()
    rows = rows[~((rows["series_id"] == "S02") & (rows["ts"] > end_of_s02))]  # no plan ahead
    engine = create_engine(url)
    rows.to_sql("covariates", engine, index=False)
    engine.dispose()
    flags = ("--database-url", url, "--covariates-table", "covariates", "--freq", "MS")
    done = cli("covariates", "check", *flags, "--horizon", "6", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    promo = next(line for line in done.stdout.splitlines() if line.strip().startswith("promo"))
    assert "5/6 series" in promo and "S02" in promo
    assert "1 future covariate(s) miss some series" in done.stdout

    without = cli("covariates", "check", "--database-url", url, cwd=tmp_path)
    assert without.returncode == 2
    assert without.stderr.startswith("error: job default has no covariates")


def test_holiday_static_and_query_settings_reach_covariates_check_through_the_cli(
    cli, tmp_path, observations
):
    url = load_observations(f"sqlite:///{tmp_path / 'tidecast.db'}", observations)
    engine = create_engine(url)
    pd.DataFrame(
        {
            "series_id": ["S00", "S01", "S00", "S01"],
            "attribute": ["holiday_region", "holiday_region", "format", "format"],
            "value": ["US", "DE-BY", "outlet", "mall"],
        }
    ).to_sql("shop_attributes", engine, index=False)
    covariate_rows(observations, horizon=6).to_sql("drivers", engine, index=False)
    engine.dispose()
    (tmp_path / "drivers.sql").write_text("SELECT * FROM drivers WHERE name = 'promo'")
    flags = ("--database-url", url, "--freq", "MS", "--horizon", "6")
    done = cli(
        "covariates", "check", *flags, "--static-table", "shop_attributes", "--holidays", "US",
        cwd=tmp_path, env_extra={"TIDECAST_COVARIATES_QUERY": str(tmp_path / "drivers.sql")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = {line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip()}
    # the query's promo, the job-wide US calendar, each series' own calendar
    assert {"promo", "holiday_us", "holiday"} <= names and "footfall" not in names
    assert "4 series have no holiday_region: no holidays for them" in done.stdout
    outlet = next(line for line in done.stdout.splitlines() if "format=outlet" in line)
    assert outlet.split()[1:4] == ["static", "1", "1"] and "NaT" not in outlet

    bad = cli("covariates", "check", *flags, "--holidays", "US,XX", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: invalid setting: holidays")
    assert "Traceback" not in bad.stderr
