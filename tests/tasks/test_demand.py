"""Demand classes against hand-computed cases (Syntetos-Boylan cut-offs 1.32 and 0.49)."""

import numpy as np
import pandas as pd
import pytest

from tidecast.tasks.demand import demand_classes, demand_note, with_demand_classes


def _panel(series: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"series_id": sid, "ds": pd.Timestamp("2020-01-01") + pd.DateOffset(months=i), "y": v}
            for sid, values in series.items()
            for i, v in enumerate(values)
        ]
    )


CASES = {
    # name: (history, ADI, CV², class); ADI = periods / periods with demand,
    # CV² = (population std / mean of the non-zero demands)²
    "smooth": ([5, 6, 5, 6, 5, 6], 1.0, (0.5 / 5.5) ** 2, "smooth"),
    "erratic": ([1, 10, 1, 10, 1, 10], 1.0, (4.5 / 5.5) ** 2, "erratic"),
    "intermittent": ([0, 5, 0, 0, 5, 0, 5, 0], 8 / 3, 0.0, "intermittent"),
    "lumpy": ([0, 1, 0, 0, 20, 0, 1, 0], 8 / 3, np.var([1, 20, 1]) / np.mean([1, 20, 1]) ** 2,
              "lumpy"),
    "one_sale": ([0, 0, 0, 4], 4.0, 0.0, "intermittent"),
    "at_the_adi_cutoff": ([3.0] * 50 + [0.0] * 16, 66 / 50, 0.0, "intermittent"),  # 1.32
    "just_below_it": ([3.0] * 50 + [0.0] * 15, 65 / 50, 0.0, "smooth"),
    "no_demand": ([0, 0, 0], np.nan, np.nan, "no_demand"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_hand_computed_case(name):
    history, adi, cv2, expected = CASES[name]
    found = demand_classes(_panel({name: history})).iloc[0]
    np.testing.assert_allclose([found["adi"], found["cv2"]], [adi, cv2], rtol=1e-12)
    assert found["demand_class"] == expected


def test_champions_get_their_series_class_and_the_run_a_line():
    panel = _panel({name: case[0] for name, case in CASES.items()})
    champions = pd.DataFrame({"series_id": sorted(CASES), "model": "naive"})
    out = with_demand_classes(champions, panel)
    assert out.set_index("series_id")["demand_class"].to_dict() == {
        name: case[3] for name, case in CASES.items()
    }
    assert (
        demand_note(out)
        == "demand classes: smooth 2, erratic 1, intermittent 3, lumpy 1, no_demand 1"
    )
