"""Paper F's alignment of continuous latents to a frozen flow prior (§4, §5.2, App. C.2): the config section
``align`` (weight, target, projection, the flow prior's shape and training), its presets and cross-paper row. The
objective is ``tvclab.objectives.alignment``; the prior trains before stage 1 (its ``prepare`` hook)."""
from __future__ import annotations

from dataclasses import dataclass, field

from tvclab.configs import BETA, COUNT, RATE, WEIGHT, CrossPaperRow, MethodSpec, Range, base, off, register_method


ALIGN_TARGETS = ("low_level", "semantic", "discrete", "textual")  # paper F §5.2's four target kinds


@dataclass
class FlowPriorConfig:
    """The frozen flow prior trained by flow matching on (projected) target features (paper F §4.2, App. C.2,
    Table 3); a ``VelocityMLP`` with AdaLN. Defaults are the cpu tier."""
    width: int = 256              # F App. C.2: 1024 hidden units (authors' code: flow_width 1024)
    blocks: int = 3               # F App. C.2: 6 layers (authors' code: flow_depth 6)
    steps: int = 3000             # F §5.2: 1M steps
    batch_size: int = 256         # F Table 3: 256
    lr: float = 1e-3              # authors' code (flowhead.yaml): 1e-4; cpu tier 1e-3 (3000 steps, not 1M)
    warmup_steps: int = 100       # F Table 3: 2.5k
    beta2: float = 0.95           # F Table 3: AdamW betas (0.9, 0.95)
    weight_decay: float = 0.02    # F Table 3: 0.02
    grad_clip: float = 1.0        # F Table 3: max grad norm 1.0
    ema: float = 0.999            # F Table 3: EMA 0.9999 (cpu tier 0.999: 3000 steps); 0: off
    target_samples: int = 20000   # target feature vectors drawn for the flow and the kNN index


@dataclass
class AlignConfig:
    """Paper F §4, §5.2: token-level alignment of continuous latents to a frozen flow prior (eq. 5)."""
    weight: float = 0.0           # 0: off; F §5.2: 0.01 (authors' code: w-1e2)
    target: str = "semantic"      # "low_level" (the ae_kl run's latents) | "semantic" (the FD-clf classifier's
                                  # seed-1 twin, penultimate features) | "discrete" (baseline_1d's code vectors,
                                  # weighted by use) | "textual" (an embedding table, when a package ships one)
    projection: str = "random"    # F §4.2 / Table 2(a): "random" (default) | "avgpool" | "pca"
    n_t: int = 4                  # draws of (x0, t) per latent (authors' code: flow_mul 4)
    knn_k: int = 5                # k of the kNN NLL proxy d log r_k (F §5.2)
    eval_latents: int = 10000     # held-out token latents whose kNN NLL is logged (F §5.2: 10k)
    flow: FlowPriorConfig = field(default_factory=FlowPriorConfig)


def _checks(cfg):
    al = cfg.align
    if al.target not in ALIGN_TARGETS:
        yield f"align.target must be one of {', '.join(ALIGN_TARGETS)}"
    if al.projection not in ("random", "avgpool", "pca"):
        yield "align.projection must be random, avgpool or pca"
    if not (al.weight == 0 or cfg.quantizer.kind == "none"):
        yield "align.weight > 0 aligns continuous latents (paper F): it needs quantizer.kind=none"


METHOD = register_method(MethodSpec(
    name="flow_alignment", paper="F §4, §5.2", section="align", config=AlignConfig, stage="stage1",
    rules={FlowPriorConfig: {"width": COUNT, "blocks": COUNT, "steps": COUNT, "batch_size": COUNT, "lr": RATE,
                             "warmup_steps": off("0: none"), "beta2": BETA, "weight_decay": WEIGHT,
                             "grad_clip": Range(0, note="0: off"), "ema": Range(0, 1, hi_open=True, note="0: off"),
                             "target_samples": Range(2)},
           AlignConfig: {"weight": Range(0, note="0: off"), "n_t": COUNT, "knn_k": COUNT, "eval_latents": COUNT}},
    late_check=_checks,
    bases={
        # the flow prior (App. C.2, Table 3; authors' flowhead.yaml: lr 1e-4)
        "paper_f": lambda: {"align.flow.width": 1024, "align.flow.blocks": 6, "align.flow.steps": 1_000_000,
                            "align.flow.lr": 1e-4, "align.flow.warmup_steps": 2_500, "align.flow.ema": 0.9999,
                            "align.flow.target_samples": 1_000_000, "align.eval_latents": 10_000},
        "f_smoke": lambda: {"align.flow.width": 32, "align.flow.blocks": 1, "align.flow.steps": 20,
                            "align.flow.batch_size": 64, "align.flow.warmup_steps": 2,
                            "align.flow.target_samples": 256, "align.eval_latents": 64},
    },
    # the AE aligned to a flow prior (weight 0.01, §5.2; the target by ``align.target``)
    presets={"ae_aligned": dict(smoke=lambda: base("f_smoke"), cpu=lambda: base("f_cpu"),
                                paper=lambda: base("paper_f"), method={"align.weight": 0.01})},  # F §5.2: 0.01
    rows=(CrossPaperRow("flow_prior", "ae_aligned", "flow-prior alignment (F)",
                        "F Table 1: FID 15.08 -> 11.47 (DINOv2 target, ImageNet, MAR-B)",
                        sets=("align.target=semantic",), order=2),),
))
