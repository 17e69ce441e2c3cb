"""Faulty models in a real retrain: a model that raises, hangs past its time budget, returns
NaN for a series, or wins the backtest and then fails on the final fit. Each time the run
completes, the series fall back, every forecast is finite, and the run row says what fell
back. On SQLite and PostgreSQL, the retrain run in this process (`tests/in_process.py`)."""

from __future__ import annotations

import json
import threading
import time
from typing import ClassVar, Self

import numpy as np
import pandas as pd
import pytest

from tests.helpers import query, runs
from tests.in_process import pipeline_settings, retrain_in_process
from tidecast.models.base import sort_panel
from tidecast.models.baselines import SeasonalNaive
from tidecast.models.registry import MODELS

H = 6
RELEASE = threading.Event()  # set at teardown, so an abandoned `Hangs` thread ends


class Raises:
    def __init__(self, freq: str) -> None:
        self.freq = freq

    def fit(self, panel: pd.DataFrame) -> Self:
        raise RuntimeError("model crashed in fit")

    def predict(self, h: int) -> pd.DataFrame:  # pragma: no cover - never reached
        raise AssertionError


class Hangs(Raises):
    def fit(self, panel: pd.DataFrame) -> Self:
        RELEASE.wait(600)
        return self


class Oracle(SeasonalNaive):
    """Seasonal naive that peeks at the observed values after the cutoff: it wins backtests.

    Where the future is not observed (the final forecast) it stays seasonal naive.
    """

    # Set by the `faulty` fixture: observed value by (series name, ts), and series name by
    # its first value.
    truth: ClassVar[pd.Series] = pd.Series(dtype=float)
    first_values: ClassVar[dict[float, str]] = {}

    def fit(self, panel: pd.DataFrame) -> Self:
        super().fit(panel)
        # Inside the backtest series ids are integer codes, not names, so a series is
        # recognised by its first value (every training slice starts at the series' start).
        first = sort_panel(panel).groupby("series_id", sort=True)["y"].first().round(6)
        self.names_ = first.map(self.first_values)
        return self

    def names(self, out: pd.DataFrame) -> np.ndarray:
        return self.names_.reindex(out["series_id"]).to_numpy()

    def observed(self, out: pd.DataFrame) -> np.ndarray:
        keys = pd.MultiIndex.from_arrays([self.names(out), out["ds"]])
        return self.truth.reindex(keys).to_numpy(dtype=float)

    def predict(self, h: int) -> pd.DataFrame:
        out = super().predict(h)
        known = self.observed(out)
        return out.assign(yhat=np.where(np.isnan(known), out["yhat"], known))


class NaNForS00(Oracle):
    def predict(self, h: int) -> pd.DataFrame:
        out = super().predict(h)
        return out.assign(yhat=np.where(self.names(out) == "S00", np.nan, out["yhat"]))


class FailsOnFinalFit(Oracle):
    """Peeks at S00 and S01 only (seasonal naive, which wins its ties, elsewhere), and fails
    where it cannot peek at them: on the final fit."""

    def predict(self, h: int) -> pd.DataFrame:
        out = SeasonalNaive.predict(self, h)
        known, peeks = self.observed(out), np.isin(self.names(out), ["S00", "S01"])
        if np.isnan(known[peeks]).any():
            raise RuntimeError("cannot see the future")
        return out.assign(yhat=np.where(peeks, known, out["yhat"]))


@pytest.fixture
def faulty(monkeypatch, observations):
    """Registers the faulty models and tells the oracles what was observed."""
    for name, cls in [
        ("raises", Raises),
        ("hangs", Hangs),
        ("nan_for_s00", NaNForS00),
        ("fails_on_final_fit", FailsOnFinalFit),
    ]:
        monkeypatch.setitem(MODELS, name, cls)
    truth = observations.set_index(["series_id", "ts"])["value"]
    first = observations.sort_values("ts").groupby("series_id")["value"].first().round(6)
    monkeypatch.setattr(Oracle, "truth", truth)
    monkeypatch.setattr(Oracle, "first_values", dict(zip(first, first.index, strict=True)))
    RELEASE.clear()
    yield
    RELEASE.set()


def retrain_with(url: str, tmp_path, models: str, **env: str) -> tuple[pd.Series, pd.DataFrame]:
    """Run a retrain with `models`; the completed run row and `latest_forecasts`."""
    settings = pipeline_settings(
        url, tmp_path / "artifacts", models=models, horizon=H, freq="MS", **env
    )
    run_id = retrain_in_process(settings)
    run = runs(url).iloc[-1]
    assert run["run_id"] == run_id and run["status"] == "completed"
    latest = query(url, "SELECT * FROM latest_forecasts")
    assert set(latest["run_id"]) == {run_id}
    return run, latest


def assert_every_series_forecast(latest: pd.DataFrame, observations: pd.DataFrame) -> None:
    assert set(latest["series_id"]) == set(observations["series_id"])
    assert (latest.groupby("series_id").size() == H).all()
    values = latest[["yhat", "yhat_lower_95", "yhat_upper_95"]].to_numpy(dtype=float)
    assert np.isfinite(values).all()


