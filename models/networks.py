"""torch networks for the global models, apart from the training loop (models/neural.py).

Every network maps a batch of scaled windows `x` of shape (batch, lookback, features)
to forecasts of shape (batch, horizon), all steps at once. Feature 0 is the scaled
value; then the sine and cosine of each time step's position in the season; then, for
a model with covariates, the `future` and `past` covariates at each input point. Such
a model also gets `context` (batch, n_context): the future covariates at the target
steps (as they are and times the window's level) and the series' static features
(models/covariates.py). They join the encoded window where the forecast is read out:
the head of the recurrent and transformer networks, every N-BEATS block's input.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def with_context(encoded: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
    """The encoded window with the context features beside it (as it is without any)."""
    if context is None or context.shape[-1] == 0:
        return encoded
    return torch.cat([encoded, context], dim=1)


class RecurrentNet(nn.Module):
    """LSTM or GRU encoder over the window; a linear head on the last hidden state."""

    def __init__(
        self,
        n_features: int,
        horizon: int,
        cell: str = "lstm",
        hidden: int = 64,
        layers: int = 2,
        n_context: int = 0,
    ) -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.encoder = rnn(n_features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden + n_context, horizon)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        states, _ = self.encoder(x)  # (batch, lookback, hidden)
        return self.head(with_context(states[:, -1], context))


class PositionalEncoding(nn.Module):
    """Fixed sinusoidal positions (Vaswani et al.) added to the embedded window."""

    def __init__(self, d_model: int, length: int) -> None:
        super().__init__()
        position = torch.arange(length).unsqueeze(1)
        frequency = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10_000.0) / d_model))
        table = torch.zeros(length, d_model)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency)
        self.register_buffer("table", table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]


class TransformerNet(nn.Module):
    """Transformer encoder over the window; the head reads the last and the mean token."""

    def __init__(
        self,
        n_features: int,
        horizon: int,
        lookback: int,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.0,
        n_context: int = 0,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_features, d_model)
        self.positions = PositionalEncoding(d_model, lookback)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(2 * d_model + n_context, horizon)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.encoder(self.positions(self.embed(x)))  # (batch, lookback, d_model)
        summary = torch.cat([tokens[:, -1], tokens.mean(dim=1)], dim=1)
        return self.head(with_context(summary, context))


def fully_connected(inputs: int, width: int, layers: int) -> nn.Sequential:
    """An N-BEATS block's body: `layers` fully connected layers of `width`, each with ReLU."""
    sizes = [inputs] + [width] * layers
    body: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        body += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*body)


class NBeatsBlock(nn.Module):
    def __init__(self, lookback: int, extra: int, horizon: int, width: int, layers: int) -> None:
        super().__init__()
        self.body = fully_connected(lookback + extra, width, layers)
        self.backcast = nn.Linear(width, lookback)
        self.forecast = nn.Linear(width, horizon)

    def forward(self, values: torch.Tensor, extra: torch.Tensor) -> tuple[torch.Tensor, ...]:
        hidden = self.body(torch.cat([values, extra], dim=1))
        return self.backcast(hidden), self.forecast(hidden)


class NBeatsNet(nn.Module):
    """N-BEATS (generic): stacked MLP blocks, each removing what it explains from the input
    (backcast) and adding its part of the forecast (Oreshkin et al., 2020).

    The last `covariate_channels` of the features are covariates: every block sees them
    at every input point, with `context`; the other features (the season position) at
    the window's last step only."""

    def __init__(
        self,
        n_features: int,
        horizon: int,
        lookback: int,
        blocks: int = 4,
        width: int = 256,
        layers: int = 3,
        covariate_channels: int = 0,
        n_context: int = 0,
    ) -> None:
        super().__init__()
        self.covariate_channels = covariate_channels
        extra = n_features - 1 - covariate_channels + lookback * covariate_channels + n_context
        self.blocks = nn.ModuleList(
            NBeatsBlock(lookback, extra, horizon, width, layers) for _ in range(blocks)
        )

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        residual = x[:, :, 0]
        split = x.shape[-1] - self.covariate_channels
        # season position of the window's last step; covariates at every input point
        extra = with_context(torch.cat([x[:, -1, 1:split], x[:, :, split:].flatten(1)], 1), context)
        forecast = torch.zeros(x.shape[0], self.blocks[0].forecast.out_features, device=x.device)
        for block in self.blocks:
            backcast, part = block(residual, extra)
            residual = residual - backcast
            forecast = forecast + part
        return forecast


class BasisBlock(nn.Module):
    """An N-BEATS block whose backcast and forecast are fixed curves (the rows of
    `backcast_basis`, `forecast_basis`) weighted by what its fully connected layers
    read off the input: the interpretable variant's block (Oreshkin et al., 2020)."""

    def __init__(
        self, lookback: int, width: int, layers: int, backcast_basis: torch.Tensor,
        forecast_basis: torch.Tensor,
    ) -> None:  # fmt: skip
        super().__init__()
        self.body = fully_connected(lookback, width, layers)
        self.register_buffer("backcast_basis", backcast_basis)
        self.register_buffer("forecast_basis", forecast_basis)
        # separate weights for the two sides, as in the paper
        self.backcast_weights = nn.Linear(width, backcast_basis.shape[0], bias=False)
        self.forecast_weights = nn.Linear(width, forecast_basis.shape[0], bias=False)

    def forward(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(values)
        backcast = self.backcast_weights(hidden) @ self.backcast_basis
        return backcast, self.forecast_weights(hidden) @ self.forecast_basis


def polynomial_basis(length: int, degree: int) -> torch.Tensor:
    """Rows t**0 … t**degree over t = 0, 1/length, …, (length-1)/length."""
    t = torch.arange(length, dtype=torch.float32) / length
    return torch.stack([t**power for power in range(degree + 1)])


def fourier_basis(length: int, horizon: int) -> torch.Tensor:
    """Rows cos and sin of 0, 1, 2, … cycles per `horizon` steps (below the horizon's
    Nyquist limit), over `length` steps."""
    cycles = torch.arange(max(1, math.ceil(horizon / 2)), dtype=torch.float32)
    angle = 2 * math.pi * torch.arange(length, dtype=torch.float32)[None, :] / horizon
    return torch.cat([torch.cos(cycles[:, None] * angle), torch.sin(cycles[:, None] * angle)])


class NBeatsInterpretableNet(nn.Module):
    """N-BEATS (interpretable): a trend stack (low-degree polynomials) then a seasonality
    stack (harmonics of the horizon), each one block applied `blocks` times with shared
    weights; the forecast is the trend part plus the seasonal part."""

    def __init__(
        self, horizon: int, lookback: int, blocks: int = 3, width: int = 128, layers: int = 3,
        degree: int = 2,
    ) -> None:  # fmt: skip
        super().__init__()
        self.blocks = blocks
        self.trend = BasisBlock(
            lookback, width, layers, polynomial_basis(lookback, degree),
            polynomial_basis(horizon, degree),
        )  # fmt: skip
        self.season = BasisBlock(
            lookback, width, layers, fourier_basis(lookback, horizon),
            fourier_basis(horizon, horizon),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        residual = x[:, :, 0]
        forecast = torch.zeros(x.shape[0], self.trend.forecast_basis.shape[1], device=x.device)
        for block in [self.trend] * self.blocks + [self.season] * self.blocks:
            backcast, part = block(residual)
            residual = residual - backcast
            forecast = forecast + part
        return forecast
