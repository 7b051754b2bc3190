"""Flow matching (paper F eq. 3) and the alignment loss of latents under a frozen flow (eq. 5), on ``PATH``.

Both regress the path velocity x1 - x0 at x_t = t x1 + (1 - t) x0 (t = 0 noise, t = 1 data; ``tvclab.flow.path``).
Flow matching trains the velocity model on data points x1. The alignment loss puts the *latent* y in the place of
x1 and freezes the flow: ``E_{t, x0} || v(t y + (1 - t) x0, t) - (y - x0) ||^2``. Its gradient reaches y through
both the target (y - x0) and the input x_t (through the flow's Jacobian); the flow's parameters receive none
(authors' code). Scale: both losses are the per-coordinate mean (MSE), i.e. eq. 3 / eq. 5 divided by the
dimension d, as the authors' code reports them; multiply by d for the papers' squared norm.

The exact log-likelihood that the alignment loss stands in for (eq. 4) is ``ODESolver(frozen(model))
.log_likelihood(y)`` (``tvclab.flow.solver``); ``python -m tvclab.bench flow_cost`` measures the cost ratio.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .path import PATH
from .velocity import check_points, frozen

REDUCTIONS = ("mean", "none")


def _draw_path_noise(like: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """x0 ~ N(0, I) shaped like ``like`` [B, d] and t ~ U(0, 1) [B], drawn in that order on the CPU from
    ``generator`` (so a seed gives the same draws on every device), then moved to ``like``'s device."""
    x0 = torch.randn(like.shape, generator=generator, dtype=like.dtype).to(like.device)
    t = torch.rand(like.shape[0], generator=generator, dtype=like.dtype).to(like.device)
    return x0, t


def _check_draws(fn: str, points: torch.Tensor, x0: torch.Tensor, t: torch.Tensor) -> None:
    if x0.shape != points.shape or t.shape != (points.shape[0],):
        raise ValueError(f"{fn}: x0 must be {tuple(points.shape)} and t [{points.shape[0]}]; "
                         f"got x0 {tuple(x0.shape)}, t {tuple(t.shape)}")


def token_path_noise(batch: int, n_t: int, n: int, d: int, generator: torch.Generator | None = None):
    """Per-sequence path draws for ``n_t`` copies of each of ``n`` d-dim tokens: x0 ~ N(0, I) [batch, n_t, n, d],
    then t ~ U(0, 1) [batch, n_t, n], on the CPU from ``generator``. Drawn for a global batch, they can be sliced
    per rank (``streams.rank_slice``) before ``flat_token_draws``: 1 and N processes see the same numbers."""
    x0 = torch.randn(batch, n_t, n, d, generator=generator)
    return x0, torch.rand(batch, n_t, n, generator=generator)


def flat_token_draws(x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence draws [B, n_t, n, d] / [B, n_t, n] in the layout of ``alignment_loss`` over the flattened
    tokens [B n, d] repeated n_t times: x0 [n_t B n, d], t [n_t B n] (row k B n + b n + i: copy k of token i of
    sequence b)."""
    return x0.transpose(0, 1).flatten(0, 2), t.transpose(0, 1).flatten()


def flow_matching_loss(model: nn.Module, x1: torch.Tensor, x0: torch.Tensor | None = None,
                       t: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rectified-flow matching loss (paper F eq. 3), per-coordinate mean: regress x1 - x0 at x_t on ``PATH``.

    ``x0`` ~ N(0, I) [B, d] and ``t`` ~ U(0, 1) [B] are drawn from ``generator`` when not given (x0 first).
    """
    check_points(x1, "x1", "flow_matching_loss")
    drawn = _draw_path_noise(x1, generator) if x0 is None or t is None else (None, None)
    x0 = drawn[0] if x0 is None else x0
    t = drawn[1] if t is None else t
    _check_draws("flow_matching_loss", x1, x0, t)
    s = PATH.sample(x0, x1, t)
    return F.mse_loss(model(s.x_t, s.t), s.dx_t)


def alignment_loss(model: nn.Module, y: torch.Tensor, n_t: int = 1, reduction: str = "mean",
                   generator: torch.Generator | None = None, x0: torch.Tensor | None = None,
                   t: torch.Tensor | None = None) -> torch.Tensor:
    """Alignment loss of latents ``y`` [B, d] under a frozen flow (paper F eq. 5), per-coordinate mean.

    Each latent is repeated ``n_t`` times (row k * B + i is copy k of latent i), each copy with its own
    x0 ~ N(0, I) and t ~ U(0, 1) (the authors' code uses n_t = 4): L(y) = mean || v(x_t, t) - (y - x0) ||^2 / d
    on the straight path from x0 to y. The draws come from ``generator`` (x0 [n_t B, d] first, then t [n_t B]),
    unless the caller passes ``x0`` and/or ``t`` drawn elsewhere. The gradient reaches y through the target and
    through x_t; the flow's parameters get none (``frozen``). ``reduction="none"`` returns the per-latent loss
    [B] (mean over its n_t draws and d coordinates), ``"mean"`` a scalar.
    """
    check_points(y, "y", "alignment_loss")
    if n_t < 1:
        raise ValueError(f"alignment_loss: n_t must be >= 1, got {n_t}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"alignment_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    b = y.shape[0]
    y_rep = y.repeat(n_t, 1)  # [n_t * B, d]
    drawn = _draw_path_noise(y_rep, generator) if x0 is None or t is None else (None, None)
    x0 = drawn[0] if x0 is None else x0
    t = drawn[1] if t is None else t
    _check_draws("alignment_loss", y_rep, x0, t)
    s = PATH.sample(x0, y_rep, t)  # eq. 5: the straight path from x0 to the latent
    per_draw = ((frozen(model)(s.x_t, s.t) - s.dx_t) ** 2).mean(dim=1)
    if reduction == "none":
        return per_draw.view(n_t, b).mean(dim=0)
    return per_draw.mean()


@torch.no_grad()
def alignment_landscape(model: nn.Module, points: torch.Tensor, n_t: int = 64,
                        generator: torch.Generator | None = None, batch: int = 4096) -> torch.Tensor:
    """Per-point alignment loss [N] of fixed points (paper F Fig. 3b): ``alignment_loss(reduction="none")`` with
    ``n_t`` Monte-Carlo draws per point, in batches of ``batch`` points."""
    check_points(points, "points", "alignment_landscape")
    return torch.cat([alignment_loss(model, chunk, n_t=n_t, reduction="none", generator=generator)
                      for chunk in points.split(batch)])
