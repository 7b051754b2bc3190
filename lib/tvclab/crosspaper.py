"""The cross-paper comparison of notebook 06: the four methods on one setting (issue "cross-paper comparison").

Every row is a config of the suite with the *same backbone*: data, the tokenizer's shape (kind, patch, width,
depths, heads, MLP ratio, tokens), the stage-2 AR's shape and every stage's step and batch budget
(``BACKBONE``; ``check_backbone`` fails on a difference). What differs is the method:

- ``plain``: the 1D two-stage baseline (paper W's TiTok row), the reference;
- ``wgf_dpd``: WGF-DPD (paper W), tokenizer-side prior matching, at the setting notebook 02 chose on validation;
- ``flow_prior``: paper F's alignment of continuous latents to a flow prior (semantic target), with F's generator
  for continuous tokens (a causal AR with a per-token flow head: not the discrete AR of the other rows);
- ``prologue``: paper P's prologue tokens on the same 1D tokenizer (P uses a 2D one; here the backbone is shared);
- ``vapi``: paper V's post-training of the plain baseline's AR (tokenizer unchanged), at notebook 05's lr;
- ``wgf_vapi``: WGF-DPD's tokenizer and VA-pi post-training of its AR, the combination no paper runs.

Run directories are the notebooks' own where the config is the same (the runner returns at once for a finished
run): ``plain`` and ``wgf_dpd`` are notebook 02's, ``vapi`` notebook 05's, ``flow_prior`` notebook 03's.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

from . import configs

BACKBONE = ("data.", "tokenizer.", "stage2.ar.", "optim.steps", "optim.batch_size", "stage2.optim.steps",
            "stage2.optim.batch_size", "stage2.train_images", "posttrain.optim.steps", "posttrain.optim.batch_size")


class Method(NamedTuple):
    config: str              # the preset
    sets: tuple[str, ...]    # its overrides
    posttrain: bool          # the generator is post-trained (paper V) after stage 2
    label: str
    paper: str               # the paper's own gain over its own baseline (its data, not ours)


def methods(wgf_sets: Sequence[str] = (), post_sets: Sequence[str] = (), **chosen: Sequence[str]) -> dict[str, Method]:
    """The rows: the plain reference, then every registered method's rows (``configs.MethodSpec.rows``) in their
    ``order``. A row takes the settings chosen on validation for the methods it names (``chosen``, by method name;
    ``wgf_sets`` / ``post_sets``: those of WGF-DPD and VA-pi, chosen by notebooks 02 and 05; empty: the presets')."""
    picked = {"wgf_dpd": tuple(wgf_sets), "vapi": tuple(post_sets), **{k: tuple(v) for k, v in chosen.items()}}
    rows = sorted((r for spec in configs.METHODS.values() for r in spec.rows), key=lambda r: r.order)
    out = {"plain": Method("baseline_1d", (), False, "plain two-stage (1D)", "reference")}
    for r in rows:
        sets = tuple(s for name in r.chosen for s in picked.get(name, ())) + r.sets
        out[r.key] = Method(r.config, sets, r.posttrain, r.label, r.paper)
    return out


def run_sets(m: Method, tier: str) -> list[str]:
    """The overrides of row ``m`` at ``tier``: the plain row's backbone where the method's preset differs (at the
    paper tier each paper has its own preset; W's CIFAR-10 one is the shared backbone), then the method's own.
    Where the presets agree (smoke, cpu) nothing is added, so the run directories are the notebooks' own."""
    shared = backbone(configs.get("baseline_1d", tier))
    own = backbone(configs.get(m.config, tier))
    return [f"{k}={v}" for k, v in shared.items() if own[k] != v] + list(m.sets)


def config(m: Method, tier: str, seed: int = 0) -> configs.Config:
    return configs.apply_overrides(configs.get(m.config, tier), run_sets(m, tier) + [f"seed={seed}"])


def stages(m: Method) -> tuple[str, ...]:
    """The stages row ``m`` runs, in order."""
    return ("stage1", "stage2") + (("posttrain",) if m.posttrain else ())


def inventory(runs: dict[str, tuple[Method, Sequence[int]]], tier: str) -> dict[str, list[str]]:
    """Which stage runs of ``runs`` (``{label: (method, seeds)}``) are finished already and which are still to
    train: ``{"reused": ["plain+vapi seed 0 stage1", ...], "to_train": [...]}``, one entry per run directory (rows
    that share a stage, such as VA-pi and the plain row's stage 1, are listed together). Read-only: it looks for each
    stage's done marker where ``train.run`` puts it. The runner returns at once for those whose marker holds the
    same config, and stops with RunConflictError for one with another (a run this list calls "reused" then does
    not pass silently)."""
    from .train import STAGES, stage_dir

    seen: dict = {}  # stage directory -> [labels, seed, stage, finished]
    for label, (m, seeds) in runs.items():
        for seed in seeds:
            cfg = config(m, tier, seed)
            for st in stages(m):
                sdir = stage_dir(st, cfg)[1]
                if sdir in seen:
                    seen[sdir][0].append(label)
                else:
                    seen[sdir] = [[label], seed, st, (sdir / STAGES[st].marker(cfg)).exists()]
    out: dict[str, list[str]] = {"reused": [], "to_train": []}
    for labels, seed, st, done in seen.values():
        out["reused" if done else "to_train"].append(f"{'+'.join(labels)} seed {seed} {st}")
    return out


def backbone(cfg: configs.Config) -> dict:
    """The leaves every row must share."""
    return {k: v for k, v in cfg.flat().items() if any(k == b or (b.endswith(".") and k.startswith(b))
                                                       for b in BACKBONE)}


def check_backbone(rows: dict[str, Method], tier: str) -> dict:
    """The shared backbone of ``rows`` at ``tier``; raises naming the row and the fields that differ."""
    ref_name = next(iter(rows))
    ref = backbone(config(rows[ref_name], tier))
    for name, m in rows.items():
        b = backbone(config(m, tier))
        diff = {k: (ref.get(k), b.get(k)) for k in set(ref) | set(b) if ref.get(k) != b.get(k)}
        if diff:
            raise ValueError(f"row {name!r} does not share the backbone of {ref_name!r} at tier {tier}: "
                             + ", ".join(f"{k} {a!r} vs {v!r}" for k, (a, v) in sorted(diff.items())))
    return ref
