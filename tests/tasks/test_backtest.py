import numpy as np
import pandas as pd
import pytest

from tests.helpers import MODEL_CONTEXT, backtest_of, covariate_rows, covariates_of, noise_panel
from tidecast.models.base import future_frame, sort_panel
from tidecast.models.registry import MODELS
from tidecast.tasks.backtest import fold_split
from tidecast.tasks.chunks import series_chunks

H = 6
CONTEXT = MODEL_CONTEXT


def run(panel, models=("naive", "seasonal_naive"), folds=3, chunk_size=1000, covariates=None):
    return backtest_of(
        panel, models, horizon=H, folds=folds, chunk_size=chunk_size, covariates=covariates
    )


def test_cutoffs_are_h_apart_and_the_last_fold_ends_at_the_last_observation(panel):
    ordered = sort_panel(panel)
    cutoffs = []
    for fold in range(3):
        train, test = fold_split(ordered, fold, 3, H, min_train=13)
        one = test[test.series_id == "S00"]
        assert one["step"].tolist() == list(range(1, H + 1))
        cutoffs.append(train[train.series_id == "S00"]["ds"].max())
        assert one["ds"].min() > cutoffs[-1]
    last = ordered[ordered.series_id == "S00"]["ds"].max()
    assert test[test.series_id == "S00"]["ds"].max() == last
    assert [c.to_period("M") for c in cutoffs] == [
        (last - pd.DateOffset(months=H * k)).to_period("M") for k in (3, 2, 1)
    ]


def test_scores_cover_every_series_model_and_fold(panel):
    result = run(panel)
    assert len(result.scores) == panel.series_id.nunique() * 2 * 3
    assert result.scores[["mase", "smape", "rmse"]].notna().all().all()
    assert set(result.model_seconds) == {"naive", "seasonal_naive"}


def test_short_series_get_fewer_folds_not_none():
    short = pd.DataFrame(
        {
            "series_id": "s",
            "ds": pd.date_range("2020-01-01", periods=13 + H, freq="MS"),
            "y": np.arange(13 + H, dtype=float),
        }
    )
    result = run(short)
    assert sorted(result.scores["fold"].unique()) == [2]


def test_chunking_does_not_change_the_scores(panel):
    whole = run(panel).scores.sort_values(["series_id", "model", "fold"]).reset_index(drop=True)
    chunked = run(panel, chunk_size=2).scores.sort_values(["series_id", "model", "fold"])
    pd.testing.assert_frame_equal(whole, chunked.reset_index(drop=True))
    assert len(series_chunks(sort_panel(panel), 4)) == 2


# the torch networks and AutoARIMA take 10-20 s each here: the slow lane's
_SLOW_TO_FIT = {
    "lstm", "gru", "transformer", "nbeats", "auto_arima", "auto_arima_cov", "hgb", "hgb_cov",
}  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in _SLOW_TO_FIT else n for n in sorted(MODELS)],
)
def test_no_leakage_values_after_the_cutoff_do_not_move_the_fold(name, panel):
    """Multiply everything after a fold's cutoff by 1000: that fold's forecasts must not move.

    Checked on the first fold and on the last, which starts from what the earlier folds'
    fits handed on (`next_origin`: AutoETS's forms, the networks' weights)."""
    ordered = sort_panel(panel)
    from_end = ordered.groupby("series_id").cumcount(ascending=False).to_numpy()
    clean = run(ordered, models=[name]).fold_forecasts
    for fold in (0, 2):
        poisoned = ordered.copy()
        poisoned.loc[from_end < (3 - fold) * H, "y"] *= 1000
        forecasts = [clean, run(poisoned, models=[name]).fold_forecasts]
        mine = [
            f.loc[(f.fold == fold) & (f.model == name), ["series_id", "ds", "yhat"]].reset_index(
                drop=True
            )
            for f in forecasts
        ]
        assert len(mine[0]) == H * panel.series_id.nunique()
        pd.testing.assert_frame_equal(mine[0], mine[1])


