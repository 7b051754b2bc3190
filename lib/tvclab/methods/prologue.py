"""Paper P's prologue tokens (§2, §2.1, App. E): the config section ``prologue`` (the prologue codebook, the joint
AR and its optimiser, Prologue-Post), its presets and cross-paper row. The objective is
``tvclab.objectives.prologue``."""
from __future__ import annotations

from dataclasses import dataclass, field

from tvclab.configs import (BETA, PROBABILITY, RATE, WEIGHT, ARConfig, CrossPaperRow, MethodSpec, Range, TokenGroup,
                            base, off, register_method)


@dataclass
class PrologueConfig:
    n: int = 0                    # prologue tokens (0: none); P §2 / authors' code: 16
    codebook_size: int = 1024     # authors' code: prologue codebook 1024
    code_dim: int = 0             # 0: same as quantizer.code_dim
    tau: float = 0.1              # authors' code: Prob-STE tau 0.1
    ar_weight: float = 3.0        # authors' code: AR (CE) weight 3.0 (lambda of Fig. 5)
    visual_dropout: float = 0.5   # authors' code: visual dropout 0.5
    routing: str = "prologue"     # where the joint AR's CE goes (P Fig. 5): "prologue" (P §2: to the prologue tokens
                                  # only) | "visual" (the 1D/2D baselines of Fig. 5: into the visual tokens through
                                  # the VQ's Prob-STE, quantizer.prob_tau; needs prologue.n = 0)
    # the compact AR's own AdamW (authors' code, configs/train/ae.yaml: betas (0.9, 0.99), weight decay 3e-2; the
    # tokenizer keeps optim's). One optimiser, the AR in its own group, stepped jointly (not alternating steps).
    ar_beta1: float = 0.9
    ar_beta2: float = 0.99
    ar_weight_decay: float = 0.03
    post: bool = False            # Prologue-Post (P §2.1, Sec. 4.3): the visual tokenizer is the finished baseline_2d
                                  # run of the same tier, seed and data (frozen); only a prologue encoder of its own
                                  # and the joint AR train (models.PostTokenizer)
    ar: ARConfig = field(default_factory=lambda: ARConfig(depth=2))      # authors' code: compact joint AR 7 x 512


def _checks(cfg):
    pr, t, q = cfg.prologue, cfg.tokenizer, cfg.quantizer
    if pr.routing not in ("prologue", "visual"):
        yield "prologue.routing must be 'prologue' or 'visual'"
    if pr.post and not (pr.n > 0 and pr.routing == "prologue" and t.kind == "2d" and q.kind == "vq"):
        yield ("prologue.post (Prologue-Post) needs prologue.n > 0, prologue.routing=prologue and the 2D VQ tokenizer "
               "(tokenizer.kind=2d, quantizer.kind=vq) it attaches to")
    if not (pr.routing == "prologue" or (pr.n == 0 and q.kind == "vq")):
        yield ("prologue.routing=visual sends the AR loss into the visual tokens (P Fig. 5's baselines): it needs "
               "prologue.n=0 and quantizer.kind=vq")


# P §2 / authors' code: 16 prologue tokens, codebook 1024 beside 256 visual tokens from 16384 codes. cpu tier (ours,
# for 16 visual tokens from 256 codes): 4 prologue tokens, codebook 64, the same fraction of the visual codebook as
# the paper's 1024 / 16384 would be far below one code per class.
_TIERS = dict(smoke=lambda: {**base("smoke"), "prologue.n": 2, "prologue.codebook_size": 8},
              cpu=lambda: {"prologue.n": 4, "prologue.codebook_size": 64},
              paper=lambda: {**base("paper_p"), "prologue.n": 16, "prologue.codebook_size": 1024})

def _tokens(cfg) -> tuple[TokenGroup, ...]:
    """P §2: the prologue tokens come first in the AR's sequence, from their own codebook."""
    p = cfg.prologue
    return (TokenGroup("prologue", p.n, p.codebook_size, p.code_dim or cfg.quantizer.code_dim, p.tau),)


def _frozen(cfg) -> frozenset[str]:
    """Prologue-Post (P §2.1): the visual tokenizer is a finished run's, its encoder, codebook and decoder frozen."""
    return frozenset({"encoder", "codebook", "decoder"}) if cfg.prologue.post else frozenset()


METHOD = register_method(MethodSpec(
    name="prologue", paper="P §2", section="prologue", config=PrologueConfig, stage="stage1",
    tokens=_tokens, frozen=_frozen,
    rules={PrologueConfig: {"n": off("0: no prologue"), "codebook_size": Range(2),
                            "code_dim": off("0: quantizer.code_dim"), "tau": RATE, "ar_weight": WEIGHT,
                            "visual_dropout": PROBABILITY, "ar_beta1": BETA, "ar_beta2": BETA,
                            "ar_weight_decay": WEIGHT}},
    check=_checks,
    bases={"smoke": lambda: {f"prologue.ar.{k}": v for k, v in dict(depth=1, width=32, heads=2).items()},
           "paper_p": lambda: {"prologue.ar.depth": 7, "prologue.ar.width": 512, "prologue.ar.heads": 8,
                               "prologue.ar.mlp_ratio": 8 / 3}},                # authors' code: joint AR 7 x 512
    presets={
        # Paper P's Prologue row (§2, App. E): the 2D tokenizer with n prologue tokens (Prob-STE codebook, tau 0.1),
        # the joint AR's CE at weight 3 routed to them only, visual dropout 0.5.
        "prologue": dict(**_TIERS, method={"tokenizer.kind": "2d"}),
        # Prologue-Post (P §2.1, Sec. 4.3; Base only in the paper): the same prologue beside the frozen baseline_2d.
        "prologue_post": dict(**_TIERS, method={"tokenizer.kind": "2d", "prologue.post": True}),
    },
    rows=(CrossPaperRow("prologue", "prologue", "Prologue (P), 1D tokenizer",
                        "P Table 1: gFID w/o CFG 21.01 -> 10.75 (2D tokenizer, ImageNet)", sets=("tokenizer.kind=1d",),
                        order=3),),
))
