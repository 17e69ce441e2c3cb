"""Fitted models kept between runs: weights on disk with a checksum, and a registry row each.

Only weights are stored, in formats that load without running code: torch `state_dict`s
loaded with `weights_only=True`, numpy arrays loaded with `allow_pickle=False`. Nothing
is ever unpickled from a location a user could write to. Models without such weights
(the local statistical models, the gradient-boosting regressor) are refitted from their
stored parameters on the newest data.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tidecast.db import utcnow
from tidecast.errors import TidecastError
from tidecast.models.base import Forecaster, get_params


class ArtifactError(TidecastError):
    """A stored artifact is missing or does not match its recorded checksum."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ArtifactStore:
    """Saves what a retrain fits, and remembers the registry rows to write with the run."""

    directory: Path
    run_id: str
    versions: list[dict] = field(default_factory=list)

    def save(self, name: str, model: Forecaster, history: pd.DataFrame) -> None:
        path, checksum = None, None
        if hasattr(model, "save_weights"):
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{name}.weights"
            model.save_weights(path)
            checksum = sha256_of(path)
        self.versions.append(
            {
                "version_id": str(uuid.uuid4()),
                "run_id": self.run_id,
                "model": name,
                "params": json.loads(json.dumps(get_params(model), default=str)),
                "data_start": history["ds"].min(),
                "data_end": history["ds"].max(),
                "series_count": int(history["series_id"].nunique()),
                "artifact_path": None if path is None else str(path.resolve()),
                "sha256": checksum,
                "created_at": utcnow(),
            }
        )


@dataclass
class StoredModels:
    """The latest retrain's registry rows, for the forecast flow."""

    versions: pd.DataFrame  # model, artifact_path, sha256, ...

    def has_weights(self, name: str) -> bool:
        row = self.versions[self.versions["model"] == name]
        return not row.empty and pd.notna(row["artifact_path"].iloc[0])

    def load(self, name: str, model: Forecaster, panel: pd.DataFrame) -> Forecaster:
        """`model` with its stored weights, conditioned on the newest window of `panel`."""
        row = self.versions[self.versions["model"] == name].iloc[0]
        path = Path(row["artifact_path"])
        if not path.is_file():
            raise ArtifactError(f"artifact {path} of {name} is missing")
        if sha256_of(path) != row["sha256"]:
            raise ArtifactError(
                f"artifact {path} of {name} does not match its recorded SHA-256; "
                "refusing to load it"
            )
        try:
            return model.load_weights(path, panel)
        except Exception as exc:  # e.g. a pickle that wants to run code: weights_only says no
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(
                f"artifact {path} of {name} is not plain weights; refusing to load it ({reason})"
            ) from None
