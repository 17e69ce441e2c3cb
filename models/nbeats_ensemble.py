"""An ensemble of small N-BEATS networks, sized for a CPU (Oreshkin et al., 2020).

The paper's recipe, scaled down: one generic network per lookback of 2 to 7 horizons,
trained on MASE, and the forecast is the median of the members. The paper also varies
the loss (sMAPE, MAPE) and adds interpretable networks (a trend and a seasonality stack);
`losses` and `kinds` do the same here, at one more network per loss and kind. On
validation folds of M3's training parts neither paid for its cost as a member of the
statistical combination (BENCHMARKS.md "Accuracy on M3"), and sMAPE alone is unstable: trained
on it, the yearly networks drifted far off. What makes N-BEATS work on short,
heterogeneous panels like M3, kept here:

* each training window is cut at a random point of a random series' recent history
  (the last `history_limit` horizons), so every series counts about equally;
* windows reaching before a series' start are zero-padded; target points after its end
  are masked out of the loss, so short yearly series still train every lookback;
* each window (inputs and targets) is divided by the largest absolute input value, so
  one network serves series of any level;
* Adam with gradient clipping, the learning rate halved three times towards the end
  (fine-tuning at a later backtest origin runs at that last rate).

The budget is counted in passes over the training windows (`passes`), bounded by
`min_steps`/`max_steps`, so a small panel trains in seconds and a large one in minutes;
`max_seconds` per member is a safety net that a quiet machine does not reach
(`time_capped_` says when it did, since the result then depends on the machine's load).
Seeded: on CPU the same data and seed give the same forecasts unless a cap was reached.

In a backtest, each member fitted at one origin is fine-tuned at the next
(`next_origin()`, `fine_tune` of the budget from the earlier origin's weights): honest,
since the later origin's history contains the earlier one's. The final fit on the full
history always trains from scratch.
"""

from __future__ import annotations

import time
from typing import Self

import numpy as np
import pandas as pd
import torch

from tidecast.metrics import naive_scale
from tidecast.models.base import future_frame, get_params, positions_from_end, sort_panel
from tidecast.models.networks import NBeatsInterpretableNet, NBeatsNet
from tidecast.models.neural import cpu_state, fine_tuned_steps, step_budget, torch_device

LOSSES = ("smape", "mape", "mase")
KINDS = ("generic", "interpretable")


class _Layout:
    """Series right-aligned in one matrix: column `width - 1 - k` is each series' k-th last
    value, zeros (and mask 0) before a series' start and in the `horizon` columns after it."""

    def __init__(self, panel: pd.DataFrame, keep: int, horizon: int, season_length: int) -> None:
        ordered = sort_panel(panel)
        codes, self.series_ids = pd.factorize(ordered["series_id"], sort=False)
        self.last_ds = ordered.groupby(codes, sort=False)["ds"].last().to_numpy()
        y = ordered["y"].to_numpy(dtype=float)
        from_end = positions_from_end(ordered)
        self.kept = np.minimum(np.bincount(codes, minlength=len(self.series_ids)), keep)
        self.end = keep  # column of the first point after each series' end
        self.values = np.zeros((len(self.series_ids), keep + horizon))
        self.mask = np.zeros_like(self.values)
        inside = from_end < keep
        self.values[codes[inside], keep - 1 - from_end[inside]] = y[inside]
        self.mask[codes[inside], keep - 1 - from_end[inside]] = 1.0
        # MASE's denominator (the in-sample seasonal-naive MAE, else the naive one), 1
        # where it is 0 or undefined (a flat or one-point series)
        scale = naive_scale(ordered, season_length)
        self.scale = scale.where(scale > 0, 1.0).reindex(self.series_ids).to_numpy()


def _scaled(inputs: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Inputs (and `others`) divided by each window's largest absolute input value."""
    peak = np.abs(inputs).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0)
    return (peak, inputs / peak[:, None], *(o / peak[:, None] for o in others))


