import pandas as pd

from tidecast.tasks.leaderboard import champions_changed, leaderboard


def test_every_series_counts_once_however_many_folds_it_had():
    # a long series (3 folds) where x is good, a short one (1 fold) where x is bad
    scores = pd.DataFrame(
        {
            "series_id": ["long"] * 3 + ["short"] + ["long"] * 3 + ["short"],
            "model": ["x"] * 4 + ["y"] * 4,
            "fold": [0, 1, 2, 2] * 2,
            "mase": [1.0, 1.0, 1.0, 3.0, 2.0, 2.0, 2.0, 1.9],
            "smape": [10.0] * 8,
        }
    )
    champions = pd.DataFrame({"series_id": ["long", "short"], "model": ["x", "y"]})
    board = leaderboard(scores, champions).set_index("model")
    # per series: x (1 + 3) / 2 = 2.0, y (2 + 1.9) / 2 = 1.95; a mean over rows says x 1.5
    assert board.index.tolist() == ["y", "x"]
    assert board.loc["x", "mean_mase"] == 2.0
    assert board["series_won"].to_dict() == {"y": 1, "x": 1}


def test_a_champion_changed_only_when_it_replaced_a_different_one():
    chosen = pd.DataFrame({"model": ["a", "a", "b"], "previous_model": [None, "a", "a"]})
    assert champions_changed(chosen).tolist() == [False, False, True]
