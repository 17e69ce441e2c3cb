"""Where a retrain's memory goes: resident memory before, after and at the peak of every
pipeline step, all steps in one process.

    .venv/bin/python bench/stage_memory.py --series 100000 \
        [--models naive,seasonal_naive,drift,seasonal_ses,ridge] [--workdir /tmp/stage-memory]

The section-2 panel (bench/synthetic.py, seed 0) is loaded once into a SQLite file under
`--workdir` (kept for later runs), then the retrain pipeline runs with `InProcess` steps:
read, validate, backtest, promote, calibrate, final fits and write, as `tidecast retrain`
composes them, but with the chunks in this process too, so one process holds everything
a run holds. A thread samples this process's resident set (VmRSS) every 20 ms; each
step's line gives it before and after the step and the highest it reached during it.
RSS keeps memory the allocator has not handed back, so "after" is an upper bound of what
the step left alive. Timings are those of one process on a quiet machine, not of the CLI.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import load  # noqa: E402
from bench.synthetic import synthetic_panel  # noqa: E402
from tidecast.settings import load_settings  # noqa: E402
from tidecast.tasks import pipeline  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Sampled(pipeline.InProcess):
    """`InProcess` steps that print each step's resident memory and time."""

    def __init__(self) -> None:
        self.peak = 0.0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)

    def _measured(self, fn: Callable, call: Callable[[], Any]) -> Any:
        before = self.peak = rss_mb()
        started = time.perf_counter()
        out = call()
        seconds = time.perf_counter() - started
        print(
            f"{fn.__name__:30s} {seconds:7.1f} s   RSS {before:6.0f} -> {rss_mb():6.0f} MB, "
            f"peak {self.peak:6.0f} MB",
            flush=True,
        )
        return out

    def step(self, fn: Callable, *args: Any, stage: str | None = None, **kwargs: Any) -> Any:
        return self._measured(fn, lambda: fn(*args, **kwargs))

    def io(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        return self._measured(fn, lambda: fn(*args, **kwargs))

    def map(
        self, fn: Callable, items: Sequence[Any], stage: str, each: Callable | None = None
    ) -> list:
        return self._measured(fn, lambda: super(Sampled, self).map(fn, items, stage, each))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--models", default="naive,seasonal_naive,drift,seasonal_ses,ridge")
    parser.add_argument("--workdir", default="/tmp/tidecast-stage-memory")
    args = parser.parse_args()
    workdir = Path(args.workdir) / str(args.series)
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    if not (workdir / "loaded").exists():
        load(url, synthetic_panel(args.series, seed=0))
        (workdir / "loaded").touch()
    settings = load_settings(
        database_url=url,
        horizon=12,
        freq="MS",
        season_length=12,
        folds=3,
        models=args.models.split(","),
        artifacts_dir=str(workdir / "artifacts"),
    )
    started = time.perf_counter()
    pipeline.retrain(pipeline.Run(settings, str(uuid.uuid4()), steps=Sampled()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.series} series: {time.perf_counter() - started:.0f} s, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
