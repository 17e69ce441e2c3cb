"""Feature importance of the last backtest fold's fits: exact for ridge, by permutation for
the other models that use covariates."""

from __future__ import annotations

import pandas as pd

from tests.helpers import as_panel, backtest_of, covariate_rows, covariates_of


def test_the_driver_that_moves_the_target_ranks_above_the_one_that_does_not(observations):
    rows = covariate_rows(observations, horizon=6)
    promo = rows[rows["name"] == "promo"][["series_id", "ts", "value"]]
    lifted = observations.merge(promo.rename(columns={"value": "promo"}), on=["series_id", "ts"])
    lifted = lifted.assign(value=lifted["value"] * (1 + 0.5 * lifted["promo"]))
    result = backtest_of(
        as_panel(lifted.drop(columns="promo")),
        ["ridge", "ridge_cov", "hgb_cov"],
        horizon=6,
        covariates=covariates_of(rows),
    )
    found = result.importance.set_index(["model", "feature"])
    methods = result.importance.groupby("model")["method"].first().to_dict()
    assert methods == {
        "ridge": "linear_contribution",
        "ridge_cov": "linear_contribution",
        "hgb_cov": "permutation_last_fold",
    }
    assert set(found.loc["ridge"].index) == {"lags", "season"}
    assert set(found.loc["ridge_cov"].index) == {"lags", "season", "promo", "footfall"}
    for model in ("ridge_cov", "hgb_cov"):
        importance = found.loc[model, "importance"]
        assert importance["promo"] > 3 * max(importance["footfall"], 0.0), model
    # shuffling the promotion calendar costs hgb_cov real accuracy on the last fold
    assert found.loc[("hgb_cov", "promo"), "importance"] > 0.1


def test_without_covariates_only_ridge_reports_importance(panel):
    result = backtest_of(panel, ["ridge", "naive"], horizon=6)
    assert set(result.importance["model"]) == {"ridge"}
    assert isinstance(result.importance, pd.DataFrame)
