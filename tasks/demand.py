"""Demand classes per series (Syntetos, Boylan & Croston, 2005): how often a series has
demand, and how much its non-zero demands vary.

* ADI, the average inter-demand interval: periods per non-zero period (1 when every
  period has demand);
* CV², the squared coefficient of variation of the non-zero demands (0 with one of them).

With the published cut-offs ADI 1.32 and CV² 0.49: `smooth` (frequent, steady),
`erratic` (frequent, varying sizes), `intermittent` (sparse, steady sizes), `lumpy`
(sparse, varying sizes); `no_demand` for a series that is zero throughout (no ADI). A
negative value counts as demand, so a series that is not demand at all (a temperature)
reads as smooth or erratic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "no_demand")


def demand_classes(panel: pd.DataFrame) -> pd.DataFrame:
    """`series_id`, `adi`, `cv2`, `demand_class` of every series of `panel` (`y`)."""
    if panel.empty:
        return pd.DataFrame(columns=["series_id", "adi", "cv2", "demand_class"])
    y = panel["y"].to_numpy(dtype=float)
    demand = y != 0
    frame = pd.DataFrame(
        {
            "series_id": panel["series_id"].to_numpy(),
            "demand": demand,
            "size": np.where(demand, y, np.nan),
        }
    )
    group = frame.groupby("series_id", sort=True)
    periods = group.size()
    nonzero = group["demand"].sum()
    mean = group["size"].mean()
    std = group["size"].std(ddof=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = (periods / nonzero).where(nonzero > 0)
        cv2 = ((std / mean) ** 2).where(nonzero > 0)
    sparse, varying = adi >= ADI_CUTOFF, cv2 >= CV2_CUTOFF
    classes = np.select(
        [nonzero == 0, ~sparse & ~varying, ~sparse & varying, sparse & ~varying],
        ["no_demand", "smooth", "erratic", "intermittent"],
        default="lumpy",
    )
    return pd.DataFrame(
        {
            "series_id": periods.index.to_numpy(),
            "adi": adi.to_numpy(dtype=float),
            "cv2": cv2.to_numpy(dtype=float),
            "demand_class": classes,
        }
    )


def with_demand_classes(champions: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """The champions with each series' `adi`, `cv2` and `demand_class` (on `panel`, the
    history the run read)."""
    classes = demand_classes(panel)
    out = champions.drop(columns=["adi", "cv2", "demand_class"], errors="ignore")
    keys = out["series_id"].astype(str)
    found = classes.assign(series_id=classes["series_id"].astype(str)).set_index("series_id")
    for column in ("adi", "cv2", "demand_class"):
        out[column] = keys.map(found[column]).to_numpy()
    return out


def demand_note(champions: pd.DataFrame) -> str | None:
    """The run message's line on the panel's demand classes."""
    if "demand_class" not in champions or champions.empty:
        return None
    counts = champions["demand_class"].value_counts()
    parts = [f"{name} {counts[name]}" for name in DEMAND_CLASSES if name in counts]
    return "demand classes: " + ", ".join(parts)
