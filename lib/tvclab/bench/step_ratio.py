"""Stage-1 training step time of several configs over a reference config's, measured side by side in one process
(notebook 06's cost column: "the extra training cost over the plain baseline as a measured step-time ratio").

Every config's ``Stage1Model`` (tokenizer plus its objectives: WGF-DPD's proxy and target, the prologue's joint AR,
the flow-prior alignment) takes training steps as the fit loop takes them, on a fixed batch of its own batch size
(``throughput.stage1_case``; data loading is not timed).
The steps go round the models, the order reversed every other round, so slow changes in machine load affect every
model alike (as in ``wgf_overhead``). A config's ratio is the median over rounds of its step time over the
reference's in the same round. The step times a run directory records are no substitute when the runs were made at
different times or beside other jobs. The last line is the largest ratio, e.g. ``1.62x``.

    python -m tvclab.bench step_ratio [--tier cpu] [--steps 10] baseline_1d wartok prologue ae_aligned
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from tvclab import configs


def interleaved(steps: dict[str, Callable[[int], None]], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Wall seconds of ``rounds`` calls of every ``steps[name](i)``, after ``warmup`` untimed rounds; within a round
    the names go in order, reversed every other round."""
    names = list(steps)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + rounds):
        for n in (names if i % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            steps[n](i)
            if i >= warmup:
                times[n].append(time.perf_counter() - t)
    return times


def stage1_step(cfg: configs.Config, seed: int = 0) -> Callable[[int], None]:
    """One training step of ``cfg``'s stage 1: the model and step function ``throughput`` builds (a fixed batch, the
    step's draws), then what ``tvclab.fit.fit`` does with them (train mode, backward, the gradient norm with the
    stage's clipping, AdamW over the stage's parameter groups). The learning-rate schedule and logging are left out:
    they cost the same for every config."""
    from tvclab.bench.throughput import stage1_case
    from tvclab.fit import build_optimizer, optimizer_step  # the loop's own step

    case = stage1_case(cfg, seed=seed)
    opt = build_optimizer(case.model.param_groups(), case.optim)
    trained = [p for p in case.model.parameters() if p.requires_grad]
    case.model.train()

    def step(i: int) -> None:
        optimizer_step(opt, case.step_fn(i)["loss"], trained, case.optim.grad_clip)

    step.model = case.model  # what it trains (for a caller's checks)
    return step


def stage1_step_ratios(cfgs: dict[str, configs.Config], reference: str, rounds: int = 10, warmup: int = 2,
                       seed: int = 0) -> dict[str, dict]:
    """``{name: {"ratio", "ms", "batch"}}``: each config's median step time over ``reference``'s in the same round
    (``ratio``; 1 for the reference) and its median step in milliseconds, every config at its own
    ``optim.batch_size``."""
    if reference not in cfgs:
        raise ValueError(f"reference {reference!r} is not among the configs ({', '.join(cfgs)})")
    times = interleaved({n: stage1_step(cfg, seed) for n, cfg in cfgs.items()}, rounds, warmup)
    ref = times[reference]
    return {n: {"ratio": statistics.median(t / r for t, r in zip(v, ref)), "ms": 1000 * statistics.median(v),
                "batch": cfgs[n].optim.batch_size} for n, v in times.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.bench step_ratio", description=__doc__.split("\n\n")[0])
    p.add_argument("configs", nargs="+", help="presets; the first is the reference (e.g. baseline_1d)")
    p.add_argument("--tier", default="cpu", choices=configs.TIERS)
    p.add_argument("--steps", type=int, default=10, help="timed rounds (after 2 warm-up rounds)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    cfgs = {n: configs.get(n, args.tier) for n in args.configs}
    out = stage1_step_ratios(cfgs, args.configs[0], args.steps, seed=args.seed)
    print(f"{torch.get_num_threads()} threads, tier {args.tier}, {args.steps} rounds")
    for n, r in out.items():
        print(f"{n:>16}: {r['ms']:7.1f} ms a step (batch {r['batch']}), {r['ratio']:.2f}x {args.configs[0]}")
    print(f"{max(r['ratio'] for r in out.values()):.2f}x")
    return 0
