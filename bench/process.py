"""Run the `tidecast` command as a user would, and measure it: wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def run_tidecast(args: list[str], workdir: Path, env: dict[str, str] | None = None) -> dict:
    """`tidecast <args>` in `workdir`, its output in `workdir/tidecast.log`.

    Returns the wall seconds and the peak RSS (MB) of that process and its workers (what
    `wait4` reports for this child: the largest of them, not their sum). A failure ends
    the benchmark with the command's output.
    """
    command = [str(Path(sys.executable).parent / "tidecast"), *args]
    log = workdir / "tidecast.log"
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(
            command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, env=env
        )
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status:
        sys.exit(f"tidecast {' '.join(args)} failed; its output:\n{log.read_text()}")
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "log": log}
