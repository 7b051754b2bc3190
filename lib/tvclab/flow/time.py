"""The suite's one timestep embedding, used by every velocity model on the path of ``tvclab.flow.path`` (t in [0, 1],
t = 1 data): the flow-matching decoder of paper W App. F.1 and the toy velocity MLP of paper F App. C.1."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class TimestepEmbedding(nn.Module):
    """The suite's one timestep embedding (DiT convention): sinusoidal features of 1000 t for t in [0, 1], then a
    two-layer SiLU MLP. Used by the flow-matching decoder (W F.1) and by the toy velocity MLP (F App. C.1).

    ``forward(t [B]) -> [B, width]``; the features are computed in float32 and cast to the MLP's dtype.
    """

    def __init__(self, width: int, frequencies: int = 256, max_period: float = 10_000.0):
        super().__init__()
        self.frequencies, self.max_period = frequencies, max_period
        self.mlp = nn.Sequential(nn.Linear(frequencies, width), nn.SiLU(), nn.Linear(width, width))

    def features(self, t: torch.Tensor) -> torch.Tensor:
        half = self.frequencies // 2
        freqs = torch.exp(-math.log(self.max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        args = 1000.0 * t.float()[:, None] * freqs[None]
        return F.pad(torch.cat([torch.cos(args), torch.sin(args)], dim=-1), (0, self.frequencies % 2))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.features(t).to(self.mlp[0].weight.dtype))
