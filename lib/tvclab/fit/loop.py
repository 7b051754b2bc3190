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

Non-finite values stop the run (``NonFiniteError``): a loss part or the gradient norm (the total norm
``clip_grad_norm_`` returns, or ``get_total_norm`` when clipping is off) that is NaN or infinite, or an ``evaluate``
metric that is. The check runs on the window of steps summed for each ``train`` row (one device sync per
``log_every`` steps, as the row itself needs) and again before every checkpoint, so a non-finite value never
reaches a checkpoint, an ``eval`` row, a snapshot or the stage's done marker: the last good checkpoint stays, and
the error names the first bad step and its non-finite parts. Under ``torchrun`` the values are averaged over the
processes first (NaN propagates), so every process stops at the same step.

``ctx`` is duck-typed (``tvclab.train.runlog.RunContext``: ``dist.master``, ``restore``, ``log``, ``barrier``,
``reduce_mean``, ``save_checkpoint``, ``record_timing``), so this package imports nothing of the stages.
"""
from __future__ import annotations

import math
import numbers
import time
from collections import defaultdict
from typing import Callable

import torch
from tqdm.auto import tqdm

from tvclab import timing
from tvclab.configs import OptimConfig

from .optim import build_optimizer, lr_at, set_lr

StepFn = Callable[[int], dict]
GRAD_NORM = "grad_norm"


class NonFiniteError(RuntimeError):
    """Training or evaluation gave a NaN or infinite value; nothing computed from it was saved.

    ``step``: the step (1-based, as in metrics.jsonl) where it first showed; ``parts``: the non-finite values by
    name (loss parts, ``grad_norm``, or evaluation metrics); ``kind``: "train" or "eval"; ``last_checkpoint``: the
    step of the last checkpoint this run wrote or resumed from (None: none yet).
    """

    def __init__(self, message: str, step: int, parts: dict[str, float], kind: str = "train",
                 last_checkpoint: int | None = None):
        super().__init__(message)
        self.step, self.parts, self.kind, self.last_checkpoint = step, dict(parts), kind, last_checkpoint


@timing.timed("training")
def fit(model: torch.nn.Module, step_fn: StepFn, optim: OptimConfig, *, ctx=None, params=None,
        evaluate: Callable[[int], dict] | None = None, snapshot: Callable[[int], None] | None = None,
        snapshot_every: int = 0, after_step: Callable[[int], dict | None] | None = None, desc: str = "train",
        progress: bool = True) -> list[dict]:
    """Train ``model`` (its trainable ``params``, default all) for ``optim.steps`` steps; return the log rows.

    ``ctx`` (``RunContext``): resume, log to the run directory, checkpoint, reduce across processes.
    ``evaluate(step) -> dict``: metrics of an ``eval`` row (rank 0). ``snapshot(step)`` (rank 0, outside the
    timed step): every ``snapshot_every`` steps and at the last, or (0) after each good ``eval`` row.
    ``after_step(step) -> dict | None``: runs on every process after the optimiser step of ``step`` (1-based), e.g.
    a codebook restart; the numbers it returns are averaged into the ``train`` rows like the losses.
    """
    opt = build_optimizer(model.parameters() if params is None else params, optim)
    trained = [p for g in opt.param_groups for p in g["params"]]
    master = ctx is None or ctx.dist.master
    start = ctx.restore(model, opt, desc) if ctx is not None else 0
    if ctx is not None:
        ctx.barrier()
    rows: list[dict] = []
    saved = [start if ctx is not None and start else None]  # step of the last good checkpoint

    def log(row: dict) -> None:
        rows.append(row)
        if ctx is not None:
            ctx.log(row)

    def window_means() -> dict[str, float]:
        """The means of the summed window (one sync), averaged over processes, checked to be finite."""
        row = {k: float(v) / n_acc for k, v in acc.items()}
        row[GRAD_NORM] = float(grad_sum) / n_acc
        if ctx is not None:
            row = ctx.reduce_mean(row)
        if not all(math.isfinite(v) for v in row.values()):
            raise _train_error(desc, window, row, saved[0])
        row.pop(GRAD_NORM)
        return row

    was = model.training
    model.train()
    acc, n_acc, grad_sum, window = defaultdict(float), 0, 0.0, []
    bar = tqdm(range(start, optim.steps), initial=start, total=optim.steps, desc=desc,
               disable=not (progress and master), mininterval=2.0, dynamic_ncols=True)
    train_seconds = 0.0
    for step in bar:
        t_step = time.perf_counter()
        lr = lr_at(step, optim)
        set_lr(opt, lr)
        losses = step_fn(step)
        grad_norm = optimizer_step(opt, losses["loss"], trained, optim.grad_clip)
        parts = {k: v.detach() for k, v in losses.items()}
        for k, v in parts.items():
            acc[k] = acc[k] + v  # summed as tensors: no device sync per step
        grad_sum = grad_sum + grad_norm
        window.append((step + 1, {**parts, GRAD_NORM: grad_norm}))  # to name the bad step, if any
        n_acc += 1
        done = step + 1
        if after_step is not None:
            for k, v in (after_step(done) or {}).items():
                acc[k] = acc[k] + v
        train_seconds += time.perf_counter() - t_step
        if done % optim.log_every == 0 or done == optim.steps:
            row = window_means()
            log({"kind": "train", "step": done, "lr": lr, **row})
            bar.set_postfix(loss=f"{row['loss']:.4f}", refresh=False)
            acc, n_acc, grad_sum, window = defaultdict(float), 0, 0.0, []
        if evaluate is not None and (done % optim.eval_every == 0 or done == optim.steps):
            bad: dict[str, float] = {}
            if master:
                model.eval()
                with timing.phase("evaluation"):
                    metrics = evaluate(done)
                model.train()
                bad = nonfinite(metrics)
                if not bad:
                    log({"kind": "eval", "step": done, **metrics})
                    if snapshot is not None and not snapshot_every:
                        snapshot(done)
            if ctx is not None:  # every process learns rank 0's verdict, so all stop together
                bad_anywhere = ctx.reduce_mean({"eval_nonfinite": float(bool(bad))})["eval_nonfinite"] > 0
            else:
                bad_anywhere = bool(bad)
            if bad_anywhere:
                raise NonFiniteError(f"{desc}: evaluation at step {done} gave non-finite metrics "
                                     f"({_fmt(bad) or 'on the first process'}); {_kept(saved[0])}", done, bad,
                                     "eval", saved[0])
            if ctx is not None:
                ctx.barrier()
        if snapshot is not None and snapshot_every and master and (done % snapshot_every == 0 or done == optim.steps):
            snapshot(done)
        if ctx is not None and (done % optim.ckpt_every == 0 or done == optim.steps):
            if n_acc:  # steps not yet checked (a cadence where checkpoints fall between log rows)
                window_means()
            ctx.save_checkpoint(model, opt, done)
            saved[0] = done
    bar.close()
    if ctx is not None and master and optim.steps > start:
        ctx.record_timing(optim.steps - start, train_seconds)
    opt.zero_grad(set_to_none=True)  # hand the model back without stale gradients
    model.train(was)
    return rows


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor, trained: list[torch.Tensor],
                   clip: float) -> torch.Tensor:
    """The loop's training step after the forward: zero the gradients, backward, the gradient norm (clipped to
    ``clip`` when > 0), the optimiser's step; returns the norm before clipping (no device sync). The benches time
    this same step (``tvclab.bench.step_ratio``, ``wgf_overhead``)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = _grad_norm(trained, clip)
    opt.step()
    return norm


