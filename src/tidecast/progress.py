"""Progress lines for long work: stage by stage, and per chunk of series within a stage.

Everything goes through the `tidecast` logger; the CLI shows it in the terminal, and
every flow run sends it to its Prefect logs (`tidecast.edge.prefect_logs`), however it started:
the CLI, `tidecast serve`, or a deployment's worker.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("tidecast")


def report(stage: str, message: str) -> None:
    """One progress line, e.g. `[backtest] chunk 2/5: 1000 series`."""
    logger.info("[%s] %s", stage, message)


def show_in_terminal() -> None:
    """Print progress lines on stdout, time-stamped (the CLI, and its chunk-task workers)."""
    if any(getattr(handler, "tidecast_terminal", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler.tidecast_terminal = True
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
