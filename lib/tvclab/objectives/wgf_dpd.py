"""WGF-DPD, paper W's prior-matching objective (§4.5-4.7, eq. 4, Algorithm 1, App. F.1).

One step (Algorithm 1):
  line 2  the VQ codes of the encoder latents, and prob-STE probabilities on the distance logits
          -||u - c_k||^2 / tau (``VectorQuantizer.soft_codes``, tau = ``quantizer.prob_tau``; the hard code is
          the nearest neighbour)
  line 4  log P from the fixed random target AR p_theta (no grad, low temperature, App. F.1) and log Q from the
          proxy AR q_psi, both on the hard tokens
  line 5  ``wgf_dpd_loss``: probs * sg(log Q - log P) routes the particle gradient of eq. 4 to the encoder
  line 7  the proxy's cross-entropy on the (detached) hard tokens, so that q_psi tracks q_phi(z)
The objective owns the proxy and the target. The target has ``requires_grad=False`` (DDP skips it, the optimiser
never sees it) unless ``wgf.target_trained`` (Algorithm 1's trained target, an ablation).

Its config section, field rules, presets and cross-paper row: ``tvclab.methods.wgf_dpd`` (``MethodSpec``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tvclab.configs import Config
from tvclab.losses import ar_cross_entropy, wgf_dpd_loss
from tvclab.models import ARPrior, TokenLayout

from .base import Objective, register


@register
class WGFDPD(Objective):
    name = "wgf"
    section = "wgf"

    @staticmethod
    def enabled(cfg: Config) -> bool:
        return cfg.wgf.weight > 0

    def __init__(self, cfg: Config, tok):
        super().__init__(cfg, tok)
        w = cfg.wgf
        layout = TokenLayout(((tok.n_tokens, cfg.quantizer.codebook_size),))
        self.proxy = ARPrior.from_config(w.proxy, layout)
        self.target = ARPrior.from_config(w.target, layout, temperature=w.target_temperature)
        self.target.requires_grad_(w.target_trained)

    def forward(self, x, enc, rnd, tok):
        w, vis = self.cfg.wgf, enc.visual
        probs = tok.quantizer.soft_codes(vis.latent, self.cfg.quantizer.prob_tau).probs  # line 2 (W §4.5)
        idx = vis.index                                     # hard ids: no gradient by construction
        with torch.no_grad():                               # forward only, no autograd graph (W §4.5)
            log_p = self.target.log_probs(idx)
        q_logits = self.proxy(idx)
        out = {"proxy_ce": ar_cross_entropy(q_logits, idx)}  # line 7: the proxy tracks q_phi(z)
        log_q = F.log_softmax(q_logits.float(), dim=-1).detach()
        out["wgf"] = wgf_dpd_loss(probs, log_q, log_p)       # lines 5-6
        out["loss"] = w.weight * out["wgf"] + out["proxy_ce"]
        if w.target_trained:                                 # ablation: Algorithm 1 trains the target too
            out["target_ce"] = ar_cross_entropy(self.target(idx, temperature=1.0), idx)
            out["loss"] = out["loss"] + out["target_ce"]
        return out

    @torch.no_grad()
    def evaluate(self, enc, tok) -> dict[str, float]:
        """The §4.7 surrogate mean log q_psi - log p_theta of the hard tokens, and the proxy's cross-entropy."""
        ids = enc.visual.index
        log_q, log_p = self.proxy.log_probs(ids), self.target.log_probs(ids)
        hard = F.one_hot(ids, self.cfg.quantizer.codebook_size).float()
        return {"wgf_surrogate": float(wgf_dpd_loss(hard, log_q, log_p)),
                "proxy_ce_eval": float(ar_cross_entropy(self.proxy(ids), ids))}
