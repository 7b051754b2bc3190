"""Notebook 07's orchestration: each method's gain against the stage-2 generator's capacity (issue "where the prior
is the bottleneck").

W, F and P argue that their tokenizers make latents easier *for the generator*; that can only show where the
generator, not the decoder, limits the samples. Here the generator is the axis: every tokenizer of notebook 06
(plus Prologue on the 2D tokenizer, paper P's own) keeps its stage-1 runs, and stage-2 generators of several
capacities are trained on them. The precedent is "When Worse is Better" (Ramanujan et al., NeurIPS 2025): by
scaling laws, smaller stage-2 models benefit from more compressed stage-1 latents even when reconstruction worsens;
so every capacity also gets the plain tokenizer's codebook sweep (notebook 02's K = 8 ... 256), its own "compress
more" frontier.

- ``Size`` / ``PLANS``: the generator grid per tier (depth x width of the stage-2 AR; ``stage2.ar.depth`` and
  ``stage2.ar.width``) and which sizes get the second training length, VA-pi post-training and the tokenizer axis.
  The preset's own size is on every grid, so its runs are notebook 06's.
- ``size_sets``: the ``--set`` overrides of one size; the continuous row's generator (a causal AR with a per-token
  flow head, paper F App. C.4) scales its flow head with it (``stage2.flow_head.width`` in the preset's ratio to the
  AR width, ``stage2.flow_head.blocks`` with the depth).
- ``points``: every (method, size, training length, tokenizer) point of the notebook as a ``crosspaper.Method``.
- ``point_metrics``: one seed's numbers at one point (gFD-clf, pFD-clf, gFD - rFD, precision / recall in
  classifier features, gLoss per token and per image, generator parameters).
- ``best_k``, ``kendall_tau``, ``tau_bootstrap``: the codebook frontier per size and the ranking agreement.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np

from . import configs, crosspaper

SIZE_KEYS = ("stage2.ar.depth", "stage2.ar.width")          # the discrete AR's capacity
HEAD_KEYS = ("stage2.flow_head.width", "stage2.flow_head.blocks")  # the continuous generator's flow head, scaled too
KIND_BOOT_SEEDS = "percentile bootstrap over seeds"


class Size(NamedTuple):
    depth: int
    width: int

    @property
    def label(self) -> str:
        return f"{self.depth}x{self.width}"


class Plan(NamedTuple):
    """What one tier of notebook 07 trains."""
    sizes: tuple[Size, ...]       # the generator grid, smallest first; the preset's own size among them
    long_sizes: tuple[Size, ...]  # sizes that also get 4x the stage-2 steps (plain and WGF-DPD)
    vapi_sizes: tuple[Size, ...]  # sizes whose plain AR is post-trained with VA-pi (the smallest and the default)
    tok_steps: tuple[int, ...]    # stage-1 lengths of the tokenizer axis (plain and WGF-DPD); the first: the preset's
    tok_sizes: tuple[Size, ...]   # generator sizes the tokenizer axis is read at
    long_factor: int = 4


def _plan(sizes, default: Size, long: str, tok_steps, tok_at_smallest: bool) -> Plan:
    """``long``: which sizes get 4x the stage-2 steps: "ends" (smallest, default, largest) or "smallest"."""
    sizes = tuple(sorted(sizes, key=lambda s: (s.depth * s.width * s.width, s.width)))
    two = (sizes[0], default)
    ends = tuple(dict.fromkeys((sizes[0], default, sizes[-1])))
    return Plan(sizes, ends if long == "ends" else sizes[:1], two, tuple(tok_steps),
                two if tok_at_smallest else (default,))


# smoke: the preset AR is 1 x 32 (2 heads): the smallest size and the default (also the largest), the fewest that
# exercise every cell. cpu: the preset AR is 3 x 128 (4 heads); 1 x 32 ... 4 x 192 spans ~60x in parameters (27K
# ... 1.6M). paper: paper W's CIFAR-10 AR is 13 x 512 (8 heads), ~56M here; 4 x 256 ... 16 x 768 (~32x) around it.
PLANS: dict[str, Plan] = {
    "smoke": _plan((Size(1, 8), Size(1, 32)), Size(1, 32), "smallest", (8, 16), False),
    "cpu": _plan((Size(1, 32), Size(2, 64), Size(3, 96), Size(3, 128), Size(4, 192)), Size(3, 128), "ends",
                 (400, 1600), True),
    "paper": _plan((Size(4, 256), Size(6, 320), Size(8, 384), Size(13, 512), Size(16, 768)), Size(13, 512), "ends",
                   (400_000, 1_600_000), True),
}


def default_size(cfg: configs.Config) -> Size:
    return Size(cfg.stage2.ar.depth, cfg.stage2.ar.width)


def check_plan(plan: Plan, cfg: configs.Config) -> None:
    """Raise when the preset's own size is off the grid or a width does not split into the preset's heads."""
    if default_size(cfg) not in plan.sizes:
        raise ValueError(f"the preset's generator {default_size(cfg).label} is not on the grid "
                         f"{[s.label for s in plan.sizes]}: its runs (notebook 06's) would not be reused")
    bad = [s.label for s in plan.sizes if s.width % cfg.stage2.ar.heads]
    if bad:
        raise ValueError(f"widths of {bad} are not multiples of stage2.ar.heads = {cfg.stage2.ar.heads}")


def continuous(cfg: configs.Config) -> bool:
    return cfg.quantizer.kind == "none"


def size_sets(cfg: configs.Config, size: Size) -> list[str]:
    """The ``--set`` overrides that give ``cfg``'s stage 2 the capacity ``size`` (the same directory as the preset's
    where they equal it). A continuous tokenizer's generator (paper F's causal AR with a flow head) scales its
    head with the AR: width in the preset's head-to-AR ratio, blocks in proportion to the depth (>= 1)."""
    s2 = cfg.stage2
    out = [f"stage2.ar.depth={size.depth}", f"stage2.ar.width={size.width}"]
    if continuous(cfg):
        hw = max(s2.ar.heads, round(size.width * s2.flow_head.width / s2.ar.width))
        hb = max(1, round(size.depth * s2.flow_head.blocks / s2.ar.depth))
        out += [f"stage2.flow_head.width={hw}", f"stage2.flow_head.blocks={hb}"]
    return out


