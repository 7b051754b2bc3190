"""Quantisers.

``prob_ste`` is the probability straight-through estimator shared by WGF-DPD (paper W §4.5, App. F.1)
and the prologue codebook (paper P §2.2): the forward value is the hard one-hot code, the backward pass
flows through the softmax probabilities.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class ProbSTE(NamedTuple):
    onehot: torch.Tensor  # [..., K] hard one-hot in the forward pass, d onehot / d logits = d softmax / d logits
    probs: torch.Tensor   # [..., K] softmax(logits / tau)
    index: torch.Tensor   # [...] argmax code index (long)


def prob_ste(logits: torch.Tensor, tau: float = 1.0) -> ProbSTE:
    """Probability straight-through estimator (paper W §4.5 "dz/dh ~ I"; paper P §2.2 Prob-STE).

    h = softmax(logits / tau);  z = onehot(argmax h);  forward returns z, backward treats dz/dh = I,
    i.e. ``onehot = z + h - stop_grad(h)``.
    """
    if tau <= 0:
        raise ValueError(f"prob_ste: tau must be > 0, got {tau}")
    probs = F.softmax(logits / tau, dim=-1)
    index = probs.argmax(dim=-1)
    hard = F.one_hot(index, probs.shape[-1]).to(probs.dtype)
    onehot = hard + probs - probs.detach()
    return ProbSTE(onehot, probs, index)


# ----------------------------------------------------------------------------------------------- quantiser modules

class Quantized(NamedTuple):
    """What every quantiser returns (lucidrains-style small named tuple).

    z      [B, n, d] quantised vectors fed to the decoder (straight-through: d z / d u = I in the backward pass)
    index  [B, n] code ids (long), or None for continuous latents
    loss   scalar codebook + commitment loss (VQ), KL (Gaussian latents), or 0
    latent [B, n, d] the encoder's latent before quantisation (unit-norm for VQ): what WGF-DPD's prob-STE
           logits (W §4.5) and a flow-prior alignment loss (F eq. 5) read
    probs  [B, n, K] prob_ste probabilities over the codebook (Prob-STE quantiser), else None
    onehot [B, n, K] prob_ste straight-through one-hot (Prob-STE quantiser), else None
    """

    z: torch.Tensor
    index: torch.Tensor | None
    loss: torch.Tensor
    latent: torch.Tensor | None = None
    probs: torch.Tensor | None = None
    onehot: torch.Tensor | None = None


class VectorQuantizer(torch.nn.Module):
    """L2-normalised vector quantisation (Yu et al. 2022, "ViT-VQGAN"): latent and codes on the unit sphere.

    Paper W App. F.1: "We use L2-normalized vector quantization (VQ) as the default quantizer"; commitment weight
    ``beta`` 0.25 (authors' code). The decoder sees ``u + sg(c_k - u)`` (classic straight-through).

    WGF-DPD (``tvclab.objectives.wgf_dpd``, paper W §4.5, App. F.1) builds its prob_ste path from
    ``distance_logits(latent)``: ``l_k = -||u - c_k||^2`` (on the sphere, ``2 cos - 2``), ``h = softmax(l / tau)``,
    one-hot of argmax h (the same code as the nearest neighbour) with d onehot / d h = I. Only the WGF term reads
    it; the reconstruction gradient keeps the straight-through path above, so baseline and wAR-Tok differ only by
    the WGF term (paper W §5.2: "The only training-recipe difference between baseline and wAR-Tok is the WGF-DPD
    term").
    """

    def __init__(self, codebook_size: int, code_dim: int, beta: float = 0.25):
        super().__init__()
        self.codebook_size, self.code_dim, self.beta = codebook_size, code_dim, beta
        self.codebook = torch.nn.Parameter(F.normalize(torch.randn(codebook_size, code_dim), dim=-1))

    def codes(self) -> torch.Tensor:
        """[K, d] unit-norm codebook."""
        return F.normalize(self.codebook, dim=-1)

    @torch.no_grad()
    def reset_codes(self, which: torch.Tensor, latents: torch.Tensor, generator: torch.Generator) -> int:
        """Move the codes ``which`` ([K] bool) to distinct unit latents drawn from ``latents`` [M, d] (data-dependent
        initialisation and dead-code restart, as common VQ libraries do); returns how many moved."""
        idx = which.nonzero().flatten()
        pool = F.normalize(latents.reshape(-1, self.code_dim).float(), dim=-1)
        n = min(len(idx), len(pool))
        pick = torch.randperm(len(pool), generator=generator)[:n].to(pool.device)
        self.codebook.data[idx[:n]] = pool[pick].to(self.codebook.dtype)
        return n

    def distance_logits(self, u: torch.Tensor) -> torch.Tensor:
        """-||u_hat - c_k||^2 for unit-norm u_hat and c_k: [B, n, d] -> [B, n, K] (paper W §4.5)."""
        u = F.normalize(u, dim=-1)
        return 2.0 * (u @ self.codes().t()) - 2.0

    def soft_codes(self, u: torch.Tensor, tau: float) -> ProbSTE:
        """Prob-STE on ``distance_logits(u) / tau``: the hard nearest code forward, softmax gradients backward
        (WGF-DPD's probabilities, W §4.5; P Fig. 5's AR gradients into the visual tokens)."""
        return prob_ste(self.distance_logits(u), tau)

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        """Code ids [B, n] -> unit-norm code vectors [B, n, d] (decoding AR samples)."""
        return F.embedding(index, self.codes())

    def forward(self, u: torch.Tensor) -> Quantized:
        u = F.normalize(u, dim=-1)
        codes = self.codes()
        index = (u @ codes.t()).argmax(dim=-1)                  # nearest code on the unit sphere
        c = F.embedding(index, codes)
        loss = self.beta * F.mse_loss(u, c.detach()) + F.mse_loss(c, u.detach())  # commitment + codebook
        z = u + (c - u).detach()
        return Quantized(z, index, loss, u)


class ProbSTEQuantizer(torch.nn.Module):
    """The prologue codebook (paper P §2.2, App. E "Prob-STE details"; authors' code: tau 0.1).

    logits = cos(u, c_k) / tau with L2-normalised latent and codes; forward uses the hard one-hot code, the backward
    pass flows through softmax(logits) (``prob_ste``). The quantised vector is ``onehot @ C`` so both a decoder and
    an AR model reading ``onehot`` (soft input embedding, P §2.2) pass gradients back to the encoder.
    """

    def __init__(self, codebook_size: int, code_dim: int, tau: float = 0.1):
        super().__init__()
        self.codebook_size, self.code_dim, self.tau = codebook_size, code_dim, tau
        self.codebook = torch.nn.Parameter(F.normalize(torch.randn(codebook_size, code_dim), dim=-1))

    def codes(self) -> torch.Tensor:
        return F.normalize(self.codebook, dim=-1)

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        return F.embedding(index, self.codes())

    def forward(self, u: torch.Tensor) -> Quantized:
        codes = self.codes()
        u = F.normalize(u, dim=-1)
        ste = prob_ste(u @ codes.t(), self.tau)
        z = ste.onehot @ codes
        return Quantized(z, ste.index, u.new_zeros(()), u, ste.probs, ste.onehot)


class GaussianLatent(torch.nn.Module):
    """Continuous latent tokens (``quantizer="none"``), optionally a VAE head (paper F's autoencoder scale).

    ``kl=False``: z = u, no loss. ``kl=True``: the encoder emits [mean, logvar] (2 d wide); z = mean + std * eps
    with ``eps`` supplied by the caller (seeded per step) in training, z = mean in evaluation; loss = KL(q || N(0,I))
    averaged over tokens and dimensions.
    """

    def __init__(self, code_dim: int, kl: bool = False):
        super().__init__()
        self.code_dim, self.kl = code_dim, kl

    @property
    def in_dim(self) -> int:
        return 2 * self.code_dim if self.kl else self.code_dim

    def forward(self, u: torch.Tensor, eps: torch.Tensor | None = None) -> Quantized:
        if not self.kl:
            return Quantized(u, None, u.new_zeros(()), u)
        mean, logvar = u.chunk(2, dim=-1)
        logvar = logvar.clamp(-30.0, 20.0)
        z = mean if eps is None else mean + torch.exp(0.5 * logvar) * eps
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        return Quantized(z, None, kl, z)
