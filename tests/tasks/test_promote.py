import numpy as np
import pandas as pd

from tidecast.tasks.promote import best_without_covariates, choose_champions

MODELS = ["naive", "seasonal_naive"]


def scores(rows):
    return pd.DataFrame(rows, columns=["series_id", "model", "fold", "mase"])


def test_lowest_mean_mase_wins_and_previous_champion_is_recorded():
    table = scores(
        [
            ("a", "naive", 0, 1.0),
            ("a", "naive", 1, 3.0),  # mean 2.0
            ("a", "seasonal_naive", 0, 1.5),
            ("a", "seasonal_naive", 1, 1.5),  # mean 1.5
            ("b", "naive", 0, 0.5),
            ("b", "seasonal_naive", 0, 0.9),
        ]
    )
    previous = pd.DataFrame({"series_id": ["a"], "model": ["naive"]})
    out = choose_champions(table, pd.Index(["a", "b"]), MODELS, previous).set_index("series_id")
    assert out.loc["a", "model"] == "seasonal_naive" and out.loc["a", "score"] == 1.5
    assert out.loc["a", "previous_model"] == "naive"
    assert out.loc["b", "model"] == "naive" and pd.isna(out.loc["b", "previous_model"])
    assert out.loc["a", "reason"].startswith("promoted")
    assert "1 fold(s)" in out.loc["b", "reason"]


def test_tie_goes_to_the_model_listed_first():
    table = scores([("a", "naive", 0, 1.0), ("a", "seasonal_naive", 0, 1.0)])
    out = choose_champions(
        table, pd.Index(["a"]), MODELS, pd.DataFrame(columns=["series_id", "model"])
    )
    assert out["model"].tolist() == ["naive"]


def test_series_without_scores_falls_back_to_seasonal_naive():
    table = scores([("a", "naive", 0, np.nan)])
    out = choose_champions(
        table, pd.Index(["a", "b"]), MODELS, pd.DataFrame(columns=["series_id", "model"])
    )
    assert out["model"].tolist() == ["seasonal_naive", "seasonal_naive"]
    assert out["reason"].str.contains("fallback").all()


def test_champion_stays_unless_the_challenger_beats_it_by_the_margin():
    table = scores(
        [
            ("a", "naive", 0, 1.00),
            ("a", "seasonal_naive", 0, 1.10),
            ("a", "drift", 0, 0.99),
            ("b", "naive", 0, 1.00),
            ("b", "seasonal_naive", 0, 1.10),
            ("b", "drift", 0, 0.90),
        ]
    )
    previous = pd.DataFrame({"series_id": ["a", "b"], "model": ["naive", "naive"]})
    out = choose_champions(
        table, pd.Index(["a", "b"]), ["naive", "seasonal_naive", "drift"], previous, margin=0.02
    ).set_index("series_id")
    assert out.loc["a", "model"] == "naive" and out.loc["a", "reason"].startswith("kept")
    assert out.loc["b", "model"] == "drift" and out.loc["b", "reason"].startswith("promoted")


def test_a_champion_worse_than_seasonal_naive_is_never_kept():
    table = scores([("a", "naive", 0, 1.01), ("a", "seasonal_naive", 0, 1.00)])
    previous = pd.DataFrame({"series_id": ["a"], "model": ["naive"]})
    out = choose_champions(table, pd.Index(["a"]), MODELS, previous, margin=0.05)
    assert out["model"].tolist() == ["seasonal_naive"]


def test_ensembles_in_the_scores_are_candidates_after_the_models():
    table = scores(
        [
            ("a", "naive", 0, 1.0),
            ("a", "seasonal_naive", 0, 1.0),
            ("a", "ensemble_mean_top3", 0, 0.5),
        ]
    )
    out = choose_champions(
        table, pd.Index(["a"]), MODELS, pd.DataFrame(columns=["series_id", "model"])
    )
    assert out["model"].tolist() == ["ensemble_mean_top3"]


def test_the_selection_metric_is_a_setting():
    table = pd.DataFrame(
        {
            "series_id": "a",
            "model": ["naive", "seasonal_naive"],
            "fold": 0,
            "mase": [1.0, 2.0],
            "smape": [20.0, 10.0],
        }
    )
    by_smape = choose_champions(
        table, pd.Index(["a"]), MODELS, pd.DataFrame(columns=["series_id", "model"]), metric="smape"
    )
    assert by_smape["model"].tolist() == ["seasonal_naive"]
    assert by_smape["metric"].tolist() == ["smape"]


def test_a_model_that_failed_on_some_folds_of_a_series_is_no_candidate_there():
    table = scores(
        [
            ("a", "naive", 0, 0.2),
            ("a", "naive", 1, 0.2),  # failed on fold 2 (say, a time-out): mean 0.2 over 2
            ("a", "seasonal_naive", 0, 1.0),
            ("a", "seasonal_naive", 1, 1.0),
            ("a", "seasonal_naive", 2, 1.0),
            ("b", "naive", 0, 0.2),
            ("b", "seasonal_naive", 0, 1.0),
        ]
    )
    out = choose_champions(
        table, pd.Index(["a", "b"]), MODELS, pd.DataFrame(columns=["series_id", "model"])
    ).set_index("series_id")
    assert out.loc["a", "model"] == "seasonal_naive"
    assert out.loc["b", "model"] == "naive"  # complete on b's folds: still a candidate


def combination_scores():
    """Three series, three folds: ensemble_stats is best pooled but never best everywhere."""
    rows = []
    table = {
        # series: model -> per-fold MASE
        "noisy": {"naive": [0.7, 1.2, 1.0], "ensemble_stats": [1.0, 1.0, 1.0]},
        "clear": {"naive": [0.5, 0.6, 0.5], "ensemble_stats": [1.0, 1.0, 1.0]},
        "close": {"naive": [0.95, 0.95, 0.95], "ensemble_stats": [1.0, 1.0, 1.0]},
        "other": {"naive": [3.0, 3.0, 3.0], "ensemble_stats": [1.0, 1.0, 1.0]},
    }
    for series, models in table.items():
        for model, folds in models.items():
            rows += [(series, model, fold, value) for fold, value in enumerate(folds)]
        rows += [(series, "seasonal_naive", fold, 2.0) for fold in range(3)]
    return scores(rows)


def choose_by_combination(table, **options):
    return choose_champions(
        table,
        pd.Index(table["series_id"].unique()),
        MODELS,
        pd.DataFrame(columns=["series_id", "model"]),
        policy="combination",
        **options,
    ).set_index("series_id")


def test_combination_policy_keeps_the_run_default_unless_a_series_separates_clearly():
    out = choose_by_combination(combination_scores(), override_threshold=0.1, override_min_folds=3)
    # ensemble_stats has the lowest MASE pooled over all series: the run default
    assert out.loc["noisy", "model"] == "ensemble_stats"  # naive won fold 0 only
    assert out.loc["close", "model"] == "ensemble_stats"  # naive better by 5% < 10%
    assert out.loc["other", "model"] == "ensemble_stats"
    assert out.loc["clear", "model"] == "naive"  # better by > 10% on each of 3 folds
    assert "beat the run default ensemble_stats" in out.loc["clear", "reason"]
    assert "run default" in out.loc["noisy", "reason"]
    # the per-series policy would have picked naive on noisy and close
    per_series = choose_by_combination(combination_scores(), override_min_folds=1)
    assert per_series.loc["close", "model"] == "ensemble_stats"
    lowest = choose_champions(
        combination_scores(),
        pd.Index(["noisy", "close"]),
        MODELS,
        pd.DataFrame(columns=["series_id", "model"]),
    ).set_index("series_id")
    assert lowest["model"].tolist() == ["naive", "naive"]


def test_combination_policy_needs_enough_folds_to_override():
    table = combination_scores()
    out = choose_by_combination(table[table["fold"] < 2], override_min_folds=3)
    assert out.loc["clear", "model"] == "ensemble_stats"


