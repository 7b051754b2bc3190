"""Cost claim of paper F (§1, §4.3): one alignment-loss evaluation vs one exact ODE log-likelihood.

``python -m tvclab.bench flow_cost [--width 128 --blocks 4 --batch 1000 --ode-steps 100 --n-t 1 --threads 1
--device cpu]`` builds one ``VelocityMLP`` over 2D points (by default the notebook-01 cpu-tier flow: width 128,
4 AdaLN blocks, and the 1000 latents of App. C.1), then times, in this process and on the same batch,

- ``alignment_loss(model, y, n_t)`` (eq. 5), forward only, and forward + backward into y (one optimiser step);
- ``ODESolver(frozen(model)).log_likelihood(y, steps, divergence="exact")`` (eq. 4; RK4, 4 velocity evaluations
  a step, each with a d-pass Jacobian trace).

Both come from the one flow-matching core, ``tvclab.flow``: this file only times them.

Each time is the minimum over repeats (after a warm-up), the usual estimate of the cost on a shared machine.
CPU timings use one thread by default: on a machine whose cores are busy with other work, a multi-threaded
forward pass waits at every parallel region for a descheduled thread (we measured one 2-thread alignment-loss
forward at ~600 ms beside another job, against ~20 ms on one thread), and the ratio would then measure the
scheduler, not the work.
The last line is the ratio ODE / alignment-loss evaluation, e.g. ``... 312.5x``. The flow's weights are random
(perturbed from the zero-initialised output so the Jacobian is not trivially zero): the cost does not depend on
training.
"""
from __future__ import annotations

import argparse
import time
from typing import Callable

import torch

from ..flow import ODESolver, VelocityMLP, alignment_loss, frozen
from ..models.blocks import count_params


def min_time(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` calls, after one warm-up call (CUDA-synchronised)."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(model: torch.nn.Module, y: torch.Tensor, ode_steps: int = 100, n_t: int = 1,
            loss_repeats: int = 20, ode_repeats: int = 2, generator: torch.Generator | None = None,
            threads: int | None = 1) -> dict:
    """Seconds for one alignment-loss evaluation (forward; forward + backward) and one exact ODE log-likelihood
    of ``model`` on the batch ``y``, and their ratios. CPU timings run on ``threads`` torch threads (restored
    afterwards; ``None`` keeps the current setting)."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _measure(model, y, ode_steps, n_t, loss_repeats, ode_repeats, generator)
    finally:
        torch.set_num_threads(previous)


def _measure(model, y, ode_steps, n_t, loss_repeats, ode_repeats, generator) -> dict:
    device = str(y.device)
    y = y.detach()
    y_leaf = y.clone().requires_grad_(True)  # the loss is evaluated as in training: with a graph back to y

    def loss_forward():
        return alignment_loss(model, y_leaf, n_t=n_t, generator=generator)

    def loss_step():
        alignment_loss(model, y_leaf, n_t=n_t, generator=generator).backward()

    t_fwd = min_time(loss_forward, loss_repeats, device)
    t_step = min_time(loss_step, loss_repeats, device)
    solver = ODESolver(frozen(model))
    t_ode = min_time(lambda: solver.log_likelihood(y, steps=ode_steps, divergence="exact", method="rk4"),
                     ode_repeats, device)
    return {"alignment_forward_s": t_fwd, "alignment_forward_backward_s": t_step, "ode_exact_s": t_ode,
            "ratio_ode_over_alignment": t_ode / t_fwd, "ratio_ode_over_alignment_step": t_ode / t_step,
            "batch": y.shape[0], "dim": y.shape[1], "ode_steps": ode_steps, "n_t": n_t,
            "velocity_evaluations_per_ode": 4 * ode_steps, "threads": torch.get_num_threads()}


def randomised_flow(dim: int, width: int, blocks: int, seed: int = 0) -> VelocityMLP:
    """A ``VelocityMLP`` with every weight random (the zero-initialised adaLN layers included)."""
    torch.manual_seed(seed)
    model = VelocityMLP(dim, width, blocks)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.normal_(0.0, 0.02)
    return model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tvclab.bench flow_cost", description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=128, help="flow width (notebook 01 cpu tier: 128; App. C.1: 512)")
    ap.add_argument("--blocks", type=int, default=4, help="AdaLN residual blocks (App. C.1: 4)")
    ap.add_argument("--dim", type=int, default=2, help="point dimension (toy: 2)")
    ap.add_argument("--batch", type=int, default=1000, help="points per evaluation (App. C.1: 1000 latents)")
    ap.add_argument("--ode-steps", type=int, default=100, help="RK4 steps of the ODE log-likelihood")
    ap.add_argument("--n-t", type=int, default=1, help="draws per latent in the alignment loss")
    ap.add_argument("--repeats", type=int, default=20, help="alignment-loss repeats (minimum is reported)")
    ap.add_argument("--ode-repeats", type=int, default=2, help="ODE repeats (minimum is reported)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads while timing (default 1, see above; 0: torch's default)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    threads = args.threads or None
    model = randomised_flow(args.dim, args.width, args.blocks).to(args.device)
    g = torch.Generator().manual_seed(1)
    y = torch.randn(args.batch, args.dim, generator=g).to(args.device)
    r = measure(model, y, args.ode_steps, args.n_t, args.repeats, args.ode_repeats, generator=g, threads=threads)
    print(f"flow: VelocityMLP(dim={args.dim}, width={args.width}, blocks={args.blocks}), "
          f"{count_params(model):,} parameters; batch {args.batch}; device {args.device}, "
          f"{r['threads']} CPU thread(s)")
    print(f"alignment loss (eq. 5, n_t={args.n_t}), forward:            {r['alignment_forward_s'] * 1e3:10.2f} ms")
    print(f"alignment loss, forward + backward into y (one step):  {r['alignment_forward_backward_s'] * 1e3:10.2f} ms")
    print(f"exact ODE log-likelihood (eq. 4, RK4 x {args.ode_steps} steps = "
          f"{r['velocity_evaluations_per_ode']} evaluations, {args.dim}-pass trace): {r['ode_exact_s'] * 1e3:.1f} ms")
    print(f"ratio ODE / alignment step (forward + backward): {r['ratio_ode_over_alignment_step']:.1f}x")
    print(f"ratio ODE / alignment-loss evaluation: {r['ratio_ode_over_alignment']:.1f}x")
    return 0
