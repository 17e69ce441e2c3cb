"""The `tidecast` command: init-db, migrate, retrain, forecast, demo and the rest.

Flags override `TIDECAST_*` environment variables. Every command ends with one line
saying what it did and where the results are; a problem the user can fix is one
`error:` line, not a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from tidecast.edge.prefect_logs import PREFECT_DEFAULTS, quiet_prefect_console
from tidecast.errors import TidecastError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="SQLAlchemy URL (env TIDECAST_DATABASE_URL)")
    _job_options(parser)
    parser.add_argument("--verbose", action="store_true", help="also show Prefect's own logs")


def _job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--job",
        help="the job (declared in the jobs file) to run or show (default: default; env "
        "TIDECAST_JOB)",
    )
    parser.add_argument(
        "--jobs-file",
        type=Path,
        help="the file declaring the jobs (default: tidecast.yaml here; env TIDECAST_JOBS_FILE)",
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--horizon", type=int, help="steps to forecast (env TIDECAST_HORIZON)")
    parser.add_argument("--freq", help="pandas frequency such as MS; inferred when not given")
    parser.add_argument("--season-length", type=int, help="seasonal period; from --freq if unset")
    parser.add_argument("--folds", type=int, help="rolling-origin backtest folds (default 3)")
    parser.add_argument("--models", help="comma-separated model names (default: the preset's zoo)")
    parser.add_argument(
        "--preset",
        choices=["fast", "default", "best"],
        help="the zoo to backtest when --models is not given (default: default)",
    )
    _source_option(parser)
    _runner_options(parser)


def _runner_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runner",
        choices=["local", "dask"],
        help="where chunk tasks run: local processes (default) or a Dask cluster",
    )
    parser.add_argument(
        "--workers", type=int, help="chunk tasks at once (default: all cores; env TIDECAST_WORKERS)"
    )
    parser.add_argument(
        "--dask-address",
        help="scheduler of an existing Dask cluster, tcp://host:port (implies --runner dask)",
    )
    parser.add_argument("--chunk-size", type=int, help="most series per chunk task (default 1000)")


def _source_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source-table",
        help="table or schema.table with series_id, ts, value, read instead of the source "
        "query (env TIDECAST_SOURCE_TABLE)",
    )
    parser.add_argument(
        "--covariates-table",
        help="table of covariates: series_id, ts, name, value, kind[, known_at] "
        "(env TIDECAST_COVARIATES_TABLE; docs/covariates.md)",
    )
    parser.add_argument(
        "--static-table",
        help="table of static attributes: series_id, attribute, value; holiday_region gives "
        "each series its holiday calendar (env TIDECAST_STATIC_TABLE)",
    )
    parser.add_argument(
        "--holidays",
        help="holiday regions whose calendars become covariates, e.g. US,DE-BY "
        "(env TIDECAST_HOLIDAYS)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidecast", description="Retrain forecasting models and write forecasts for BI."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser(
        "init-db",
        help="create the tables and views in an empty database, or check that its schema is "
        "current, and re-create the views (idempotent)",
    )
    _common(init)
    migrate = commands.add_parser(
        "migrate", help="upgrade the database's schema to this tidecast's (back it up first)"
    )
    _common(migrate)
    retrain = commands.add_parser("retrain", help="run the retrain flow now (a manual flow run)")
    _common(retrain)
    _run_options(retrain)
    refresh = commands.add_parser(
        "forecast", help="run the forecast flow now: fresh forecasts from the current champions"
    )
    _common(refresh)
    refresh.add_argument("--horizon", type=int, help="steps (default: the last retrain's)")
    _source_option(refresh)
    _runner_options(refresh)
    demo = commands.add_parser(
        "demo", help="load the M3 monthly series into the database and run retrain with h=18"
    )
    _common(demo)
    demo.add_argument("--models", help="comma-separated model names (default: the preset's zoo)")
    demo.add_argument(
        "--preset", choices=["fast", "default", "best"], help="the zoo (default: default)"
    )
    champions = commands.add_parser(
        "champions", help="list each series' champion, or one series' leaderboard"
    )
    _common(champions)
    champions.add_argument("--series", help="show the leaderboard and history of one series")
    champions.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    serve = commands.add_parser(
        "serve", help="run retrain and forecast on their schedules until stopped (Prefect serve)"
    )
    _common(serve)
    _run_options(serve)
    serve.add_argument("--retrain-cron", help="cron of retrain (default '0 2 * * 0', Sunday 02:00)")
    serve.add_argument("--forecast-cron", help="cron of forecast (default '0 3 * * *', daily)")
    serve.add_argument("--timezone", dest="schedule_timezone", help="IANA zone of the crons (UTC)")
    serve.add_argument("--retrain-every", type=float, help="seconds; replaces the retrain cron")
    serve.add_argument("--forecast-every", type=float, help="seconds; replaces the forecast cron")
    past = commands.add_parser(
        "backfill",
        help="the forecasts each past date would have had (a retrain as of each cutoff), "
        "into backfill_forecasts; latest_forecasts is not touched",
    )
    _common(past)
    _run_options(past)
    past.add_argument("--from", dest="start", required=True, help="first cutoff date")
    past.add_argument("--to", dest="end", required=True, help="last cutoff date (inclusive)")
    page = commands.add_parser(
        "report", help="write the HTML report of a retrain run (default: the latest)"
    )
    _common(page)
    _source_option(page)
    page.add_argument("--run-id", help="the retrain run (default: the latest completed one)")
    page.add_argument("--out", type=Path, help="file to write (default: artifacts/reports/)")
    page.add_argument("--series", action="append", help="a series to plot (repeatable)")
    jobs = commands.add_parser(
        "jobs",
        help="list the jobs, show one's resolved settings, or validate them (each source "
        "query runs and returns series_id, ts, value)",
    )
    jobs.add_argument("action", choices=["list", "show", "validate"])
    _common(jobs)
    covariates = commands.add_parser(
        "covariates",
        help="check the job's covariates: each one's rows, span and whether its future "
        "values cover the horizon of every series (what is missing)",
    )
    covariates.add_argument("action", choices=["check"])
    _common(covariates)
    covariates.add_argument("--horizon", type=int, help="steps ahead to check (default: the job's)")
    covariates.add_argument("--freq", help="pandas frequency such as MS; inferred when not given")
    _source_option(covariates)
    rollback = commands.add_parser(
        "rollback", help="reinstate the previous champion of some series, then refresh forecasts"
    )
    _common(rollback)
    which = rollback.add_mutually_exclusive_group(required=True)
    which.add_argument("--series", action="append", help="a series id (repeat for several)")
    which.add_argument("--all", action="store_true", help="every series with a previous champion")
    return parser


def _flags(args: argparse.Namespace) -> dict[str, object]:
    """The settings this command's flags give: every flag named like a setting, if set."""
    from tidecast.settings import Settings

    return {
        key: value
        for key, value in vars(args).items()
        if key in Settings.model_fields and value is not None
    }


