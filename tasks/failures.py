"""What went wrong with a model, as a record: the run row keeps them (`forecast_runs.failures`),
and its message shows each one's line.

A model failing never stops a run: in the backtest it is no candidate where it failed,
and on the final forecast its series fall back to seasonal naive. These records say
which model, at which stage, what happened, where, and to which series.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("error", "timeout", "fallback", "non_finite", "time_cap")
SERIES_KEPT = 100  # series named per record on the run row; the count is always exact


def first_ten(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(names[:10]) + (" …" if len(names) > 10 else "")


@dataclass(frozen=True)
class Failure:
    """One model's failure at one stage.

    `kind`: `error` (it raised; `detail` is the exception), `timeout` (past its time
    budget), `fallback` (it gave seasonal naive's forecast for some series itself, or, on
    the final forecast, its series fell back to seasonal naive), `non_finite` (NaN or
    infinite forecasts), `time_cap` (a network stopped training at its own time cap rather
    than by its step budget, so its forecasts depend on the machine's load; they are
    used). `series` is empty when the failure concerns every series of
    `where` (a chunk's fold, the final fit).
    """

    model: str
    stage: str  # backtest | final fit | final forecast
    kind: str
    where: str  # e.g. "chunk 3/100 fold 0", "fold 2", "the final fit"
    detail: str = ""
    series: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The failure as a line of the run's message."""
        n, named, model, where = len(self.series), first_ten(self.series), self.model, self.where
        if self.kind == "fallback" and self.stage == "final forecast":
            return (
                f"{n} series fell back to seasonal_naive on the final forecast; their "
                f"champions gave no complete finite forecast ({self.model}: {n})"
            )
        if self.kind == "fallback":
            return (
                f"{self.model} fell back to seasonal_naive on {self.where} for {n} series: {named}"
            )
        if self.kind == "time_cap":
            return (
                f"{model} stopped training at its time cap on {where} (max_seconds): its "
                "forecasts depend on this machine's load, not only on the data and seed"
            )
        if self.kind == "non_finite":
            return f"{model} returned non-finite forecasts for {n} series on {where}: {named}"
        line = f"{self.model} failed on {self.where}: {self.detail}"
        if self.kind == "timeout" and self.stage == "backtest":
            line += " (not run on this chunk's later folds)"
        return line

    def record(self) -> dict:
        """The failure as the run row keeps it (JSON)."""
        return {
            "model": self.model,
            "stage": self.stage,
            "kind": self.kind,
            "where": self.where,
            "detail": self.detail,
            "series_count": len(self.series),
            "series": list(self.series[:SERIES_KEPT]),
        }
