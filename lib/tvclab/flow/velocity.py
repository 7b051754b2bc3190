"""Velocity fields v(x [B, d], t [B]) -> [B, d] on the path of ``tvclab.flow.path`` (t = 0 noise, t = 1 data).

- ``VelocityMLP``: the toy flow of paper F App. C.1 (an MLP with AdaLN time modulation, ``AdaLNBlock``);
- ``EmpiricalVelocity``: the exact minimiser of the flow-matching loss for an empirical target (Assumption 1);
- ``frozen(model)``: the same field with detached parameters, for the alignment loss and the ODE likelihood.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
from torch.func import functional_call

from .time import TimestepEmbedding
from .path import PATH


def check_points(x: torch.Tensor, what: str, fn: str) -> None:
    """Raise unless ``x`` is a batch of points [B, d]."""
    if x.dim() != 2:
        raise ValueError(f"{fn}: {what} must be [B, d], got shape {tuple(x.shape)}; reshape with .flatten(1)")


class AdaLNBlock(nn.Module):
    """Residual MLP block with adaptive layer norm: x + gate(c) * MLP(LN(x) * (1 + scale(c)) + shift(c)).

    The modulation is zero-initialised (adaLN-Zero, Peebles and Xie 2022, cited in paper F §5.1), so each block
    starts as the identity.
    """

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * width))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(c).chunk(3, dim=1)
        return x + gate * self.mlp(self.norm(x) * (1 + scale) + shift)


class VelocityMLP(nn.Module):
    """The toy flow of paper F App. C.1: an MLP with AdaLN time modulation, ``dim`` in and out channels, hidden
    width 512 and 4 residual blocks by default. SiLU activations (authors' code). ``forward(x [B, dim], t)``
    returns the velocity [B, dim]; t in [0, 1] (a scalar or [B]), t = 1 is data.

    ``cond_dim`` > 0: a conditional field ``forward(x, t, cond [B, cond_dim])``, the condition added to the time
    embedding through ``Linear(cond_dim, width)`` before every AdaLN modulation (the per-token flow head of paper F
    App. C.4, MAR's head: c = time(t) + W cond). With ``cond_dim`` = 0 there is no such layer (same parameters).
    """

    def __init__(self, dim: int, width: int = 512, blocks: int = 4, cond_dim: int = 0):
        super().__init__()
        if dim < 1 or width < 1 or blocks < 0 or cond_dim < 0:
            raise ValueError(f"VelocityMLP: need dim >= 1, width >= 1, blocks >= 0, cond_dim >= 0; got {dim}, "
                             f"{width}, {blocks}, {cond_dim}")
        self.dim, self.width, self.cond_dim = dim, width, cond_dim
        self.input = nn.Linear(dim, width)
        self.time = TimestepEmbedding(width)
        if cond_dim:
            self.cond = nn.Linear(cond_dim, width)
        self.blocks = nn.ModuleList(AdaLNBlock(width) for _ in range(blocks))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.output = nn.Linear(width, dim)
        for layer in (self.final_modulation[1], self.output):  # adaLN-Zero: the initial velocity is 0
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float, cond: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"VelocityMLP: x must be [B, {self.dim}], got shape {tuple(x.shape)}")
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise ValueError(f"VelocityMLP: t must be a scalar or [B] = [{x.shape[0]}], got shape {tuple(t.shape)}")
        c = self.time(t)
        if self.cond_dim:
            if cond is None or cond.shape != (x.shape[0], self.cond_dim):
                got = None if cond is None else tuple(cond.shape)
                raise ValueError(f"VelocityMLP: this field is conditional (cond_dim={self.cond_dim}); pass cond "
                                 f"[B, {self.cond_dim}] = [{x.shape[0]}, {self.cond_dim}], got {got}")
            c = c + self.cond(cond)
        elif cond is not None:
            raise ValueError("VelocityMLP: cond was given to an unconditional field; build it with cond_dim > 0")
        h = self.input(x)
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_modulation(c).chunk(2, dim=1)
        return self.output(self.final_norm(h) * (1 + scale) + shift)


class EmpiricalVelocity(nn.Module):
    """The exact minimiser of the flow-matching loss (paper F eq. 3) for the empirical distribution of
    ``samples`` [N, d].

    Given x_t = x, the path's data end x1 is one of the samples with posterior weights
    w_i(x, t) ∝ exp(-|x - t x1_i|^2 / (2 (1 - t)^2)) (x_t | x1 ~ N(t x1, (1 - t)^2 I)), and the optimal velocity
    is the posterior mean of the data prediction turned into a velocity (``PATH.data_to_velocity``):
    v*(x, t) = (sum_i w_i x1_i - x) / (1 - t). It is what a flow of unlimited capacity and training converges to
    (Assumption 1); near t = 1 it grows like 1 / (1 - t) away from the samples, so t is clamped to ``t_max``.
    No parameters: a reference, not a model.
    """

    def __init__(self, samples: torch.Tensor, t_max: float = 0.999, batch: int = 1024):
        super().__init__()
        check_points(samples, "samples", "EmpiricalVelocity")
        self.register_buffer("samples", samples)
        self.t_max, self.batch = t_max, batch

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.clamp(max=self.t_max).to(x.dtype)
        ref = self.samples.to(x.dtype)
        out = []
        for xb, tb in zip(x.split(self.batch), t.split(self.batch)):
            sq = ((xb[:, None, :] - tb[:, None, None] * ref[None]) ** 2).sum(-1)  # [b, N]
            posterior_mean = torch.softmax(-sq / (2 * (1 - tb[:, None]) ** 2), dim=1) @ ref
            out.append(PATH.data_to_velocity(posterior_mean, xb, tb))
        return torch.cat(out)


def frozen(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``(x, t) -> model(x, t)`` with detached parameters and buffers: gradients reach the inputs only.

    Neither the model's train/eval mode nor any ``requires_grad`` flag is touched, and no parameter's ``.grad``
    is ever written. Use it for the alignment loss (eq. 5) and for ``ODESolver(frozen(model))``.
    """
    state = {k: v.detach() for k, v in model.named_parameters()}
    state.update({k: v.detach() for k, v in model.named_buffers()})
    return lambda x, t: functional_call(model, state, (x, t))