def dedupe(sets: Sequence[str]) -> list[str]:
    """``--set`` overrides with each key once, the last value winning (``apply_overrides``'s reading), in order."""
    last = {}
    for s in sets:
        last[s.split("=", 1)[0].strip()] = s
    return list(last.values())


def point_sets(m: crosspaper.Method, tier: str) -> list[str]:
    return dedupe(crosspaper.run_sets(m, tier))


# ------------------------------------------------------------------------------------------------ the points

class Point(NamedTuple):
    """One point of the notebook: a method's row at a generator size, training length and tokenizer."""
    row: str                   # the method row ("plain", "wgf_dpd", ...) or the sweep row ("K=8", ...)
    size: Size
    method: crosspaper.Method  # config and every override (the size's among them)
    axis: str                  # "generator" | "long" (4x stage-2 steps) | "codebook" | "tokenizer"
    tok_steps: int = 0         # the stage-1 length of a tokenizer-axis point (0: the preset's)

    @property
    def key(self) -> str:
        tail = {"generator": "", "long": " 4x steps", "codebook": "", "tokenizer": f" s1={self.tok_steps}"}
        return f"{self.row} {self.size.label}{tail[self.axis]}"


def methods(wgf_sets: Sequence[str] = (), post_sets: Sequence[str] = ()) -> dict[str, crosspaper.Method]:
    """Notebook 06's tokenizers and VA-pi, and Prologue on the 2D tokenizer (paper P's own; it keeps the 2D
    tokenizer's one token per patch, so it does not share 06's backbone)."""
    rows = crosspaper.methods(wgf_sets, post_sets)
    out = {k: rows[k] for k in ("plain", "wgf_dpd", "flow_prior")}
    out["prologue_2d"] = crosspaper.Method("prologue", ("tokenizer.kind=2d",), False, "Prologue (P), 2D tokenizer",
                                           "P Table 1: gFID w/o CFG 21.01 -> 10.75 (2D tokenizer, ImageNet)")
    out["prologue_1d"] = rows["prologue"]
    out["vapi"] = rows["vapi"]
    return out


