"""Covariates through real runs, on SQLite and PostgreSQL: every covariate row read is
used or quarantined; a series whose future covariates stop short of the horizon is
forecast without them, with a line saying so, in the retrain and in the forecast run. The
runs are the pipeline's, in this process (`tests/in_process.py`)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Column, MetaData, Table, Text, delete

from tests.helpers import covariate_rows, query, runs
from tests.in_process import forecast_in_process, pipeline_settings, retrain_in_process
from tidecast.db import init_db, insert_frame, make_engine, replace_observations
from tidecast.tasks.covariates import COVARIATE_CHECKS
from tidecast.tasks.html_report import write_report

H = 6
LIFT = 0.6
source = Table(
    "raw_covariates",
    MetaData(),
    *(Column(name, Text) for name in ("series_id", "ts", "name", "value", "kind", "known_at")),
)


def as_text(rows: pd.DataFrame) -> pd.DataFrame:
    text = rows.astype(object)
    text["ts"] = rows["ts"].dt.strftime("%Y-%m-%d")
    text["value"] = rows["value"].map(repr)
    text["known_at"] = None
    return text


def promoted(observations: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The observations lifted by LIFT in their promotion months."""
    promo = rows[rows["name"] == "promo"][["series_id", "ts", "value"]]
    merged = observations.merge(promo.rename(columns={"value": "promo"}), on=["series_id", "ts"])
    return merged.assign(value=merged["value"] * (1 + LIFT * merged["promo"])).drop(columns="promo")


