"""The optimiser of an ``OptimConfig`` (nanoGPT's decay groups) and the learning rate as a pure function of the
step (resume-safe)."""
from __future__ import annotations

import math

import torch

from tvclab.configs import OptimConfig


def build_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW (weight decay on matrices, none on norms, biases and vectors) or Adam, over trainable ``params``,
    with torch's fused step where the parameters allow it (``_fast_step``).

    ``params``: tensors, or groups ``{"params": [...], "betas": ..., "weight_decay": ...}`` whose own settings
    replace ``cfg``'s for their parameters (e.g. paper P's compact AR, App. E)."""
    params = list(params)
    if not params or not isinstance(params[0], dict):
        params = [{"params": params}]
    groups = []
    for g in params:
        ps = [p for p in g["params"] if p.requires_grad]
        betas, wd = g.get("betas", (cfg.beta1, cfg.beta2)), g.get("weight_decay", cfg.weight_decay)
        if cfg.optimizer == "adam":
            groups.append({"params": ps, "betas": betas, "weight_decay": wd})
        else:
            groups += [{"params": [p for p in ps if p.dim() >= 2], "betas": betas, "weight_decay": wd},
                       {"params": [p for p in ps if p.dim() < 2], "betas": betas, "weight_decay": 0.0}]
    opt_cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    every = [p for g in groups for p in g["params"]]
    return opt_cls(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **_fast_step(every))


# devices with torch's fused (single-kernel) Adam/AdamW step
_FUSED_DEVICES = ("cpu", "cuda", "mps", "xpu")


def _fast_step(params: list[torch.Tensor]) -> dict:
    """``fused=True`` when every parameter is a floating-point tensor on a device with the fused Adam kernel
    (one kernel for the whole step; docs/throughput.md measured the cpu-tier steps' fraction of their matmul floor
    rising from 0.69-0.71 to 0.71-0.73 with it), otherwise torch's default. The fused step sums in another order than the per-parameter one:
    parameters differ at float-rounding level (about 1e-7 after a few steps)."""
    if params and all(p.is_floating_point() and p.device.type in _FUSED_DEVICES for p in params):
        return {"fused": True}
    return {}


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
