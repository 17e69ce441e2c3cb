import numpy as np
import pandas as pd

from tests.helpers import MODEL_CONTEXT, backtest_of
from tidecast.tasks.ensembles import combine, combine_dense, ensemble_members

CONTEXT = MODEL_CONTEXT


def test_members_are_the_top_k_by_mean_mase_per_series():
    scores = pd.DataFrame(
        {
            "series_id": ["a"] * 4 + ["b"] * 4,
            "model": ["naive", "drift", "auto_ets", "dynamic_theta"] * 2,
            "mase": [1.0, 2.0, 0.5, 0.7, 3.0, 0.1, 0.2, 0.3],
        }
    )
    names = ["naive", "drift", "auto_ets", "dynamic_theta"]
    members = ensemble_members(scores, names, top_k=2)
    top = members[members.ensemble == "ensemble_mean_top2"].groupby("series_id")["model"].apply(set)
    assert top["a"] == {"auto_ets", "dynamic_theta"} and top["b"] == {"drift", "auto_ets"}


def test_the_statistical_combination_takes_the_registry_s_members_present():
    scores = pd.DataFrame(
        {"series_id": "a", "model": ["naive", "auto_ets", "auto_theta", "theta"], "mase": 1.0}
    )
    members = ensemble_members(scores, ["naive", "auto_ets", "auto_theta", "theta"], top_k=2)
    stats = members[members.ensemble == "ensemble_stats"]
    # AutoTheta is no member (its in-sample choice among variants was the weak member)
    assert set(stats["model"]) == {"auto_ets", "theta"}


def test_combine_takes_mean_and_median_per_key():
    forecasts = pd.DataFrame(
        {"series_id": "a", "ds": 1, "model": ["m1", "m2", "m3"], "yhat": [1.0, 2.0, 6.0]}
    )
    members = pd.DataFrame(
        {
            "series_id": "a",
            "model": ["m1", "m2", "m3"] * 2,
            "ensemble": ["ensemble_mean_top3"] * 3 + ["ensemble_median_top3"] * 3,
        }
    )
    out = combine(forecasts, members, ["series_id", "ds"]).set_index("model")["yhat"]
    assert out["ensemble_mean_top3"] == 3.0 and out["ensemble_median_top3"] == 2.0


def test_ensembles_are_scored_on_the_same_folds_without_refitting(panel):
    result = backtest_of(
        panel, ["naive", "seasonal_naive", "drift", "window_average"], ensemble_top_k=3
    )
    ens = result.fold_forecasts[result.fold_forecasts.model == "ensemble_mean_top3"]
    assert len(ens) == 6 * 3 * panel.series_id.nunique()
    one = ens[(ens.series_id == "S00") & (ens.fold == 0)]
    members = result.members[
        (result.members.series_id == "S00") & (result.members.ensemble == "ensemble_mean_top3")
    ]["model"]
    ff = result.fold_forecasts
    own = ff[(ff.series_id == "S00") & (ff.fold == 0) & ff.model.isin(members)]
    np.testing.assert_allclose(one["yhat"].to_numpy(), own.groupby("ds")["yhat"].mean().to_numpy())
    assert {"ensemble_mean_top3", "ensemble_median_top3"} <= set(result.scores["model"])
    assert set(result.model_seconds) == {"naive", "seasonal_naive", "drift", "window_average"}


def test_the_backtest_s_dense_combination_gives_combine_s_numbers():
    # each key a series of its own members; members without a forecast and NaN forecasts
    # included: the backtest combines millions of fold forecasts on arrays, and each
    # must be the number `combine` gives, bit for bit
    rng = np.random.default_rng(3)
    models, keys = ["m0", "m1", "m2", "m3"], 500
    yhat = rng.normal(100, 30, (len(models), keys)) * 10.0 ** rng.integers(-3, 4, (4, keys))
    yhat[rng.random(yhat.shape) < 0.05] = np.nan
    present = rng.random(yhat.shape) > 0.1
    member_at = np.stack([rng.permutation(4)[:3] for _ in range(keys)], axis=1)
    member_at[2, rng.random(keys) < 0.3] = -1  # a key with two members only
    frame = pd.DataFrame(
        [
            {"series_id": key, "ds": 0, "model": models[row], "yhat": yhat[row, key]}
            for row in range(4)
            for key in range(keys)
            if present[row, key]
        ]
    )
    for statistic in ("mean", "median"):
        ensemble = f"ensemble_{statistic}_top3"
        members = pd.DataFrame(
            [
                {"series_id": key, "model": models[row], "ensemble": ensemble}
                for position in range(3)
                for key in range(keys)
                if (row := member_at[position, key]) >= 0
            ]
        )
        expected = combine(frame, members, ["series_id", "ds"]).set_index("series_id")["yhat"]
        has, combined = combine_dense(yhat, present, member_at, statistic)
        assert list(np.flatnonzero(has)) == sorted(expected.index)
        np.testing.assert_array_equal(combined[has], expected.sort_index().to_numpy())


def test_the_wide_combination_adds_gradient_boosting_and_only_when_the_run_has_it():
    names = ["naive", "auto_ets", "theta", "dynamic_theta", "hgb", "ridge"]
    scores = pd.DataFrame({"series_id": "a", "model": names, "mase": 1.0})
    members = ensemble_members(scores, names, top_k=2)
    fixed = members.groupby("ensemble")["model"].apply(list)
    assert fixed["ensemble_stats"] == ["auto_ets", "theta", "dynamic_theta"]
    assert fixed["ensemble_wide"] == ["auto_ets", "theta", "dynamic_theta", "hgb"]
    # without hgb the wider mean would be ensemble_stats again: no second candidate
    without = [n for n in names if n != "hgb"]
    members = ensemble_members(scores[scores.model != "hgb"], without, top_k=2)
    assert "ensemble_wide" not in set(members["ensemble"])


def test_each_candidate_name_has_one_kind_and_statistic():
    from tidecast.tasks.ensembles import CandidateKind, candidate_kind, is_ensemble, statistic_of

    kinds = {
        "auto_ets": CandidateKind.MODEL,
        "seasonal_naive": CandidateKind.MODEL,
        "ensemble_stats": CandidateKind.COMBINATION,
        "ensemble_wide": CandidateKind.COMBINATION,
        "ensemble_mean_top3": CandidateKind.TOP_K,
        "ensemble_median_top12": CandidateKind.TOP_K,
    }
    assert {name: candidate_kind(name) for name in kinds} == kinds
    assert [name for name in kinds if is_ensemble(name)] == list(kinds)[2:]
    assert statistic_of("ensemble_median_top12") == "median"
    assert statistic_of("ensemble_mean_top3") == statistic_of("ensemble_stats") == "mean"
