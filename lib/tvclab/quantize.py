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