def champions(url: str) -> pd.Series:
    return query(url, "SELECT series_id, model FROM current_champions").set_index("series_id")[
        "model"
    ]


def test_a_model_that_raises_is_never_champion(loaded_db, tmp_path, faulty, observations):
    run, latest = retrain_with(loaded_db, tmp_path, "raises,naive,seasonal_naive")
    assert "raises failed on chunk 1/1 fold 0" in run["message"]
    assert "model crashed in fit" in run["message"]
    assert "raises" not in set(champions(loaded_db))
    assert "raises" not in set(latest["model"])
    assert_every_series_forecast(latest, observations)


def test_a_model_past_its_time_budget_is_abandoned(loaded_db, tmp_path, faulty, observations):
    started = time.perf_counter()
    run, latest = retrain_with(
        loaded_db, tmp_path, "hangs,naive,seasonal_naive", model_time_budget_seconds="1"
    )
    # one fold abandoned after 1 s, the chunk's other folds skipped: not 3 x 600 s
    assert time.perf_counter() - started < 60
    assert "hangs failed on chunk 1/1 fold 0" in run["message"]
    assert "exceeded its time budget of 1s" in run["message"]
    assert "hangs failed on chunk 1/1 fold 1" not in run["message"]
    # and the run row keeps it as a record, not only as words
    records = run["failures"]
    records = json.loads(records) if isinstance(records, str) else records
    [hung] = [r for r in records if r["model"] == "hangs"]
    assert (hung["stage"], hung["kind"], hung["where"]) == (
        "backtest",
        "timeout",
        "chunk 1/1 fold 0",
    )
    assert hung["series_count"] == 0 and "exceeded its time budget" in hung["detail"]
    assert "hangs" not in set(champions(loaded_db))
    assert_every_series_forecast(latest, observations)


def test_nan_forecasts_for_one_series_keep_the_model_from_that_series_only(
    loaded_db, tmp_path, faulty, observations
):
    run, latest = retrain_with(loaded_db, tmp_path, "nan_for_s00,naive,seasonal_naive")
    for fold in range(3):
        assert (
            f"nan_for_s00 returned non-finite forecasts for 1 series on chunk 1/1 fold {fold}: S00"
            in (run["message"])
        )
    chosen = champions(loaded_db)
    assert chosen["S00"] != "nan_for_s00"
    # elsewhere it is a perfectly good model (it peeks), so it wins
    assert (chosen.drop("S00") == "nan_for_s00").all()
    assert latest.loc[latest["series_id"] == "S00", "model"].ne("nan_for_s00").all()
    assert_every_series_forecast(latest, observations)


def test_a_champion_failing_on_the_final_fit_falls_back_for_its_series(
    loaded_db, tmp_path, faulty, observations
):
    # per-series promotion: the oracle is best on S00 and S01 only, so only they pick it
    run, latest = retrain_with(
        loaded_db, tmp_path, "naive,seasonal_naive,fails_on_final_fit", ensemble_top_k="0",
        promotion="per_series",
    )  # fmt: skip
    # it won the backtest on the series it peeks at, and is their champion ...
    chosen = champions(loaded_db)
    assert set(chosen[chosen == "fails_on_final_fit"].index) == {"S00", "S01"}
    scores = query(loaded_db, "SELECT series_id, model, mase FROM backtest_scores")
    best = scores.groupby(["series_id", "model"])["mase"].mean().unstack()
    assert (best.loc[["S00", "S01"]].idxmin(axis=1) == "fails_on_final_fit").all()
    # ... but its final fit failed, so those series were forecast by seasonal naive
    assert "fails_on_final_fit failed on the final fit" in run["message"]
    assert "cannot see the future" in run["message"]
    assert "2 series fell back to seasonal_naive on the final forecast" in run["message"]
    assert "(fails_on_final_fit: 2)" in run["message"]
    models = latest.groupby("series_id")["model"].unique().map(list)
    assert models[["S00", "S01"]].tolist() == [["seasonal_naive"], ["seasonal_naive"]]
    others = chosen.drop(["S00", "S01"])
    assert (models[others.index].map(lambda m: m[0]) == others).all()
    assert_every_series_forecast(latest, observations)


def test_a_network_stopped_by_its_time_cap_is_used_and_the_run_row_says_so(
    loaded_db, tmp_path, observations
):
    # the real N-BEATS ensemble, with a cap that each member reaches after one step
    run, latest = retrain_with(
        loaded_db, tmp_path, "nbeats_ensemble,naive,seasonal_naive", train_max_seconds="0.001"
    )
    assert "nbeats_ensemble stopped training at its time cap on all series fold 0" in run["message"]
    records = run["failures"]
    records = json.loads(records) if isinstance(records, str) else records
    capped = [(r["stage"], r["where"]) for r in records if r["kind"] == "time_cap"]
    assert capped[:3] == [("backtest", f"all series fold {fold}") for fold in range(3)]
    # stopped early, not failed: it was scored on every fold like the others
    scores = query(loaded_db, "SELECT model, fold FROM backtest_scores")
    assert set(scores.loc[scores["model"] == "nbeats_ensemble", "fold"]) == {0, 1, 2}
    assert_every_series_forecast(latest, observations)