def with_sets(m: crosspaper.Method, extra: Sequence[str], label: str | None = None) -> crosspaper.Method:
    return m._replace(sets=tuple(m.sets) + tuple(extra), label=label or m.label)


def points(rows: dict[str, crosspaper.Method], plan: Plan, tier: str, sweep_k: Sequence[int]) -> list[Point]:
    """Every point: each tokenizer row at every size; VA-pi at ``plan.vapi_sizes``; plain and WGF-DPD with 4x the
    stage-2 steps at ``plan.long_sizes``; plain with codebook K for K in ``sweep_k`` at every size; plain and
    WGF-DPD with the longer stage-1 runs of ``plan.tok_steps`` at ``plan.tok_sizes``."""
    out = []
    for name, m in rows.items():
        base = crosspaper.config(m, tier)
        for s in (plan.vapi_sizes if m.posttrain else plan.sizes):
            out.append(Point(name, s, with_sets(m, size_sets(base, s)), "generator"))
    for name in ("plain", "wgf_dpd"):
        m = rows[name]
        base = crosspaper.config(m, tier)
        steps = base.stage2.optim.steps * plan.long_factor
        for s in plan.long_sizes:
            out.append(Point(name, s, with_sets(m, size_sets(base, s) + [f"stage2.optim.steps={steps}"]), "long"))
        for t in plan.tok_steps[1:]:
            extra = [f"optim.steps={t}", "evaluation.snapshots=false"]  # no per-10-step snapshots of a long run
            for s in plan.tok_sizes:
                out.append(Point(name, s, with_sets(m, extra + size_sets(base, s)), "tokenizer", t))
    plain = rows["plain"]
    base = crosspaper.config(plain, tier)
    for k in sweep_k:
        mk = with_sets(plain, [f"quantizer.codebook_size={k}"], f"plain K={k}")
        for s in plan.sizes:
            out.append(Point(f"K={k}", s, with_sets(mk, size_sets(base, s)), "codebook"))
    return out


# ------------------------------------------------------------------------------------------------ per-seed numbers

def gloss_columns(t2: dict, length: int) -> dict:
    """gLoss in nats per token and per image (x the sequence length, prologue tokens included) from a stage-2 test
    row, or the flow-matching loss of a continuous generator (not nats: no per-image number)."""
    if "gloss" in t2:
        return {"gloss": float(t2["gloss"]), "gloss_image": float(t2["gloss"]) * length}
    return {"fm_loss": float(t2["fm_loss"])}


def summary_cell(s: dict | None, digits: int = 3) -> str:
    if s is None:
        return "n/a"
    text = f"{s['mean']:.{digits}f}"
    return text + (f" [{s['lo']:.{digits}f}, {s['hi']:.{digits}f}]" if s.get("lo") is not None else " (1 seed)")


VAL_SAMPLE_SEED = 10_000  # validation samples: their own seed, apart from the test samples' (as notebook 06)


