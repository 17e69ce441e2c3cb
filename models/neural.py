"""Global torch forecasters: one training loop for the networks in models/networks.py.

Trained on windows from all series (each scaled by its own inputs), with Adam on the
mean absolute error, early stopping on a validation slice taken from the end of the
training data (so from before any backtest cutoff), and a budget in passes over the
training windows (`passes`, between `min_steps` and `max_steps` steps) with a time cap in
seconds as a safety net.

In a backtest, the network fitted at one origin is fine-tuned at the next
(`next_origin()`): it starts from the earlier origin's weights and trains `fine_tune` of
its budget. Honest, since the later origin's history contains the earlier one's; the
final fit on the full history always trains from scratch.
Built with `future_covariates` / `past_covariates` / `static_covariates` (the registry's
`lstm_cov`, `gru_cov`, `transformer_cov`, `nbeats_cov`), the covariates at each input
point are extra input channels, and the future ones at the target steps and the static
features are `context` beside the encoded window (models/networks.py); `predict` takes
the future covariates of the steps ahead.
Seeded: on CPU the same data and seed give the same forecasts, as long as training stops
by steps or early stopping rather than by the time budget (`time_capped_` says when it
did, and the pipeline records it on the run row). Uses CUDA when available.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import torch
from torch import nn

from tidecast.models.base import future_frame, get_params
from tidecast.models.covariates import WindowCovariates, level_ratio
from tidecast.models.features import season_angles
from tidecast.models.networks import NBeatsNet, RecurrentNet, TransformerNet
from tidecast.models.windows import Windows, training_windows


def torch_device(name: str | None) -> torch.device:
    """The device a network trains on: the one named, else CUDA when present, else CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_state(network: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the network's `state_dict` on the CPU: later training leaves it as it is."""
    return {key: value.detach().cpu().clone() for key, value in network.state_dict().items()}


def fine_tuned_steps(steps: int, share: float) -> int:
    """The steps of a fit that starts from an earlier origin's weights: `share` of the
    `steps` a fit from scratch would train, at least one."""
    return max(1, math.ceil(steps * share))


def step_budget(
    passes: float, windows: int, batch_size: int, min_steps: int, max_steps: int
) -> int:
    """Training steps for `passes` over `windows` training windows in batches of
    `batch_size`, within [`min_steps`, `max_steps`]: a small panel trains in seconds, not
    for the whole budget, which on a few hundred windows only overfits, slowly."""
    wanted = math.ceil(passes * windows / batch_size)
    return int(min(max_steps, max(min_steps, wanted)))


class TorchForecaster(WindowCovariates):
    """Base: subclasses build the network in `_network(n_features, lookback, n_context)`."""

    global_model = True  # one model learns from every series

    def __init__(
        self,
        horizon: int,
        season_length: int,
        freq: str,
        lookback: int | None = None,
        max_steps: int = 1000,
        max_seconds: float = 120.0,
        passes: float = 100.0,
        min_steps: int = 50,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        patience: int = 5,
        max_windows: int = 200_000,
        seed: int = 0,
        device: str | None = None,
        mixed_precision: bool | None = None,
        warm_start: dict | None = None,
        fine_tune: float | None = 0.25,
        future_covariates: tuple[str, ...] = (),
        past_covariates: tuple[str, ...] = (),
        static_covariates: tuple[str, ...] = (),
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.freq = freq
        self.lookback = lookback
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.passes = passes
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.max_windows = max_windows
        self.seed = seed
        self.device = device
        self.mixed_precision = mixed_precision
        self.warm_start = warm_start  # weights of an earlier origin's fit (`next_origin`)
        self.fine_tune = fine_tune  # share of the budget from them; None: from scratch
        self.future_covariates = tuple(future_covariates)
        self.past_covariates = tuple(past_covariates)
        self.static_covariates = tuple(static_covariates)

    def _network(self, n_features: int, lookback: int, n_context: int) -> nn.Module:
        raise NotImplementedError

    def steps_for(self, windows: int, warm: bool = False) -> int:
        """The step budget of a fit on `windows` training windows (`step_budget`); from an
        earlier origin's weights (`warm`), `fine_tune` of it."""
        steps = step_budget(self.passes, windows, self.batch_size, self.min_steps, self.max_steps)
        return fine_tuned_steps(steps, self.fine_tune) if warm else steps

    def _device(self) -> torch.device:
        return torch_device(self.device)

    def _autocast(self, device: torch.device) -> torch.autocast:
        """bfloat16 autocast where it helps: on a CUDA GPU that has bfloat16 (Ampere and
        newer; no loss scaling needed, unlike float16), unless `mixed_precision` says
        otherwise. On CPU it is off by default (slower there); True turns it on anywhere."""
        wanted = self.mixed_precision
        if wanted is None:
            wanted = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=wanted)

    def _tensors(
        self,
        windows: Windows,
        lookback: int,
        device: torch.device,
        ahead: np.ndarray | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(windows, lookback, features) inputs and (windows, n_context) context."""
        # every input step's position in the season, oldest first
        offsets = np.arange(-(lookback - 1), 1)
        season = season_angles(windows.end_times, self.freq, self.season_length, offsets)
        channels = [windows.inputs[:, :, None], season]
        context = np.zeros((len(windows.inputs), 0))
        if self.uses_covariates:
            parts = self.covariates_.parts(windows, self.history_, lookback, self.horizon, ahead)
            channels.append(parts.inputs)
            ahead_steps = parts.targets.reshape(len(windows.inputs), -1)
            level = level_ratio(windows)[:, None]
            context = np.hstack([ahead_steps, ahead_steps * level, parts.statics])
        x = np.concatenate(channels, axis=-1)
        return (
            torch.as_tensor(x, dtype=torch.float32, device=device),
            torch.as_tensor(context, dtype=torch.float32, device=device),
        )

    def fit(self, panel: pd.DataFrame) -> Self:
        lookback, device = self._fit_lookback(panel), self._device()
        windows = training_windows(
            panel, lookback, self.horizon, max_windows=self.max_windows, seed=self.seed
        )
        self._condition(panel)
        x, context = self._tensors(windows, lookback, device)
        y = torch.as_tensor(windows.targets, dtype=torch.float32, device=device)
        self.n_features_, self.n_context_ = int(x.shape[-1]), int(context.shape[-1])
        # Validation: each series' most recent window; training: windows whose targets end
        # at least a horizon earlier, so no training target overlaps a validation target.
        is_val = windows.steps_to_end == 0
        is_train = windows.steps_to_end >= self.horizon
        if is_train.sum() < self.batch_size or not is_val.any():
            # Too few windows to hold any out: train on all of them; only the budget in
            # passes stops training then.
            is_train, is_val = np.ones(len(x), bool), np.zeros(len(x), bool)
        self.training_windows_ = int(is_train.sum())
        warm = self._warm_weights(self.n_features_, lookback)
        max_steps = self.steps_for(self.training_windows_, warm=warm is not None)
        train_idx = torch.as_tensor(np.flatnonzero(is_train), device=device)
        val_idx = torch.as_tensor(np.flatnonzero(is_val), device=device)

        torch.manual_seed(self.seed)
        network = self._network(self.n_features_, lookback, self.n_context_)
        if warm is not None:
            network.load_state_dict(warm)
        network = network.to(device)
        self.warm_started_ = warm is not None
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        sampler = torch.Generator(device="cpu").manual_seed(self.seed)
        loss_fn = nn.L1Loss()
        best, best_state, bad_checks, started = np.inf, None, 0, time.perf_counter()
        check_every = 50
        self.steps_, self.time_capped_ = 0, False
        for step in range(1, max_steps + 1):
            network.train()
            pick = torch.randint(len(train_idx), (self.batch_size,), generator=sampler)
            batch = train_idx[pick.to(device)]
            optimizer.zero_grad()
            with self._autocast(device):
                predicted = network(x[batch], context[batch])
            loss = loss_fn(predicted.float(), y[batch])  # the loss in float32
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            self.steps_ = step
            if step % check_every and step != max_steps:
                continue
            if len(val_idx):
                network.eval()
                with torch.no_grad(), self._autocast(device):
                    predicted = network(x[val_idx], context[val_idx])
                    score = loss_fn(predicted.float(), y[val_idx]).item()
                if score < best - 1e-4:
                    best, best_state, bad_checks = score, copy.deepcopy(network.state_dict()), 0
                else:
                    bad_checks += 1
                if bad_checks >= self.patience:
                    break
            if time.perf_counter() - started > self.max_seconds:
                self.time_capped_ = True
                break
        if best_state is not None:
            network.load_state_dict(best_state)
        network.eval()
        self.network_ = network
        self.validation_loss_ = best
        return self

    def _warm_weights(self, n_features: int, lookback: int) -> dict | None:
        """The earlier origin's `state_dict` when it fits this network's shape, else None."""
        blob = self.warm_start if self.fine_tune is not None else None
        if not blob:
            return None
        shape = (n_features, lookback, self.n_context_, self._covariate_names())
        stored = (blob["n_features"], blob["lookback"], blob.get("n_context", 0))
        if (*stored, blob.get("covariates", [])) == shape:
            return blob["state_dict"]
        return None

    def _weights(self) -> dict:
        return {
            "state_dict": cpu_state(self.network_),
            "n_features": self.n_features_,
            "lookback": self._lookback(),
            "n_context": self.n_context_,
            "covariates": self._covariate_names(),
        }

    def next_origin(self) -> Self:
        """The model of the next (later) backtest origin: fine-tuned from this fit's weights."""
        weights = self._weights() if self.fine_tune is not None else None
        return type(self)(**{**get_params(self), "warm_start": weights})

    def save_weights(self, path: Path) -> None:
        """The network's `state_dict` and shape, loadable with `torch.load(weights_only=True)`."""
        torch.save(self._weights(), path)

    def load_weights(self, path: Path, panel: pd.DataFrame) -> Self:
        """Stored weights, conditioned on the newest window of each series in `panel`."""
        blob = torch.load(path, weights_only=True, map_location="cpu")
        self.refuse_other_covariates(list(blob.get("covariates", [])), "stored weights")
        self.n_features_ = int(blob["n_features"])
        self.n_context_ = int(blob.get("n_context", 0))
        self.lookback_ = int(blob["lookback"])  # the input length the weights were fitted with
        network = self._network(self.n_features_, self.lookback_, self.n_context_)
        network.load_state_dict(blob["state_dict"])
        self.network_ = network.to(self._device()).eval()
        self._condition(panel)
        return self

    def predict(self, h: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecasts of every fitted series; with covariates, of those whose `future`
        (`series_id`, `ds` and the future covariates) covers all `horizon` steps."""
        if h > self.horizon:
            raise ValueError(f"fitted for horizon {self.horizon}, asked for {h}")
        device = next(self.network_.parameters()).device
        last = self.last_
        ahead, covered = self._ahead(future)  # a series not covered gets no forecast
        x, context = self._tensors(last, self._lookback(), device, ahead)
        with torch.no_grad(), self._autocast(device):
            scaled = self.network_(x, context)
        values = last.unscale(scaled.float().cpu().numpy().astype(float))[:, :h]
        out = future_frame(pd.Series(last.end_times, index=last.series_ids), h, self.freq)
        out["yhat"] = values.reshape(-1)
        out = out[np.repeat(covered, h)].drop(columns="step").reset_index(drop=True)
        # recorded by the pipeline; weights loaded from a stored fit were not trained here
        out.attrs["time_capped"] = bool(getattr(self, "time_capped_", False))
        return out


class LSTM(TorchForecaster):
    def _network(self, n_features: int, lookback: int, n_context: int) -> nn.Module:
        return RecurrentNet(n_features, self.horizon, cell="lstm", n_context=n_context)


class GRU(TorchForecaster):
    def _network(self, n_features: int, lookback: int, n_context: int) -> nn.Module:
        return RecurrentNet(n_features, self.horizon, cell="gru", n_context=n_context)


class Transformer(TorchForecaster):
    def _network(self, n_features: int, lookback: int, n_context: int) -> nn.Module:
        return TransformerNet(n_features, self.horizon, lookback, n_context=n_context)


class NBEATS(TorchForecaster):
    def _network(self, n_features: int, lookback: int, n_context: int) -> nn.Module:
        channels = len(self.future_covariates) + len(self.past_covariates)
        return NBeatsNet(
            n_features, self.horizon, lookback, covariate_channels=channels, n_context=n_context
        )