@pytest.mark.parametrize(
    "name",
    [
        "ridge_cov",
        "nbeats_cov",
        *(pytest.param(n, marks=pytest.mark.slow) for n in ("hgb_cov", "auto_arima_cov")),
    ],
)
def test_no_leakage_covariates_known_only_after_the_cutoff_do_not_move_the_fold(
    name, panel, observations
):
    """Past covariates after a fold's cutoff multiplied by 1000, and future ones known only
    after it (a later `known_at`) changed: that fold's forecasts must not move."""
    rows = covariate_rows(observations, horizon=H)
    rng = np.random.default_rng(1)
    # the weather: a climatology known all along, and forecasts issued a month ahead
    weather = rows[rows["name"] == "promo"].assign(name="weather")
    weather = weather.assign(value=rng.normal(20, 5, len(weather)).round(1))
    issued = weather.assign(
        value=weather["value"] + 3, known_at=weather["ts"] - pd.DateOffset(months=1)
    )
    rows = pd.concat([rows, weather, issued], ignore_index=True)
    clean = run(panel, models=[name], covariates=covariates_of(rows)).fold_forecasts
    ordered = sort_panel(panel)
    from_end = ordered.groupby("series_id").cumcount(ascending=False).to_numpy()
    for fold in (0, 2):
        cutoffs = ordered[from_end == (3 - fold) * H].set_index("series_id")["ds"]
        cutoff = rows["series_id"].map(cutoffs)
        later_past = (rows["kind"] == "past") & (rows["ts"] > cutoff)
        known_later = rows["known_at"] > cutoff  # known only after the cutoff's month
        assert later_past.any() and known_later.any()
        poisoned = rows.copy()
        poisoned.loc[later_past, "value"] *= 1000
        poisoned.loc[known_later, "value"] += 1000
        moved = run(panel, models=[name], covariates=covariates_of(poisoned)).fold_forecasts
        mine = [
            f.loc[(f.fold == fold) & (f.model == name), ["series_id", "ds", "yhat"]].reset_index(
                drop=True
            )
            for f in (clean, moved)
        ]
        assert len(mine[0]) == H * panel.series_id.nunique()
        pd.testing.assert_frame_equal(mine[0], mine[1])


class CountsOrigins:
    """Forecasts how many earlier origins handed on to it (0 for a fresh copy)."""

    def __init__(self, freq, handed=0):
        self.freq, self.handed = freq, handed

    def fit(self, panel):
        self.last_ = panel.groupby("series_id")["ds"].max()
        return self

    def predict(self, h):
        return (
            future_frame(self.last_, h, self.freq)
            .drop(columns="step")
            .assign(yhat=float(self.handed))
        )

    def next_origin(self):
        return CountsOrigins(self.freq, self.handed + 1)


def test_a_model_hands_what_it_chose_on_to_the_next_fold_only(panel, monkeypatch):
    monkeypatch.setitem(MODELS, "counts", CountsOrigins)
    forecasts = run(panel, models=["counts"]).fold_forecasts
    mine = forecasts[forecasts.model == "counts"]
    assert mine.groupby("fold")["yhat"].unique().map(list).to_dict() == {
        0: [0.0],
        1: [1.0],
        2: [2.0],
    }


def test_every_fold_of_auto_ets_searches_as_the_final_fit_does(panel):
    """A fold's scores must estimate what the final fit (a search) would score: handing the
    forms chosen at the first origin on to the later ones made them 4-10% worse on M3."""
    from tidecast.models.statistical import AutoETS

    ordered = sort_panel(panel)
    steps = ordered.groupby("series_id").cumcount()
    trended = ordered.assign(y=ordered["y"] * (1 + 0.002 * steps**2))  # forms change late
    forecasts = run(trended, models=["auto_ets"]).fold_forecasts
    forms = []
    for fold in range(3):
        train, _ = fold_split(trended, fold, 3, H, min_train=13)
        searched = AutoETS(season_length=12, freq="MS").fit(train)
        forms.append(searched.forms_)
        mine = forecasts[(forecasts.fold == fold) & (forecasts.model == "auto_ets")]
        expected = searched.predict(H).merge(mine, on=["series_id", "ds"], suffixes=("", "_bt"))
        assert len(expected) == len(mine) == H * panel.series_id.nunique()
        np.testing.assert_allclose(expected["yhat_bt"], expected["yhat"])
    assert forms[0] != forms[2]  # the data does change the search's choice


