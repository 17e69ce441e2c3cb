"""The run report: one self-contained HTML file with plots of a retrain run.

Everything comes from the database (the run's rows and the source), so a report can be
rendered at the end of the run or any time later (`tidecast report --run-id R`). Plots
are plotly figures; plotly.js is inlined once, so the file opens offline and makes no
network requests.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from sqlalchemy import Text, bindparam, cast, func, select

from tidecast.db import connected, json_value
from tidecast.errors import TidecastError
from tidecast.jobs import of_job
from tidecast.progress import report
from tidecast.settings import Settings
from tidecast.sql import load_query
from tidecast.sql.tables import (
    backtest_scores,
    champion_backtest_forecasts,
    champions,
    feature_importance,
    forecast_accuracy,
    forecast_runs,
    forecasts,
    rejected_covariates,
    rejected_observations,
)
from tidecast.tasks.ensembles import describe_members
from tidecast.tasks.ingest import source_subquery
from tidecast.tasks.leaderboard import champions_changed, leaderboard, per_series_scores

SAMPLE_SIZE = 2  # random series shown beside the largest, most improved and worst


@dataclass
class ReportData:
    run: pd.Series
    scores: pd.DataFrame  # series_id, model, fold, mase, smape
    champions: pd.DataFrame  # series_id, model, score, previous_model, reason
    rejected: pd.DataFrame  # check_name, rows
    lengths: pd.DataFrame  # series_id, points, first_ts, last_ts (the source now)
    history: pd.DataFrame  # series_id, ts, value of the series shown
    folds: pd.DataFrame  # champion backtest forecasts of the series shown
    forecasts: pd.DataFrame  # the run's forecasts of the series shown
    live: pd.DataFrame  # forecast_accuracy of the run's forecasts of the series shown
    shown: dict[str, str]  # series_id -> why it is shown
    # model, feature, importance, method (tasks/importance.py); empty for older runs
    importance: pd.DataFrame | None = None
    rejected_covariates: pd.DataFrame | None = None  # check, rows
    # series_id (None: every series), ts, name, value of the shown series' covariates
    covariates: pd.DataFrame | None = None


def _frame(conn, statement) -> pd.DataFrame:
    result = conn.execute(statement)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def choose_series(
    scores: pd.DataFrame, chosen: pd.DataFrame, lengths: pd.DataFrame, seed: int
) -> dict[str, str]:
    """The largest (mean level), most improved and worst series, and a seeded sample."""
    shown: dict[str, str] = {}
    level = lengths.set_index("series_id")["mean_value"].abs()
    if len(level):
        shown[str(level.idxmax())] = "largest"
    mean = scores.groupby(["series_id", "model"])["mase"].mean()
    champion = chosen.set_index("series_id")
    before = champion["previous_model"].dropna()
    if len(before):
        keys = pd.MultiIndex.from_arrays([before.index, before.to_numpy()])
        gain = pd.Series(mean.reindex(keys).to_numpy(), index=before.index) - champion.loc[
            before.index, "score"
        ].astype(float)
        gain = gain.dropna()
        if len(gain) and gain.max() > 0:
            shown.setdefault(str(gain.idxmax()), "most improved")
    scored = champion["score"].astype(float).dropna()
    if len(scored):
        shown.setdefault(str(scored.idxmax()), "worst")
    rest = sorted(set(champion.index.astype(str)) - set(shown))
    picks = np.random.default_rng(seed).permutation(len(rest))[:SAMPLE_SIZE]
    for index in sorted(picks):
        shown[rest[index]] = "random sample"
    return shown


def load_report_data(
    settings: Settings, run_id: str | None, series: list[str] | None = None
) -> ReportData:
    """What the report shows of retrain run `run_id` (default: the latest completed one)."""
    with connected(settings.database_url) as conn:
        if run_id is None:
            found = _frame(conn, load_query("last_retrain").bindparams(job=settings.job))
            if found.empty:
                raise TidecastError(
                    f"no completed retrain run{of_job(settings.job)} to report on yet"
                )
            run_id = str(found["run_id"].iloc[0])
        run = _frame(conn, select(forecast_runs).where(forecast_runs.c.run_id == run_id))
        if run.empty or run["flow_name"].iloc[0] != "retrain":
            raise TidecastError(f"run {run_id} is not a retrain run in this database")
        if run["job"].iloc[0] != settings.job:
            raise TidecastError(
                f"run {run_id} is a run of job {run['job'].iloc[0]!r}: add "
                f"--job {run['job'].iloc[0]} to report on it"
            )
        scores = _frame(
            conn,
            select(backtest_scores.c.series_id, backtest_scores.c.model, backtest_scores.c.fold,
                   backtest_scores.c.mase, backtest_scores.c.smape)
            .where(backtest_scores.c.run_id == run_id),
        )  # fmt: skip
        chosen = _frame(conn, select(champions).where(champions.c.run_id == run_id))
        rejected = _frame(
            conn,
            select(rejected_observations.c.check_name)
            .where(rejected_observations.c.run_id == run_id),
        )  # fmt: skip
        drivers = _frame(
            conn, select(feature_importance).where(feature_importance.c.run_id == run_id)
        )
        rejected_drivers = _frame(
            conn,
            select(rejected_covariates.c.check_name)
            .where(rejected_covariates.c.run_id == run_id),
        )  # fmt: skip
        source = source_subquery(settings)
        lengths = _series_lengths(conn, source)
        shown = (
            {name: "chosen" for name in series}
            if series
            else choose_series(scores, chosen, lengths, settings.seed)
        )
        names = list(shown)
        in_shown = bindparam("names", names, expanding=True)
        history = _frame(
            conn,
            select(_text_id(source), source.c.ts, source.c.value)
            .where(cast(source.c.series_id, Text).in_(in_shown))
            .order_by(source.c.series_id, source.c.ts),
        )
        folds = _rows_of(conn, champion_backtest_forecasts, run_id, in_shown)
        predicted = _rows_of(conn, forecasts, run_id, in_shown)
        live = _frame(
            conn,
            select(forecast_accuracy).where(
                forecast_accuracy.c.forecast_run_id == run_id,
                forecast_accuracy.c.series_id.in_(in_shown),
            ),
        )
    shown_covariates = _covariates_of(settings, names)
    missing = sorted(set(names) - set(history["series_id"].astype(str)))
    if missing:
        raise TidecastError(f"series not found in the source: {', '.join(missing[:10])}")
    return ReportData(
        run=run.iloc[0],
        scores=scores,
        champions=chosen,
        rejected=rejected["check_name"].value_counts().rename_axis("check").reset_index(),
        lengths=lengths,
        history=history,
        folds=folds,
        forecasts=predicted,
        live=live,
        shown=shown,
        importance=drivers,
        covariates=shown_covariates,
        rejected_covariates=rejected_drivers["check_name"]
        .value_counts()
        .rename_axis("check")
        .reset_index(),
    )


# Covariates plotted per shown series at most (the first by name): more would bury it.
MAX_COVARIATES_SHOWN = 6


def _covariates_of(settings: Settings, names: list[str]) -> pd.DataFrame | None:
    """The covariate source's values of the shown series (and of every series), as the
    source has them now; None when the job has no covariate source."""
    from tidecast.schemas import parse_timestamps
    from tidecast.tasks.covariates import read_covariates

    raw = read_covariates(settings)
    if raw is None:
        return None
    ids = raw["series_id"].map(str, na_action="ignore")
    raw = raw[(ids.isna() | ids.isin(names)).to_numpy()]
    return pd.DataFrame(
        {
            "series_id": ids.loc[raw.index],
            "ts": parse_timestamps(raw["ts"], settings.ts_format).ts,
            "name": raw["name"].astype(str),
            "value": pd.to_numeric(raw["value"], errors="coerce"),
        }
    ).dropna(subset=["ts", "value"])


def _rows_of(conn, table, run_id: str, names) -> pd.DataFrame:
    return _frame(conn, select(table).where(table.c.run_id == run_id, table.c.series_id.in_(names)))


def _text_id(source):
    """The source's series id as text, as in tidecast's tables (a source may use integers)."""
    return cast(source.c.series_id, Text).label("series_id")


def _series_lengths(conn, source) -> pd.DataFrame:
    return _frame(
        conn,
        select(
            _text_id(source),
            func.count().label("points"),
            func.min(source.c.ts).label("first_ts"),
            func.max(source.c.ts).label("last_ts"),
            func.avg(source.c.value).label("mean_value"),
        ).group_by(source.c.series_id),
    )


def _table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    return frame.to_html(
        index=False, border=0, classes="grid", float_format=floatfmt.format, na_rep="–"
    )


def _figure(fig: go.Figure, div_id: str, **margin: int) -> str:
    # Fixed margins, no automargin: plotly.js otherwise grows margins for long tick labels
    # and may rotate them back and forth ("Too many auto-margin redraws" in the console,
    # depending on label widths).
    fig.update_layout(
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 40, "b": 40, **margin},
        height=360,
    )
    fig.update_xaxes(automargin=False)
    fig.update_yaxes(automargin=False)
    # no plotly logo: it links out of an offline page
    return fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False}
    )


def _by_check(total, rejected: pd.DataFrame) -> str:
    if not len(rejected):
        return str(total)
    checks = ", ".join(f"{row.check}: {row.count}" for row in rejected.itertuples())
    return f"{total} ({checks})"


def _demand_classes(champions: pd.DataFrame) -> str:
    """Series per demand class (tasks/demand.py), or why there are none."""
    if "demand_class" not in champions or champions["demand_class"].isna().all():
        return "not recorded (a run from before tidecast classified demand)"
    counts = champions["demand_class"].value_counts()
    return ", ".join(f"{name}: {count}" for name, count in counts.items())


def summary_section(data: ReportData) -> str:
    run = data.run
    stages = json_value(run["stage_seconds"])
    facts = pd.DataFrame(
        [
            ("run", run["run_id"]),
            ("status", run["status"]),
            ("started (UTC)", run["started_at"]),
            ("rows read", run["rows_read"]),
            ("rows rejected", _by_check(run["rows_rejected"], data.rejected)),
            ("series forecast", run["series_forecast"]),
            ("series skipped", len(json_value(run["series_skipped"]))),
            ("models tried", data.scores["model"].nunique()),
            ("champions changed", int(champions_changed(data.champions).sum())),
            ("demand classes", _demand_classes(data.champions)),
            ("wall time (s)", round(sum(stages.values()), 1)),
        ],
        columns=["", "value"],
    )
    stage_fig = go.Figure(go.Bar(x=list(stages.values()), y=list(stages.keys()), orientation="h"))
    stage_fig.update_layout(title="Wall time per stage (s)", yaxis={"autorange": "reversed"})
    return (
        '<section id="summary"><h2>Run summary</h2>'
        f"<div class=cols><div>{_table(facts)}</div>"
        f"<div>{_figure(stage_fig, 'stage-seconds', l=170)}</div></div>"
        f"<p class=note>{html.escape(str(run['message'] or ''))}</p></section>"
    )


def leaderboard_section(data: ReportData) -> str:
    board = leaderboard(data.scores, data.champions)
    per_series = per_series_scores(data.scores)
    order = board["model"].tolist()
    box = go.Figure(
        [go.Box(y=per_series.loc[per_series["model"] == name, "mase"], name=name) for name in order]
    )
    box.update_layout(
        title="Per-series backtest MASE", showlegend=False, yaxis_type="log", xaxis_tickangle=-30
    )
    return (
        '<section id="leaderboard"><h2>Leaderboard</h2>'
        f"<div class=cols><div>{_table(board)}</div>"
        f"<div>{_figure(box, 'mase-distribution', b=130)}</div></div></section>"
    )


def series_figure(data: ReportData, series_id: str, why: str, number: int) -> str:
    history = data.history[data.history["series_id"].astype(str) == series_id]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=history["ts"], y=history["value"], name="history", line={"color": "#333"})
    )
    folds = data.folds[data.folds["series_id"].astype(str) == series_id]
    for fold, part in folds.groupby("fold"):
        fig.add_trace(
            go.Scatter(
                x=part["ds"], y=part["yhat"], name=f"backtest fold {fold}",
                line={"dash": "dot"},
            )
        )  # fmt: skip
    ahead = data.forecasts[data.forecasts["series_id"].astype(str) == series_id].sort_values("ts")
    for level, alpha in ((95, 0.15), (80, 0.3)):
        fig.add_trace(
            go.Scatter(
                x=pd.concat([ahead["ts"], ahead["ts"][::-1]]),
                y=pd.concat([ahead[f"yhat_upper_{level}"], ahead[f"yhat_lower_{level}"][::-1]]),
                fill="toself", fillcolor=f"rgba(31,119,180,{alpha})", mode="lines",
                line={"width": 0}, name=f"{level}% interval", hoverinfo="skip",
            )
        )  # fmt: skip
    model = ahead["model"].iloc[0] if len(ahead) else "?"
    fig.add_trace(
        go.Scatter(x=ahead["ts"], y=ahead["yhat"], name=f"forecast ({model})",
                   line={"color": "#1f77b4"})
    )  # fmt: skip
    live = data.live[data.live["series_id"].astype(str) == series_id]
    live_note = ""
    if len(live):
        live_note = f"; live MASE {live['scaled_error'].astype(float).mean():.2f} over {len(live)}"
        fig.add_trace(
            go.Scatter(x=live["ts"], y=live["y"], mode="markers", name="actuals since",
                       marker={"color": "#d62728"})
        )  # fmt: skip
    if data.covariates is not None and len(data.covariates):
        own = data.covariates[
            data.covariates["series_id"].isna() | (data.covariates["series_id"] == series_id)
        ]
        for name in sorted(own["name"].unique())[:MAX_COVARIATES_SHOWN]:
            values = own[own["name"] == name].sort_values("ts").drop_duplicates("ts", keep="last")
            fig.add_trace(
                go.Scatter(
                    x=values["ts"], y=values["value"], name=f"covariate {name}", yaxis="y2",
                    line={"width": 1, "shape": "hv"}, opacity=0.6, visible="legendonly",
                )
            )  # fmt: skip
        fig.update_layout(
            yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": "covariates"}
        )
    members = data.champions.loc[
        data.champions["series_id"].astype(str) == series_id, "members"
    ].dropna()
    if len(members) and members.iloc[0]:
        model = f"{model} = {describe_members(model, members.iloc[0])}"
    # plotly.js renders tags in titles (<b>, <a href>, …): a series id from the data is
    # text, so it is escaped as the page's own HTML is (plotly shows the entities as such)
    title = f"{series_id} — {why}; champion {model}{live_note}"
    fig.update_layout(title=html.escape(title))
    return _figure(fig, f"series-{number}")


def series_section(data: ReportData) -> str:
    figures = [
        series_figure(data, series_id, why, number)
        for number, (series_id, why) in enumerate(data.shown.items())
    ]
    return '<section id="series"><h2>Series</h2>' + "".join(figures) + "</section>"


def health_section(data: ReportData) -> str:
    lengths = go.Figure(go.Histogram(x=data.lengths["points"], nbinsx=30))
    lengths.update_layout(title="Observations per series", xaxis_title="points")
    skipped = json_value(data.run["series_skipped"])
    skipped_frame = pd.DataFrame(list(skipped.items())[:50], columns=["series", "reason"])
    filled = data.run.get("gaps_filled")
    gaps = (
        "not recorded (a run from before tidecast kept the count)"
        if filled is None or pd.isna(filled)
        else f"{int(filled)} missing grid points interpolated"
        if filled
        else "no gaps filled"
    )
    stored = data.run.get("failures")  # JSON: text on SQLite, a list on PostgreSQL
    failures = json.loads(stored) if isinstance(stored, str) else stored
    failures = failures if isinstance(failures, list) else []
    failed = pd.DataFrame(
        [(f["model"], f["stage"], f["kind"], f["where"], f["series_count"]) for f in failures],
        columns=["model", "stage", "what", "where", "series"],
    )
    quarantined = _table(data.rejected) if len(data.rejected) else "<p>none</p>"
    return (
        '<section id="data-health"><h2>Data health</h2>'
        f"<div class=cols><div>{_figure(lengths, 'series-lengths')}</div><div>"
        f"<h3>Quarantined rows by check</h3>{quarantined}"
        f"<h3>Gaps</h3><p>{html.escape(gaps)}</p>"
        f"<h3>Model failures</h3>{_table(failed) if len(failed) else '<p>none</p>'}"
        f"<h3>Series skipped</h3>{_table(skipped_frame) if skipped else '<p>none</p>'}"
        "</div></div></section>"
    )


def drivers_section(data: ReportData) -> str:
    """What drove each model (feature importance), and the covariate rows quarantined."""
    importance = data.importance if data.importance is not None else pd.DataFrame()
    rejected = data.rejected_covariates
    if importance.empty and (rejected is None or rejected.empty):
        return ""
    parts = ['<section id="drivers"><h2>Drivers</h2>']
    for (model, method), rows in importance.groupby(["model", "method"], sort=True):
        rows = rows.sort_values("importance", ascending=False)
        what = (
            "mean absolute contribution to the forecasts, in units of each window's spread"
            if method == "linear_contribution"
            else "rise in the last backtest fold's MASE when the feature's values are shuffled"
        )
        parts.append(
            f"<h3>{html.escape(model)}</h3><p class=note>{html.escape(what)}</p>"
            + _table(rows[["feature", "importance"]])
        )
    if rejected is not None and len(rejected):
        parts.append(f"<h3>Quarantined covariate rows by check</h3>{_table(rejected)}")
    return "".join(parts) + "</section>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 1rem 2rem;
       color: #222; }
h1 { font-size: 1.5rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5rem; }
table.grid { border-collapse: collapse; font-size: .9rem; }
table.grid td, table.grid th { padding: .25rem .6rem; border-bottom: 1px solid #eee;
                               text-align: right; }
.note { color: #555; font-size: .9rem; }
nav a { margin-right: 1rem; }
"""


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document (plotly.js inlined once)."""
    title = f"tidecast run {data.run['run_id']}"
    drivers = drivers_section(data)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        '<nav><a href="#summary">Summary</a><a href="#leaderboard">Leaderboard</a>'
        '<a href="#series">Series</a><a href="#data-health">Data health</a>'
        + ('<a href="#drivers">Drivers</a>' if drivers else "")
        + "</nav>"
        + summary_section(data)
        + leaderboard_section(data)
        + drivers
        + series_section(data)
        + health_section(data)
        + "</body></html>"
    )


def write_report(
    settings: Settings, run_id: str | None, out: Path | None = None, series: list[str] | None = None
) -> Path:
    """Render the report of a retrain run into `out` (default: artifacts_dir/reports/)."""
    data = load_report_data(settings, run_id, series)
    path = out or settings.artifacts_dir / "reports" / f"{data.run['run_id']}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data), encoding="utf-8")
    report("report", f"report written to {path}")
    return path