def _loss(name: str, yhat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, scale: torch.Tensor):
    error = (yhat - y).abs()
    if name == "smape":
        denominator = yhat.abs() + y.abs()
        per_point = torch.where(denominator > 0, 2 * error / denominator.clamp_min(1e-8), 0.0)
    elif name == "mape":
        per_point = torch.where(y.abs() > 0, error / y.abs().clamp_min(1e-8), 0.0)
    else:  # mase: the window's scaled error over the series' scaled in-sample MAE
        per_point = error / scale[:, None]
    return (per_point * mask).sum() / mask.sum().clamp_min(1.0)


class NBeatsEnsemble:
    """The median of N-BEATS networks over lookbacks x losses x kinds; one global model."""

    global_model = True

    def __init__(
        self,
        horizon: int,
        season_length: int,
        freq: str,
        lookbacks: tuple[int, ...] = (2, 3, 4, 5, 6, 7),
        losses: tuple[str, ...] = ("mase",),
        history_limit: int = 10,
        blocks: int = 3,
        width: int = 128,
        layers: int = 3,
        batch_size: int = 512,
        passes: float = 40.0,
        min_steps: int = 300,
        max_steps: int = 1200,
        max_seconds: float = 300.0,
        learning_rate: float = 1e-3,
        seed: int = 0,
        device: str | None = None,
        warm_start: tuple[dict, ...] | None = None,
        fine_tune: float | None = 0.25,
        kinds: tuple[str, ...] = ("generic",),
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.freq = freq
        self.lookbacks = lookbacks
        self.losses = losses
        self.history_limit = history_limit
        self.blocks = blocks
        self.width = width
        self.layers = layers
        self.batch_size = batch_size
        self.passes = passes
        self.min_steps = min_steps
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.learning_rate = learning_rate
        self.seed = seed
        self.device = device
        self.warm_start = warm_start  # each member's weights at an earlier origin
        self.fine_tune = fine_tune  # share of the budget from them; None: from scratch
        self.kinds = kinds  # "generic", "interpretable"

    def _network(self, lookback: int, kind: str) -> torch.nn.Module:
        if kind == "interpretable":
            return NBeatsInterpretableNet(
                self.horizon, lookback, self.blocks, self.width, self.layers
            )
        return NBeatsNet(1, self.horizon, lookback, self.blocks, self.width, self.layers)

    def steps_for(self, windows: int, warm: bool = False) -> int:
        """Training steps of one member on `windows` cut points (`step_budget`); from an
        earlier origin's weights (`warm`), `fine_tune` of them."""
        steps = step_budget(self.passes, windows, self.batch_size, self.min_steps, self.max_steps)
        return fine_tuned_steps(steps, self.fine_tune) if warm else steps

    def _members(self) -> list[tuple[int, str, str]]:
        lookbacks = [k * self.horizon for k in self.lookbacks]
        return [
            (lookback, loss, kind)
            for kind in self.kinds
            for lookback in lookbacks
            for loss in self.losses
        ]

    def next_origin(self) -> Self:
        """The model of the next (later) backtest origin: each member fine-tuned from this
        fit's weights."""
        weights = None
        if self.fine_tune is not None:
            weights = tuple(cpu_state(network) for _, network in self.networks_)
        return type(self)(**{**get_params(self), "warm_start": weights})

    def fit(self, panel: pd.DataFrame) -> Self:
        unknown = sorted({*self.losses} - {*LOSSES} | {*self.kinds} - {*KINDS})
        if unknown:  # a misspelt loss must not quietly train another one
            raise ValueError(f"unknown losses or kinds {unknown}: losses {LOSSES}, kinds {KINDS}")
        h, members = self.horizon, self._members()
        keep = max(lookback for lookback, _, _ in members) + self.history_limit * h
        self.layout_ = layout = _Layout(panel, keep, h, self.season_length)
        # cut points: k points before a series' end (1 <= k <= its recent history), so each
        # window has at least one input and one target point
        cuts = np.maximum(np.minimum(layout.kept - 1, self.history_limit * h), 0)
        trainable = np.flatnonzero(cuts >= 1)
        warm = self.warm_start if self.fine_tune is not None else None
        warm = warm if warm and len(warm) == len(members) else None
        self.warm_started_ = warm is not None
        self.steps_ = self.steps_for(int(cuts.sum()), warm=self.warm_started_)
        self.time_capped_ = False
        self.networks_: list[tuple[int, torch.nn.Module]] = []
        device = torch_device(self.device)
        for index, (lookback, loss, kind) in enumerate(members):
            torch.manual_seed(self.seed + index)  # the initial weights too
            network = self._network(lookback, kind)
            if warm is not None:
                network.load_state_dict(warm[index])
            network = network.to(device)
            if len(trainable):
                capped = self._train(network, lookback, loss, trainable, cuts, self.seed + index)
                self.time_capped_ |= capped
            network.eval()
            self.networks_.append((lookback, network))
        return self

    def _train(
        self,
        network: torch.nn.Module,
        lookback: int,
        loss: str,
        trainable: np.ndarray,
        cuts: np.ndarray,
        seed: int,
    ) -> bool:
        """Train one member in place; True when the time cap stopped it."""
        layout, h, device = self.layout_, self.horizon, next(network.parameters()).device
        rng = np.random.default_rng(seed)
        if self.warm_started_:
            # fine-tuning continues where a fresh fit's schedule ends (three halvings): at
            # the full rate, Adam's first steps would throw the trained weights about
            rate, halve_at = self.learning_rate / 8, set()
        else:
            rate = self.learning_rate
            halve_at = {int(self.steps_ * share) for share in (0.5, 0.75, 0.9)}
        optimizer = torch.optim.Adam(network.parameters(), lr=rate)
        offsets_in = np.arange(-lookback, 0)
        offsets_out = np.arange(h)
        started = time.perf_counter()
        for step in range(self.steps_):
            series = trainable[rng.integers(len(trainable), size=self.batch_size)]
            cut = layout.end - rng.integers(1, cuts[series] + 1)  # first target column
            cols_in = cut[:, None] + offsets_in
            cols_out = cut[:, None] + offsets_out
            inside = cols_in >= 0
            inputs = np.where(inside, layout.values[series[:, None], np.maximum(cols_in, 0)], 0.0)
            targets = layout.values[series[:, None], cols_out]
            mask = layout.mask[series[:, None], cols_out]
            peak, x, y = _scaled(inputs, targets)
            tensors = [
                torch.as_tensor(a, dtype=torch.float32, device=device)
                for a in (x[:, :, None], y, mask, layout.scale[series] / peak)
            ]
            optimizer.zero_grad()
            value = _loss(loss, network(tensors[0]), *tensors[1:])
            value.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            if step + 1 in halve_at:
                for group in optimizer.param_groups:
                    group["lr"] /= 2
            if time.perf_counter() - started > self.max_seconds:
                return True
        return False

    def predict(self, h: int) -> pd.DataFrame:
        if h > self.horizon:
            raise ValueError(f"fitted for horizon {self.horizon}, asked for {h}")
        layout = self.layout_
        device = next(self.networks_[0][1].parameters()).device
        members = []
        for lookback, network in self.networks_:
            cols = layout.end + np.arange(-lookback, 0)
            inputs = layout.values[:, np.maximum(cols, 0)] * (cols >= 0)
            peak, x = _scaled(inputs)
            with torch.no_grad():
                out = network(torch.as_tensor(x[:, :, None], dtype=torch.float32, device=device))
            members.append(out.cpu().numpy().astype(float)[:, :h] * peak[:, None])
        values = np.median(np.stack(members), axis=0)
        frame = future_frame(pd.Series(layout.last_ds, index=layout.series_ids), h, self.freq)
        frame["yhat"] = values.reshape(-1)
        frame = frame.drop(columns="step")
        frame.attrs["time_capped"] = bool(self.time_capped_)  # recorded by the pipeline
        return frame