def test_combination_policy_keeps_the_champion_inside_the_margin():
    table = combination_scores()
    previous = pd.DataFrame({"series_id": ["noisy"], "model": ["naive"]})  # mean 0.967
    out = choose_champions(
        table, pd.Index(["noisy"]), MODELS, previous, policy="combination", margin=0.1
    ).set_index("series_id")
    assert out.loc["noisy", "model"] == "naive" and out.loc["noisy", "reason"].startswith("kept")


def test_the_run_default_is_seasonal_naive_when_the_combination_is_behind_it_pooled():
    table = combination_scores()
    table.loc[table["model"] == "seasonal_naive", "mase"] = 0.9  # beats ensemble_stats' 1.0
    out = choose_by_combination(table)
    assert out.loc["noisy", "model"] == "seasonal_naive"
    assert out.loc["clear", "model"] == "naive"  # still beats the default clearly


def test_a_model_using_covariates_is_the_run_default_when_it_beats_the_combination_pooled():
    table = combination_scores()
    # ridge (no covariates) beats the combination pooled, but is a single model: not the
    # default; ridge_cov knows the promotions and beats it pooled: the default
    extra = [
        (series, model, fold, value)
        for series in table["series_id"].unique()
        for model, value in (("ridge", 0.8), ("ridge_cov", 0.85))
        for fold in range(3)
    ]
    table = pd.concat([table, scores(extra)], ignore_index=True)
    out = choose_by_combination(table, override_threshold=0.5)
    assert out.loc["noisy", "model"] == "ridge_cov"
    assert "run default" in out.loc["noisy", "reason"]
    # with useless covariates ridge_cov is no better than the combination: not adopted
    table.loc[table["model"] == "ridge_cov", "mase"] = 1.05
    assert choose_by_combination(table, override_threshold=0.5).loc["noisy", "model"] == (
        "ensemble_stats"
    )


def test_the_fallback_without_covariates_is_each_series_best_fixed_choice_that_needs_none():
    table = combination_scores()
    extra = [(s, "ridge_cov", f, 0.1) for s in ("noisy", "clear") for f in range(3)]
    extra += [(s, "ensemble_mean_top3", f, 0.2) for s in ("noisy", "clear") for f in range(3)]
    table = pd.concat([table, scores(extra)], ignore_index=True)
    series = pd.Index(["noisy", "clear", "other", "unscored"])
    out = best_without_covariates(table, series, "mase").set_index("series_id")
    # neither ridge_cov nor a top-k ensemble (whose members may use covariates)
    assert out["model"].tolist() == ["naive", "naive", "ensemble_stats", "seasonal_naive"]
    assert out["members"].isna().all()  # no statistical model in this run to average


def test_the_run_default_is_the_fixed_combination_with_the_lower_pooled_score():
    table = combination_scores()
    wide = table[table["model"] == "ensemble_stats"].assign(model="ensemble_wide")
    # on three of four series the wider mean is worse, but pooled over all it is better
    wide["mase"] = wide["series_id"].map(
        {"noisy": 1.02, "clear": 1.02, "close": 1.02, "other": 0.7}
    )
    widened = pd.concat([table, wide], ignore_index=True)
    out = choose_by_combination(widened, override_threshold=0.5)
    assert out.loc["noisy", "model"] == "ensemble_wide"
    assert "run default" in out.loc["noisy", "reason"]
    # behind ensemble_stats pooled: not the default, and no clear override either
    wide["mase"] = 1.05
    out = choose_by_combination(pd.concat([table, wide], ignore_index=True))
    assert out.loc["noisy", "model"] == "ensemble_stats"


def test_the_fallback_names_the_members_of_either_fixed_combination():
    rows = [
        (s, m, f, value)
        for s in ("a", "b")
        for m, value in (("auto_ets", 1.0), ("theta", 1.0), ("hgb", 1.0), ("ensemble_wide", 0.5))
        for f in range(3)
    ]
    out = best_without_covariates(scores(rows), pd.Index(["a", "b"]), "mase")
    assert out["model"].tolist() == ["ensemble_wide"] * 2
    assert out["members"].tolist() == ["auto_ets,theta,hgb"] * 2
