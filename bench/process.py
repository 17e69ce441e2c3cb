"""Run the `tidecast` command as a user would, and measure it: wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def run_tidecast(args: list[str], workdir: Path, env: dict[str, str] | None = None) -> dict:
    """`tidecast <args>` in `workdir`, its output in `workdir/tidecast.log`.

    Returns the wall seconds; `peak_rss_mb`, the peak RSS (MB) of the largest process of
    the command (what `wait4` reports for this child: its own or a worker's, not their
    sum); and `peak_tree_rss_mb`, the peak of the RSS summed over the process and all its
    descendants (task-runner workers, a local Dask cluster), sampled every 0.25 s. A
    failure ends the benchmark with the command's output.
    """
    command = [str(Path(sys.executable).parent / "tidecast"), *args]
    log = workdir / "tidecast.log"
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(
            command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env
        )
        sampler = TreeMemory(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        sampler.stop()
    wall = time.perf_counter() - started
    if status:
        sys.exit(f"tidecast {' '.join(args)} failed; its output:\n{log.read_text()}")
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_tree_rss_mb": sampler.peak_mb,
        "log": log,
    }


class TreeMemory(threading.Thread):
    """Samples the RSS of a process plus all its descendants; keeps the peak of the sums."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.wait(self.every_s):
            total = 0
            try:
                for process in [root, *root.children(recursive=True)]:
                    try:
                        total += process.memory_info().rss
                    except psutil.NoSuchProcess:  # a worker that just ended
                        continue
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def stop(self) -> None:
        self._done.set()
        self.join()