def _settings(args: argparse.Namespace, **fixed: object):
    """The run's one settings object: the environment, overridden by the flags (the
    database URL from its Prefect Secret block when one is named)."""
    from tidecast.edge.settings import resolve_secret
    from tidecast.settings import load_settings

    return resolve_secret(load_settings(**{**_flags(args), **fixed}))


def _engine(settings):
    from tidecast.db import check_connection, make_engine

    engine = make_engine(settings.database_url)
    check_connection(engine)
    return engine


def _current_engine(settings):
    """`_engine`, on a database whose schema is this tidecast's: created when the database
    is empty; one behind is an error naming `tidecast migrate` (unless auto_migrate)."""
    from tidecast.db import init_db

    engine = _engine(settings)
    init_db(engine, auto_migrate=settings.auto_migrate)
    return engine


def cmd_init_db(args: argparse.Namespace) -> str:
    from tidecast.db import init_db
    from tidecast.urls import safe_url

    settings = _settings(args)
    init_db(_engine(settings), replace_views=True, auto_migrate=settings.auto_migrate)
    return f"tables and views are ready in {safe_url(settings.database_url)}"


def cmd_migrate(args: argparse.Namespace) -> str:
    from tidecast.schema import migrate
    from tidecast.urls import safe_url

    settings = _settings(args)
    engine = _engine(settings)
    before, after = migrate(engine)
    where = safe_url(settings.database_url)
    if before == after:
        return f"{where} is at revision {after}, this tidecast's: nothing to migrate"
    found = f"revision {before}" if before else "no revision (empty, or from before migrations)"
    return f"migrated {where} from {found} to revision {after}"


