"""A faulty statistical model for the tests of fallbacks (a helper, not a test module)."""

from __future__ import annotations

from statsforecast import models as sf

from tidecast.models.statistical import Guarded, StatsForecastModel


class _ExplodesOnMarkedSeries(sf.Naive):
    """statsforecast's Naive, except that it raises on a series starting at 999."""

    def __init__(self, season_length: int) -> None:
        super().__init__()

    def forecast(self, y, h, *args, **kwargs):
        if y[0] == 999:
            raise FloatingPointError("cannot fit this one")
        return super().forecast(y, h, *args, **kwargs)


class _Guarded_Exploding(Guarded, _ExplodesOnMarkedSeries):
    pass


class Exploding(StatsForecastModel):
    _model = _Guarded_Exploding
