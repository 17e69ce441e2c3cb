import pandas as pd

from tests.helpers import MODEL_CONTEXT
from tidecast.models.base import sort_panel
from tidecast.tasks.forecast import FinalFitSpec, plan_final_fit


def test_the_global_models_final_fit_goes_first_beside_finer_local_chunks(panel):
    series = sort_panel(panel)["series_id"].unique()
    champions = pd.DataFrame({"series_id": series, "model": "naive", "members": None})
    champions.loc[0, "model"] = "ridge"  # a global model: one fit on every series
    spec = FinalFitSpec(horizon=6, season_length=12, context=MODEL_CONTEXT, quantiles=None)
    plan = plan_final_fit(panel, champions, spec, chunk_size=1000, workers=2)
    assert [chunk.label for chunk in plan.chunks] == [
        "all series", "chunk 1/4", "chunk 2/4", "chunk 3/4", "chunk 4/4",
    ]  # fmt: skip
