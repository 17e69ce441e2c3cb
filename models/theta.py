"""Theta methods from statsforecast, without AutoTheta's search over variants.

* `Theta`: the standard Theta method (Assimakopoulos & Nikolopoulos, 2000; best in the
  M3 competition); cheap enough for panels of 100,000 series (BENCHMARKS.md, section 8).
* `DynamicTheta`: the dynamic optimized Theta model (Fiorucci et al., 2016), whose theta
  coefficient and smoothing are fitted by likelihood rather than picked by in-sample fit
  among a few variants; a steady member of the statistical combination.
"""

from __future__ import annotations

from statsforecast import models as sf

from tidecast.models.statistical import Guarded, StatsForecastModel


class _Theta(Guarded, sf.Theta):  # module level: it pickles into worker processes
    pass


class _DynamicOptimizedTheta(Guarded, sf.DynamicOptimizedTheta):
    pass


class Theta(StatsForecastModel):
    _model = _Theta


class DynamicTheta(StatsForecastModel):
    _model = _DynamicOptimizedTheta
