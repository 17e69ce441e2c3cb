"""The jobs file: what it may say, how a job's settings are built, and what is refused."""

from __future__ import annotations

import pytest

from tidecast.cli import main
from tidecast.errors import TidecastError
from tidecast.settings import declared_jobs, load_settings

JOBS = """\
jobs:
  - name: daily
    source_query: sql/daily.sql
    freq: D
    horizon: 28
    unit: units
  - name: monthly
    source_table: finance.kpis
    horizon: 12
"""


@pytest.fixture
def jobs_file(tmp_path, monkeypatch):
    """tidecast.yaml in the working directory, as a user keeps it."""
    path = tmp_path / "tidecast.yaml"
    path.write_text(JOBS)
    monkeypatch.chdir(tmp_path)
    for name in ("TIDECAST_JOB", "TIDECAST_JOBS_FILE", "TIDECAST_HORIZON"):
        monkeypatch.delenv(name, raising=False)
    return path


def write(path, text: str):
    path.write_text(text)
    return path


def test_a_jobs_settings_rank_flags_over_its_entry_over_the_environment(jobs_file, monkeypatch):
    monkeypatch.setenv("TIDECAST_HORIZON", "5")
    monkeypatch.setenv("TIDECAST_FOLDS", "2")
    daily = load_settings(job="daily")
    assert (daily.freq, daily.horizon, daily.folds, daily.unit) == ("D", 28, 2, "units")
    assert daily.source_query == jobs_file.parent / "sql" / "daily.sql"  # beside the file
    assert load_settings(job="daily", horizon=7).horizon == 7
    assert declared_jobs() == (["daily", "monthly"], jobs_file)
    # a copy with one field changed keeps the job's other settings
    assert daily.with_overrides(horizon=3).freq == "D"


def test_without_a_jobs_file_the_only_job_is_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIDECAST_JOBS_FILE", raising=False)
    assert load_settings().job == "default"
    assert declared_jobs() == (["default"], None)
    with pytest.raises(TidecastError, match="job 'daily' is not declared: there is no jobs file"):
        load_settings(job="daily")


def test_a_job_the_file_does_not_declare_is_refused_with_the_jobs_it_has(jobs_file):
    with pytest.raises(TidecastError, match="job 'weekly' is not declared in .*: daily, monthly"):
        load_settings(job="weekly")
    # with a file, `default` is a job only when declared: no silent fallback to it
    with pytest.raises(TidecastError, match="job 'default' is not declared"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (JOBS + "  - name: daily\n", "job 'daily' is declared twice"),
        (JOBS + "    horizn: 3\n", r"job 'monthly' has unknown key\(s\) \['horizn'\]"),
        (
            JOBS + "    database_url: sqlite:///other.db\n",
            "database_url cannot be set per job",
        ),
        ("jobs:\n  - name: Daily Sales\n", "name 'Daily Sales' must be lowercase"),
        ("jobs: []\n", "non-empty list"),
        ("job:\n  - name: daily\n", "must hold one key, `jobs:`"),
        ("jobs:\n  - freq: D\n", "job 1 must be a mapping with a `name:`"),
        ("jobs:\n  - name: daily\n   freq: D\n", r"not valid YAML \(line 3\)"),
    ],
)
def test_a_malformed_jobs_file_is_one_error_naming_the_file_and_the_job(jobs_file, text, message):
    write(jobs_file, text)
    with pytest.raises(TidecastError, match=message):
        load_settings(job="daily")


def test_a_bad_value_in_the_file_names_the_job_and_the_field(jobs_file):
    write(jobs_file, JOBS.replace("horizon: 12", "horizon: 0"))
    with pytest.raises(TidecastError, match=r"horizon \(job 'monthly' in .*tidecast.yaml\)"):
        load_settings(job="monthly")
    # the same field given as a flag is the flag's mistake, not the file's
    with pytest.raises(TidecastError, match=r"horizon \(flag --horizon or TIDECAST_HORIZON\)"):
        load_settings(job="daily", horizon=-1)


def test_jobs_file_named_but_missing_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TidecastError, match="jobs file .*nowhere.yaml does not exist"):
        load_settings(jobs_file=tmp_path / "nowhere.yaml")


def test_jobs_list_show_and_validate(jobs_file, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'tidecast.db'}"
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "daily.sql").write_text(
        "SELECT 'a' AS series_id, '2026-01-01' AS ts, 1.0 AS value"
    )
    assert main(["jobs", "list", "--database-url", url]) == 0
    listed = capsys.readouterr().out
    assert "daily" in listed and "monthly" in listed and "2 job(s)" in listed
    assert (
        main(["jobs", "show", "--job", "daily", "--database-url", "postgresql://u:hunter2@db/x"])
        == 0
    )
    shown = capsys.readouterr().out
    assert "horizon: 28" in shown and "hunter2" not in shown
    # monthly reads a table that does not exist: validate says which job, and fails
    assert main(["jobs", "validate", "--database-url", url]) == 2
    out, err = capsys.readouterr()
    assert "daily: ok" in out and "monthly: the source table finance.kpis" in out
    # named as the file's setting, not the environment's
    assert f"(source_table of job monthly in {jobs_file})" in out
    assert err.startswith("error: 1 of 2 job(s) are not valid: monthly")
    (tmp_path / "sql" / "daily.sql").write_text("SELECT 'a' AS series_id, 1.0 AS value")
    assert main(["jobs", "validate", "--job", "daily", "--database-url", url]) == 2
    out, _ = capsys.readouterr()
    assert "daily: the source query" in out and "missing: ts" in out


def test_jobs_validate_runs_each_jobs_covariate_source_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("TIDECAST_JOB", "TIDECAST_JOBS_FILE"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'tidecast.db'}"
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "sales.sql").write_text(
        "SELECT 'a' AS series_id, '2026-01-01' AS ts, 1.0 AS value"
    )
    drivers = tmp_path / "sql" / "drivers.sql"
    drivers.write_text(
        "SELECT 'a' AS series_id, '2026-01-01' AS ts, 'promo' AS name, 1.0 AS value, "
        "'future' AS kind"
    )
    write(
        tmp_path / "tidecast.yaml",
        "jobs:\n  - name: shop\n    source_query: sql/sales.sql\n"
        "    covariates_query: sql/drivers.sql\n    holidays: US\n",
    )
    assert main(["jobs", "validate", "--database-url", url]) == 0
    assert "returns the covariate columns" in capsys.readouterr().out
    drivers.write_text("SELECT 'a' AS series_id, '2026-01-01' AS ts, 'promo' AS name, 1.0 AS value")
    assert main(["jobs", "validate", "--database-url", url]) == 2
    out, _ = capsys.readouterr()
    assert "shop: the covariates query" in out and "missing: kind" in out
