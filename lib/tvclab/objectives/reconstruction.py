"""Reconstruction objectives of paper W's baselines (§2.3, App. F.1) and the quantiser's own loss.

- ``DeterministicReconstruction``: decoder -> pixels, l1 (0.1) + l2 (1.0) + LPIPS (0.1) (W F.1).
- ``FlowMatchingReconstruction``: the FlowMo-style decoder regresses the velocity of the suite's one path
  (``tvclab.flow.path``, t = 1 data): ||v_hat - (x - eps)||^2, plus LPIPS on the data prediction
  x_hat = x_t + (1 - t) v_hat (W F.1).
- Both apply tail dropout (W §2.3, F.1): with probability p the tokens after a SelfTok-like cut-off are replaced by
  the decoder's [MASK] token; with tied timesteps the cut-off is set by the timestep at every step (SelfTok).
- ``QuantizerLoss``: the VQ codebook + commitment loss (weight ``quantizer.commit_weight``) or the Gaussian
  latents' KL (``quantizer.kl_weight``).
"""
from __future__ import annotations

import torch

from tvclab.configs import Config, frozen
from tvclab.flow.path import PATH
from tvclab.losses import reconstruction_loss, with_lpips
from tvclab.models import patchify, selftok_keep, unpatchify

from .base import Objective, register


class _Reconstruction(Objective):
    name = "reconstruction"
    section = "decoder"

    def draw_tail(self, batch: int, step: int) -> dict[str, torch.Tensor]:
        d = self.cfg.decoder
        if d.tail_dropout_p <= 0 or d.tied_timesteps:
            return {}
        g = self.stream("tail_dropout", step)
        return {"u_cut": torch.rand(batch, generator=g), "drop": torch.rand(batch, generator=g) < d.tail_dropout_p}

    @staticmethod
    def keep(rnd: dict, tok) -> torch.Tensor | None:
        """Leading tokens kept per image (tail dropout, W F.1), or None (all kept)."""
        if "drop" not in rnd:
            return None
        full = torch.full_like(rnd["drop"], tok.n_tokens, dtype=torch.long)
        return torch.where(rnd["drop"], selftok_keep(rnd["u_cut"], tok.n_tokens), full)


@register
class DeterministicReconstruction(_Reconstruction):
    streams = ("tail_dropout",)

    @staticmethod
    def enabled(cfg: Config) -> bool:
        return cfg.decoder.kind == "det" and "decoder" not in frozen(cfg)  # a frozen decoder trains no more

    def draw(self, batch, step):
        return self.draw_tail(batch, step)

    def forward(self, x, enc, rnd, tok):
        r = self.cfg.reconstruction
        x_hat = unpatchify(tok.decoder(enc.visual.z, self.keep(rnd, tok)), tok.patch_size, tok.channels,
                           tok.image_size)
        loss, parts = reconstruction_loss(x_hat, x, r.l1_weight, r.l2_weight, r.lpips_weight)
        return {**parts, "rec": loss, "loss": loss}


@register
class FlowMatchingReconstruction(_Reconstruction):
    streams = ("noise", "tail_dropout")

    @staticmethod
    def enabled(cfg: Config) -> bool:
        return cfg.decoder.kind == "fm" and "decoder" not in frozen(cfg)

    def __init__(self, cfg, tok):
        super().__init__(cfg, tok)
        self.patches = (tok.n_patches, tok.patch_dim)

    def draw(self, batch, step):
        g = self.stream("noise", step)
        t = torch.rand(batch, generator=g)
        return {"t": t, "x0": torch.randn(batch, *self.patches, generator=g), **self.draw_tail(batch, step)}

    def forward(self, x, enc, rnd, tok):
        r = self.cfg.reconstruction
        t = rnd["t"]
        s = PATH.sample(rnd["x0"].to(x.dtype), patchify(x, tok.patch_size), t.to(x.dtype))
        keep = tok.tied_keep(t) if tok.tied_timesteps else self.keep(rnd, tok)
        v_hat = tok.decoder(enc.visual.z, keep, s.x_t, t)
        x_hat = unpatchify(PATH.velocity_to_data(v_hat, s.x_t, s.t), tok.patch_size, tok.channels, tok.image_size)
        parts = {"fm": (v_hat - s.dx_t).pow(2).mean(), "l2": (x_hat - x).pow(2).mean().detach()}
        loss, parts = with_lpips(r.l2_weight * parts["fm"], parts, x_hat, x, r.lpips_weight)
        return {**parts, "rec": loss, "loss": loss}


@register
class QuantizerLoss(Objective):
    """VQ codebook + commitment (W F.1, beta 0.25 inside) or the Gaussian latents' KL to N(0, I); and the
    codebook's health: with ``quantizer.restart_every`` = k, the codes no training token used in the last k steps
    move to the latents of random training images (dead-code restart). Usage is counted here (a buffer, so a
    resumed run continues the count) and summed over processes before each restart."""
    name = "quantizer"
    section = "quantizer"
    streams = ("codebook_restart",)

    @staticmethod
    def enabled(cfg: Config) -> bool:
        q = cfg.quantizer
        if "codebook" in frozen(cfg):  # e.g. Prologue-Post: the visual codebook is a finished run's
            return False
        return (q.kind == "vq" and (q.commit_weight > 0 or q.restart_every > 0)) or (q.kind == "none" and q.kl_weight > 0)

    def __init__(self, cfg, tok):
        super().__init__(cfg, tok)
        if cfg.quantizer.kind == "vq":
            self.register_buffer("usage", torch.zeros(cfg.quantizer.codebook_size))

    def forward(self, x, enc, rnd, tok):
        q = self.cfg.quantizer
        if q.kind == "vq":
            if self.training and q.restart_every:
                self.usage += torch.bincount(enc.visual.index.flatten(), minlength=q.codebook_size).to(self.usage)
            return {"commit": enc.visual.loss, "loss": q.commit_weight * enc.visual.loss}
        return {"kl": enc.visual.loss, "loss": q.kl_weight * enc.visual.loss}

    @torch.no_grad()
    def restart_dead(self, step: int, tok, images: torch.Tensor, reduce) -> dict[str, float]:
        """After step ``step``: restart the codes unused since the last check at latents of ``images`` (the same
        images on every process), then reset the count. ``reduce`` sums a tensor over processes."""
        dead = reduce(self.usage.clone()) == 0
        moved = 0
        if dead.any():
            was = tok.training
            tok.eval()
            latents = tok.encode(images).visual.latent
            tok.train(was)
            moved = tok.quantizer.reset_codes(dead, latents, self.stream("codebook_restart", step))
        self.usage.zero_()
        return {"restarted_codes": moved}
