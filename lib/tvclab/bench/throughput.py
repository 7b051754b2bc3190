"""Training-step throughput held against the machine's matmul rate (nanoGPT's habit of printing model-FLOPs
utilisation, here on the CPU).

Three steps, each built exactly as training builds it at the chosen tier (``--tier``, default cpu) and run through
the suite's one fit loop (``tvclab.fit.fit``: learning rate, forward, backward, gradient norm, AdamW):

- ``stage1 baseline_1d``: paper W's 1D tokenizer (TiTok-style) with its reconstruction and VQ losses;
- ``stage1 wartok``: the same tokenizer with WGF-DPD (proxy forward and backward, target forward, W Algorithm 1);
- ``stage2 ar``: the stage-2 causal AR prior over the tokenizer's tokens.

Per step it prints:
- the model FLOPs, counted from the shapes of the step's own matrix multiplies and attention kernels by
  ``torch.utils.flop_counter.FlopCounterMode`` (forward and backward; the optimiser's elementwise work is not
  counted, as nanoGPT does not count it);
- the measured step time (median of ``--steps`` steps after ``--warmup``) and the rate it implies;
- the floor: the same matmul and attention kernels, with the same shapes, strides and inputs, recorded during one
  step and replayed back to back with nothing in between (the machine's practical rate for *these* shapes,
  timed in the same process, right after every timed step), and the step's rate as a fraction of it (the median
  over steps of floor time / step time, so that load from elsewhere moves both alike). A fraction of 1 means the step is all
  matrix multiplies; what is missing is time spent outside them (elementwise kernels, copies, Python);
- for reference, the rate of a bare float32 2048^3 GEMM (the machine's peak on large shapes).

The batch is a fixed random batch of the tier's shape (data loading is not timed). The last line is the worst
fraction, e.g. ``0.78``.

    python -m tvclab.bench throughput [--tier cpu] [--steps 20] [--warmup 5] [--profile]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from tvclab import configs

_aten = torch.ops.aten
# The kernels the floor replays: matrix multiplies and fused attention (forward and backward).
MATMUL_OPS = {_aten.mm.default, _aten.addmm.default, _aten.bmm.default, _aten.baddbmm.default}
ATTENTION_OPS = {getattr(_aten, n).default for n in (
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention_for_cpu_backward",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_efficient_attention_backward",
    "_scaled_dot_product_flash_attention", "_scaled_dot_product_flash_attention_backward") if hasattr(_aten, n)}


def _count_cpu_attention() -> None:
    """FlopCounterMode counts the CUDA attention kernels but not the CPU flash kernel SDPA runs here; count it with
    the same formulas (same arguments: query, key, value first; the backward's gradient before them)."""
    from torch.utils import flop_counter as fc

    fwd, bwd = _aten._scaled_dot_product_flash_attention_for_cpu, _aten._scaled_dot_product_flash_attention_for_cpu_backward
    if fwd not in fc.flop_registry:
        fc.register_flop_formula(fwd)(lambda q, k, v, *a, out_shape=None, **kw: fc.sdpa_flop(q, k, v))
    if bwd not in fc.flop_registry:
        fc.register_flop_formula(bwd)(lambda g, q, k, v, *a, out_shape=None, **kw: fc.sdpa_backward_flop(g, q, k, v))


_count_cpu_attention()


@dataclasses.dataclass
class Case:
    """One training step: ``model`` and ``step_fn(step) -> {"loss": ...}`` as the stage builds them."""
    name: str
    model: torch.nn.Module
    step_fn: Callable[[int], dict]
    optim: configs.OptimConfig
    shape: str


class _Recorder(TorchDispatchMode):
    """Keeps every matmul / attention call of the code it wraps (the op and its actual inputs) for replay."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in MATMUL_OPS or func in ATTENTION_OPS:
            self.calls.append((func, args, kwargs))
        return func(*args, **kwargs)


def stage1_case(name: str | configs.Config, tier: str = "cpu", seed: int = 0) -> Case:
    """The stage-1 step of preset ``name`` at ``tier``, or of the config ``name`` itself."""
    from tvclab import data
    from tvclab.train.stage1 import Stage1Model

    cfg = name if configs.is_config(name) else configs.get(name, tier)
    name = cfg.name
    channels = data.channels(cfg.data.dataset)
    torch.manual_seed(seed)
    model = Stage1Model(cfg, channels)
    b, s = cfg.optim.batch_size, cfg.data.image_size
    x = torch.rand(b, channels, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1

    def step_fn(step: int) -> dict:
        return model(x, model.draw(b, step))

    t = cfg.tokenizer
    return Case(f"stage1 {name}", model, step_fn, cfg.optim,
                f"batch {b} of {channels}x{s}x{s}, {model.tokenizer.n_patches} patches + {model.tokenizer.n_tokens} "
                f"tokens, width {t.width}, {t.enc_depth}+{t.dec_depth} layers")


def stage2_case(tier: str, seed: int = 0, name: str = "baseline_1d") -> Case:
    from tvclab.losses import ar_cross_entropy
    from tvclab.objectives import sequence_layout
    from tvclab.models import ARPrior

    cfg = configs.get(name, tier)
    n = cfg.tokenizer.n_tokens
    layout = sequence_layout(cfg, n)
    torch.manual_seed(seed)
    ar = ARPrior.from_config(cfg.stage2.ar, layout)
    b = cfg.stage2.optim.batch_size
    seq = torch.randint(0, layout.vocab, (b, layout.length), generator=torch.Generator().manual_seed(seed))

    def step_fn(step: int) -> dict:
        return {"loss": ar_cross_entropy(ar(seq), seq)}

    a = cfg.stage2.ar
    return Case("stage2 ar", ar, step_fn, cfg.stage2.optim,
                f"batch {b} of {layout.length} tokens, vocabulary {layout.vocab}, width {a.width}, {a.depth} layers")


def count_flops(case: Case) -> dict[str, float]:
    """FLOPs of one forward + backward, total and split into matmul and attention (FlopCounterMode)."""
    counter = FlopCounterMode(display=False)
    with counter:
        out = case.step_fn(0)
        out["loss"].backward()
    case.model.zero_grad(set_to_none=True)
    by_op = {str(k): v for k, v in counter.get_flop_counts().get("Global", {}).items()}
    attention = sum(v for k, v in by_op.items() if "attention" in k)
    total = counter.get_total_flops()
    return {"total": float(total), "attention": float(attention), "matmul": float(total - attention)}


def record_kernels(case: Case) -> list[tuple]:
    """The matmul and attention calls of one forward + backward of the step, with their actual inputs."""
    rec = _Recorder()
    with rec:
        out = case.step_fn(0)
        out["loss"].backward()
    case.model.zero_grad(set_to_none=True)
    return rec.calls


def replay_seconds(calls: list[tuple]) -> float:
    """Seconds to run ``calls`` bare, back to back (the floor of the step they were recorded from)."""
    with torch.no_grad():
        t = time.perf_counter()
        for func, args, kwargs in calls:
            func(*args, **kwargs)
        return time.perf_counter() - t


def paired_times(case: Case, steps: int, warmup: int, calls: list[tuple]) -> list[tuple[float, float]]:
    """(step seconds, floor seconds) for each of ``steps`` training steps run by the fit loop after ``warmup``
    untimed ones; the floor (``calls``, from ``record_kernels``) is replayed right after each step, so both see
    the same machine load."""
    from tvclab.fit import fit

    replay_seconds(calls)  # warm-up
    pairs: list[tuple[float, float]] = []
    total = warmup + steps
    optim = dataclasses.replace(case.optim, steps=total, log_every=total, eval_every=total, ckpt_every=total)
    start = [0.0]

    def timed_step(step: int) -> dict:
        if step == 0:
            start[0] = time.perf_counter()
        return case.step_fn(step)

    def after(done: int) -> None:
        step = time.perf_counter() - start[0]
        floor = replay_seconds(calls)
        if done > warmup:
            pairs.append((step, floor))
        start[0] = time.perf_counter()

    fit(case.model, timed_step, optim, after_step=after, progress=False, desc=case.name)
    return pairs


def gemm_rate(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a bare float32 n^3 matrix multiply (median of ``repeats``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times)


def measure(case: Case, steps: int, warmup: int, flops: dict | None = None,
            calls: list[tuple] | None = None) -> dict[str, float]:
    """FLOPs, median step and floor seconds, and the fraction: the median over steps of floor / step time (robust
    to the machine's speed drifting during the measurement). ``flops`` / ``calls``: counted / recorded before
    (a compiled model's kernels are counted and recorded on its eager self)."""
    flops = flops or count_flops(case)
    pairs = paired_times(case, steps, warmup, calls or record_kernels(case))
    step = statistics.median(s for s, _ in pairs)
    floor = statistics.median(f for _, f in pairs)
    return {"flops": flops["total"], "attention_flops": flops["attention"], "step_s": step, "floor_s": floor,
            "rate": flops["total"] / step, "floor_rate": flops["total"] / floor,
            "fraction": statistics.median(f / s for s, f in pairs)}


def compile_case(case: Case) -> float:
    """``torch.compile`` the case's model in place; seconds of its first (compiling) forward + backward."""
    case.model.compile()
    t = time.perf_counter()
    case.step_fn(0)["loss"].backward()
    case.model.zero_grad(set_to_none=True)
    return time.perf_counter() - t


# what the step spends its time on, by kernel family (torch.profiler's own-time per aten op)
_FAMILIES = (("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")),
             ("attention", ("scaled_dot_product",)),
             ("copies (cat, copy_, contiguous)", ("aten::cat", "aten::copy_", "aten::clone", "aten::contiguous")),
             ("elementwise and reductions", ("aten::",)))


def profile_summary(case: Case, steps: int = 5, rows: int = 12) -> str:
    """torch.profiler over ``steps`` forward + backward passes: own time by kernel family (matmul, attention,
    copies, other aten kernels; the rest of the wall time is Python and dispatch), then the top kernels. The
    profiler's own overhead inflates the small kernels: read the shares, not the milliseconds."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    t = time.perf_counter()
    with torch_profile(activities=[ProfilerActivity.CPU]) as p:
        for i in range(steps):
            case.step_fn(i)["loss"].backward()
    wall = time.perf_counter() - t
    case.model.zero_grad(set_to_none=True)
    events = p.key_averages()
    fam = {name: 0.0 for name, _ in _FAMILIES}
    for e in events:
        for name, keys in _FAMILIES:
            if any(k in e.key for k in keys):
                fam[name] += e.self_cpu_time_total / 1e6
                break
    total = sum(fam.values())
    lines = [f"  profile ({steps} forward + backward passes, {1000 * wall / steps:.1f} ms each under the profiler): "
             + "; ".join(f"{k} {100 * v / wall:.0f}%" for k, v in fam.items())
             + f"; Python, dispatch and autograd between kernels {100 * max(wall - total, 0) / wall:.0f}%"]
    lines.append(events.table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=40))
    return "\n".join(lines)


def cases(tier: str, seed: int = 0) -> list[Case]:
    return [stage1_case("baseline_1d", tier, seed), stage1_case("wartok", tier, seed), stage2_case(tier, seed)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.bench throughput", description=__doc__.split("\n\n")[0])
    p.add_argument("--tier", default="cpu", choices=configs.TIERS, help="the tier whose step shapes are timed")
    p.add_argument("--steps", type=int, default=20, help="timed steps per case")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", action="store_true", help="print torch.profiler's kernel table for each case")
    p.add_argument("--compile", action="store_true",
                   help="also time each step under torch.compile: compile seconds, fraction, break-even steps")
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        p.error("--steps must be >= 1 and --warmup >= 0")

    peak = gemm_rate()
    print(f"{torch.get_num_threads()} threads; bare float32 2048^3 GEMM: {peak / 1e9:.1f} GFLOP/s")
    worst = None
    for case in cases(args.tier, args.seed):
        flops, calls = count_flops(case), record_kernels(case)
        r = measure(case, args.steps, args.warmup, flops, calls)
        print(f"{case.name} ({args.tier} tier; {case.shape}): {r['flops'] / 1e9:.2f} GFLOP per step "
              f"(attention {r['attention_flops'] / 1e9:.2f})")
        print(f"  step {1000 * r['step_s']:.1f} ms (median of {args.steps}) = {r['rate'] / 1e9:.1f} GFLOP/s; "
              f"its matmul/attention kernels bare {1000 * r['floor_s']:.1f} ms = {r['floor_rate'] / 1e9:.1f} GFLOP/s; "
              f"fraction of floor {r['fraction']:.2f}; of the 2048^3 GEMM {r['rate'] / peak:.2f}")
        if args.profile:
            print(profile_summary(case))
        worst = r["fraction"] if worst is None else min(worst, r["fraction"])
        if args.compile:
            c = compile_case(case)
            rc = measure(case, args.steps, args.warmup, flops, calls)
            # the saving per step from the two fractions against one floor (the machine's speed drifts between
            # the eager and the compiled measurement; the fractions are paired within each)
            saved = r["floor_s"] * (1 / r["fraction"] - 1 / rc["fraction"])
            pays = f"pays after {c / saved:.0f} steps" if saved > 0 else "never pays (no faster per step)"
            print(f"  torch.compile: first step {c:.1f} s (compiling; longer with a cold cache on a fresh machine); "
                  f"then fraction of floor {rc['fraction']:.2f}, {1000 * saved:.1f} ms saved per step; {pays} "
                  f"(this tier's run: {case.optim.steps} steps)")
    print("worst fraction of the matmul floor:")
    print(f"{worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