def load(url: str, observations: pd.DataFrame, covariates: pd.DataFrame) -> None:
    engine = make_engine(url)
    init_db(engine)
    replace_observations(engine, observations)
    source.create(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(delete(source))
        insert_frame(conn, source, covariates)
    engine.dispose()


def test_every_covariate_row_read_is_used_or_quarantined_with_its_check(
    db_url, observations, tmp_path
):
    rows = covariate_rows(observations, horizon=H)
    good = as_text(rows)
    first = good.iloc[0]
    bad = pd.DataFrame(
        [
            {**first, "name": None},
            {**first, "name": "n" * 65},
            {**first, "kind": "someday", "name": "third"},
            {**first, "name": "both", "kind": "future"},
            {**first, "name": "both", "kind": "past", "ts": "2015-02-01"},
            {**first, "series_id": "S" * 256, "name": "long"},
            {**first, "ts": "soon", "name": "when"},
            {**first, "ts": "2015-01-17", "name": "other"},
            {**first, "known_at": "someday", "name": "known"},
            {**first, "value": "lots", "name": "fourth"},
            {**first, "value": "inf", "name": "fifth"},
            {**first},  # the first row again
            {**first, "name": "twice", "value": "1.0"},
            {**first, "name": "twice", "value": "2.0"},
            {**first, "series_id": "NOPE"},
        ]
    )
    load(db_url, promoted(observations, rows), pd.concat([good, bad], ignore_index=True))
    settings = pipeline_settings(
        db_url, tmp_path / "artifacts", models="seasonal_naive,ridge,ridge_cov",
        covariates_table="raw_covariates", horizon=H, freq="MS",
    )  # fmt: skip
    run_id = retrain_in_process(settings)

    run = runs(db_url).set_index("run_id").loc[run_id]
    assert run["status"] == "completed"
    assert run["covariate_rows_read"] == len(good) + len(bad)
    assert run["covariate_rows_used"] == len(good)
    assert run["covariate_rows_read"] == run["covariate_rows_used"] + run["covariate_rows_rejected"]
    rejected = query(db_url, "SELECT check_name, value FROM rejected_covariates")
    assert set(rejected["check_name"]) == set(COVARIATE_CHECKS)  # every check, through the flow
    assert len(rejected) == len(bad)  # the first row's copy, not the first row
    assert "lots" in rejected["value"].tolist()  # kept as read
    # the covariate model ran beside the same model without covariates, on the same folds
    scored = query(db_url, "SELECT DISTINCT model FROM backtest_scores")["model"]
    assert {"ridge", "ridge_cov"} <= set(scored)
    # what drove it is stored, and the run report shows it with the quarantined rows
    drivers = query(
        db_url, "SELECT model, feature FROM feature_importance WHERE run_id = :r", r=run_id
    )
    assert set(drivers[drivers["model"] == "ridge_cov"]["feature"]) == {
        "lags", "season", "promo", "footfall",
    }  # fmt: skip
    page = write_report(settings, run_id).read_text()
    assert '<section id="drivers">' in page and "covariate_kind_conflict" in page
    assert "covariate promo" in page and "covariate footfall" in page  # beside the history


@pytest.fixture
def covariate_run(db_url, observations, tmp_path):
    """A database whose sales follow a promotion calendar, and a job reading it, where
    ridge_cov is the only candidate besides seasonal naive."""
    rows = covariate_rows(observations, horizon=H)
    sales = promoted(observations, rows)
    settings = pipeline_settings(
        db_url, tmp_path / "artifacts", models="ridge_cov", covariates_table="raw_covariates",
        promotion="per_series", horizon=H, freq="MS",
    )  # fmt: skip
    return settings, sales, rows


def test_a_series_whose_future_covariates_stop_short_is_forecast_by_a_model_without_them(
    covariate_run,
):
    settings, sales, rows = covariate_run
    url = settings.database_url
    short = rows["series_id"].eq("S01") & (
        rows["ts"] > sales["ts"].max() - pd.DateOffset(months=30)
    )
    short &= rows["ts"] > sales[sales["series_id"] == "S01"]["ts"].max() + pd.DateOffset(months=3)
    assert short.sum() == 3  # S01's promotions of the last 3 months ahead are missing
    load(url, sales, as_text(rows[~short]))
    run_id = retrain_in_process(settings)

    run = runs(url).set_index("run_id").loc[run_id]
    assert run["status"] == "completed"
    champions = query(url, "SELECT series_id, model FROM current_champions").set_index("series_id")
    assert champions.loc["S01", "model"] == "ridge_cov"  # it won the backtest
    latest = query(url, "SELECT series_id, model FROM latest_forecasts")
    by_series = latest.groupby("series_id")["model"].agg(set)
    assert by_series["S01"] == {"seasonal_naive"}  # forecast without covariates
    assert by_series.drop("S01").map(lambda models: models == {"ridge_cov"}).all()
    assert "1 series forecast without covariates" in run["message"]
    assert "do not cover the 6 steps ahead (S01)" in run["message"]


def test_the_forecast_run_uses_the_newest_covariates_and_falls_back_where_they_stop(
    covariate_run,
):
    settings, sales, rows = covariate_run
    url = settings.database_url
    load(url, sales, as_text(rows))
    retrain_in_process(settings)
    # a month later: one more month of sales, the promotion plan extended for all but S02
    last = sales.groupby("series_id").tail(1)
    new = last.assign(ts=last["ts"] + pd.DateOffset(months=1))
    plan = rows[rows["name"] == "promo"].groupby("series_id").tail(1)
    plan = plan[plan["series_id"] != "S02"].assign(ts=lambda f: f["ts"] + pd.DateOffset(months=1))
    load(url, pd.concat([sales, new], ignore_index=True), as_text(pd.concat([rows, plan])))

    refreshed = forecast_in_process(settings)
    run = runs(url).set_index("run_id").loc[refreshed]
    assert run["status"] == "completed"
    assert "do not cover the 6 steps ahead (S02)" in run["message"]
    latest = query(url, "SELECT series_id, model, ts FROM latest_forecasts")
    assert set(latest[latest["series_id"] == "S02"]["model"]) == {"seasonal_naive"}
    assert (latest[latest["series_id"] != "S02"]["model"] == "ridge_cov").all()


statics_source = Table(
    "raw_statics", MetaData(), *(Column(name, Text) for name in ("series_id", "attribute", "value"))
)


def test_static_attributes_reach_the_models_and_bad_static_rows_are_quarantined(
    db_url, observations, tmp_path
):
    rows = covariate_rows(observations, horizon=H)
    load(db_url, promoted(observations, rows), as_text(rows))
    regions = pd.DataFrame(
        [
            ("S00", "holiday_region", "US"),
            ("S01", "holiday_region", "GB"),
            ("S02", "holiday_region", "XX"),  # no such region
            ("S03", "holiday_region", "US"),
            ("S03", "holiday_region", "GB"),  # two regions for one series: both refused
            ("NOPE", "holiday_region", "US"),  # no such series
            ("S00", "format", "outlet"),  # static features of the models
            ("S01", "format", "mall"),
            ("S00", "size", "120"),
            ("S01", "size", "80"),
        ],
        columns=["series_id", "attribute", "value"],
    )
    engine = make_engine(db_url)
    statics_source.create(engine)
    with engine.begin() as conn:
        insert_frame(conn, statics_source, regions)
    engine.dispose()
    settings = pipeline_settings(
        db_url, tmp_path / "artifacts", models="seasonal_naive,ridge_cov",
        covariates_table="raw_covariates", static_table="raw_statics", horizon=H, freq="MS",
    )  # fmt: skip
    run_id = retrain_in_process(settings)

    run = runs(db_url).set_index("run_id").loc[run_id]
    assert run["status"] == "completed"
    assert run["covariate_rows_read"] == len(rows) + len(regions)
    assert run["covariate_rows_rejected"] == 4
    assert run["covariate_rows_read"] == run["covariate_rows_used"] + run["covariate_rows_rejected"]
    rejected = query(db_url, "SELECT check_name, kind FROM rejected_covariates")
    assert sorted(rejected["check_name"]) == [
        "static_duplicate_conflict", "static_duplicate_conflict",
        "static_holiday_region_unknown", "static_series_unknown",
    ]  # fmt: skip
    assert set(rejected["kind"]) == {"static"}
    drivers = query(db_url, "SELECT feature FROM feature_importance WHERE model = 'ridge_cov'")
    assert {"holiday", "format=mall", "format=outlet", "size"} <= set(drivers["feature"])
    assert "4 series have no holiday_region: no holidays for them" in run["message"]
    others = observations["series_id"].nunique() - 2
    assert f"{others} series have no static attribute size: the mean of" in run["message"]


def test_a_short_series_covariates_are_its_own_not_an_unknown_series(
    db_url, observations, tmp_path
):
    """A series too short to backtest is still a series of the run: its covariate rows
    are used (short_history takes none), not quarantined as covariate_series_unknown."""
    short = observations[observations["series_id"] == "S00"].tail(5).assign(series_id="tiny")
    both = pd.concat([observations, short], ignore_index=True)
    rows = covariate_rows(both, horizon=H)
    load(db_url, both, as_text(rows))
    settings = pipeline_settings(
        db_url, tmp_path / "artifacts", models="seasonal_naive,ridge_cov",
        covariates_table="raw_covariates", horizon=H, freq="MS",
    )  # fmt: skip
    run_id = retrain_in_process(settings)
    run = runs(db_url).set_index("run_id").loc[run_id]
    assert run["status"] == "completed"
    assert run["covariate_rows_rejected"] == 0 and run["covariate_rows_used"] == len(rows)
    latest = query(db_url, "SELECT series_id, model FROM latest_forecasts")
    assert set(latest.loc[latest["series_id"] == "tiny", "model"]) == {"short_history"}
