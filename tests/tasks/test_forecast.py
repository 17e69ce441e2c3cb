import pandas as pd

from tests.conftest import MODEL_CONTEXT
from tidecast.models.base import sort_panel
from tidecast.tasks.forecast import final_fit_plan


def test_the_global_models_final_fit_goes_first_beside_finer_local_chunks(panel):
    series = sort_panel(panel)["series_id"].unique()
    champions = pd.DataFrame({"series_id": series, "model": "naive"})
    champions.loc[0, "model"] = "ridge"  # a global model: one fit on every series
    members = pd.DataFrame(columns=["series_id", "ensemble", "model"])
    plan = final_fit_plan(
        panel, champions, members, pd.DataFrame(), horizon=6, season_length=12,
        context=MODEL_CONTEXT, chunk_size=1000, workers=2,
    )  # fmt: skip
    assert [chunk.label for chunk in plan.chunks] == [
        "all series", "chunk 1/4", "chunk 2/4", "chunk 3/4", "chunk 4/4",
    ]  # fmt: skip
