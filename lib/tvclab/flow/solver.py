"""ODE solver for a velocity field on the path of ``tvclab.flow.path`` (t = 0 noise -> t = 1 data), apart from any
model (cf. facebookresearch/flow_matching ``solver/ode_solver.py``):

- ``sample(x0)``: integrate d x / dt = v(x, t) from t = 0 to 1 (Euler, midpoint or RK4 fixed steps);
- ``log_likelihood(x1)``: paper F eq. 4, the instantaneous change of variables integrated backward from x1 at
  t = 1 to x0 at t = 0: log p_1(x1) = log N(x0; 0, I) - int_0^1 div v(x_t, t) dt, with the exact Jacobian trace
  (d backward passes per evaluation: low dimension only) or Hutchinson's estimate eps^T (dv/dx) eps with one
  Rademacher eps per point, fixed along the trajectory (FFJORD).

The velocity is any callable ``v(x [B, ...], t [B]) -> [B, ...]``; gradients are never taken with respect to its
parameters here (``log_likelihood`` returns a detached result).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
METHODS = ("euler", "midpoint", "rk4")
DIVERGENCES = ("exact", "hutchinson")


def _step(f, x, t: float, h: float, method: str):
    """One fixed step of size h of d(state)/dt = f(state, t) for a state that is a tuple of tensors."""
    add = lambda a, b, s: tuple(ai + s * bi for ai, bi in zip(a, b))
    k1 = f(x, t)
    if method == "euler":
        return add(x, k1, h)
    if method == "midpoint":
        return add(x, f(add(x, k1, h / 2), t + h / 2), h)
    k2 = f(add(x, k1, h / 2), t + h / 2)
    k3 = f(add(x, k2, h / 2), t + h / 2)
    k4 = f(add(x, k3, h), t + h)
    return tuple(xi + h / 6 * (a + 2 * b + 2 * c + d) for xi, a, b, c, d in zip(x, k1, k2, k3, k4))


class ODESolver:
    def __init__(self, velocity: Velocity):
        self.velocity = velocity

    def _v(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return self.velocity(x, torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device))

    def sample(self, x0: torch.Tensor, steps: int, method: str = "euler", t0: float = 0.0,
               t1: float = 1.0) -> torch.Tensor:
        """x at ``t1`` from ``x0`` at ``t0`` (default: noise -> data) in ``steps`` equal fixed steps."""
        if method not in METHODS:
            raise ValueError(f"ODESolver.sample: method must be one of {METHODS}, got {method!r}")
        if steps < 1:
            raise ValueError(f"ODESolver.sample: steps must be >= 1, got {steps}")
        h = (t1 - t0) / steps
        x = (x0,)
        for k in range(steps):
            x = _step(lambda s, t: (self._v(s[0], t),), x, t0 + k * h, h, method)
        return x[0]

    def log_likelihood(self, x1: torch.Tensor, steps: int = 100, divergence: str = "exact", method: str = "rk4",
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """log p_1(x1) [B] for points x1 [B, d] (paper F eq. 4); the result carries no gradient."""
        if x1.dim() != 2:
            raise ValueError(f"log_likelihood: x1 must be [B, d], got shape {tuple(x1.shape)}; "
                             "reshape with .flatten(1)")
        if divergence not in DIVERGENCES:
            raise ValueError(f"log_likelihood: divergence must be one of {DIVERGENCES}, got {divergence!r}")
        if method not in METHODS or steps < 1:
            raise ValueError(f"log_likelihood: method must be one of {METHODS} and steps >= 1; got {method!r}, {steps}")
        noise = None
        if divergence == "hutchinson":
            noise = (torch.randint(0, 2, x1.shape, generator=generator) * 2 - 1).to(device=x1.device, dtype=x1.dtype)

        def field(state, t):
            with torch.enable_grad():
                x = state[0].detach().requires_grad_(True)
                v = self._v(x, t)
                div = _divergence(v, x, noise)
            return v.detach(), -div.detach()  # d x / dt = v,  d a / dt = -div v (a_t = int_t^1 div v ds)

        state = (x1.detach(), torch.zeros(x1.shape[0], dtype=x1.dtype, device=x1.device))
        h = -1.0 / steps
        for k in range(steps):  # from t = 1 down to t = 0
            state = _step(field, state, 1.0 + k * h, h, method)
        x0, a = state
        d = x1.shape[1]
        return -0.5 * (x0**2).sum(dim=1) - 0.5 * d * math.log(2 * math.pi) - a


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
