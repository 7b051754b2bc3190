"""The probability path of every flow in the suite (paper F §3.1 eq. 3; paper W App. F.1's flow-matching decoder).

**Time convention, stated once for all of tvclab: t = 0 is noise, t = 1 is data.** The linear (rectified-flow,
conditional-OT) path joins noise x0 ~ N(0, I) to a data point x1 by

    x_t = t x1 + (1 - t) x0,        u_t = d x_t / dt = x1 - x0,

and a velocity model v(x_t, t) regresses u_t. Paper F's toy code uses this convention; its autoencoder code and
the FlowMo-style decoder of W use the reverse one (t = 1 is noise): a model trained there with time s maps to ours
by t = 1 - s and v = -v_s. The path also owns the conversions between the three things a network can predict at
(x_t, t): the velocity, the noise x0 and the data x1 (cf. facebookresearch/flow_matching ``path/affine.py``):

    x1 = x_t + (1 - t) v,     x0 = x_t - t v,     v = (x1 - x_t) / (1 - t) = (x_t - x0) / t.

``t`` is a tensor [B] (one time per sample) or a float; it is broadcast over the trailing dimensions of x.
"""
from __future__ import annotations

from typing import NamedTuple

import torch


class PathSample(NamedTuple):
    x0: torch.Tensor   # noise end (t = 0)
    x1: torch.Tensor   # data end (t = 1)
    t: torch.Tensor    # [B]
    x_t: torch.Tensor  # the point on the path at t
    dx_t: torch.Tensor  # the path velocity x1 - x0 (the flow-matching target)


def _bt(t, like: torch.Tensor) -> torch.Tensor:
    """t as a tensor broadcastable against ``like`` [B, ...]."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        return t
    if t.shape != like.shape[:1]:
        raise ValueError(f"t must be a scalar or [B] = [{like.shape[0]}], got shape {tuple(t.shape)}")
    return t.view(-1, *([1] * (like.dim() - 1)))


class LinearPath:
    """x_t = t x1 + (1 - t) x0 (t = 1 data): the only path tvclab uses."""

    def interpolate(self, x0: torch.Tensor, x1: torch.Tensor, t) -> torch.Tensor:
        tt = _bt(t, x1)
        return tt * x1 + (1 - tt) * x0

    @staticmethod
    def target(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """The conditional velocity u_t = x1 - x0 (constant along the straight path)."""
        return x1 - x0

    def sample(self, x0: torch.Tensor, x1: torch.Tensor, t) -> PathSample:
        if x0.shape != x1.shape:
            raise ValueError(f"x0 {tuple(x0.shape)} and x1 {tuple(x1.shape)} must have the same shape")
        t = torch.as_tensor(t, dtype=x1.dtype, device=x1.device)
        return PathSample(x0, x1, t, self.interpolate(x0, x1, t), self.target(x0, x1))

    # ------------------------------------------------------------------ conversions between predictions
    def velocity_to_data(self, v: torch.Tensor, x_t: torch.Tensor, t) -> torch.Tensor:
        return x_t + (1 - _bt(t, x_t)) * v

    def velocity_to_noise(self, v: torch.Tensor, x_t: torch.Tensor, t) -> torch.Tensor:
        return x_t - _bt(t, x_t) * v

    def data_to_velocity(self, x1: torch.Tensor, x_t: torch.Tensor, t) -> torch.Tensor:
        return (x1 - x_t) / (1 - _bt(t, x_t))

    def noise_to_velocity(self, x0: torch.Tensor, x_t: torch.Tensor, t) -> torch.Tensor:
        return (x_t - x0) / _bt(t, x_t)

    def data_to_noise(self, x1: torch.Tensor, x_t: torch.Tensor, t) -> torch.Tensor:
        tt = _bt(t, x_t)
        return (x_t - tt * x1) / (1 - tt)

    def noise_to_data(self, x0: torch.Tensor, x_t: torch.Tensor, t) -> torch.Tensor:
        tt = _bt(t, x_t)
        return (x_t - (1 - tt) * x0) / tt


PATH = LinearPath()
