"""AdamW with nanoGPT's decay groups, and the learning rate as a pure function of the step (resume-safe)."""
from __future__ import annotations

import math

import torch


def adamw(params, lr: float, betas: tuple[float, float], weight_decay: float) -> torch.optim.AdamW:
    """AdamW over ``params`` (trainable only); weight decay on matrices, none on norms, biases and vectors."""
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def lr_at(step: int, total: int, lr: float, lr_min: float, warmup: int, schedule: str = "cosine") -> float:
    """Linear warm-up to ``lr`` over ``warmup`` steps, then cosine (W: cosine to 3e-5) or linear (P) decay to
    ``lr_min`` at ``total``."""
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "cosine":
        return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * frac))
    return lr + (lr_min - lr) * frac


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr
