"""The one fit loop of the suite: both training stages, the toy flows, the FD-clf classifier and later stages all
train through ``fit``.

One step: learning rate from the step (``optim.lr_at``), ``step_fn(step)`` returns the losses (key ``"loss"`` is
minimised), zero-grad / backward / clip / optimiser step. Every ``log_every`` steps a ``train`` row with the window
means; every ``eval_every`` steps ``evaluate(step)`` (rank 0 only) gives an ``eval`` row; every ``ckpt_every``
steps and at the end the checkpoint is written atomically. With a ``RunContext`` the rows go to the run's
metrics.jsonl and a killed run resumes from its checkpoint (model, optimiser, RNG, metrics trimmed to the
checkpoint's step); without one (in-memory training: toy flows, the classifier) the rows are only returned.

Wall time is kept out of the metrics log (a rerun must reproduce it exactly): with a ``RunContext`` the seconds
per training step (evaluation and checkpoints excluded) go to ``ctx.record_timing`` (the run's ``timing.json``).

``ctx`` is duck-typed (``tvclab.train.runlog.RunContext``: ``dist.master``, ``restore``, ``log``, ``barrier``,
``reduce_mean``, ``save_checkpoint``, ``record_timing``), so this package imports nothing of the stages.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Callable

import torch
from tqdm.auto import tqdm

from tvclab.configs import OptimConfig

from .optim import build_optimizer, lr_at, set_lr

StepFn = Callable[[int], dict]


def fit(model: torch.nn.Module, step_fn: StepFn, optim: OptimConfig, *, ctx=None, params=None,
        evaluate: Callable[[int], dict] | None = None, after_eval: Callable[[int], None] | None = None,
        after_step: Callable[[int], dict | None] | None = None, desc: str = "train",
        progress: bool = True) -> list[dict]:
    """Train ``model`` (its trainable ``params``, default all) for ``optim.steps`` steps; return the log rows.

    ``ctx`` (``RunContext``): resume, log to the run directory, checkpoint, reduce across processes.
    ``evaluate(step) -> dict``: metrics of an ``eval`` row (rank 0). ``after_eval(step)``: e.g. snapshots (rank 0).
    ``after_step(step) -> dict | None``: runs on every process after the optimiser step of ``step`` (1-based), e.g.
    a codebook restart; the numbers it returns are averaged into the ``train`` rows like the losses.
    """
    opt = build_optimizer(model.parameters() if params is None else params, optim)
    master = ctx is None or ctx.dist.master
    start = ctx.restore(model, opt, desc) if ctx is not None else 0
    if ctx is not None:
        ctx.barrier()
    rows: list[dict] = []

    def log(row: dict) -> None:
        rows.append(row)
        if ctx is not None:
            ctx.log(row)

    was = model.training
    model.train()
    acc, n_acc = defaultdict(float), 0
    bar = tqdm(range(start, optim.steps), initial=start, total=optim.steps, desc=desc,
               disable=not (progress and master), mininterval=2.0, dynamic_ncols=True)
    train_seconds = 0.0
    for step in bar:
        t_step = time.perf_counter()
        lr = lr_at(step, optim)
        set_lr(opt, lr)
        losses = step_fn(step)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], optim.grad_clip)
        opt.step()
        for k, v in losses.items():
            acc[k] = acc[k] + v.detach()  # summed as tensors: no device sync per step
        n_acc += 1
        done = step + 1
        if after_step is not None:
            for k, v in (after_step(done) or {}).items():
                acc[k] = acc[k] + v
        train_seconds += time.perf_counter() - t_step
        if done % optim.log_every == 0 or done == optim.steps:
            row = {k: float(v) / n_acc for k, v in acc.items()}
            if ctx is not None:
                row = ctx.reduce_mean(row)
            log({"kind": "train", "step": done, "lr": lr, **row})
            bar.set_postfix(loss=f"{row['loss']:.4f}", refresh=False)
            acc, n_acc = defaultdict(float), 0
        if evaluate is not None and (done % optim.eval_every == 0 or done == optim.steps):
            if master:
                model.eval()
                log({"kind": "eval", "step": done, **evaluate(done)})
                model.train()
                if after_eval is not None:
                    after_eval(done)
            if ctx is not None:
                ctx.barrier()
        if ctx is not None and (done % optim.ckpt_every == 0 or done == optim.steps):
            ctx.save_checkpoint(model, opt, done)
    bar.close()
    if ctx is not None and master and optim.steps > start:
        ctx.record_timing(optim.steps - start, train_seconds)
    opt.zero_grad(set_to_none=True)  # hand the model back without stale gradients
    model.train(was)
    return rows
