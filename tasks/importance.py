"""Feature importance of a run's models, for the `feature_importance` table and the report.

Measured on each model's fit at the last backtest fold (the one ending at each series'
last observation):

* `linear_contribution` (ridge): exact. Per input (the lags, the season position, each
  covariate), the mean absolute contribution of its columns to the forecasts, in units of
  each window's spread, over the training windows and steps.
* `permutation_last_fold` (the other models that use covariates): the rise in the fold's
  MASE when one covariate's values are shuffled across rows, in the history the model is
  conditioned on and in the steps ahead, without refitting.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from tidecast.models.base import Forecaster

IMPORTANCE_COLUMNS = ["model", "feature", "importance", "method"]


def empty_importance() -> pd.DataFrame:
    return pd.DataFrame(columns=IMPORTANCE_COLUMNS)


def _fold_mase(forecasts: pd.DataFrame, test: pd.DataFrame) -> float:
    pairs = test.merge(forecasts, on=["series_id", "ds"], how="inner")
    return float(((pairs["y"] - pairs["yhat"]).abs() / pairs["scale"]).mean())


def fold_importance(
    name: str,
    fitted: Forecaster,
    history: pd.DataFrame,
    future: pd.DataFrame | None,
    test: pd.DataFrame,
    horizon: int,
    covariates: list[str],
    seed: int = 0,
) -> pd.DataFrame:
    """The importance rows of model `name`, fitted at the last fold on `history` (with
    the covariate columns) and scored on `test` (`series_id`, `ds`, `y`, `scale`)."""
    if hasattr(fitted, "feature_importance"):
        exact = fitted.feature_importance()
        return pd.DataFrame(
            {
                "model": name,
                "feature": list(exact),
                "importance": list(exact.values()),
                "method": "linear_contribution",
            }
        )
    if not covariates or not hasattr(fitted, "condition"):
        return empty_importance()
    base = _fold_mase(fitted.predict(horizon, future=future), test)
    rng = np.random.default_rng(seed)
    rows = []
    for covariate in covariates:
        shuffled = history.assign(**{covariate: rng.permutation(history[covariate].to_numpy())})
        ahead = future
        if future is not None and covariate in future:
            ahead = future.assign(**{covariate: rng.permutation(future[covariate].to_numpy())})
        model = copy.deepcopy(fitted).condition(shuffled)
        moved = _fold_mase(model.predict(horizon, future=ahead), test)
        rows.append((name, covariate, moved - base, "permutation_last_fold"))
    return pd.DataFrame(rows, columns=IMPORTANCE_COLUMNS)


def combine_importance(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per model and feature: the mean over the chunks that measured it."""
    found = [part for part in parts if len(part)]
    if not found:
        return empty_importance()
    rows = pd.concat(found, ignore_index=True)
    return (
        rows.groupby(["model", "feature", "method"], sort=False)["importance"]
        .mean()
        .reset_index()[IMPORTANCE_COLUMNS]
    )
