"""Tripartite Variational Consistency (TVC) on small discrete joints, computed exactly in float64.

Paper W §3 (Theorem 3.1, Corollary 3.2), §2.1 / §4.1 (KL decomposition), §4.7 (surrogate decomposition),
App. D (proofs). Notation follows the paper:

- data-anchored joint  q(x, z) = p_data(x) q(z|x),  aggregate posterior  q(z) = sum_x q(x, z),
  and its Bayes inverse  q(x|z) = q(x, z) / q(z);
- model joint  p(x, z) = p(z) p(x|z),  model marginal  p(x) = sum_z p(x, z),  posterior  p(z|x).

Array shapes: ``p_z`` [Z], ``p_x_given_z`` [Z, X], ``p_data`` [X], ``q_z_given_x`` [X, Z]; every
distribution sums to 1 along its last axis. All returned [X, Z] tables are indexed (x, z).
"""
from __future__ import annotations

import numpy as np

_ATOL = 1e-8  # tolerance on "sums to one" (float64 tables built by hand carry rounding)


# --------------------------------------------------------------------------------------------- checks
def _as_distribution(name: str, a, ndim: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or inf")
    if np.any(a < 0):
        raise ValueError(f"{name}: has negative entries (min {a.min():.3g}); probabilities must be >= 0")
    sums = a.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=_ATOL, rtol=0):
        worst = float(np.abs(sums - 1).max())
        raise ValueError(f"{name}: rows must sum to 1 along the last axis (worst deviation {worst:.3g}); normalise it")
    return a


def validate(p_z, p_x_given_z, p_data, q_z_given_x):
    """Check shapes and normalisation; return the four arrays as float64. Errors name the argument."""
    p_z = _as_distribution("p_z", p_z, 1)
    p_x_given_z = _as_distribution("p_x_given_z", p_x_given_z, 2)
    p_data = _as_distribution("p_data", p_data, 1)
    q_z_given_x = _as_distribution("q_z_given_x", q_z_given_x, 2)
    n_z, n_x = p_z.shape[0], p_data.shape[0]
    if p_x_given_z.shape != (n_z, n_x):
        raise ValueError(f"p_x_given_z: shape {p_x_given_z.shape} does not match [Z, X] = [{n_z}, {n_x}] "
                         "from p_z and p_data")
    if q_z_given_x.shape != (n_x, n_z):
        raise ValueError(f"q_z_given_x: shape {q_z_given_x.shape} does not match [X, Z] = [{n_x}, {n_z}] "
                         "from p_data and p_z")
    return p_z, p_x_given_z, p_data, q_z_given_x


