"""What a `tidecast` command starts stops with it, even when the command is killed.

Prefect's temporary server (uvicorn, ~225 MB), `tidecast serve`'s local server, process
pool and Dask workers are child processes. When the command ends normally they are
stopped by their owners; after `kill -9` nothing runs to stop them, and they would stay
up for minutes or forever. A small watchdog process, forked before anything else starts,
notes the command's descendants every second and, once the command is gone, stops the
ones still running (SIGTERM, then SIGKILL after 10 s). Linux only (it reads /proc).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_PROC = Path("/proc")
_POLL_SECONDS = 1.0
_GRACE_SECONDS = 10.0


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) of every process now."""
    table = {}
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = (_PROC / entry.name / "stat").read_bytes()
        except OSError:  # it ended while we looked
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # the name may hold spaces
        table[int(entry.name)] = (int(fields[1]), int(fields[19]))
    return table


def _descendants(root: int, exclude: int) -> set[tuple[int, int]]:
    """(pid, start time) of every process below `root`, but `exclude`."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child != exclude:
                found.add((child, table[child][1]))
                todo.append(child)
    return found


def _alive(process: tuple[int, int]) -> bool:
    """Whether this very process (not a later one with its pid) still runs."""
    pid, started = process
    try:
        stat = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return False
    return int(stat[stat.rfind(b")") + 2 :].split()[19]) == started


def _stop(processes: set[tuple[int, int]]) -> None:
    for sig, wait in ((signal.SIGTERM, _GRACE_SECONDS), (signal.SIGKILL, 0.0)):
        processes = {p for p in processes if _alive(p)}
        for pid, _ in processes:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while processes and time.monotonic() < deadline:
            time.sleep(0.2)
            processes = {p for p in processes if _alive(p)}


def _watch(command: int) -> None:
    me = os.getpid()
    seen: set[tuple[int, int]] = set()
    while os.getppid() == command:  # reparented once the command is gone
        seen = _descendants(command, exclude=me)
        time.sleep(_POLL_SECONDS)
    _stop(seen)


def stop_children_with_this_process() -> None:
    """Fork the watchdog; call it first thing in the command, before any thread starts."""
    if not (_PROC / "self" / "stat").exists():
        return
    command = os.getpid()
    if os.fork() != 0:
        return
    try:
        # Its own session: Ctrl-C, or a signal to the command's process group, leaves it
        # to finish its job once the command has ended. Nothing of the command's open
        # files: a caller reading the command's output sees its end when the command ends.
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _watch(command)
    finally:
        os._exit(0)
