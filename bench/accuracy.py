"""tidecast's retrain flow on every M3 subset, scored on the official test, beside statsforecast.

    .venv/bin/python bench/accuracy.py [--subset yearly] [--limit N] [--models a,b] [--json out]

For each subset the training parts (`x`) go into a fresh SQLite database, the real
`retrain` flow runs through the CLI exactly as a user would run it (`tidecast retrain
--horizon h --freq F --season-length m`), and what landed in `latest_forecasts` is scored
against the official test parts (`xx`): sMAPE (M3 definition, %) and MASE, per subset and
overall, both ways: point-weighted (every forecast point counts once, so each subset
weighs series x horizon: the convention of every published M3 overall) and
series-weighted (each series counts once). In the same process and on the same training
data, statsforecast runs directly (`StatsForecast.forecast`, n_jobs = cores) with
SeasonalNaive, AutoETS, AutoTheta, AutoARIMA, Theta, DynamicOptimizedTheta and the mean
of ETS, ARIMA and AutoTheta; the published M3 results are printed beside them for context.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.m3 import SUBSETS, m3_train_test, score  # noqa: E402
from bench.process import run_tidecast  # noqa: E402
from tidecast.db import init_db, make_engine, replace_observations  # noqa: E402

# Published M3 sMAPE (%), for context only: Makridakis & Hibon (2000) for Theta and
# ForecastPro, Oreshkin et al. (2020) for N-BEATS. Not comparable to the last digit: the
# competition's own sMAPE code and series handling differ in small ways from ours.
PUBLISHED = {
    "Theta (M3 winner)": {
        "yearly": 16.90,
        "quarterly": 8.96,
        "monthly": 13.85,
        "other": 4.41,
        "overall": 13.01,
    },
    "ForecastPro": {"overall": 13.19},
    "N-BEATS": {"overall": 12.37},
}
PEERS = (
    "SeasonalNaive", "AutoETS", "AutoTheta", "AutoARIMA", "Theta", "DynamicOptimizedTheta",
)  # fmt: skip
COMBINATION = "mean(ETS, ARIMA, Theta)"


def run_retrain(
    subset: str, train: pd.DataFrame, models: str | None, preset: str | None = None
) -> dict:
    """Load `train` into a fresh SQLite file and run `tidecast retrain` on it in a subprocess."""
    freq, horizon, season_length = SUBSETS[subset]
    workdir = Path(tempfile.mkdtemp(prefix=f"tidecast-accuracy-{subset}-"))
    url = f"sqlite:///{workdir / 'tidecast.db'}"
    engine = make_engine(url)
    init_db(engine)
    replace_observations(engine, train.rename(columns={"ds": "ts", "y": "value"}))
    args = [
        "retrain",
        "--database-url",
        url,
        "--horizon",
        str(horizon),
        "--freq",
        freq,
        "--season-length",
        str(season_length),
        *(["--models", models] if models else []),
        *(["--preset", preset] if preset else []),
    ]
    measured = run_tidecast(args, workdir)
    with engine.connect() as conn:
        latest = pd.read_sql(text("SELECT * FROM latest_forecasts"), conn, parse_dates=["ts"])
    engine.dispose()
    latest = latest.rename(columns={"ts": "ds"})
    return {
        "forecast": latest,
        "wall_s": measured["wall_s"],
        "peak_rss_mb": measured["peak_rss_mb"],
        "command": " ".join(["tidecast", *args]).replace(url, "sqlite:///<fresh>.db"),
    }


def run_peers(subset: str, train: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], float]:
    """statsforecast directly on the same training data: one forecast per peer model."""
    from statsforecast import StatsForecast
    from statsforecast import models as sf

    freq, horizon, season_length = SUBSETS[subset]
    engine = StatsForecast(
        models=[getattr(sf, name)(season_length=season_length) for name in PEERS],
        freq=freq,
        n_jobs=os.cpu_count() or 1,
    )
    started = time.perf_counter()
    raw = engine.forecast(df=train.rename(columns={"series_id": "unique_id"}), h=horizon)
    seconds = time.perf_counter() - started
    raw = raw.rename(columns={"unique_id": "series_id"})
    raw[COMBINATION] = raw[["AutoETS", "AutoARIMA", "AutoTheta"]].mean(axis=1)
    forecasts = {
        name: raw[["series_id", "ds", name]].rename(columns={name: "yhat"})
        for name in (*PEERS, COMBINATION)
    }
    return forecasts, seconds


def coverage(test: pd.DataFrame, forecast: pd.DataFrame, level: int) -> float:
    judged = test.merge(forecast, on=["series_id", "ds"])
    inside = (judged["y"] >= judged[f"yhat_lower_{level}"]) & (
        judged["y"] <= judged[f"yhat_upper_{level}"]
    )
    return float(inside.mean())


def evaluate(
    subset: str,
    limit: int | None,
    models: str | None,
    peers: bool = True,
    preset: str | None = None,
) -> list[dict]:
    """One row per forecaster (tidecast and, unless `peers` is False, each peer) on one subset."""
    freq, horizon, season_length = SUBSETS[subset]
    train, test = m3_train_test(subset, limit)
    n_series = train["series_id"].nunique()
    print(f"M3 {subset}: {n_series} series, h={horizon}, season length {season_length}", flush=True)
    ours = run_retrain(subset, train, models, preset)
    winners = ours["forecast"].drop_duplicates("series_id")["model"].value_counts()
    rows = [
        {
            "subset": subset,
            "series": n_series,
            "points": len(test),
            "forecaster": "tidecast latest_forecasts",
            **score(train, test, ours["forecast"], season_length),
            "seconds": ours["wall_s"],
            "peak_rss_mb": ours["peak_rss_mb"],
            "coverage_80": coverage(test, ours["forecast"], 80),
            "coverage_95": coverage(test, ours["forecast"], 95),
            "champions": winners.head(5).to_dict(),
            "command": ours["command"],
        }
    ]
    print(
        f"  tidecast: sMAPE {rows[0]['smape']:.2f}, MASE {rows[0]['mase']:.3f}, "
        f"{ours['wall_s']:.0f} s",
        flush=True,
    )
    if not peers:
        return rows
    peers, seconds = run_peers(subset, train)
    for name, forecast in peers.items():
        rows.append(
            {
                "subset": subset,
                "series": n_series,
                "points": len(test),
                "forecaster": f"statsforecast {name}",
                **score(train, test, forecast, season_length),
                # one StatsForecast.forecast call fits the four peers together
                "seconds": seconds if name == PEERS[0] else None,
            }
        )
    print(f"  statsforecast peers: {seconds:.0f} s for all four", flush=True)
    return rows


def overall(rows: pd.DataFrame, weight: str, label: str) -> pd.DataFrame:
    """Each forecaster's subset scores averaged with `weight` (points or series) per subset."""
    weighted = rows.assign(w_smape=rows["smape"] * rows[weight], w_mase=rows["mase"] * rows[weight])
    sums = weighted.groupby("forecaster", sort=False)[
        ["series", "points", "w_smape", "w_mase"]
    ].sum()
    return sums.assign(
        subset=label,
        smape=sums["w_smape"] / sums[weight],
        mase=sums["w_mase"] / sums[weight],
    ).reset_index()


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per subset and overall, both point-weighted (as published) and series-weighted:
    each forecaster's scores and its ratio to tidecast's."""
    parts = [
        overall(rows, "points", "overall (points)"),
        overall(rows, "series", "overall (series)"),
    ]
    table = pd.concat([rows, *(part[rows.columns.intersection(part.columns)] for part in parts)])
    ours = table[table["forecaster"] == "tidecast latest_forecasts"].set_index("subset")
    table["smape_vs_tidecast"] = table["smape"] / table["subset"].map(ours["smape"])
    published = {**PUBLISHED["Theta (M3 winner)"]}
    published["overall (points)"] = published.pop("overall")
    table["published_theta_smape"] = table["subset"].map(published)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subset", action="append", choices=sorted(SUBSETS))
    parser.add_argument("--limit", type=int, help="only the first N series of each subset")
    parser.add_argument("--models", help="models for tidecast retrain (default: the preset's zoo)")
    parser.add_argument("--preset", choices=["fast", "default", "best"], help="tidecast's preset")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="only tidecast (to re-check its figures against an earlier full run)",
    )
    args = parser.parse_args()
    subsets = args.subset or list(SUBSETS)
    rows = pd.DataFrame(
        [
            row
            for subset in subsets
            for row in evaluate(subset, args.limit, args.models, not args.skip_peers, args.preset)
        ]
    )
    table = summarise(rows)
    print()
    print(
        table[
            [
                "subset",
                "series",
                "points",
                "forecaster",
                "smape",
                "mase",
                "smape_vs_tidecast",
                "seconds",
            ]
        ].to_markdown(index=False, floatfmt=".3f")
    )
    ours = rows[rows["forecaster"] == "tidecast latest_forecasts"]
    print()
    print(
        ours[
            ["subset", "coverage_80", "coverage_95", "peak_rss_mb", "champions", "command"]
        ].to_markdown(index=False, floatfmt=".3f")
    )
    print("\nPublished M3 sMAPE for context (overall: point-weighted):", json.dumps(PUBLISHED))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "argv": sys.argv[1:],
                    "cores": os.cpu_count(),
                    "table": table.to_dict("records"),
                    "tidecast_runs": ours.to_dict("records"),
                },
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
