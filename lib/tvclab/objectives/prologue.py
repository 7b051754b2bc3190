"""Paper P's prologue objective (§2, eq. 2; App. E): a joint AR over [prologue ids; visual ids] whose
cross-entropy is the only signal the prologue tokens get.

The prologue ids enter the joint AR as soft embeddings ``onehot @ E`` (Prob-STE, P §2.2), so the AR loss reaches
the encoder through the prologue codebook; the visual ids enter as hard embeddings (no gradient to the visual
tokens: they are trained by reconstruction only). With probability ``prologue.visual_dropout`` all visual inputs
of an image are replaced by one learned vector (all-or-none visual dropout). The objective owns the joint AR,
which trains with its own AdamW betas and weight decay (``optimizer_overrides``; authors' code).

``prologue.routing = "visual"`` is Fig. 5's other arm: no prologue, and the AR's CE (weight lambda =
``prologue.ar_weight``) reaches the visual tokens instead, through the VQ's Prob-STE on its distance logits
(``VectorQuantizer.soft_codes``, ``quantizer.prob_tau``) fed to the AR as soft embeddings.

Its config section, field rules, presets and cross-paper row: ``tvclab.methods.prologue`` (``MethodSpec``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tvclab.configs import Config, frozen
from tvclab.losses import ar_cross_entropy
from tvclab.models import ARPrior, TokenLayout

from .base import Objective, register, service


def sequence_layout(cfg: Config, n_visual: int) -> TokenLayout:
    """The AR sequence of a tokenizer: [prologue ids, visual ids offset by the prologue vocabulary] (paper P), or
    the visual ids alone (``TokenLayout.for_config``: every method's token groups, then the visual ids)."""
    return TokenLayout.for_config(cfg, n_visual)


@register
class Prologue(Objective):
    name = "prologue"
    section = "prologue"
    streams = ("visual_dropout",)

    @staticmethod
    def enabled(cfg: Config) -> bool:
        return cfg.prologue.n > 0 or cfg.prologue.routing == "visual"

    def __init__(self, cfg: Config, tok):
        super().__init__(cfg, tok)
        self.layout = sequence_layout(cfg, tok.n_tokens)
        self.joint_ar = ARPrior.from_config(cfg.prologue.ar, self.layout)
        if cfg.prologue.routing == "prologue":  # visual routing has no dropout (nothing would be left to read)
            self.visual_drop_emb = nn.Parameter(torch.zeros(1, 1, cfg.prologue.ar.width))

    def setup(self, tok, device) -> None:
        """Prologue-Post (P §2.1): the frozen visual tokenizer is the finished baseline_2d run's (the run machinery's
        "frozen_tokenizer" service, ``tvclab.train.stage1.load_post_base``)."""
        if {"encoder", "decoder"} <= frozen(self.cfg):
            service("frozen_tokenizer")(tok, self.cfg, device)

    def optimizer_overrides(self) -> dict:
        p = self.cfg.prologue
        return {"betas": (p.ar_beta1, p.ar_beta2), "weight_decay": p.ar_weight_decay}

    def draw(self, batch, step):
        if self.cfg.prologue.routing == "visual":
            return {}
        return {"vis_drop": torch.rand(batch, generator=self.stream("visual_dropout", step)) < self.cfg.prologue.visual_dropout}

    def forward(self, x, enc, rnd, tok):
        if self.cfg.prologue.routing == "visual":
            vis = enc.visual
            onehot = tok.quantizer.soft_codes(vis.latent, self.cfg.quantizer.prob_tau).onehot  # Fig. 5, visual
            ce = ar_cross_entropy(self.joint_ar(input_emb=self.joint_ar.soft_embed(onehot, 0)), vis.index)
            return {"prologue_ce": ce, "loss": self.cfg.prologue.ar_weight * ce}
        pro, offset = enc.prologue, self.layout.offset(1)
        vis_ids = enc.visual.index + offset
        emb_v = self.joint_ar.tok_emb(vis_ids)
        drop = rnd.get("vis_drop", torch.zeros(len(x), dtype=torch.bool, device=x.device))
        emb_v = torch.where(drop.view(-1, 1, 1), self.visual_drop_emb.to(emb_v.dtype), emb_v)
        emb = torch.cat([self.joint_ar.soft_embed(pro.onehot, 0), emb_v], dim=1)
        ce = ar_cross_entropy(self.joint_ar(input_emb=emb), torch.cat([pro.index, vis_ids], dim=1))
        return {"prologue_ce": ce, "loss": self.cfg.prologue.ar_weight * ce}