# --------------------------------------------------------------------------------------------- joints
def _log(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(a)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def data_joint(p_data, q_z_given_x) -> np.ndarray:
    """q(x, z) = p_data(x) q(z|x), shape [X, Z] (paper W §3)."""
    return np.asarray(p_data)[:, None] * np.asarray(q_z_given_x)


def aggregate_posterior(p_data, q_z_given_x) -> np.ndarray:
    """q(z) = sum_x p_data(x) q(z|x) (paper W §3), shape [Z]."""
    return data_joint(p_data, q_z_given_x).sum(axis=0)


def inverse_encoder(p_data, q_z_given_x) -> np.ndarray:
    """q(x|z) = q(x, z) / q(z), shape [Z, X]; rows of codes no x uses are left at 0."""
    joint = data_joint(p_data, q_z_given_x)
    return _safe_div(joint, joint.sum(axis=0, keepdims=True)).T


def model_joint(p_z, p_x_given_z) -> np.ndarray:
    """p(x, z) = p(z) p(x|z), shape [X, Z]."""
    return (np.asarray(p_z)[:, None] * np.asarray(p_x_given_z)).T


def model_marginal(p_z, p_x_given_z) -> np.ndarray:
    """p_theta(x) = sum_z p(z) p(x|z), shape [X]."""
    return model_joint(p_z, p_x_given_z).sum(axis=1)


def model_posterior(p_z, p_x_given_z) -> np.ndarray:
    """p(z|x) = p(x, z) / p(x), shape [X, Z]."""
    joint = model_joint(p_z, p_x_given_z)
    return _safe_div(joint, joint.sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------------------------- Theorem 3.1
def tvc_terms(p_z, p_x_given_z, p_data, q_z_given_x) -> dict[str, np.ndarray]:
    """The four terms of Theorem 3.1 (paper W eq. 1) and log p_theta(x), each an [X, Z] table.

    ``likelihood`` = log p(x|z)/q(x|z), ``prior`` = log p(z)/q(z), ``posterior`` = log p(z|x)/q(z|x),
    ``log_data`` = log p_data(x), ``log_model`` = log p_theta(x), with

        log_model == likelihood + prior - posterior + log_data      wherever q(x, z) > 0   (App. D.5)

    and p(x, z) > 0 (where either joint vanishes, a ratio is 0/0 or the right side is inf - inf; the entries
    are then +-inf or nan). Also returns the mask ``support`` = (q(x, z) > 0) & (p(x, z) > 0), which is
    q's support for any model with full support. Raises ValueError naming the argument for negative entries, rows that do not
    sum to one, or mismatched shapes.
    """
    p_z, p_x_given_z, p_data, q_z_given_x = validate(p_z, p_x_given_z, p_data, q_z_given_x)
    n_x, n_z = q_z_given_x.shape
    q_joint = data_joint(p_data, q_z_given_x)
    q_x_given_z = inverse_encoder(p_data, q_z_given_x)  # [Z, X]
    q_z = aggregate_posterior(p_data, q_z_given_x)
    p_post = model_posterior(p_z, p_x_given_z)
    p_x = model_marginal(p_z, p_x_given_z)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = {
            "likelihood": _log(p_x_given_z.T) - _log(q_x_given_z.T),
            "prior": np.broadcast_to(_log(p_z) - _log(q_z), (n_x, n_z)).copy(),
            "posterior": _log(p_post) - _log(q_z_given_x),
            "log_data": np.broadcast_to(_log(p_data)[:, None], (n_x, n_z)).copy(),
            "log_model": np.broadcast_to(_log(p_x)[:, None], (n_x, n_z)).copy(),
        }
    terms["support"] = (q_joint > 0) & (model_joint(p_z, p_x_given_z) > 0)
    return terms


def tvc_residual(terms: dict[str, np.ndarray]) -> float:
    """max |log p_theta(x) - (likelihood + prior - posterior + log p_data)| over ``terms["support"]``."""
    s = terms["support"]
    with np.errstate(invalid="ignore"):  # inf - inf off the support is expected; only the support is read
        rhs = terms["likelihood"] + terms["prior"] - terms["posterior"] + terms["log_data"]
    return float(np.abs(terms["log_model"][s] - rhs[s]).max())


# --------------------------------------------------------------------------------------------- information
def entropy(p, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    return -np.sum(np.where(p > 0, p * _log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def kl(p, q, axis: int = -1) -> np.ndarray:
    """KL(p || q) in nats; +inf where p puts mass outside q's support."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (_log(np.where(p > 0, p, 1.0)) - _log(q)), 0.0)
    return np.sum(terms, axis=axis)


def mutual_information(p_data, q_z_given_x) -> float:
    """I_q(X; Z) = H_q(Z) - H_q(Z|X) under the data-anchored joint (paper W §4.1)."""
    q_z = aggregate_posterior(p_data, q_z_given_x)
    value = float(entropy(q_z) - np.sum(np.asarray(p_data) * entropy(q_z_given_x)))
    return 0.0 if -1e-12 < value < 0.0 else value  # I >= 0: only rounding makes it -1e-17 (then 0, not "-0")


def kl_decomposition(p_z, p_data, q_z_given_x) -> dict[str, float]:
    """E_x KL(q(z|x) || p(z)) = H_q(Z) - H_q(Z|X) + KL(q(z) || p(z))  (paper W §2.1, §4.1).

    The instance-wise prior term of the ELBO is mutual information plus the distributional prior
    divergence, so driving it to zero forces I(X; Z) = 0 (posterior collapse).
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    q_z = aggregate_posterior(p_data, q_z_given_x)
    h_z = float(entropy(q_z))
    h_z_given_x = float(np.sum(p_data * entropy(q_z_given_x)))
    return {
        "instance_kl": float(np.sum(p_data * kl(q_z_given_x, p_z))),
        "H_Z": h_z,
        "H_Z_given_X": h_z_given_x,
        "mutual_information": h_z - h_z_given_x,
        "marginal_kl": float(kl(q_z, p_z)),
    }


def elbo_decomposition(p_z, p_x_given_z, p_data, q_z_given_x) -> dict[str, float]:
    """E_x log p_theta(x) = ELBO + E_x KL(q(z|x) || p(z|x))  (paper W App. D.2).

    ELBO = E_x [ E_{q(z|x)} log p(x|z) - KL(q(z|x) || p(z)) ]; the second term is the posterior-consistency gap.
    """
    p_z, p_x_given_z, p_data, q_z_given_x = validate(p_z, p_x_given_z, p_data, q_z_given_x)
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = np.where(q_z_given_x > 0, q_z_given_x * _log(p_x_given_z.T), 0.0).sum(axis=1)
    elbo = float(np.sum(p_data * (rec - kl(q_z_given_x, p_z))))
    gap = float(np.sum(p_data * kl(q_z_given_x, model_posterior(p_z, p_x_given_z))))
    log_lik = float(np.sum(p_data * _log(model_marginal(p_z, p_x_given_z))))
    return {"log_likelihood": log_lik, "elbo": elbo, "posterior_gap": gap}


def surrogate_decomposition(q_phi, q_psi, p) -> dict[str, float]:
    """E_{q_phi}[log q_psi - log p] = KL(q_phi || p) - KL(q_phi || q_psi)  (paper W §4.7)."""
    q_phi = np.asarray(q_phi, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lhs = float(np.sum(np.where(q_phi > 0, q_phi * (_log(q_psi) - _log(p)), 0.0)))
    return {"surrogate": lhs, "kl_q_p": float(kl(q_phi, p)), "kl_q_proxy": float(kl(q_phi, q_psi))}


# --------------------------------------------------------------------------------------------- Corollary 3.2
def consistent_model(p_data, q_z_given_x) -> tuple[np.ndarray, np.ndarray]:
    """The model that satisfies Likelihood and Prior Consistency: p(z) = q(z), p(x|z) = q(x|z)
    (Corollary 3.2 case 1; also the optimum of two-stage training, App. D.4)."""
    return aggregate_posterior(p_data, q_z_given_x), inverse_encoder(p_data, q_z_given_x)


def completeness_null_space(q_x_given_z, tol: float = 1e-10) -> np.ndarray:
    """Basis [X, k] of {v : sum_x q(x|z) v(x) = 0 for all z}. The family {q(x|z)}_z is complete on X
    exactly when this null space is trivial (k = 0), the condition of Corollary 3.2 case 3 (App. D.1)."""
    a = np.asarray(q_x_given_z, dtype=np.float64)
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    rank = int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))
    return vt[rank:].T


def case3_counterexample(p_data, q_z_given_x, strength: float = 0.5):
    """A model with Prior and Posterior Consistency but p_theta != p_data, when {q(x|z)} is incomplete.

    From App. D.1 case 3: with p(z) = q(z) and p(z|x) = q(z|x), p(x|z) = q(x|z) r(x) with
    r = p_theta / p_data and sum_x q(x|z) r(x) = 1 for every z. Any r = 1 + eps v with v in the null space of
    the family (and r > 0) is such a model. Returns ``(p_z, p_x_given_z, r)``; raises ValueError when the
    family is complete (then r = 1 is the only solution and likelihood consistency follows).
    """
    p_z, q_x_given_z = consistent_model(p_data, q_z_given_x)
    null = completeness_null_space(q_x_given_z[p_z > 0])
    if null.shape[1] == 0:
        raise ValueError("case3_counterexample: the family {q(x|z)} is complete (trivial null space), so prior + "
                         "posterior consistency imply likelihood consistency; use |Z| < |X| for a counterexample")
    v = null[:, 0]
    eps = strength / np.abs(v).max()  # keeps r = 1 + eps v >= 1 - strength > 0
    r = 1.0 + eps * v
    p_x_given_z = q_x_given_z * r[None, :]
    return p_z, p_x_given_z, r


def case2_gaps(p_data, q_z_given_x, p_z) -> dict[str, float]:
    """The gaps of Corollary 3.2 case 2 for the model (p_z, q(x|z)): likelihood-consistent, prior ``p_z``.

    Returns the prior gap KL(q(z) || p(z)), the posterior gap E_x KL(q(z|x) || p(z|x)) (from the model's Bayes
    posterior, ``model_posterior``) and KL(p_data || p_theta) (from ``model_marginal``). Taking E_q of Theorem 3.1
    with a zero likelihood term gives (App. D.1)

        posterior gap = prior gap - KL(p_data || p_theta),

    an identity between three separately computed numbers that are all > 0 when p_z != q(z): a wrong posterior,
    marginal or aggregate posterior breaks it. It also shows the case: the posterior gap can vanish only where the
    prior gap equals the data KL, and that is at p_z = q(z) (then both are 0).
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    q_z, q_x_given_z = consistent_model(p_data, q_z_given_x)
    post = model_posterior(p_z, q_x_given_z)
    return {"prior_gap": float(kl(q_z, p_z)),
            "posterior_gap": float(np.sum(p_data * kl(q_z_given_x, post))),
            "data_kl": float(kl(p_data, model_marginal(p_z, q_x_given_z)))}


def fit_posterior_consistency(p_data, q_z_given_x, seed: int = 0, max_iter: int = 500) -> dict[str, float]:
    """Corollary 3.2 case 3 by optimisation: fix p(z) = q(z) (prior consistency), start the decoder p(x|z) at random
    logits and minimise the posterior gap E_x KL(q(z|x) || p(z|x)) over it (L-BFGS, float64).

    Case 3 says that when the family {q(x|z)}_z is complete, posterior + prior consistency force likelihood
    consistency: the fitted decoder must end at q(x|z), so the likelihood gap E_q(z) KL(q(x|z) || p(x|z)) goes to
    0 with the posterior gap. When it is incomplete (|Z| < |X|), the posterior gap still goes to 0 but the fit
    stops wherever it meets the set {q(x|z) r(x)} of App. D.1, generically with a likelihood gap > 0 and
    p_theta != p_data. Nothing here is zero by construction: both gaps start large and the decoder is free.
    Returns the final posterior gap, likelihood gap and KL(p_data || p_theta), and the starting posterior gap.
    """
    import torch

    p_data = np.asarray(p_data, dtype=np.float64)
    q_z_np, q_x_given_z = consistent_model(p_data, q_z_given_x)
    q_zx = torch.as_tensor(np.asarray(q_z_given_x, dtype=np.float64))
    p_data_t, q_z = torch.as_tensor(p_data), torch.as_tensor(q_z_np)
    support = q_zx > 0
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(q_zx.shape[1], q_zx.shape[0], generator=g, dtype=torch.float64).requires_grad_()

    def posterior_gap(logits: torch.Tensor) -> torch.Tensor:
        log_joint = torch.log(q_z)[None, :] + torch.log_softmax(logits, 1).T  # log p(x, z), [X, Z]
        log_post = log_joint - torch.logsumexp(log_joint, 1, keepdim=True)
        terms = torch.where(support, q_zx * (torch.log(q_zx.clamp_min(1e-300)) - log_post), 0.0)
        return (p_data_t * terms.sum(1)).sum()

    start = float(posterior_gap(logits.detach()))
    opt = torch.optim.LBFGS([logits], lr=1.0, max_iter=max_iter, tolerance_grad=1e-14, tolerance_change=1e-16,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = posterior_gap(logits)
        loss.backward()
        return loss

    opt.step(closure)
    p_x_given_z = torch.softmax(logits.detach(), 1).numpy()
    return {"posterior_gap_start": start, "posterior_gap": float(posterior_gap(logits.detach())),
            "likelihood_gap": float(np.sum(q_z_np * kl(q_x_given_z, p_x_given_z))),
            "data_kl": float(kl(p_data, model_marginal(q_z_np, p_x_given_z)))}


# --------------------------------------------------------------------------------------------- §4.5
def categorical_log_density(z, p) -> float:
    """log P(z | p) = sum_k z_k log p_k (paper W §4.5): the categorical log-pmf at a one-hot z, extended
    linearly to the simplex (the extension the probability straight-through estimator differentiates)."""
    z = np.asarray(z, dtype=np.float64)
    return float(np.sum(np.where(z != 0, z * _log(np.asarray(p, dtype=np.float64)), 0.0)))


def categorical_score(p) -> np.ndarray:
    """grad_z log P(z | p) = log p, the categorical score of paper W §4.5 (closed form)."""
    return np.log(np.asarray(p, dtype=np.float64))


def tangent_score_residual(log_density, z, score, h: float = 1e-3) -> float:
    """max_k | (f(z + h u_k) - f(z - h u_k)) / 2h - <score, u_k> | with f = ``log_density``, u_k = e_k - 1/K.

    The u_k span the simplex's tangent space {sum_k v_k = 0}: z lives on the simplex, so only the tangent part of
    a score is defined (adding a constant to every entry changes nothing, and the prob-STE softmax Jacobian of
    §4.5 removes it too). Central differences of the *density* against the closed-form *score*: a score that is
    not the gradient of this density (say p instead of log p, or log of a perturbed p) gives a residual of the
    size of the error. For the categorical, f is linear in z, so the differences are exact up to rounding
    (about 1e-12 at h = 1e-3).
    """
    z = np.asarray(z, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    k = z.shape[0]
    worst = 0.0
    for i in range(k):
        u = -np.full(k, 1.0 / k)
        u[i] += 1.0
        fd = (log_density(z + h * u) - log_density(z - h * u)) / (2 * h)
        worst = max(worst, abs(fd - float(score @ u)))
    return worst


# --------------------------------------------------------------------------------------------- random tables
def random_problem(n_x: int, n_z: int, rng: np.random.Generator, concentration: float = 1.0):
    """A random (p_z, p_x_given_z, p_data, q_z_given_x), each row Dirichlet(concentration)."""
    def d(*shape):
        return rng.dirichlet(np.full(shape[-1], concentration), size=shape[:-1] or None)

    return d(n_z), d(n_z, n_x), d(n_x), d(n_x, n_z)
