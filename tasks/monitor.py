"""Live accuracy: score past forecasts once their actuals arrive, and flag degradation.

The live counterpart of the backtest: each forecast point of a completed run is scored
once (absolute and scaled error, inside its 80%/95% interval) by the first run that sees
its actual. A series whose champion's live MASE over the recent window is worse than its
backtest MASE by `degradation_factor` is flagged for retraining, and the run publishes
the Prefect event `tidecast.accuracy.degraded`, which an automation (or the trigger on
the `retrain` deployment in prefect.yaml) can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, TextClause, bindparam

from tidecast.db import connected, insert_frame, read_frame, replace_run_rows, utcnow
from tidecast.frequency import make_grid
from tidecast.metrics import insample_scale
from tidecast.progress import report
from tidecast.settings import Settings
from tidecast.sql import load_query
from tidecast.sql.tables import degraded_series, forecast_accuracy

DEGRADED_EVENT = "tidecast.accuracy.degraded"
ACCURACY_COLUMNS = [c.name for c in forecast_accuracy.columns]


@dataclass
class LiveAccuracy:
    scored: int  # forecast points scored by this run
    degraded: pd.DataFrame  # series_id, model, live_mase, backtest_mase, points


def score_against_actuals(
    unscored: pd.DataFrame, panel: pd.DataFrame, season_length: int
) -> pd.DataFrame:
    """Errors of the forecast points whose actual is in `panel` (others wait for theirs)."""
    actuals = panel.rename(columns={"ds": "ts"})[["series_id", "ts", "y"]]
    pairs = unscored.merge(actuals, on=["series_id", "ts"], how="inner")
    scale = insample_scale(panel.sort_values(["series_id", "ds"]), season_length)
    abs_error = (pairs["y"] - pairs["yhat"]).abs()
    ts = pd.to_datetime(pairs["ts"])

    def inside(level: int) -> np.ndarray:
        lower, upper = pairs[f"yhat_lower_{level}"], pairs[f"yhat_upper_{level}"]
        return ((pairs["y"] >= lower) & (pairs["y"] <= upper)).to_numpy(dtype=int)

    return pairs.assign(
        ts=ts,
        abs_error=abs_error,
        scaled_error=abs_error / pairs["series_id"].map(scale).to_numpy(),
        inside_80=inside(80),
        inside_95=inside(95),
        week_start=(ts - pd.to_timedelta(ts.dt.weekday, unit="D")).dt.normalize(),
    )


def degraded(live: pd.DataFrame, factor: float, min_points: int) -> pd.DataFrame:
    """Series whose champion's live MASE exceeds `factor` times its backtest MASE."""
    judged = live[live["points"] >= min_points]
    return judged[judged["live_mase"] > factor * judged["backtest_mase"]].reset_index(drop=True)


def _with_datetime(query: TextClause, name: str) -> TextClause:
    # Typed, so SQLite compares it in the same text format the DateTime columns are stored in.
    return query.bindparams(bindparam(name, type_=DateTime()))


def monitor_live_accuracy(
    settings: Settings, run_id: str, panel: pd.DataFrame, season_length: int, freq: str
) -> LiveAccuracy:
    """Score what can be scored, find degraded series, and write both (idempotent per run)."""
    until = pd.Timestamp(panel["ds"].max()).to_pydatetime()
    unscored = read_frame(
        settings.database_url,
        _with_datetime(load_query("unscored_forecasts"), "until"),
        until=until,
        job=settings.job,
    )
    unscored["ts"] = pd.to_datetime(unscored["ts"])
    scored = score_against_actuals(unscored, panel, season_length)
    now = utcnow()
    since = make_grid(freq).shifted(until, -settings.degradation_window).to_pydatetime()
    with connected(settings.database_url, write=True) as conn:
        replace_run_rows(conn, [forecast_accuracy, degraded_series], run_id)
        insert_frame(
            conn, forecast_accuracy, scored.assign(run_id=run_id, scored_at=now)[ACCURACY_COLUMNS]
        )
        live = pd.read_sql(
            _with_datetime(load_query("live_accuracy_of_champions"), "since"),
            conn,
            params={"since": since, "job": settings.job},
        )
        flagged = degraded(live, settings.degradation_factor, settings.degradation_min_points)
        insert_frame(conn, degraded_series, flagged.assign(run_id=run_id, flagged_at=now))
    report(
        "monitor",
        f"{len(scored)} forecast points scored against actuals; "
        f"{len(flagged)} series degraded (flagged for retraining)",
    )
    return LiveAccuracy(scored=len(scored), degraded=flagged)


def degradation_resource(run_id: str, job: str) -> dict[str, str]:
    """The resource a degradation event is about: the forecast run, labelled with its job
    (what each job's retrain trigger matches on, `tidecast.flows.serve`)."""
    return {
        "prefect.resource.id": f"tidecast.run.{run_id}",
        "tidecast.run-id": run_id,
        "tidecast.job": job,
    }
