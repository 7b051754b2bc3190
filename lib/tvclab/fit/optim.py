"""The optimiser of an ``OptimConfig`` (nanoGPT's decay groups) and the learning rate as a pure function of the
step (resume-safe)."""
from __future__ import annotations

import math

import torch

from tvclab.configs import OptimConfig


def build_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW (weight decay on matrices, none on norms, biases and vectors) or Adam, over trainable ``params``."""
    params = [p for p in params if p.requires_grad]
    betas = (cfg.beta1, cfg.beta2)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay)
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=betas)


def lr_at(step: int, cfg: OptimConfig) -> float:
    """Linear warm-up to ``lr`` over ``warmup_steps``, then cosine (W: cosine to 3e-5), linear (P) decay to
    ``lr_min`` at ``steps``, or constant (F App. C.1)."""
    lr, warmup = cfg.lr, cfg.warmup_steps
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    if cfg.schedule == "constant":
        return lr
    frac = min(1.0, (step - warmup) / max(1, cfg.steps - warmup))
    if cfg.schedule == "cosine":
        return cfg.lr_min + 0.5 * (lr - cfg.lr_min) * (1.0 + math.cos(math.pi * frac))
    return lr + (cfg.lr_min - lr) * frac


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr
