"""The standard Theta method (Assimakopoulos & Nikolopoulos, 2000; best in the M3
competition), from statsforecast: no search over variants as in AutoTheta, so cheap
enough for panels of 100,000 series (BENCHMARKS.md, section 8).
"""

from __future__ import annotations

from statsforecast import models as sf

from models.statistical import Guarded, StatsForecastModel


class _Theta(Guarded, sf.Theta):  # module level: it pickles into worker processes
    pass


class Theta(StatsForecastModel):
    _model = _Theta
