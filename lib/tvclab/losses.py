"""Losses that map to the papers' equations."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tvclab import memo


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


# ------------------------------------------------------------------------------------------- reconstruction losses

def _lpips_state() -> dict:
    """{"available": None (not tried yet) | False (weights missing, notice printed once) | True} (tvclab.memo)."""
    return memo.table("lpips_loss").setdefault("state", {"available": None})


def lpips_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
    """LPIPS(x_hat, x) per image [B] from ``tvclab.metrics.lpips_distance``, or None when its backbone weights are
    absent: the first ``LPIPSUnavailableError`` prints a notice and the term is dropped for the rest of the process
    (without backbone weights the reconstruction loss drops the LPIPS term and says so: README, "Metrics without
    network")."""
    state = _lpips_state()
    if state["available"] is False:
        return None
    from tvclab import metrics

    try:
        d = metrics.lpips_distance(x_hat, x)
    except metrics.LPIPSUnavailableError as e:
        state["available"] = False
        print(f"tvclab.losses: LPIPS term dropped from the reconstruction loss ({e})")
        return None
    state["available"] = True
    return d


def lpips_term(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
    """Mean LPIPS(x_hat, x) over the batch (``lpips_per_image``), or None when its backbone weights are absent."""
    d = lpips_per_image(x_hat, x)
    return None if d is None else d.mean()


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, l1: float = 0.1, l2: float = 1.0,
                        lpips: float = 0.1) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Deterministic-decoder loss of paper W App. F.1: l1 (0.1) + l2 (1.0) + LPIPS (0.1), pixel means.

    Returns the weighted total and the unweighted parts (``l1``, ``l2``, and ``lpips`` when it was computed).
    """
    parts = {"l1": (x_hat - x).abs().mean(), "l2": (x_hat - x).pow(2).mean()}
    return with_lpips(l1 * parts["l1"] + l2 * parts["l2"], parts, x_hat, x, lpips)


def with_lpips(total, parts, x_hat, x, weight):
    """Add ``weight * LPIPS(x_hat, x)`` to ``total`` (and to ``parts``) unless the weight is 0 or LPIPS is unavailable."""
    if weight > 0:
        p = lpips_term(x_hat, x)
        if p is not None:
            parts["lpips"] = p
            total = total + weight * p
    return total, parts


def ar_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy in nats per token (paper W §2.2 L_AR; docs/protocol.md): [B,n,V], [B,n]."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))


def lpips_in_loss() -> bool | None:
    """Whether the reconstruction losses of this process included LPIPS: True, False (weights missing, term
    dropped) or None (no loss asked for it yet). Recorded in every results.json (docs/protocol.md, "Provenance")."""
    return _lpips_state()["available"]


# ------------------------------------------------------------------------------- paper V: GRPO post-training

def group_advantages(rewards: torch.Tensor, clip: float = 5.0, eps: float = 1e-6) -> torch.Tensor:
    """GRPO's group-normalised advantages (paper V §3): ``rewards`` [B, G] of G sequences per image ->
    ``(r - mean_G r) / (std_G r + eps)``, clipped to [-clip, clip]. A group whose rewards are all equal gets zero
    advantages, so it adds no policy gradient."""
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"group_advantages: rewards must be [B, G] with G >= 2, got {tuple(rewards.shape)}")
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True)
    adv = torch.where(std > 0, centred / (std + eps), torch.zeros_like(centred))  # equal rewards: 0, never 0 / 0
    return adv.clamp(-clip, clip).detach()


def k3_kl(logp: torch.Tensor, logp_base: torch.Tensor) -> torch.Tensor:
    """The k3 estimator of KL(pi || base) on tokens sampled from pi (GRPO, DeepSeekMath eq. 4; the authors of
    paper V use it): mean of ``exp(d) - d - 1`` with ``d = logp_base - logp`` at the sampled tokens.

    Unbiased for the KL in value (E_pi[exp(d)] = 1, so E[k3] = E[-d] = KL) and never negative, but its expected
    gradient is not that of the exact KL: d/dlogp of k3 is ``1 - exp(d)``, whose mean under pi is 0 at every pi,
    so what pulls the policy back toward the base is the score-function part that sampling leaves out. That is
    why both are offered (``posttrain.kl_estimator``): "exact" sums over the vocabulary, "k3" is what GRPO ships.
    ``logp`` carries the gradient; ``logp_base`` has none."""
    if logp.shape != logp_base.shape:
        raise ValueError(f"k3_kl: logp {tuple(logp.shape)} and logp_base {tuple(logp_base.shape)} differ")
    d = logp_base.detach() - logp
    return (torch.exp(d) - d - 1).mean()


def clipped_policy_loss(logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor,
                        clip: float = 0.2) -> torch.Tensor:
    """PPO's clipped surrogate per token (paper V §3 GRPO), as a loss to minimise:

        -mean min(rho A, clip(rho, 1 - eps, 1 + eps) A),   rho = exp(logp - logp_old)

    ``logp`` [...] the sampled tokens' log-probabilities under the current policy, ``logp_old`` the same under the
    pre-update policy (no gradient), ``advantages`` broadcastable to them. Where the ratio has left [1 - eps, 1 + eps]
    in the direction the advantage favours, the term is constant: no gradient pushes it further."""
    if logp.shape != logp_old.shape:
        raise ValueError(f"clipped_policy_loss: logp {tuple(logp.shape)} and logp_old {tuple(logp_old.shape)} differ")
    ratio = torch.exp(logp - logp_old.detach())
    adv = advantages.detach()
    return -torch.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
