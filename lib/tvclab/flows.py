"""Flow priors and the flow-matching alignment loss of paper F (§3-4, App. C.1).

Time convention (used everywhere in tvclab): **t = 1 is data, t = 0 is noise**. A rectified-flow path joins
noise x0 ~ N(0, I) to a point x1 by

    x_t = t x1 + (1 - t) x0,      d x_t / dt = x1 - x0                         (paper F §3.1, eq. 3)

and the velocity model v(x, t) regresses x1 - x0 (``flow_matching_loss``). The authors' toy script uses this
convention, their autoencoder code the reverse one (t = 1 is noise); we use this one throughout.

The alignment loss (eq. 5) is the same regression with the *latent* y in place of the data point and the flow
frozen: ``E_{t, x0} || v(t y + (1 - t) x0, t) - (y - x0) ||^2``. Gradients reach y through both the target
(y - x0) and the input x_t (through the flow's Jacobian); the flow's parameters receive none (authors' code).
Scale: we report the per-coordinate mean (MSE), i.e. eq. 5 divided by the dimension d, as the authors' code
does; multiply by d for eq. 5's squared norm.

The exact log-likelihood (eq. 4) integrates the ODE backward from y at t = 1 to x0 at t = 0 with the
instantaneous change of variables, log p_1(y) = log N(x0; 0, I) - int_0^1 div v(x_t, t) dt
(``ode_log_likelihood``); it is what the alignment loss avoids computing (§1, §4.3; ``python -m tvclab.bench
flow_cost`` measures the ratio).

``python -m tvclab.flows train-toy --tier paper --device cuda`` trains the toy flows of notebook 01 into the
run directories that the notebook reads at the paper tier.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from . import toy
from .io import atomic_torch_save
from .paths import run_dir


# ------------------------------------------------------------------------------------------------- model
class TimestepEmbedding(nn.Module):
    """Sinusoidal features of 1000 t (the DiT convention, t in [0, 1]) followed by a two-layer SiLU MLP."""

    def __init__(self, width: int, frequencies: int = 256):
        super().__init__()
        self.frequencies = frequencies
        self.mlp = nn.Sequential(nn.Linear(frequencies, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.frequencies // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=t.dtype) / half)
        angles = 1000.0 * t[:, None] * freqs[None]
        return self.mlp(torch.cat([angles.cos(), angles.sin()], dim=1))


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
    width 512 and 4 residual blocks by default. SiLU activations (authors' code). ``forward(x [B, dim], t [B])``
    returns the velocity [B, dim]; t in [0, 1], t = 1 is data.
    """

    def __init__(self, dim: int, width: int = 512, blocks: int = 4):
        super().__init__()
        if dim < 1 or width < 1 or blocks < 0:
            raise ValueError(f"VelocityMLP: need dim >= 1, width >= 1, blocks >= 0; got {dim}, {width}, {blocks}")
        self.dim, self.width = dim, width
        self.input = nn.Linear(dim, width)
        self.time = TimestepEmbedding(width)
        self.blocks = nn.ModuleList(AdaLNBlock(width) for _ in range(blocks))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.output = nn.Linear(width, dim)
        for layer in (self.final_modulation[1], self.output):  # adaLN-Zero: the initial velocity is 0
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"VelocityMLP: x must be [B, {self.dim}], got shape {tuple(x.shape)}")
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise ValueError(f"VelocityMLP: t must be a scalar or [B] = [{x.shape[0]}], got shape {tuple(t.shape)}")
        c = self.time(t)
        h = self.input(x)
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_modulation(c).chunk(2, dim=1)
        return self.output(self.final_norm(h) * (1 + scale) + shift)


class EmpiricalVelocity(nn.Module):
    """The exact minimiser of eq. 3 when the target is the empirical distribution of ``samples`` [N, d].

    Given x_t = x, the path's endpoint x1 is one of the samples with posterior weights
    w_i(x, t) ∝ exp(-|x - t x1_i|^2 / (2 (1 - t)^2)) (x_t | x1 ~ N(t x1, (1 - t)^2 I)), and since
    x1 - x0 = (x1 - x_t) / (1 - t), the optimal velocity is v*(x, t) = (sum_i w_i x1_i - x) / (1 - t).
    It is what a flow of unlimited capacity and training converges to (Assumption 1); near t = 1 it grows like
    1 / (1 - t) away from the samples, so t is clamped to ``t_max``. No parameters: a reference, not a model.
    """

    def __init__(self, samples: torch.Tensor, t_max: float = 0.999, batch: int = 1024):
        super().__init__()
        _check_points(samples, "samples", "EmpiricalVelocity")
        self.register_buffer("samples", samples)
        self.t_max, self.batch = t_max, batch

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.clamp(max=self.t_max).to(x.dtype)
        ref = self.samples.to(x.dtype)
        out = []
        for xb, tb in zip(x.split(self.batch), t.split(self.batch)):
            sq = ((xb[:, None, :] - tb[:, None, None] * ref[None]) ** 2).sum(-1)  # [b, N]
            w = torch.softmax(-sq / (2 * (1 - tb[:, None]) ** 2), dim=1)
            out.append((w @ ref - xb) / (1 - tb[:, None]))
        return torch.cat(out)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def frozen(model: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``(x, t) -> model(x, t)`` with detached parameters and buffers: gradients reach the inputs only.

    Neither the model's train/eval mode nor any ``requires_grad`` flag is touched, and no parameter's ``.grad``
    is ever written.
    """
    state = {k: v.detach() for k, v in model.named_parameters()}
    state.update({k: v.detach() for k, v in model.named_buffers()})
    return lambda x, t: functional_call(model, state, (x, t))


# ------------------------------------------------------------------------------------------------- losses
def _check_points(x: torch.Tensor, what: str, fn: str) -> None:
    if x.dim() != 2:
        raise ValueError(f"{fn}: {what} must be [B, d], got shape {tuple(x.shape)}; reshape with .flatten(1)")


def flow_matching_loss(model: nn.Module, x1: torch.Tensor, x0: torch.Tensor | None = None,
                       t: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rectified-flow matching loss (paper F eq. 3), per-coordinate mean: x_t = t x1 + (1 - t) x0, target x1 - x0.

    ``x0`` ~ N(0, I) and ``t`` ~ U(0, 1) [B] are drawn from ``generator`` when not given.
    """
    _check_points(x1, "x1", "flow_matching_loss")
    if x0 is None:
        x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)
    if t is None:
        t = torch.rand(x1.shape[0], generator=generator, dtype=x1.dtype).to(x1.device)
    if x0.shape != x1.shape or t.shape != (x1.shape[0],):
        raise ValueError(f"flow_matching_loss: x0 must match x1 {tuple(x1.shape)} and t be [{x1.shape[0]}]; "
                         f"got x0 {tuple(x0.shape)}, t {tuple(t.shape)}")
    xt = t[:, None] * x1 + (1 - t[:, None]) * x0
    return F.mse_loss(model(xt, t), x1 - x0)


REDUCTIONS = ("mean", "none")


def alignment_loss(model: nn.Module, y: torch.Tensor, n_t: int = 1, reduction: str = "mean",
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Alignment loss of latents ``y`` [B, d] under a frozen flow (paper F eq. 5), per-coordinate mean.

    Each latent is repeated ``n_t`` times, each copy with its own x0 ~ N(0, I) and t ~ U(0, 1) (the authors'
    code uses n_t = 4): L(y) = mean || v(t y + (1 - t) x0, t) - (y - x0) ||^2 / d. The gradient reaches y through
    the target and through x_t; the flow's parameters get none (``frozen``). ``reduction="none"`` returns the
    per-latent loss [B] (mean over its n_t draws and d coordinates), ``"mean"`` a scalar.
    """
    _check_points(y, "y", "alignment_loss")
    if n_t < 1:
        raise ValueError(f"alignment_loss: n_t must be >= 1, got {n_t}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"alignment_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    b, d = y.shape
    y_rep = y.repeat(n_t, 1)  # [n_t * B, d], copy k of latent i at row k * B + i
    x0 = torch.randn(y_rep.shape, generator=generator, dtype=y.dtype).to(y.device)
    t = torch.rand(n_t * b, generator=generator, dtype=y.dtype).to(y.device)
    xt = t[:, None] * y_rep + (1 - t[:, None]) * x0  # eq. 5: the straight path from x0 to y
    per_draw = ((frozen(model)(xt, t) - (y_rep - x0)) ** 2).mean(dim=1)
    if reduction == "none":
        return per_draw.view(n_t, b).mean(dim=0)
    return per_draw.mean()


@torch.no_grad()
def alignment_landscape(model: nn.Module, points: torch.Tensor, n_t: int = 64,
                        generator: torch.Generator | None = None, batch: int = 4096) -> torch.Tensor:
    """Per-point alignment loss [N] of fixed points (paper F Fig. 3b): ``alignment_loss(reduction="none")`` with
    ``n_t`` Monte-Carlo draws per point, in batches of ``batch`` points."""
    _check_points(points, "points", "alignment_landscape")
    return torch.cat([alignment_loss(model, chunk, n_t=n_t, reduction="none", generator=generator)
                      for chunk in points.split(batch)])


# ------------------------------------------------------------------------------------------------- likelihood
DIVERGENCES = ("exact", "hutchinson")


def _divergence(v: torch.Tensor, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """div_x v [B]: the exact trace (one backward pass per dimension) or Hutchinson's eps^T (dv/dx) eps."""
    if noise is not None:
        (vjp,) = torch.autograd.grad(v, x, noise)
        return (vjp * noise).sum(dim=1)
    div = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for i in range(x.shape[1]):
        (row,) = torch.autograd.grad(v[:, i].sum(), x, retain_graph=i < x.shape[1] - 1)
        div = div + row[:, i]
    return div


def ode_log_likelihood(model: nn.Module, y: torch.Tensor, steps: int = 100, divergence: str = "exact",
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """log p_1(y) [B] under the flow (paper F eq. 4, instantaneous change of variables).

    Integrates the joint ODE of (x_t, a_t = int_t^1 div v ds) backward from (y, 0) at t = 1 to (x0, a_0) at t = 0
    with ``steps`` fixed classical Runge-Kutta (RK4) steps, then log p_1(y) = log N(x0; 0, I) - a_0.
    ``divergence="exact"`` takes the full Jacobian trace (d backward passes per evaluation: low dimension);
    ``"hutchinson"`` the unbiased estimate eps^T J eps with one Rademacher eps per point, fixed along the
    trajectory (FFJORD), drawn from ``generator``. The result carries no gradient; the model is untouched.
    """
    _check_points(y, "y", "ode_log_likelihood")
    if divergence not in DIVERGENCES:
        raise ValueError(f"ode_log_likelihood: divergence must be one of {DIVERGENCES}, got {divergence!r}")
    if steps < 1:
        raise ValueError(f"ode_log_likelihood: steps must be >= 1, got {steps}")
    v_fn = frozen(model)
    noise = None
    if divergence == "hutchinson":
        noise = (torch.randint(0, 2, y.shape, generator=generator) * 2 - 1).to(device=y.device, dtype=y.dtype)

    def field(x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            v = v_fn(x, torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device))
            div = _divergence(v, x, noise)
        return v.detach(), -div.detach()  # d x / dt = v,  d a / dt = -div v

    x = y.detach()
    a = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
    h = -1.0 / steps
    for k in range(steps):  # RK4 from t = 1 down to t = 0
        t = 1.0 + k * h
        k1x, k1a = field(x, t)
        k2x, k2a = field(x + 0.5 * h * k1x, t + 0.5 * h)
        k3x, k3a = field(x + 0.5 * h * k2x, t + 0.5 * h)
        k4x, k4a = field(x + h * k3x, t + h)
        x = x + h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        a = a + h / 6 * (k1a + 2 * k2a + 2 * k3a + k4a)
    d = y.shape[1]
    log_p0 = -0.5 * (x**2).sum(dim=1) - 0.5 * d * math.log(2 * math.pi)
    return log_p0 - a


# ------------------------------------------------------------------------------------------------- training
def _progress(iterable, progress: bool, desc: str):
    if not progress:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, mininterval=2.0)


def train_flow(model: nn.Module, sample_fn: Callable[[int], torch.Tensor], steps: int, batch_size: int = 256,
               lr: float = 1e-4, generator: torch.Generator | None = None, progress: bool = True) -> list[float]:
    """Train ``model`` in place by flow matching (eq. 3) on ``sample_fn(batch_size)`` [batch_size, dim] targets.

    Adam, betas (0.9, 0.999), no weight decay, constant ``lr`` (App. C.1; the value is lost from the text, the
    authors' code uses 1e-4). Noise and times come from ``generator``. Returns the per-step losses. The model's
    train/eval mode is restored and its gradients cleared on return.
    """
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=0.0)
    was_training = model.training
    model.train()
    losses = []
    bar = _progress(range(steps), progress, "flow matching")
    for _ in bar:
        x1 = sample_fn(batch_size)
        if x1.dim() != 2 or x1.shape[0] != batch_size:
            raise ValueError(f"train_flow: sample_fn({batch_size}) must return [{batch_size}, dim], "
                             f"got shape {tuple(x1.shape)}")
        loss = flow_matching_loss(model, x1.to(device), generator=generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if progress and len(losses) % 100 == 0:
            bar.set_postfix(loss=f"{sum(losses[-100:]) / 100:.4f}")
    opt.zero_grad(set_to_none=True)  # hand the model back without stale gradients
    model.train(was_training)
    return losses


def align_latents(model: nn.Module, y0: torch.Tensor, steps: int, lr: float = 1e-2, n_t: int = 1,
                  track: Callable[[torch.Tensor], float] | None = None, track_every: int = 1,
                  snapshot_steps: Sequence[int] = (), generator: torch.Generator | None = None,
                  progress: bool = True) -> tuple[torch.Tensor, dict]:
    """Optimise free latents, initialised at ``y0`` [N, d], by minimising the alignment loss (eq. 5; §5.1).

    Adam, betas (0.9, 0.999), no weight decay (App. C.1); ``lr`` is lost from the text, the authors' toy code uses
    1e-2. Returns ``(y, history)``: ``y`` a new detached tensor (``y0`` is untouched) and ``history`` with

    - ``"alignment_loss"``: one float per step, the loss at the points *before* that step's update;
    - ``"track"``, ``"track_steps"`` (when ``track`` is given): ``track(points)`` at steps 0, track_every, ...,
      on the same points as the loss of that step (e.g. the true mean NLL);
    - ``"snapshots"``: ``{step: points}`` for each step in ``snapshot_steps`` (0 = initial, ``steps`` = final).
    """
    _check_points(y0, "y0", "align_latents")
    if track_every < 1:
        raise ValueError(f"align_latents: track_every must be >= 1, got {track_every}")
    y = y0.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([y], lr=lr, betas=(0.9, 0.999), weight_decay=0.0)
    wanted = set(snapshot_steps)
    history: dict = {"alignment_loss": [], "snapshots": {}}
    if track is not None:
        history["track"], history["track_steps"] = [], []
    bar = _progress(range(steps), progress, "alignment")
    for step in bar:
        if step in wanted:
            history["snapshots"][step] = y.detach().clone()
        loss = alignment_loss(model, y, n_t=n_t, generator=generator)
        history["alignment_loss"].append(loss.item())
        if track is not None and step % track_every == 0:
            history["track"].append(float(track(y.detach())))
            history["track_steps"].append(step)
            if progress:
                bar.set_postfix(loss=f"{loss.item():.4f}", track=f"{history['track'][-1]:.3f}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if steps in wanted:
        history["snapshots"][steps] = y.detach().clone()
    return y.detach(), history


# ------------------------------------------------------------------------------------------------- toy config
@dataclass(frozen=True)
class ToyConfig:
    """Settings of notebook 01 (paper F §5.1, App. B, C.1). ``for_tier("paper")`` is App. C.1."""

    tier: str = "paper"
    width: int = 512  # App. C.1: hidden dimensionality 512
    blocks: int = 4  # App. C.1: 4 residual blocks
    flow_steps: int = 100_000  # App. C.1: 100k steps
    flow_batch: int = 256  # App. C.1: batch size 256
    flow_lr: float = 1e-4  # App. C.1: constant lr, value lost from the text; authors' code: 1e-4
    n_latents: int = 1000  # App. C.1: 1000 latents from N(0, I)
    align_steps: int = 5000  # App. C.1: 5000 steps
    align_lr: float = 1e-2  # App. C.1: value lost from the text; authors' toy code: 1e-2
    n_t: int = 4  # authors' (autoencoder) code repeats each latent 4 times; the toy's variant is not public
    kde_reference: int = 100_000  # App. B KDE on target samples; authors' code: 100k samples
    kde_bandwidth: float = 0.1  # App. B: bandwidth 0.1
    track_every: int = 10  # true NLL evaluated every k alignment steps (ours)
    landscape_resolution: int = 100  # grid points per axis of the Fig. 3(b) landscape (ours)
    landscape_n_t: int = 32  # Monte-Carlo draws per grid point of the landscape (ours)
    extent: float = 3.0  # plotted square [-extent, extent]^2 in normalised units (ours)
    snapshots: int = 6  # trajectory snapshots in Fig. 6 (ours)
    ideal_reference: int = 2000  # Assumption-1 check: target samples defining the ideal (empirical) flow (ours)
    ideal_latents: int = 500  # Assumption-1 check: latents aligned under the ideal flow (ours)
    ideal_steps: int = 300  # Assumption-1 check: alignment steps under the ideal flow (ours)
    cost_batch: int = 1000  # flow-cost check: latents per evaluation (the 1000 of App. C.1)
    cost_ode_steps: int = 100  # flow-cost check: RK4 steps of ode_log_likelihood
    distributions: tuple[str, ...] = toy.NAMES

    TIERS = ("smoke", "cpu", "paper")

    @classmethod
    def for_tier(cls, tier: str) -> "ToyConfig":
        if tier == "paper":
            return cls()
        if tier == "cpu":  # ~15 min on 2 shared cores for all six targets: a 128-wide flow trained 3000 steps
            # (so a 10x larger lr), 1000 alignment steps, n_t = 2, KDE on 20k samples; App. C.1 otherwise
            return cls(tier="cpu", width=128, blocks=4, flow_steps=3000, flow_lr=1e-3, align_steps=1000, n_t=2,
                       kde_reference=20_000, landscape_resolution=80, landscape_n_t=32)
        if tier == "smoke":  # < 60 s: every target still appears, tiny
            return cls(tier="smoke", width=32, blocks=2, flow_steps=150, flow_lr=1e-3, n_latents=200,
                       align_steps=60, n_t=1, kde_reference=2000, track_every=5, landscape_resolution=24,
                       landscape_n_t=4, snapshots=4, ideal_reference=200, ideal_latents=50, ideal_steps=20,
                       cost_batch=200, cost_ode_steps=10)
        raise ValueError(f"ToyConfig.for_tier: unknown tier {tier!r}; valid tiers: {', '.join(cls.TIERS)}")

    def snapshot_steps(self) -> list[int]:
        """``snapshots`` alignment steps for Fig. 6: 0, then log-spaced from 2% of ``align_steps`` to the end
        (the latents move most at the start)."""
        if self.snapshots < 2:
            return [self.align_steps]
        fr = [0.0] + [math.exp(math.log(0.02) * (1 - i / (self.snapshots - 2))) for i in range(self.snapshots - 1)]
        return sorted({round(f * self.align_steps) for f in fr})

    def as_dict(self) -> dict:
        return asdict(self)


def toy_flow_dir(config: ToyConfig, name: str, seed: int):
    """Run directory of the toy flow for target ``name``: one per (tier, settings, seed)."""
    tag = (f"{name}_w{config.width}_b{config.blocks}_steps{config.flow_steps}_bs{config.flow_batch}"
           f"_lr{config.flow_lr:g}_seed{seed}")
    return run_dir(config.tier, f"toy_flows/{tag}")


def toy_flow(config: ToyConfig, name: str, seed: int, train_if_missing: bool = True, device: str = "cpu",
             progress: bool = True) -> tuple[VelocityMLP, list[float]]:
    """The trained toy flow for target ``name``: loaded from its run directory, or trained there if missing.

    Training is seeded: model init from ``seed``, targets and path noise from two generators derived from it,
    so a rerun on the same machine type gives the same flow.
    """
    path = toy_flow_dir(config, name, seed) / "flow.pt"
    model = VelocityMLP(2, config.width, config.blocks)
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        return model.to(device), list(saved["losses"].tolist())
    if not train_if_missing:
        raise FileNotFoundError(f"no trained toy flow at {path}; train it with: python -m tvclab.flows train-toy "
                                f"--tier {config.tier} --seed {seed} --only {name} [--device cuda]")
    name_index = toy.NAMES.index(name)
    torch.manual_seed(seed * 1000 + name_index)
    model = VelocityMLP(2, config.width, config.blocks).to(device)
    data_g = torch.Generator().manual_seed(seed * 1000 + 100 + name_index)
    noise_g = torch.Generator().manual_seed(seed * 1000 + 200 + name_index)
    losses = train_flow(model, lambda n: toy.sample(name, n, data_g), config.flow_steps, config.flow_batch,
                        config.flow_lr, generator=noise_g, progress=progress)
    atomic_torch_save(path, {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                             "losses": torch.tensor(losses), "config": config.as_dict(), "seed": seed})
    return model, losses


def main(argv: list[str] | None = None) -> int:
    """``python -m tvclab.flows train-toy --tier paper [--seed 0] [--only mog5] [--device cuda]``."""
    ap = argparse.ArgumentParser(prog="python -m tvclab.flows")
    sub = ap.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train-toy", help="train the toy flows of notebook 01 into their run directories")
    tr.add_argument("--tier", choices=ToyConfig.TIERS, default="paper")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--only", action="append", choices=toy.NAMES)
    tr.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    config = ToyConfig.for_tier(args.tier)
    for name in args.only or config.distributions:
        model, losses = toy_flow(config, name, args.seed, device=args.device)
        tail = losses[-1000:]
        print(f"{name}: {parameter_count(model):,} parameters, flow-matching loss (mean of the last {len(tail)} "
              f"steps) {sum(tail) / len(tail):.4f} -> {toy_flow_dir(config, name, args.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
