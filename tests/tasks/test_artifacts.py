import pandas as pd
import pytest

from tests.helpers import MODEL_CONTEXT, as_panel, synthetic_panel
from tidecast.models.registry import build_model
from tidecast.tasks.artifacts import ArtifactError, ArtifactStore, StoredModels, sha256_of

CONTEXT = MODEL_CONTEXT


@pytest.fixture
def panels():
    full = as_panel(synthetic_panel(n_series=4, lengths=(60,), seed=4))
    older = full.groupby("series_id").head(-3).reset_index(drop=True)
    return older, full


@pytest.mark.parametrize("name", ["ridge", "nbeats", "lstm"])
def test_stored_weights_reload_and_condition_on_the_newest_window(name, panels, tmp_path):
    older, full = panels
    store = ArtifactStore(tmp_path / "run-1", "run-1")
    store.save(name, build_model(name, **CONTEXT).fit(older), older)
    versions = pd.DataFrame(store.versions)
    row = versions.iloc[0]
    assert row["sha256"] == sha256_of(tmp_path / "run-1" / f"{name}.weights")
    assert row["data_end"] == older["ds"].max() and row["series_count"] == 4

    loaded = StoredModels(versions).load(name, build_model(name, **CONTEXT), full)
    fresh = build_model(name, **CONTEXT).fit(older)
    expected = fresh.load_weights(tmp_path / "run-1" / f"{name}.weights", full).predict(6)
    out = loaded.predict(6)
    pd.testing.assert_frame_equal(out, expected)
    # conditioned on the newest data: the forecasts start after the latest observation
    assert (
        out.groupby("series_id")["ds"]
        .min()
        .eq(full.groupby("series_id")["ds"].max() + pd.DateOffset(months=1))
        .all()
    )


def test_a_tampered_artifact_is_refused_and_named(panels, tmp_path):
    older, full = panels
    store = ArtifactStore(tmp_path / "run-1", "run-1")
    store.save("ridge", build_model("ridge", **CONTEXT).fit(older), older)
    path = tmp_path / "run-1" / "ridge.weights"
    path.write_bytes(path.read_bytes()[:-8] + b"tampered")
    with pytest.raises(ArtifactError, match=r"ridge\.weights.*SHA-256"):
        StoredModels(pd.DataFrame(store.versions)).load(
            "ridge", build_model("ridge", **CONTEXT), full
        )


def test_local_models_keep_parameters_but_no_weights(panels, tmp_path):
    older, _ = panels
    store = ArtifactStore(tmp_path / "run-1", "run-1")
    store.save("auto_theta", build_model("auto_theta", **CONTEXT).fit(older), older)
    row = store.versions[0]
    assert row["artifact_path"] is None and row["params"]["season_length"] == 12
    assert not StoredModels(pd.DataFrame(store.versions)).has_weights("auto_theta")


class RunsCode:
    """A pickle payload that would create a file when unpickled by a trusting loader."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("name", ["ridge", "lstm"])
def test_a_pickle_that_would_run_code_is_never_executed_even_with_a_matching_checksum(
    name, panels, tmp_path
):
    import numpy as np
    import torch

    older, full = panels
    store = ArtifactStore(tmp_path / "run-1", "run-1")
    store.save(name, build_model(name, **CONTEXT).fit(older), older)
    path = tmp_path / "run-1" / f"{name}.weights"
    marker = tmp_path / "code-ran"
    if name == "lstm":
        torch.save({"state": RunsCode(marker)}, path)
    else:
        with path.open("wb") as handle:
            np.save(handle, np.array([RunsCode(marker)], dtype=object), allow_pickle=True)
    # someone who can write the registry too: the checksum matches the replaced file
    versions = pd.DataFrame(store.versions).assign(sha256=sha256_of(path))
    with pytest.raises(ArtifactError, match="not plain weights; refusing to load it"):
        StoredModels(versions).load(name, build_model(name, **CONTEXT), full)
    assert not marker.exists()