def _grad_norm(params: list[torch.Tensor], clip: float) -> torch.Tensor:
    """The total L2 norm of the gradients (before clipping), clipped to ``clip`` when > 0. No device sync."""
    if clip > 0:
        return torch.nn.utils.clip_grad_norm_(params, clip)
    grads = [p.grad for p in params if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def nonfinite(values: dict) -> dict[str, float]:
    """The numeric entries of ``values`` (numbers or one-element tensors) that are NaN or infinite."""
    out = {}
    for k, v in values.items():
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isfinite(v):
            out[k] = float(v)
    return out


def _fmt(parts: dict[str, float]) -> str:
    return ", ".join(f"{k}={v}" for k, v in parts.items())


def _kept(saved: int | None) -> str:
    return (f"nothing after step {saved} was saved (the checkpoint of step {saved} is the last good one)"
            if saved is not None else "no checkpoint had been written yet")


def _train_error(desc: str, window: list, means: dict[str, float], saved: int | None) -> NonFiniteError:
    """Name the first step of the window with a non-finite loss part or gradient norm (read only now, on failure)."""
    for step, values in window:
        bad = nonfinite(values)
        if bad:
            return NonFiniteError(f"{desc}: non-finite training values at step {step} ({_fmt(bad)}); "
                                  f"{_kept(saved)}", step, bad, "train", saved)
    first, last = (window[0][0], window[-1][0]) if window else (0, 0)
    bad = nonfinite(means)
    return NonFiniteError(f"{desc}: non-finite training values in steps {first}..{last} ({_fmt(bad)}, on another "
                          f"process or from an after-step hook); {_kept(saved)}", last, bad, "train", saved)
