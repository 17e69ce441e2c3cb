"""How a run's model work is cut into chunks of series: one layout for the backtest and
the final fit alike.

A global model learns from every series at once, so its work is one chunk of every
series, and it goes first: it is the longest single task, and started last it would run
alone while the other workers wait. Local models run per chunk of series: contiguous
slices of the sorted panel with near-equal numbers of series, at most `chunk_size` each,
at least one per worker, and two per worker beside a global chunk (the worker that ran
the global models then takes a share of the local work instead of waiting).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from tidecast.tasks.covariates import CovariateInput

GLOBAL_LABEL = "all series"  # how progress lines and failures name the global chunk


class ChunkKind(Enum):
    """Whose work a chunk is: the global models' (every series) or the local models'."""

    GLOBAL = "global"
    LOCAL = "local"


@dataclass(kw_only=True)
class Chunk:
    """One unit of model work, a task of its own: some series (sorted rows), what it is
    (`kind`), how messages name it (`label`, e.g. "chunk 3/100"), and the covariates of its
    series for the models that use them."""

    panel: pd.DataFrame
    kind: ChunkKind
    label: str
    covariates: CovariateInput | None = None


def series_chunks(
    sorted_panel: pd.DataFrame, chunk_size: int, workers: int = 1
) -> list[pd.DataFrame]:
    """Contiguous row slices of a sorted panel with near-equal numbers of series: each at
    most `chunk_size` series, and at least `workers` slices while there are series to share.
    """
    codes, _ = pd.factorize(sorted_panel["series_id"], sort=False)
    if not len(codes):
        return []
    n_series = int(codes.max()) + 1
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    count = max(-(-n_series // chunk_size), min(workers, n_series))
    edges = bounds[np.linspace(0, n_series, count + 1).round().astype(int)]
    return [sorted_panel.iloc[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def local_chunks_at_least(workers: int, with_global_chunk: bool) -> int:
    """How many chunks the local models' series are cut into at least: one per worker;
    two per worker beside a global chunk."""
    return 2 * workers if with_global_chunk and workers > 1 else workers


def chunk_layout(
    ordered: pd.DataFrame,
    local_rows: pd.DataFrame | None,
    with_global: bool,
    chunk_size: int,
    workers: int = 1,
) -> list[tuple[ChunkKind, str, pd.DataFrame]]:
    """(kind, label, rows) of every chunk: the global chunk first (all of `ordered`) when
    there are global models and series, then the local chunks of `local_rows` (the rows of
    the series the local models run on; None: no local models)."""
    layout = []
    if with_global and len(ordered):
        layout.append((ChunkKind.GLOBAL, GLOBAL_LABEL, ordered))
    if local_rows is not None:
        parts = series_chunks(local_rows, chunk_size, local_chunks_at_least(workers, with_global))
        for number, part in enumerate(parts, start=1):
            layout.append((ChunkKind.LOCAL, f"chunk {number}/{len(parts)}", part))
    return layout
