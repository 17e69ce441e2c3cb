"""Table definitions: the contract between tidecast and the tools that read its output.

One `MetaData` with a naming convention, so constraint names are the same on SQLite
and PostgreSQL. Versioned migrations in `migrations/` build and upgrade the schema (a
change here is a new revision there); the views are in the newest `migrations/views_*.sql`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SERIES_ID_MAX = 255
JOB_MAX = 64  # a job's name (tidecast.yaml); every run belongs to exactly one job

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The input. Users with their own table point sql/source_observations.sql at it instead.
observations = Table(
    "observations",
    metadata,
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("ts", DateTime, primary_key=True),
    Column("value", Float),
)

forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    # The job the run belongs to: every table keyed by run_id is per job through it.
    Column("job", String(JOB_MAX), nullable=False, index=True),
    Column("prefect_flow_run_id", String(36)),
    Column("flow_name", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # running | completed | failed
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("parameters", JSON),
    Column("rows_read", Integer),
    Column("rows_rejected", Integer),
    # rows used as observed (interpolated points not counted): read = used + rejected
    Column("rows_used", Integer),
    Column("data_watermark", DateTime),  # the latest timestamp this run read
    Column("series_forecast", Integer),
    Column("series_skipped", JSON),  # {series_id: reason}
    Column("model_seconds", JSON),  # {model: seconds spent fitting and predicting}
    Column("stage_seconds", JSON),  # {step name: wall seconds}, in the order the steps ran
    Column("gaps_filled", Integer),  # missing grid points interpolated by validation
    # [{model, stage, kind, where, detail, series_count, series}] (tasks/failures.py)
    Column("failures", JSON),
    Column("message", Text),  # why a run failed, or a summary of a completed one
    Column("code_version", String(64)),
    Column("freq", String(16)),  # the pandas frequency the run forecast on, e.g. MS
    Column("unit", String(64)),  # what the values measure (the job's `unit`), for BI
    # covariate rows (tasks/covariates.py), NULL when the job has no covariate source:
    # read = used + rejected, as for observations
    Column("covariate_rows_read", Integer),
    Column("covariate_rows_rejected", Integer),
    Column("covariate_rows_used", Integer),
)

# Quarantine: raw values as text, so a value that is not even a number is kept as read.
rejected_observations = Table(
    "rejected_observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("series_id", Text),
    Column("ts", Text),
    Column("value", Text),
    Column("check_name", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)

# Covariate quarantine, like rejected_observations (raw values as text).
rejected_covariates = Table(
    "rejected_covariates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("series_id", Text),
    Column("ts", Text),
    Column("name", Text),
    Column("value", Text),
    Column("kind", Text),
    Column("known_at", Text),
    Column("check_name", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)

backtest_scores = Table(
    "backtest_scores",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("fold", Integer, primary_key=True),
    Column("cutoff", DateTime, nullable=False),
    Column("mase", Float),
    Column("smape", Float),
    Column("rmse", Float),
    Column("coverage_80", Float),
    Column("coverage_95", Float),
)

# One row per series per completed run: history is appended, never overwritten.
champions = Table(
    "champions",
    metadata,
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("run_id", String(36), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("score", Float),
    Column("metric", String(16), nullable=False),
    Column("promoted_at", DateTime, nullable=False),
    Column("previous_model", String(64)),
    Column("reason", Text),
    Column("members", Text),  # comma-separated members when the champion is an ensemble
    # the series' demand class on the history the run read (tasks/demand.py; revision 0004)
    Column("adi", Float),
    Column("cv2", Float),
    Column("demand_class", String(16)),
)

# What drove each model of a retrain, on its fit at the last backtest fold
# (tasks/importance.py): `method` linear_contribution (ridge, exact) or
# permutation_last_fold (the rise in MASE when the feature's values are shuffled).
feature_importance = Table(
    "feature_importance",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("feature", String(128), primary_key=True),
    Column("method", String(32), primary_key=True),
    Column("importance", Float),
)

# Interval calibration of a run: quantiles of backtest errors scaled by each series' MASE
# scale, per model and step. The forecast flow reuses the latest retrain's.
interval_calibration = Table(
    "interval_calibration",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("yhat_lower_95", Float),
    Column("yhat_lower_80", Float),
    Column("yhat_upper_80", Float),
    Column("yhat_upper_95", Float),
)

forecasts = Table(
    "forecasts",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("ts", DateTime, primary_key=True),
    Column("step", Integer, nullable=False),
    Column("model", String(64), nullable=False),
    Column("yhat", Float, nullable=False),
    Column("yhat_lower_80", Float),
    Column("yhat_upper_80", Float),
    Column("yhat_lower_95", Float),
    Column("yhat_upper_95", Float),
    Column("created_at", DateTime, nullable=False),
    # The period `ts` labels: its first instant and the next period's (exclusive), so BI
    # needs no calendar arithmetic whether the grid labels periods by start or end.
    Column("period_start", DateTime),
    Column("period_end", DateTime),
)


# The model registry: one row per model fitted for forecasting in a retrain. Global models
# keep their weights in `artifact_path` (checked against `sha256` before loading); local
# models are refitted from `params` on the newest data.
model_versions = Table(
    "model_versions",
    metadata,
    Column("version_id", String(36), primary_key=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("model", String(64), nullable=False),
    Column("params", JSON),
    Column("data_start", DateTime),
    Column("data_end", DateTime),
    Column("series_count", Integer),
    Column("artifact_path", Text),
    Column("sha256", String(64)),
    Column("backtest_mase", Float),
    Column("created_at", DateTime, nullable=False),
)


# Live accuracy: each forecast point scored once its actual has arrived (the live
# counterpart of backtest_scores). `run_id` is the run that scored it.
forecast_accuracy = Table(
    "forecast_accuracy",
    metadata,
    Column("forecast_run_id", String(36), primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("ts", DateTime, primary_key=True),
    Column("step", Integer, nullable=False),
    Column("model", String(64), nullable=False),
    Column("y", Float, nullable=False),
    Column("yhat", Float, nullable=False),
    Column("abs_error", Float, nullable=False),
    Column("scaled_error", Float, nullable=False),  # abs_error / the series' MASE scale
    Column("inside_80", Integer, nullable=False),  # 1 when y is inside the 80% interval
    Column("inside_95", Integer, nullable=False),
    Column("week_start", DateTime, nullable=False),  # Monday of ts's week, for BI rollups
    Column("run_id", String(36), nullable=False, index=True),
    Column("scored_at", DateTime, nullable=False),
)

# Series whose live accuracy fell behind their champion's backtest: flagged for retraining.
degraded_series = Table(
    "degraded_series",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("live_mase", Float, nullable=False),
    Column("backtest_mase", Float, nullable=False),
    Column("points", Integer, nullable=False),
    Column("flagged_at", DateTime, nullable=False),
)

# Where the forecast flow starts reading each series: its lookback window before the
# newest timestamp the last run saw (series not listed are read whole). Replaced by every
# run that completes.
series_read_windows = Table(
    "series_read_windows",
    metadata,
    Column("job", String(JOB_MAX), primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("last_ts", DateTime, nullable=False),
    Column("read_from", DateTime, nullable=False),
    Column("run_id", String(36), nullable=False),
)

# `tidecast backfill`: the forecasts each past cutoff would have had (a retrain on the data
# up to it), scored against the actuals known now. Never read by latest_forecasts.
backfill_forecasts = Table(
    "backfill_forecasts",
    metadata,
    Column("job", String(JOB_MAX), primary_key=True),
    Column("cutoff", DateTime, primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("ts", DateTime, primary_key=True),
    Column("step", Integer, nullable=False),
    Column("model", String(64), nullable=False),
    Column("yhat", Float, nullable=False),
    Column("yhat_lower_80", Float),
    Column("yhat_upper_80", Float),
    Column("yhat_lower_95", Float),
    Column("yhat_upper_95", Float),
    Column("y", Float),  # the actual, where known
    Column("abs_error", Float),
    Column("scaled_error", Float),
    Column("run_id", String(36), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
)

# The champion's backtest forecasts of each series, per fold: what the run report plots.
champion_backtest_forecasts = Table(
    "champion_backtest_forecasts",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("series_id", String(SERIES_ID_MAX), primary_key=True),
    Column("fold", Integer, primary_key=True),
    Column("ds", DateTime, primary_key=True),
    Column("model", String(64), nullable=False),
    Column("y", Float),
    Column("yhat", Float),
)
