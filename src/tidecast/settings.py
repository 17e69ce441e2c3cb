"""The one settings object of a run: the job's, from the CLI flags (or a deployment's
parameters), then the job's entry in the jobs file (`tidecast.jobs`), then `TIDECAST_*`
environment variables, then the defaults.

It is built once at the edge (the CLI or a flow's entry) and passed down; no other
module reads the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tidecast.errors import TidecastError
from tidecast.jobs import DEFAULT_JOB, JOB_NAME, job_entry, job_names, jobs_file_path
from tidecast.sql import SQL_DIR

# A table or schema name tidecast will put into SQL: plain identifiers only (PostgreSQL's
# 63-byte limit), so nothing from settings can smuggle SQL in; quoting is SQLAlchemy's.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# A Dask scheduler: protocol, host, port.
DASK_ADDRESS = re.compile(r"(tcp|tls|ucx|ws|wss)://[A-Za-z0-9.\-_\[\]:]+:\d{1,5}")
# A holiday region: ISO 3166 country code, optionally a subdivision code (US, DE-BY).
HOLIDAY_REGION = re.compile(r"[A-Z]{2,3}(-[A-Z0-9]{1,4})?")
# Prefect block names are slugs.
BLOCK_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


class Settings(BaseSettings):
    """Everything a tidecast run can be told. Environment: `TIDECAST_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="TIDECAST_", extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The job's entry ranks between what is given (flags, a deployment's parameters)
        # and the environment (what every job shares).
        return (init_settings, JobFileSource(settings_cls), env_settings)

    # Excluded from every dump and repr: the settings travel to a flow as its `settings`
    # parameter, and Prefect records parameters (as model_dump) where anyone can read them.
    database_url: str = Field(
        "sqlite:///tidecast.db",
        description="SQLAlchemy URL of the database holding observations and forecast tables.",
        exclude=True,
        repr=False,
    )
    auto_migrate: bool = Field(
        False,
        description="Migrate a database whose schema is behind this tidecast's at the "
        "start of every command; off by default, so a production database changes only "
        "when someone runs `tidecast migrate`.",
    )
    job: str = Field(
        DEFAULT_JOB,
        description="The forecasting job this run belongs to (a name in the jobs file, "
        "tidecast.yaml); `default` is the set-up given by the environment alone. Its "
        "rows carry the name, so jobs share one database.",
    )
    jobs_file: Path | None = Field(
        None,
        description="The file declaring the jobs (a `jobs:` list); default tidecast.yaml "
        "in the working directory when there is one.",
    )
    unit: str | None = Field(
        None,
        max_length=64,
        description="What the values measure (units, EUR, kWh): shown to BI in "
        "latest_forecasts and forecast_history.",
    )
    database_url_secret: str | None = Field(
        None,
        description="Name of a Prefect Secret block holding the database URL; when set, it "
        "is used instead of database_url.",
    )
    source_query: Path = Field(
        default_factory=lambda: _default_source_query(),
        description="SQL file returning the columns series_id, ts, value; default "
        "sql/source_observations.sql in the working directory when there is one (a "
        "checkout), else the copy installed with tidecast.",
    )
    source_table: str | None = Field(
        None,
        description="Table (or schema.table) with the columns series_id, ts, value; when "
        "set, it is read instead of the source query.",
    )
    covariates_table: str | None = Field(
        None,
        description="Table (or schema.table) of covariates: series_id (NULL: every "
        "series), ts, name, value, kind (future or past), optionally known_at; "
        "docs/covariates.md.",
    )
    covariates_query: Path | None = Field(
        None,
        description="SQL file returning the covariates' columns; used when "
        "covariates_table is not set.",
    )
    static_table: str | None = Field(
        None,
        description="Table (or schema.table) of static attributes: series_id, attribute, "
        "value; the attribute holiday_region gives each series its own holiday calendar, "
        "the others become static features of the models (docs/covariates.md).",
    )
    static_query: Path | None = Field(
        None,
        description="SQL file returning the static attributes' columns; used when "
        "static_table is not set.",
    )
    holidays: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="Holiday regions whose calendars become covariates of every series, "
        "comma separated: a country code, optionally with a subdivision (US, DE-BY).",
    )
    artifacts_dir: Path = Field(
        Path("artifacts"), description="Where fitted model weights are kept between runs."
    )
    horizon: int = Field(12, ge=1, description="Steps to forecast.")
    freq: str | None = Field(None, description="pandas frequency, e.g. MS; inferred when unset.")
    season_length: int | None = Field(
        None, ge=1, description="Seasonal period; derived from the frequency when unset."
    )
    folds: int = Field(
        3, ge=1, description="Rolling-origin backtest folds, cutoffs `horizon` apart."
    )
    preset: Literal["fast", "default", "best"] = Field(
        "default",
        description="The zoo to backtest when `models` is not given: fast (baselines and "
        "two Theta models), default (adds AutoETS, AutoARIMA for season lengths up to 4, "
        "and ridge), best (adds AutoARIMA at every season length and the N-BEATS "
        "ensemble). docs/models.md lists them.",
    )
    models: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description="Models to backtest, comma separated; replaces the preset's zoo.",
    )
    forecast_lookback: int | None = Field(
        None,
        ge=1,
        description="Periods of each series' history the forecast flow reads, back from the "
        "newest timestamp the last run saw of it; default max(10 seasons, 4 horizons, 48).",
    )
    retrain_max_history: int | None = Field(
        None,
        ge=1,
        description="Periods of history retrain reads, back from the newest data a "
        "completed run has read (its watermark); default: all of it.",
    )
    max_rejected_share: float = Field(
        0.05, ge=0.0, le=1.0, description="Fail the run when more rows than this are quarantined."
    )
    max_abs_value: float = Field(
        1e15, gt=0, description="Rows with a larger |value| are quarantined (value_too_large)."
    )
    nonnegative: bool = Field(
        False,
        description="The target cannot be negative: negative rows are quarantined and "
        "forecasts and interval bounds are clipped at 0 (a series whose history is never "
        "negative gets them clipped without it).",
    )
    ts_format: str | None = Field(
        None,
        description="How the source writes text timestamps: a strftime format such as "
        "%d/%m/%Y or ISO8601. Unset: the one format that reads the most of them, and the run "
        "is refused when two formats (day-first, month-first) read them all differently.",
    )
    max_filled_share: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="Quarantine a series (too_many_gaps) when more than this share of its "
        "grid points would be interpolated.",
    )
    chunk_size: int = Field(
        1000,
        ge=1,
        description="Most series per chunk of the backtest and the final fits; each chunk "
        "is one Prefect task.",
    )
    runner: Literal["local", "dask"] = Field(
        "local",
        description="Where chunk tasks run: local (a process per worker on this machine) "
        "or dask (a Dask cluster, local or at dask_address).",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Chunk tasks run at once: processes of the local runner, workers of a "
        "local Dask cluster; the backtest makes at least this many chunks (default: all cores).",
    )
    dask_address: str | None = Field(
        None,
        description="Scheduler of an existing Dask cluster, tcp://host:port (with runner "
        "dask); unset starts a local cluster.",
    )
    ensemble_top_k: int = Field(
        3, ge=0, description="Members of the top-k ensembles per series; 0 turns ensembles off."
    )
    promotion: Literal["combination", "per_series"] = Field(
        "combination",
        description="How each series' challenger is chosen: combination (the run's "
        "strongest fixed choice, pooled over all series, unless another candidate beat it "
        "clearly on every fold of the series) or per_series (the lowest mean backtest "
        "score of the series).",
    )
    override_threshold: float = Field(
        0.3,
        ge=0,
        lt=1,
        description="With promotion=combination: the share by which a candidate must beat "
        "the run's default on every fold of a series to be chosen for it instead.",
    )
    override_min_folds: int = Field(
        3,
        ge=1,
        description="With promotion=combination: folds a series needs before any candidate "
        "may replace the run's default on it.",
    )
    selection_metric: Literal["mase", "smape", "rmse"] = Field(
        "mase", description="Backtest metric that ranks models per series."
    )
    champion_margin: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="A challenger must beat the current champion's score by this share.",
    )
    seed: int = Field(0, description="Seed for every model that draws random numbers.")
    n_jobs: int = Field(
        1,
        ge=1,
        description="Processes within one fit of auto_arima, auto_theta or auto_ces (the "
        "other models fit in the worker's process); the runner already spreads chunks over "
        "the cores, so more only pays when there are fewer chunks than cores.",
    )
    train_max_steps: int = Field(
        1000,
        ge=1,
        description="At most this many training steps per torch model fit (its budget is "
        "passes over the training windows, within this).",
    )
    train_max_seconds: float = Field(
        120.0, gt=0, description="Wall-time cap per torch model fit (a safety net)."
    )
    model_time_budget_seconds: float = Field(
        1800.0,
        gt=0,
        description="Wall-time budget of one model fit and forecast on one chunk (backtest "
        "fold or final fit); past it the model is abandoned for that chunk and its series "
        "fall back.",
    )
    degradation_factor: float = Field(
        1.5,
        gt=1,
        description="A series is flagged for retraining when its champion's live MASE is "
        "worse than its backtest MASE by this factor.",
    )
    degradation_window: int = Field(
        12, ge=1, description="Live MASE is measured over this many most recent periods."
    )
    degradation_min_points: int = Field(
        3, ge=1, description="Scored points a series needs in that window to be judged."
    )
    html_report: bool = Field(
        True,
        description="Write the HTML run report (artifacts_dir/reports/<run_id>.html) at the "
        "end of each retrain, linked from the Prefect flow run.",
    )
    retrain_cron: str = Field(
        "0 2 * * 0", description="When `tidecast serve` runs retrain (cron; default Sunday 02:00)."
    )
    forecast_cron: str = Field(
        "0 3 * * *", description="When `tidecast serve` runs forecast (cron; default daily 03:00)."
    )
    schedule_timezone: str = Field(
        "UTC", description="IANA time zone of those schedules, e.g. Europe/Berlin."
    )
    io_retries: int = Field(
        2, ge=0, description="Retries of a database task that failed to connect."
    )
    io_retry_delay_seconds: float = Field(
        5.0,
        ge=0,
        description="Seconds before the first of those retries; each next waits twice as long.",
    )

    # Whether database_url already holds the value of the database_url_secret block.
    _secret_resolved: bool = PrivateAttr(False)

    def with_overrides(self, **overrides: Any) -> Settings:
        """These settings with some fields replaced (None means keep), validated as a whole."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if not given:
            return self
        updated = _validated({**dict(self), **given})
        updated._secret_resolved = self._secret_resolved
        return updated

    def backtest_models(
        self,
        season_length: int,
        n_series: int | None = None,
        covariate_kinds: tuple[str, ...] = (),
    ) -> list[str]:
        """The models to backtest: those asked for (or the preset's zoo for this season
        length and number of series, with its covariate models taking some of the kinds of
        covariates the run has), plus seasonal naive, always a candidate."""
        from tidecast.models.registry import preset_models

        models = self.models or preset_models(self.preset, season_length, n_series, covariate_kinds)
        return [*models, *(["seasonal_naive"] if "seasonal_naive" not in models else [])]

    def skipped_models(self, n_series: int) -> list[str]:
        """Why the preset's models that `backtest_models` left out for this panel's size
        were left out (nothing when the models are named)."""
        from tidecast.models.registry import too_few_series

        return [] if self.models else list(too_few_series(self.preset, n_series).values())

    def run_parameters(self) -> dict[str, Any]:
        """The settings as recorded on a run row: everything but the database URL (credentials)."""
        return self.model_dump(mode="json")

    def forecast_lookback_periods(self, season_length: int) -> int:
        """How far back the forecast flow reads per series: enough for every model to refit."""
        return self.forecast_lookback or max(10 * season_length, 4 * self.horizon, 48)

    @property
    def source_description(self) -> str:
        """Where observations come from, as messages name it: a table with the setting to
        change (the job's entry in the jobs file, when it set the table), or the query file."""
        if not self.source_table:
            return f"the source query {self.source_query}"
        entry = job_entry(self.jobs_file, self.job, Settings.model_fields) if self.jobs_file else {}
        if entry.get("source_table") == self.source_table:
            where = f"source_table of job {self.job} in {self.jobs_file}"
        else:
            where = "TIDECAST_SOURCE_TABLE"
        return f"the source table {self.source_table} ({where})"

    def model_context(
        self,
        season_length: int,
        freq: str,
        future_covariates: tuple[str, ...] = (),
        past_covariates: tuple[str, ...] = (),
        static_covariates: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """What every model may be built with; each takes the parameters it names (and
        only the registry's covariate models take the covariates' names)."""
        return {
            "future_covariates": tuple(future_covariates),
            "past_covariates": tuple(past_covariates),
            "static_covariates": tuple(static_covariates),
            "season_length": season_length,
            "freq": freq,
            "horizon": self.horizon,
            "seed": self.seed,
            "n_jobs": self.n_jobs,
            "max_steps": self.train_max_steps,
            "max_seconds": self.train_max_seconds,
        }

    @field_validator("models", mode="before")
    @classmethod
    def _split_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("models")
    @classmethod
    def _known_models(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from tidecast.models.registry import MODELS

        unknown = [name for name in value if name not in MODELS]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; available: {sorted(MODELS)}")
        if not value:
            raise ValueError("at least one model is needed")
        return list(dict.fromkeys(value))  # a model named twice is one candidate

    @field_validator("holidays", mode="before")
    @classmethod
    def _split_regions(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [region.strip() for region in value.split(",") if region.strip()]
        return value

    @field_validator("holidays")
    @classmethod
    def _known_regions(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        from tidecast.calendars import region_calendar

        for region in value:
            if not HOLIDAY_REGION.fullmatch(region):
                raise ValueError(
                    f"{region!r} is not a holiday region such as US or DE-BY (a country "
                    "code, optionally - and a subdivision)"
                )
            try:
                region_calendar(region, range(2024, 2025))
            except TidecastError as exc:
                raise ValueError(str(exc).split(": ", 1)[1]) from None
        return value

    @field_validator("source_table", "covariates_table", "static_table")
    @classmethod
    def _plain_table_name(cls, value: str | None) -> str | None:
        if value is not None and not all(
            IDENTIFIER.fullmatch(part) for part in value.split(".", 1)
        ):
            raise ValueError(
                "must be a table name or schema.table, each part letters, digits and _ "
                "(not starting with a digit, at most 63 characters)"
            )
        return value

    @field_validator("job")
    @classmethod
    def _job_name(cls, value: str) -> str:
        if not JOB_NAME.fullmatch(value):
            raise ValueError(
                "must be a job name: lowercase letters, digits, _ and - (at most 64), "
                "starting with a letter or digit"
            )
        return value

    @field_validator("dask_address")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        if value is not None and not DASK_ADDRESS.fullmatch(value):
            raise ValueError("must be a Dask scheduler address such as tcp://10.0.0.5:8786")
        return value

    @field_validator("database_url_secret")
    @classmethod
    def _block_name(cls, value: str | None) -> str | None:
        if value is not None and not BLOCK_NAME.fullmatch(value):
            raise ValueError("must be a Prefect block name: lowercase letters, digits and -")
        return value

    @field_validator("retrain_cron", "forecast_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        # The test Prefect's CronSchedule applies (croniter, without its random and hashed
        # R/H fields), here without importing Prefect.
        from croniter import croniter

        fields = value.split()
        if not croniter.is_valid(value) or any(f.casefold() in ("r", "h") for f in fields):
            raise ValueError(f"{value!r} is not a cron expression such as '0 2 * * 0'")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("freq")
    @classmethod
    def _valid_freq(cls, value: str | None) -> str | None:
        if value is not None:
            from tidecast.frequency import make_grid

            make_grid(value)
        return value


class JobFileSource(PydanticBaseSettingsSource):
    """The settings the jobs file declares for the job being built (tidecast.jobs)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole entry

    def __call__(self) -> dict[str, Any]:
        job, path = _which_job(self.current_state)
        if not JOB_NAME.fullmatch(job):
            return {}  # the job field's own check names the problem
        entry = job_entry(path, job, self.settings_cls.model_fields)
        return {**entry, "jobs_file": path} if path is not None else entry


def _which_job(given: dict[str, Any]) -> tuple[str, Path | None]:
    """(job, jobs file) of settings being built: as given, else from the environment."""
    job = given.get("job") or os.environ.get("TIDECAST_JOB") or DEFAULT_JOB
    if not isinstance(job, str) or not JOB_NAME.fullmatch(job):
        return str(job), None
    return job, _jobs_file(given.get("jobs_file"))


def _jobs_file(given: str | Path | None) -> Path | None:
    """The jobs file: `given`, else TIDECAST_JOBS_FILE, else tidecast.yaml here, else None."""
    return jobs_file_path(given or os.environ.get("TIDECAST_JOBS_FILE"))


def declared_jobs(jobs_file: Path | None = None) -> tuple[list[str], Path | None]:
    """The jobs there are, and the file declaring them (`_jobs_file`; without one: job
    default alone)."""
    path = _jobs_file(jobs_file)
    return job_names(path, Settings.model_fields), path


def _default_source_query() -> Path:
    """The source query a user edits: the working directory's, not site-packages'."""
    here = Path("sql") / "source_observations.sql"
    return here.resolve() if here.is_file() else SQL_DIR / "source_observations.sql"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings of one job from the flags (`overrides`; None means unset), the
    job's entry in the jobs file, and the environment, in that order of priority.

    Invalid values become one `TidecastError` naming the setting (and the job, for a
    value from the jobs file) and how to set it.
    """
    return _validated({k: v for k, v in overrides.items() if v is not None})


def _validated(given: dict[str, Any]) -> Settings:
    try:
        return Settings(**given)
    except TidecastError:
        raise
    except ValidationError as exc:
        job, path = _which_job(given)
        entry = job_entry(path, job, Settings.model_fields) if JOB_NAME.fullmatch(job) else {}
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            if error["loc"] and error["loc"][0] in entry and error["loc"][0] not in given:
                where = f"job {job!r} in {path}"
            else:
                where = f"flag --{name.replace('_', '-')} or TIDECAST_{name.upper()}"
            problems.append(f"{name} ({where}): {error['msg']}")
        raise TidecastError("invalid setting: " + "; ".join(problems)) from None
