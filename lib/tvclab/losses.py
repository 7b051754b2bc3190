"""Losses that map to the papers' equations."""
from __future__ import annotations

import torch


def wgf_dpd_loss(probs: torch.Tensor, log_q: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """WGF-DPD prior-matching surrogate (paper W eq. 4, Algorithm 1 line 5).

    ``probs`` [B, n, K] are the (straight-through) code probabilities from ``prob_ste``; ``log_q`` and
    ``log_p`` [B, n, K] the per-token log-probability vectors of the proxy q_psi and the target prior p_theta.
    The particle gradient is ``log Q - log P`` (the categorical score of §4.5 is ``log p``), injected as

        L = sum_{b,t,k} probs[b,t,k] * sg(log_q - log_p)[b,t,k] / (B * n)

    so that dL/dprobs = (log_q - log_p) / (B n) and nothing flows into log_q or log_p (no backprop through
    either AR, §4.5). Fed the straight-through one-hot, the value is the per-token mean of
    log q_psi(z_t|z<t) - log p_theta(z_t|z<t): the §4.7 surrogate KL(q_phi||p_theta) - KL(q_phi||q_psi).
    """
    if probs.dim() != 3:
        raise ValueError(f"wgf_dpd_loss: probs must be [B, n, K], got shape {tuple(probs.shape)}")
    for name, t in (("log_q", log_q), ("log_p", log_p)):
        if t.shape != probs.shape:
            raise ValueError(f"wgf_dpd_loss: {name} has shape {tuple(t.shape)}, expected {tuple(probs.shape)} like probs")
    b, n, _ = probs.shape
    score = (log_q - log_p).detach()
    return (probs * score).sum() / (b * n)
