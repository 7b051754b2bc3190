"""Pixel-space reconstruction metrics."""
from __future__ import annotations

import torch


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, reduction: str = "mean"):
    """PSNR in dB, 10 log10(data_range^2 / MSE), per image over [C,H,W]; images in [-1, 1] (data_range 2).

    ``reduction="mean"`` returns the mean over images (a float), ``"none"`` the per-image tensor [B].
    Identical images are capped at 100 dB (MSE floored at data_range^2 * 1e-10) so means stay finite.
    """
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    mse = (a.detach().double() - b.detach().double()).pow(2).flatten(1).mean(1)
    per_image = 10 * torch.log10(data_range**2 / mse.clamp_min(data_range**2 * 1e-10))
    if reduction == "none":
        return per_image.float()
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    return float(per_image.mean())
