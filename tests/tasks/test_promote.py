import numpy as np
import pandas as pd

from tasks.promote import choose_champions

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