def point_metrics(stage1, gen, seed: int, real_test, real_val, dataset: str, clf, boot: int, n_eval: int,
                  recon_cache: dict) -> tuple[dict, "torch.Tensor"]:
    """One seed's numbers at one point, on the test split: rFD-clf and PSNR of the tokenizer (reconstructions
    cached per (stage-1 run, seed) in ``recon_cache``: every generator on one tokenizer shares them), gFD-clf of
    ``n_eval`` samples of the generator ``gen`` (a stage-2 or post-training directory) with its bootstrap interval
    over samples, pFD-clf and gFD - rFD (``evaluation.prior_columns``), precision / recall in classifier features
    (``metrics.generation_metrics(prc=True)``), gLoss per token and per image, generator parameters, and the
    validation gFD-clf that selections (the best K) read. Returns (numbers, the samples)."""
    from . import evaluation, metrics, train
    from .models.blocks import count_params

    key = (str(stage1), seed)
    if key not in recon_cache:
        recon = evaluation.reconstructions(stage1, real_test, seed=seed)
        rf = evaluation.rfid(stage1, real_test, dataset, seed=seed, classifier_config=clf, bootstrap=0, recon=recon)
        recon_cache[key] = (recon, rf)
    recon, rf = recon_cache[key]
    imgs = train.sample(gen, n_eval, seed=seed, progress=False)["images"]
    g = metrics.generation_metrics(real_test, imgs, dataset, classifier_config=clf, isc=False, kid=False, prc=True,
                                   bootstrap=boot)
    m = g["metric"]
    out = {"rfid": rf["value"], "psnr": rf["psnr"], "gfid": float(g[m]), "gfid_lo": g.get(f"{m}_lo"),
           "gfid_hi": g.get(f"{m}_hi"), "metric": m}
    out.update({k: float(v) for k, v in g.items() if k.startswith(("precision", "recall"))})
    out.update(evaluation.prior_columns(imgs, recon, rf["value"], out["gfid"], dataset, clf, boot))
    val = train.sample(gen, len(real_val), seed=VAL_SAMPLE_SEED + seed, progress=False)["images"]
    out["val_gfid"] = evaluation.frechet(real_val, val, dataset, clf, 0)["value"]
    prior, cfg = train.load_prior(gen)
    tok = train.load_tokenizer(stage1)
    out.update(gloss_columns(evaluation.test_metrics(gen), tok.n_tokens + cfg.prologue.n))
    out["params_generator"] = count_params(prior)
    return out, imgs


# ------------------------------------------------------------------------------------------------ frontier, ranks

def best_k(val_means: dict[int, float]) -> int:
    """The codebook size with the lowest validation gFD (mean over seeds) at one generator size; ties: the smaller K."""
    return min(sorted(val_means), key=lambda k: val_means[k])


def per_seed_best_k(val: dict[int, Sequence[float]]) -> list[int]:
    """Seed by seed (the same seeds, in order, for every K), the K with the lowest validation gFD."""
    ks = sorted(val)
    n = len(val[ks[0]])
    return [min(ks, key=lambda k: val[k][i]) for i in range(n)]


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists over the same methods (``scipy.stats.kendalltau``); 0 where undefined."""
    from scipy.stats import kendalltau

    t = kendalltau(a, b).statistic
    return 0.0 if t is None or not math.isfinite(t) else float(t)


def tau_bootstrap(per_seed_a: dict[str, Sequence[float]], per_seed_b: dict[str, Sequence[float]],
                  n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Kendall tau between the methods' mean scores at two sizes and its percentile bootstrap over seeds: the
    seeds (indices shared by every method and both sizes) are resampled with replacement, jointly across methods
    and sizes. Returns {"value", "lo", "hi", "interval", "n_seeds", "n_boot"}. Over 3-5 seeds such a bootstrap sees
    few distinct resamples and under-covers (``tvclab.stats``): a description, labelled so."""
    names = sorted(per_seed_a)
    A = np.array([list(per_seed_a[n]) for n in names], dtype=float)
    B = np.array([list(per_seed_b[n]) for n in names], dtype=float)
    if A.shape != B.shape:
        raise ValueError(f"tau_bootstrap needs the same seeds on both sides, got {A.shape} and {B.shape}")
    value = kendall_tau(A.mean(1), B.mean(1))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, A.shape[1], (n_boot, A.shape[1]))
    boots = np.array([kendall_tau(A[:, i].mean(1), B[:, i].mean(1)) for i in idx])
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return {"value": value, "lo": float(lo), "hi": float(hi), "interval": KIND_BOOT_SEEDS, "n_seeds": A.shape[1],
            "n_boot": n_boot}


def gains(plain: Sequence[float], other: Sequence[float]) -> list[float]:
    """Per-seed gain of a method over plain on a lower-is-better score (plain - method: > 0 is better)."""
    if len(plain) != len(other):
        raise ValueError(f"gains need one value per seed on both sides, got {len(plain)} and {len(other)}")
    return [float(p - o) for p, o in zip(plain, other)]


def chosen_in(results_of: Callable[[str], dict], notebook: str, key: str, tier: str):
    """A setting another notebook chose on the validation split at ``tier`` (its results.json, through
    ``results_of``), or None when that notebook has not run at this tier."""
    try:
        res = results_of(notebook)
    except FileNotFoundError:
        return None
    return res.get(key, {}).get("chosen") if res.get("tier") == tier else None
