"""One chunk layout for the backtest and the final fit."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import MODEL_CONTEXT
from tidecast.models.base import sort_panel
from tidecast.tasks.backtest import BacktestSpec, plan_backtest
from tidecast.tasks.chunks import ChunkKind, chunk_layout, series_chunks
from tidecast.tasks.forecast import FinalFitSpec, plan_final_fit


def test_series_chunks_are_contiguous_and_near_equal(panel):
    ordered = sort_panel(panel)
    parts = series_chunks(ordered, chunk_size=5)
    sizes = [part["series_id"].nunique() for part in parts]
    assert max(sizes) <= 5 and max(sizes) - min(sizes) <= 1
    pd.testing.assert_frame_equal(pd.concat(parts), ordered)
    assert series_chunks(ordered.iloc[:0], chunk_size=5) == []


def test_no_local_models_no_local_chunks_and_no_series_no_global_chunk(panel):
    ordered = sort_panel(panel)
    only_global = chunk_layout(ordered, None, True, chunk_size=1000, workers=2)
    assert [(kind, label) for kind, label, _ in only_global] == [(ChunkKind.GLOBAL, "all series")]
    assert chunk_layout(ordered.iloc[:0], None, True, chunk_size=1000) == []


@pytest.mark.parametrize("models", [("naive",), ("naive", "ridge"), ("ridge",)])
@pytest.mark.parametrize("workers", [1, 2])
def test_the_backtest_and_the_final_fit_cut_the_series_the_same_way(panel, models, workers):
    series = sort_panel(panel)["series_id"].unique()
    backtest = plan_backtest(
        panel, BacktestSpec(list(models), 6, 3, 12, MODEL_CONTEXT), chunk_size=4, workers=workers
    )
    # every series' champion uses every model (one row per model and series)
    champions = pd.DataFrame({"series_id": series, "model": models[0], "members": None})
    if len(models) > 1:
        champions["model"] = "ensemble_wide"
        champions["members"] = ",".join(models)
    spec = FinalFitSpec(horizon=6, season_length=12, context=MODEL_CONTEXT, quantiles=None)
    final = plan_final_fit(panel, champions, spec, chunk_size=4, workers=workers)

    def shape(plan, as_names):
        return [(chunk.kind, chunk.label, tuple(as_names(chunk))) for chunk in plan.chunks]

    assert shape(backtest, lambda c: c.series_names(c.panel["series_id"].unique())) == shape(
        final, lambda c: c.panel["series_id"].unique()
    )
    kinds = [chunk.kind for chunk in final.chunks]
    assert (ChunkKind.GLOBAL in kinds) == ("ridge" in models)
    assert kinds[1:].count(ChunkKind.GLOBAL) == 0  # the global chunk, if any, goes first
