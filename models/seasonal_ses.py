"""Seasonal simple exponential smoothing with optimized smoothing (statsforecast): one
level per season position: a cheap statistical candidate between the naive baselines
and ETS for very large panels (BENCHMARKS.md, "Speed and scale").
"""

from __future__ import annotations

from statsforecast import models as sf

from tidecast.models.statistical import Guarded, StatsForecastModel


class _SeasonalSES(Guarded, sf.SeasonalExponentialSmoothingOptimized):
    pass


class SeasonalSES(StatsForecastModel):
    _model = _SeasonalSES
