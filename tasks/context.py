"""The run context: what every compute step of a run is parameterised by."""

from __future__ import annotations

from dataclasses import dataclass

from tidecast.settings import Settings


@dataclass(frozen=True)
class RunContext:
    """A run's settings and id, and the season length and frequency its data has (known
    once the data is validated: inferred there unless the settings fix them)."""

    settings: Settings
    run_id: str
    season_length: int
    freq: str

    @property
    def model_context(self) -> dict:
        """What models are built with (`Settings.model_context`)."""
        return self.settings.model_context(self.season_length, self.freq)
