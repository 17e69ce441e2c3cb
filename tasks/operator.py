"""What an operator asks of the champions: who they are, since when, and why."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from tidecast.errors import TidecastError
from tidecast.sql import load_query
from tidecast.tasks.leaderboard import champions_changed


def champion_history(engine: Engine, job: str, series_id: str | None = None) -> pd.DataFrame:
    """Every champion decision of the job's completed runs, oldest first."""
    with engine.connect() as conn:
        history = pd.read_sql(
            load_query("champion_history"), conn, params={"series_id": series_id, "job": job}
        )
    return history.assign(promoted_at=pd.to_datetime(history["promoted_at"]))


def latest_champions(history: pd.DataFrame) -> pd.DataFrame:
    """Per series: the current champion, its score, and since when it has held the title."""
    if history.empty:
        return pd.DataFrame(columns=["series_id", "model", "score", "since", "reason"])
    streak = (history["model"] != history.groupby("series_id")["model"].shift()).cumsum()
    since = history.groupby(streak)["promoted_at"].transform("first")
    latest = history.assign(since=since).groupby("series_id").tail(1)
    return latest[["series_id", "model", "score", "since", "reason"]].reset_index(drop=True)


def series_leaderboard(engine: Engine, job: str, series_id: str) -> pd.DataFrame:
    """One series' models by mean backtest MASE in the job's latest completed run."""
    with engine.connect() as conn:
        return pd.read_sql(
            load_query("series_leaderboard"), conn, params={"series_id": series_id, "job": job}
        )


def rollback_champions(engine: Engine, job: str, series_ids: list[str] | None) -> tuple[str, int]:
    """Reinstate the previous champion of the given series of the job (all when None).

    Recorded as a completed `rollback` run whose `champions` rows carry the reinstated
    model (and its ensemble members), so history shows who, when and why. Series without
    a previous champion are left alone. Returns the run id and how many series changed.
    """
    import uuid

    from tidecast.db import insert_frame, utcnow
    from tidecast.sql.tables import champions, forecast_runs

    history = champion_history(engine, job)
    run_id = str(uuid.uuid4())
    if series_ids is not None:
        unknown = sorted(set(series_ids) - set(history["series_id"]))
        if unknown:
            raise TidecastError(
                f"no champion recorded for series {unknown}; "
                "check the ids with `tidecast champions`"
            )
        history = history[history["series_id"].isin(series_ids)]
    current = history.groupby("series_id").tail(1)
    current = current[champions_changed(current)]
    if current.empty:  # no champions yet, or none with a different previous one
        return run_id, 0
    # the members of the reinstated model: from its latest reign in the history
    reinstated = current.set_index("series_id")["previous_model"].rename("reinstated")
    reigns = history.merge(reinstated.reset_index(), on="series_id", how="inner")
    reigns = reigns[reigns["model"] == reigns["reinstated"]].groupby("series_id").tail(1)
    now = utcnow()
    rows = pd.DataFrame(
        {
            "series_id": current["series_id"].to_numpy(),
            "run_id": run_id,
            "model": current["previous_model"].to_numpy(),
            "score": None,
            "metric": current["metric"].to_numpy(),
            "promoted_at": now,
            "previous_model": current["model"].to_numpy(),
            "reason": "rolled back by an operator",
            "members": current["series_id"]
            .map(reigns.set_index("series_id")["members"])
            .to_numpy(),
        }
    )
    with engine.begin() as conn:
        conn.execute(
            forecast_runs.insert().values(
                run_id=run_id,
                job=job,
                flow_name="rollback",
                status="completed",
                started_at=now,
                finished_at=now,
                series_forecast=0,
                parameters={"series": series_ids if series_ids is not None else "all"},
                message=f"{len(rows)} champions rolled back to their previous model",
            )
        )
        insert_frame(conn, champions, rows)
    return run_id, len(rows)
