import numpy as np
import torch

from tidecast.models.networks import NBeatsInterpretableNet, fourier_basis, polynomial_basis


def test_an_interpretable_forecast_is_a_quadratic_trend_plus_harmonics_of_the_horizon():
    torch.manual_seed(0)
    horizon, lookback = 18, 36
    network = NBeatsInterpretableNet(horizon, lookback, blocks=2, width=16, layers=2)
    with torch.no_grad():
        x = torch.randn(64, lookback, 1)
        _, trend = network.trend(x[:, :, 0])
        _, season = network.season(x[:, :, 0])
    # the trend stack's part is a quadratic over the horizon
    curves = polynomial_basis(horizon, 2).numpy().astype(float).T
    trend = trend.numpy().astype(float).T
    fitted = curves @ np.linalg.lstsq(curves, trend, rcond=None)[0]
    np.testing.assert_allclose(fitted, trend, atol=1e-4)
    assert np.abs(trend).max() > 1e-3
    # the seasonal part holds whole cycles per horizon below its Nyquist limit only:
    # nothing of the alternating (+1, -1, ...) curve
    alternating = (-1.0) ** np.arange(horizon)
    season = season.numpy().astype(float)
    np.testing.assert_allclose(season @ alternating, 0.0, atol=1e-4)
    assert np.abs(season).max() > 1e-3


def test_the_harmonics_stop_below_the_horizons_nyquist_limit():
    basis = fourier_basis(12, 12).numpy()
    assert basis.shape == (12, 12)  # cos and sin of 0 to 5 cycles per 12 steps
    np.testing.assert_allclose(basis[0], 1.0)  # cos of 0 cycles: the level
    np.testing.assert_allclose(basis[6], 0.0, atol=1e-6)  # sin of 0 cycles
    np.testing.assert_allclose(basis[5], np.cos(np.pi * np.arange(12) * 10 / 12), atol=1e-5)