def test_a_failing_model_is_skipped_and_the_others_go_on(panel, monkeypatch):
    from tidecast.models import registry

    class Broken:
        def __init__(self, freq):
            self.freq = freq

        def fit(self, panel):
            raise RuntimeError("boom")

        def predict(self, h):  # pragma: no cover - never reached
            raise AssertionError

    monkeypatch.setitem(registry.MODELS, "broken", Broken)
    result = run(panel, models=["broken", "naive"])
    assert set(result.scores["model"]) == {"naive", "seasonal_naive"}
    failed = [f for f in result.failures if f.model == "broken"]
    assert [f.where for f in failed] == [f"chunk 1/1 fold {fold}" for fold in range(3)]
    failure = failed[0]
    assert (failure.stage, failure.kind) == ("backtest", "error")
    assert "boom" in failure.detail and failure.series == ()
    assert failure.text.startswith("broken failed on chunk 1/1 fold 0: RuntimeError('boom')")


def test_series_that_fell_back_are_named_in_the_failures(panel, monkeypatch):
    from tests.models.faulty import Exploding

    monkeypatch.setitem(MODELS, "exploding", Exploding)
    marked = panel.copy()
    marked.loc[marked.series_id.eq("S01").idxmax(), "y"] = 999.0  # Exploding fails on it
    result = run(marked, models=("exploding",), folds=2)
    fell_back = [f for f in result.failures if f.kind == "fallback"]
    assert [f.series for f in fell_back] == [("S01",), ("S01",)]
    assert all(f.text.endswith("for 1 series: S01") for f in fell_back)
    assert fell_back[0].record()["series"] == ["S01"]
    assert set(result.scores["series_id"]) == set(panel["series_id"])


def _plan_of(panel, models, workers):
    from tidecast.tasks.backtest import BacktestSpec, plan_backtest

    spec = BacktestSpec(list(models), H, 3, 12, {**CONTEXT, "horizon": H})
    return plan_backtest(panel, spec, chunk_size=1000, workers=workers)


def test_beside_a_global_chunk_the_local_series_are_cut_finer_so_no_worker_waits(panel):
    # the worker that ran the global models (first) takes a share of the local chunks
    plan = _plan_of(panel, ("naive", "ridge"), workers=2)
    assert [chunk.label for chunk in plan.chunks] == [
        "all series", "chunk 1/4", "chunk 2/4", "chunk 3/4", "chunk 4/4",
    ]  # fmt: skip
    # without a global model, one chunk per worker, as before
    assert len(_plan_of(panel, ("naive",), workers=2).chunks) == 2
    assert len(_plan_of(panel, ("naive", "ridge"), workers=1).chunks) == 2


def test_a_named_window_model_adapts_to_short_folds_and_runs():
    """48-point series, h 18: every fold's training part is shorter than the default
    lookback + horizon (42); ridge adapts its lookback per fold instead of failing."""
    scored = backtest_of(noise_panel(6, 48, seed=3, start="2015-01-01"), ["ridge"], horizon=18)
    assert set(scored.scores["model"]) == {"ridge", "seasonal_naive"}
    assert not [f for f in scored.failures if f.model == "ridge"]


def test_a_run_where_no_named_model_but_the_baselines_ran_fails_with_why():
    from tidecast.errors import TidecastError
    from tidecast.settings import load_settings
    from tidecast.tasks.backtest import check_named_models
    from tidecast.tasks.context import RunContext

    short = noise_panel(4, 32, seed=3, start="2015-01-01")  # folds keep 14 points
    scored = backtest_of(short, ["ridge"], horizon=18)
    settings = load_settings(database_url="sqlite://", horizon=18, models="ridge")
    ctx = RunContext(settings, "test", 12, "MS")
    with pytest.raises(TidecastError, match=r"none of the models named .* ridge: .*longest has"):
        check_named_models(scored, ctx)
    both = load_settings(database_url="sqlite://", horizon=18, models="ridge,theta")
    scored = backtest_of(short, ["ridge", "theta"], horizon=18)
    lines = check_named_models(scored, RunContext(both, "test", 12, "MS"))
    assert len(lines) == 1 and lines[0].startswith("ridge did not run on any series: ")
