"""Jobs: named forecasting set-ups declared in one file, `tidecast.yaml`.

    jobs:
      - name: daily-sales
        source_query: sql/daily_sales.sql   # relative to this file
        freq: D
        horizon: 28
        retrain_cron: "0 1 * * *"
      - name: monthly-finance
        source_table: finance.kpis
        freq: MS
        horizon: 12
        unit: EUR

Each entry sets settings (the names of `Settings`' fields) for its job. A job's settings
are, by priority: the command's flags (or a deployment's parameters), the job's entry,
the `TIDECAST_*` environment, the defaults. So the environment holds what the jobs
share (the database, the workers) and each entry what is its own.

Without a jobs file there is one job, `default`, set by the environment alone (what
tidecast did before jobs). With one, the jobs are those it declares; `default` is one of
them only when declared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tidecast.errors import TidecastError

JOBS_FILE = "tidecast.yaml"
DEFAULT_JOB = "default"
# A job's name: it goes into table rows, lock names, flow run and deployment names.
JOB_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# Settings a job cannot set for itself: jobs share one database, and which job or file
# is meant is decided before the file is read.
SHARED = {"job", "jobs_file", "database_url", "database_url_secret", "auto_migrate"}
# Settings naming files: relative to the jobs file, not to where a command runs.
_PATHS = {"source_query", "artifacts_dir"}


def of_job(job: str) -> str:
    """How a message names the job: nothing for `default` (a set-up without jobs reads as
    before jobs existed), else ` of job '<name>'`."""
    return "" if job == DEFAULT_JOB else f" of job {job!r}"


def job_flag(job: str) -> str:
    """How a command line names the job: nothing for `default`, else ` --job <name>`."""
    return "" if job == DEFAULT_JOB else f" --job {job}"


def jobs_file_path(given: str | Path | None) -> Path | None:
    """The jobs file: `given`, else tidecast.yaml in the working directory, else None."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise TidecastError(
                f"jobs file {path} does not exist (flag --jobs-file or TIDECAST_JOBS_FILE)"
            )
        return path.resolve()
    here = Path(JOBS_FILE)
    return here.resolve() if here.is_file() else None


def read_jobs(path: Path, settings_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every job the file declares: {name: its settings}, in the file's order.

    Anything that is not a list of jobs with known settings and distinct valid names
    is refused with the file, the job and the key named. Values are checked later, by
    the settings object, when a job's settings are built.
    """
    import yaml

    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise TidecastError(f"{path} is not valid YAML{where}: {problem}") from None
    if not isinstance(document, dict) or set(document) != {"jobs"}:
        found = sorted(document) if isinstance(document, dict) else type(document).__name__
        raise TidecastError(f"{path} must hold one key, `jobs:` (a list of jobs); found {found}")
    entries = document["jobs"]
    if not isinstance(entries, list) or not entries:
        raise TidecastError(f"{path}: `jobs:` must be a non-empty list of jobs")
    known = set(settings_names) - SHARED
    jobs: dict[str, dict[str, Any]] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise TidecastError(f"{path}: job {number} must be a mapping with a `name:`")
        name = entry["name"]
        if not JOB_NAME.fullmatch(name):
            raise TidecastError(
                f"{path}: job {number}'s name {name!r} must be lowercase letters, digits, "
                "_ and - (at most 64), starting with a letter or digit"
            )
        if name in jobs:
            raise TidecastError(f"{path}: job {name!r} is declared twice; job names are unique")
        settings = {key: value for key, value in entry.items() if key != "name"}
        unknown = sorted(set(settings) - known)
        if unknown:
            shared = sorted(set(unknown) & SHARED)
            why = (
                f"{', '.join(shared)} cannot be set per job (jobs share one database; set "
                "it in the environment or on the command line)"
                if shared
                else f"known settings: {', '.join(sorted(known))}"
            )
            raise TidecastError(f"{path}: job {name!r} has unknown key(s) {unknown}; {why}")
        for key in _PATHS & set(settings):
            if isinstance(settings[key], str) and not Path(settings[key]).is_absolute():
                settings[key] = str(path.parent / settings[key])
        jobs[name] = settings
    return jobs


def job_entry(path: Path | None, job: str, settings_names: Iterable[str]) -> dict[str, Any]:
    """The settings the jobs file gives `job` (none without a file, for `default`)."""
    if path is None:
        if job != DEFAULT_JOB:
            raise TidecastError(
                f"job {job!r} is not declared: there is no jobs file ({JOBS_FILE} in the "
                "working directory, or TIDECAST_JOBS_FILE), and without one the only job "
                f"is {DEFAULT_JOB!r}"
            )
        return {}
    jobs = read_jobs(path, settings_names)
    if job not in jobs:
        raise TidecastError(
            f"job {job!r} is not declared in {path}; its jobs: {', '.join(jobs)} "
            "(choose one with --job or TIDECAST_JOB)"
        )
    return jobs[job]


def job_names(path: Path | None, settings_names: Iterable[str]) -> list[str]:
    """The jobs there are: those the file declares, or `default` without a file."""
    return list(read_jobs(path, settings_names)) if path is not None else [DEFAULT_JOB]