def _run_retrain(settings) -> str:
    """Run the flow in this process, handing it the settings the command resolved.

    The flow records its parameters with Prefect; the settings' database URL (and its
    password) is excluded from that record.
    """
    from tidecast.flows.retrain import retrain
    from tidecast.progress import report

    if not os.environ.get("PREFECT_API_URL"):
        report("retrain", "starting the flow run on a temporary local Prefect server (~10 s)")
    return retrain(settings=settings)


def _completed(kind: str, settings, run_id: str) -> str:
    """The closing line of a command that ran a flow: what it wrote, and where."""
    from tidecast.db import read_frame
    from tidecast.sql import load_query
    from tidecast.urls import safe_url

    counts = read_frame(settings.database_url, load_query("run_forecast_counts"), run_id=run_id)
    rows, series = int(counts["n_rows"].iloc[0]), int(counts["n_series"].iloc[0])
    return (
        f"{kind} {run_id} of job {settings.job} completed: {rows} forecast rows for {series} "
        f"series in latest_forecasts ({safe_url(settings.database_url)})"
    )


def cmd_retrain(args: argparse.Namespace) -> str:

    settings = _settings(args)
    _engine(settings)
    run_id = _run_retrain(settings)
    return _completed("run", settings, run_id)


def cmd_forecast(args: argparse.Namespace) -> str:

    settings = _settings(args)
    _engine(settings)
    from tidecast.flows.forecast import forecast_flow

    run_id = forecast_flow(horizon=args.horizon, settings=settings)
    return _completed("forecast run", settings, run_id)


