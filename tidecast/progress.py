"""Progress lines for long work: stage by stage, and per chunk of series within a stage.

Everything goes through the `tidecast` logger; the CLI shows it in the terminal and
Prefect forwards it to the run's logs when `tidecast` is among its extra loggers.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("tidecast")


def report(stage: str, message: str) -> None:
    """One progress line, e.g. `[backtest] chunk 2/5: 1000 series`."""
    logger.info("[%s] %s", stage, message)
