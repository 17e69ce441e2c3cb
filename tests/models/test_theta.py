import numpy as np
import pandas as pd
import pytest
from statsforecast import StatsForecast
from statsforecast import models as sf

from tests.helpers import as_panel, synthetic_panel
from tidecast.models.theta import DynamicTheta, Theta


def _varied_panel() -> pd.DataFrame:
    """Seasonal series, and the cases where auto_theta takes another branch: non-positive
    values (additive decomposition), a seasonal index under 0.01 (additive again), a
    constant series, a long series, exactly two seasons, too short for the test, and too
    short to fit."""
    rng = np.random.default_rng(3)
    t = np.arange(60)
    cases = {
        "negative": rng.normal(0, 1, 48) + 3 * np.sin(t[:48] * 2 * np.pi / 12),
        "zeros": np.where(rng.random(48) < 0.3, 0.0, rng.gamma(2.0, 2.0, 48)),
        "tiny_season": 100 + 99.5 * np.cos(t[:48] * 2 * np.pi / 12),
        "strong_season": 10 + 5 * np.sin(t * 2 * np.pi / 12) + rng.normal(0, 0.1, 60),
        # over eight values per season position: numpy sums those pairwise, not in turn
        "long": 50 + np.sin(np.arange(240) * 2 * np.pi / 12) + rng.normal(0, 0.3, 240),
        "constant": np.full(40, 5.0),
        "two_seasons": 10 + 5 * np.sin(t[:24] * 2 * np.pi / 12),
        "short": 10 + 5 * np.sin(t[:23] * 2 * np.pi / 12),
        "too_short": np.array([1.0, 2.0, 3.0]),
    }
    ds = pd.date_range("2000-01-01", periods=240, freq="MS")
    frames = [pd.DataFrame({"series_id": k, "ds": ds[: len(y)], "y": y}) for k, y in cases.items()]
    return pd.concat([as_panel(synthetic_panel(n_series=6)), *frames], ignore_index=True)


@pytest.mark.parametrize(
    ("ours", "theirs"), [(Theta, sf.Theta), (DynamicTheta, sf.DynamicOptimizedTheta)]
)
@pytest.mark.parametrize("season_length", [12, 4, 7, 1])
def test_theta_gives_statsforecasts_forecasts_bit_for_bit(ours, theirs, season_length):
    # The seasonality test and decomposition are redone in numpy: any change of
    # arithmetic (a mean over the non-missing values only, an FFT convolution) shows.
    panel = _varied_panel()
    out = ours(season_length=season_length, freq="MS").fit(panel).predict(9)
    direct = StatsForecast(models=[theirs(season_length=season_length)], freq="MS").forecast(
        df=panel[panel["series_id"] != "too_short"].rename(columns={"series_id": "unique_id"}),
        h=9,
    )
    fitted = out[out["series_id"] != "too_short"].reset_index(drop=True)
    assert fitted["series_id"].tolist() == direct["unique_id"].tolist()
    assert (fitted["ds"].to_numpy() == direct["ds"].to_numpy()).all()
    assert np.array_equal(fitted["yhat"].to_numpy(), direct.iloc[:, -1].to_numpy())
    # statsforecast raises on three points; the series gets seasonal naive, named
    assert out.attrs["fallbacks"] == ["too_short"]
    assert np.isfinite(out["yhat"]).all()