def cmd_demo(args: argparse.Namespace) -> str:
    from tidecast.db import replace_observations
    from tidecast.demo import m3_observations
    from tidecast.progress import report
    from tidecast.tasks.leaderboard import read_leaderboard

    settings = _settings(args, horizon=18, freq="MS", season_length=12)
    engine = _current_engine(settings)
    frame = m3_observations("monthly", "MS")
    loaded = replace_observations(engine, frame)
    report(
        "demo",
        f"loaded {loaded} observations of {frame['series_id'].nunique()} M3 monthly "
        "series (training parts only) into observations",
    )
    run_id = _run_retrain(settings)
    board = read_leaderboard(settings.database_url, run_id)
    print("\nLeaderboard (3-fold rolling-origin backtest):")
    print(board.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nRead the forecasts BI sees with:")
    print("  SELECT * FROM latest_forecasts ORDER BY series_id, ts;")
    return _completed("demo run", settings, run_id)


def cmd_champions(args: argparse.Namespace) -> str:
    from tidecast.tasks.ensembles import describe_members
    from tidecast.tasks.operator import champion_history, latest_champions, series_leaderboard

    settings = _settings(args)
    engine = _current_engine(settings)
    history = champion_history(engine, settings.job, args.series)
    if args.series is None:
        current = latest_champions(history)
        print(current.head(args.limit).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        counts = current["model"].value_counts().to_dict()
        return f"{len(current)} series have a champion: {counts}"
    if history.empty:
        raise TidecastError(
            f"series {args.series!r} has no champion yet (no completed run has "
            "forecast it); check the id with `tidecast champions`"
        )
    print(f"Leaderboard of {args.series} in its latest backtest:")
    board = series_leaderboard(engine, settings.job, args.series)
    print(board.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nChampion history of {args.series}:")
    columns = ["promoted_at", "model", "members", "score", "previous_model", "reason", "flow_name"]
    print(
        history[columns].tail(args.limit).to_string(index=False, float_format=lambda v: f"{v:.3f}")
    )
    latest = history.iloc[-1]
    members = (
        f", the {describe_members(latest['model'], latest['members'])}"
        if isinstance(latest["members"], str) and latest["members"]
        else ""
    )
    return f"{args.series}: champion {latest['model']}{members} (score {latest['score']:.3f})"


def cmd_rollback(args: argparse.Namespace) -> str:
    from tidecast.runlock import refusal, try_run_lock
    from tidecast.tasks.operator import rollback_champions

    settings = _settings(args)
    engine = _current_engine(settings)
    # champions change: one writer per job at a time
    lock = try_run_lock(settings.database_url, settings.job)
    if lock is None:
        with engine.connect() as conn:
            raise TidecastError(refusal(conn, "this rollback", settings.job))
    try:
        run_id, count = rollback_champions(engine, settings.job, None if args.all else args.series)
    finally:
        lock.release()
    if count == 0:
        return "nothing to roll back: no chosen series has a previous champion"
    print(f"rolled back {count} champions (run {run_id}); refreshing the forecasts ...")
    args.horizon = None
    return cmd_forecast(args)


def cmd_backfill(args: argparse.Namespace) -> str:
    from tidecast.db import read_frame
    from tidecast.tasks.backfill import backfill_window

    backfill_window(args.start, args.end)  # a bad date is refused before anything runs
    settings = _settings(args)
    _engine(settings)
    from tidecast.flows.backfill import backfill
    from tidecast.sql import load_query

    run_id = backfill(args.start, args.end, settings=settings)
    counts = read_frame(settings.database_url, load_query("run_backfill_counts"), run_id=run_id)
    return (
        f"backfill run {run_id} completed: {int(counts['n_rows'].iloc[0])} rows for "
        f"{int(counts['n_cutoffs'].iloc[0])} cutoffs in backfill_forecasts "
        "(backfill_accuracy scores them)"
    )


def cmd_report(args: argparse.Namespace) -> str:
    from tidecast.tasks.html_report import write_report

    settings = _settings(args)
    _current_engine(settings)  # a database tidecast never ran on gets a clear message
    path = write_report(settings, args.run_id, args.out, args.series)
    return f"report written to {path} (one file; open it in a browser, offline)"


def cmd_jobs(args: argparse.Namespace) -> str:
    from tidecast.settings import declared_jobs

    located = _settings(args) if args.action == "show" else None
    names, path = declared_jobs(args.jobs_file)
    where = str(path) if path else "no jobs file: the environment's settings are job default"
    if args.action == "list":
        import pandas as pd

        rows = [_job_row(_settings(args, job=name)) for name in names]
        print(pd.DataFrame(rows).to_string(index=False))
        return f"{len(names)} job(s) ({where})"
    if args.action == "show":
        from tidecast.urls import safe_url

        shown = {"database_url": safe_url(located.database_url), **located.run_parameters()}
        for key, value in shown.items():
            print(f"{key}: {value}")
        return f"settings of job {located.job} ({where})"
    return _validate_jobs(args, [args.job] if args.job else names, where)


def cmd_covariates(args: argparse.Namespace) -> str:
    """`covariates check`: the job's observations and covariates read and validated as a
    run reads them (nothing written), and each covariate's coverage printed."""
    import pandas as pd

    from tidecast.tasks.covariates import coverage, has_drivers, prepare_covariates, read_covariates
    from tidecast.tasks.ingest import read_observations
    from tidecast.tasks.statics import read_statics
    from tidecast.tasks.validate import validate_observations

    settings = _settings(args)
    if not has_drivers(settings):
        raise TidecastError(
            f"job {settings.job} has no covariates: set covariates_table, covariates_query, "
            "static_table (holiday_region) or holidays (docs/covariates.md)"
        )
    _current_engine(settings)
    validated = validate_observations(read_observations(settings), settings)
    covariates = prepare_covariates(
        read_covariates(settings), validated.grid, validated.every_series, settings,
        read_statics(settings),
    )  # fmt: skip
    table = coverage(covariates, validated.panel, validated.grid.freq, settings.horizon)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    for note in covariates.notes:
        print(note)
    future = table[table["kind"] == "future"]
    short = future[future["missing"] != ""]
    lacking = f"; {len(short)} future covariate(s) miss some series (the column missing)"
    return (
        f"{len(table)} covariate(s) of job {settings.job}, {covariates.rows_read} rows read, "
        f"{len(covariates.rejected)} rejected; horizon {settings.horizon}"
        + (lacking if len(short) else "; every future covariate covers every series")
    )


def _job_row(settings) -> dict[str, object]:
    return {
        "job": settings.job,
        "source": settings.source_table or settings.source_query.name,
        "freq": settings.freq or "inferred",
        "horizon": settings.horizon,
        "preset": ",".join(settings.models) if settings.models else settings.preset,
        "retrain": settings.retrain_cron,
        "forecast": settings.forecast_cron,
        "timezone": settings.schedule_timezone,
        "unit": settings.unit or "",
    }


def _validate_jobs(args: argparse.Namespace, names: list[str], where: str) -> str:
    """Each job's settings built and its source run (no rows read); a line per job."""
    from tidecast.tasks.covariates import COVARIATES
    from tidecast.tasks.ingest import check_source
    from tidecast.tasks.statics import STATICS

    failed = []
    for name in names:
        try:
            settings = _settings(args, job=name)
            _engine(settings)
            check_source(settings)
            checked = [side for side in (COVARIATES, STATICS) if side.check(settings)]
        except TidecastError as exc:
            failed.append(name)
            print(f"{name}: {exc}")
            continue
        also = "".join(
            f"; {side.description(settings)} returns the {side.columns_noun} columns"
            for side in checked
        )
        print(f"{name}: ok ({settings.source_description} returns series_id, ts, value{also})")
    if failed:
        raise TidecastError(
            f"{len(failed)} of {len(names)} job(s) are not valid: {', '.join(failed)} "
            f"(the lines above say why; {where})"
        )
    return f"{len(names)} job(s) valid ({where})"


def cmd_serve(args: argparse.Namespace) -> str:
    from tidecast.flows.serve import serve_flows
    from tidecast.settings import declared_jobs

    names = [args.job] if args.job else declared_jobs(args.jobs_file)[0]
    jobs = [_settings(args, job=name) for name in names]
    settings = jobs[0]
    _engine(settings)
    # Served runs start in processes of their own from JSON parameters: each deployment
    # gets the flags and its job as its `settings` parameter (the rest of the settings
    # come from the jobs file and the environment the runs inherit). The URL, a
    # credential, never enters a parameter: it reaches the runs through this process's
    # environment (or its Secret block).
    if not settings.database_url_secret:
        os.environ["TIDECAST_DATABASE_URL"] = settings.database_url
    skip = {"database_url", "job", "jobs_file"}
    flags = {key: getattr(settings, key) for key in _flags(args) if key not in skip}
    return serve_flows(jobs, flags, args.retrain_every, args.forecast_every)


COMMANDS: dict[str, Callable[[argparse.Namespace], str]] = {
    "serve": cmd_serve,
    "report": cmd_report,
    "backfill": cmd_backfill,
    "rollback": cmd_rollback,
    "jobs": cmd_jobs,
    "covariates": cmd_covariates,
    "champions": cmd_champions,
    "init-db": cmd_init_db,
    "migrate": cmd_migrate,
    "retrain": cmd_retrain,
    "forecast": cmd_forecast,
    "demo": cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from tidecast.progress import show_in_terminal

    show_in_terminal()
    quiet_prefect_console(args.verbose)
    started = time.perf_counter()
    try:
        done = COMMANDS[args.command](args)
    except TidecastError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:  # not an outage (those are TidecastErrors): say what it said
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"error: the database refused a statement: {reason}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if "ephemeral Prefect API server" not in str(exc):
            raise
        timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
        print(
            f"error: Prefect's temporary server did not start within {timeout} s (a busy "
            "machine?); set PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS higher, or start "
            "a Prefect server and set PREFECT_API_URL. No run started; BI is unchanged",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted; the run is not marked completed, so BI still sees the previous one",
            file=sys.stderr,
        )
        return 130
    print(f"{done} [{time.perf_counter() - started:.1f}s]")
    return 0


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # systemd, `docker stop` and `kill` end a run the way Ctrl-C does: the run is marked
    # failed and BI keeps what it had.
    raise KeyboardInterrupt


def run() -> None:
    """The `tidecast` executable: `main`, with what a process of its own needs."""
    from tidecast.reaper import stop_children_with_this_process

    stop_children_with_this_process()  # servers and workers die with it, even on kill -9
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())


if __name__ == "__main__":
    run()
