import numpy as np
import pandas as pd
import pytest

from tidecast.tasks.fold_forecasts import FOLD_FORECAST_COLUMNS, FoldForecasts

NAMES = pd.Index(["a", "b", "c"], dtype=object)
FOLDS, HORIZON = 2, 3


def rows(model: str, series: list[int], yhat_offset: float) -> pd.DataFrame:
    """Fold forecasts of `model` for `series` (codes), every fold and step."""
    keys = [(s, f, h) for s in series for f in range(FOLDS) for h in range(1, HORIZON + 1)]
    s, f, h = (np.array(column) for column in zip(*keys, strict=True))
    cutoff = pd.Timestamp("2024-01-01") + pd.to_timedelta(f * HORIZON, unit="D")
    y = s * 100.0 + f * 10.0 + h
    return pd.DataFrame(
        {
            "series_id": s,
            "model": model,
            "fold": f,
            "ds": cutoff + pd.to_timedelta(h, unit="D"),
            "step": h,
            "y": y,
            "yhat": y + yhat_offset,
            "scale": s + 1.0,
        }
    )[FOLD_FORECAST_COLUMNS]


@pytest.fixture
def store() -> FoldForecasts:
    folds = FoldForecasts(NAMES, FOLDS, HORIZON)
    # a global model over every series, then two chunks of a local one, out of order
    folds.add(rows("ridge", [2, 0, 1], 0.5).sample(frac=1.0, random_state=0))
    folds.add(rows("naive", [2], -1.0))
    folds.add(rows("naive", [0, 1], -1.0))
    return folds


def test_a_model_reads_back_in_series_fold_step_order_with_its_actuals(store):
    naive = store.of_model("naive")
    expected = rows("naive", [0, 1, 2], -1.0).assign(series_id=lambda f: NAMES.take(f.series_id))
    pd.testing.assert_frame_equal(naive, expected, check_dtype=False)
    assert len(store) == 2 * 3 * FOLDS * HORIZON
    assert [frame["model"].iloc[0] for frame in store.by_model()] == ["naive", "ridge"]


def test_a_range_of_series_reads_as_dense_arrays_of_those_series_only(store):
    yhat, present = store.dense(["ridge", "naive"], 1, 3)
    assert yhat.shape == present.shape == (2, 2 * FOLDS * HORIZON)
    assert present.all()
    # slots in series, fold, step order, whatever order the rows were added in
    np.testing.assert_array_equal(yhat[0], rows("ridge", [1, 2], 0.5)["yhat"].to_numpy())
    np.testing.assert_array_equal(yhat[1], rows("naive", [1, 2], -1.0)["yhat"].to_numpy())


def test_a_slot_without_a_forecast_is_nan_and_absent():
    folds = FoldForecasts(NAMES, FOLDS, HORIZON)
    folds.add(rows("naive", [0, 2], -1.0))
    folds.add(rows("ridge", [1], 0.5).query("fold == 1"))
    yhat, present = folds.dense(["naive", "ridge"], 0, 3)
    per_series = FOLDS * HORIZON
    assert present[0].tolist() == [True] * per_series + [False] * per_series + [True] * per_series
    assert present[1].sum() == HORIZON and present[1, per_series + HORIZON :][:HORIZON].all()
    assert np.isnan(yhat[~present]).all() and not np.isnan(yhat[present]).any()


def test_champion_rows_are_each_series_own_model(store):
    chosen = pd.DataFrame({"series_id": ["a", "c", "b"], "model": ["ridge", "naive", "nothing"]})
    out = store.of_champions(chosen, ["series_id", "fold", "ds", "model", "y", "yhat"])
    assert out.groupby("series_id")["model"].unique().map(list).to_dict() == {
        "a": ["ridge"],
        "c": ["naive"],
    }
    assert len(out) == 2 * FOLDS * HORIZON
    c = out[out["series_id"] == "c"]
    np.testing.assert_allclose(c["yhat"] - c["y"], -1.0)


def test_chunks_built_apart_merge_into_the_same_store(store):
    merged = FoldForecasts(NAMES, FOLDS, HORIZON)
    for first, series in ((0, [0, 1]), (2, [2])):  # a worker's store holds its series only
        chunk = FoldForecasts(NAMES[first : first + len(series)], FOLDS, HORIZON, first)
        chunk.add(rows("naive", series, -1.0))
        assert chunk.dense(["naive"], first, first + len(series))[1].all()
        merged.merge(chunk)
    everything = FoldForecasts(NAMES, FOLDS, HORIZON)
    everything.add(rows("ridge", [0, 1, 2], 0.5))
    merged.merge(everything)
    for name in ("naive", "ridge"):
        pd.testing.assert_frame_equal(merged.of_model(name), store.of_model(name))
