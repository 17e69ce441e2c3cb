"""The run context: what every compute step of a run is parameterised by."""

from __future__ import annotations

from dataclasses import dataclass

from tidecast.settings import Settings


@dataclass(frozen=True)
class RunContext:
    """A run's settings and id, and the season length, frequency and number of series its
    data has (known once the data is validated: inferred there unless the settings fix
    them), and the names of its covariates by kind."""

    settings: Settings
    run_id: str
    season_length: int
    freq: str
    n_series: int | None = None
    future_covariates: tuple[str, ...] = ()
    past_covariates: tuple[str, ...] = ()
    static_covariates: tuple[str, ...] = ()

    @property
    def covariate_kinds(self) -> tuple[str, ...]:
        """The kinds of covariates the run has (`future`, `past`, `static`)."""
        names = {
            "future": self.future_covariates,
            "past": self.past_covariates,
            "static": self.static_covariates,
        }
        return tuple(kind for kind, found in names.items() if found)

    @property
    def model_names(self) -> list[str]:
        """The models this run backtests (`Settings.backtest_models`)."""
        return self.settings.backtest_models(
            self.season_length, self.n_series, self.covariate_kinds
        )

    @property
    def notes(self) -> list[str]:
        """What the run row says about the zoo: the preset's models this panel is too small for."""
        return [] if self.n_series is None else self.settings.skipped_models(self.n_series)

    @property
    def model_context(self) -> dict:
        """What models are built with (`Settings.model_context`)."""
        return self.settings.model_context(
            self.season_length,
            self.freq,
            self.future_covariates,
            self.past_covariates,
            self.static_covariates,
        )
