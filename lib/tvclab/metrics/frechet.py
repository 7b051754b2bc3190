"""The Fréchet distance between two Gaussians, shared by FID (Inception features) and FD-clf (classifier features).

d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})   (Heusel et al. 2017, eq. 6; Dowson & Landau 1982)

``frechet_bootstrap`` adds an interval over samples, for tables that report a single Fréchet number
(docs/protocol.md: the bootstrap is used over samples only).
"""
from __future__ import annotations

import numpy as np


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (float64) of features [N, D], the statistics FID uses."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017, eq. 6).

    tr((S1 S2)^{1/2}) is computed as the sum of square roots of the eigenvalues of the symmetric PSD matrix
    S1^{1/2} S2 S1^{1/2}, which has the same spectrum as S1 S2: no complex parts, and exactly ~0 for identical
    statistics (scipy's ``sqrtm`` of the product can leave small imaginary residue).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    r1 = _psd_sqrt((s1 + s1.T) / 2)
    m = r1 @ ((s2 + s2.T) / 2) @ r1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d2 = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)
    return max(d2, 0.0)


def frechet_distance_features(features1, features2) -> float:
    """``frechet_distance`` of the statistics of two feature sets [N1, D], [N2, D]."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def frechet_bootstrap(features_real, features_fake, n_boot: int = 100, level: float = 0.95, seed: int = 0,
                      progress: bool = False) -> dict:
    """The Fréchet distance of two feature sets [N1, D], [N2, D] with a bootstrap interval over samples.

    Both sets are resampled with replacement ``n_boot`` times (seeded). A resample repeats some rows, which the
    plug-in estimate reads as extra distance: the resampled distances sit above ``value`` by about the estimator's
    own finite-N bias (``bias``, their median minus ``value``). The percentile interval is therefore shifted down by
    ``bias``, so it is centred on ``value`` and measures how far the Fréchet distance at this N moves from one draw
    of samples to the next, the spread that matters when two numbers at the same N are compared.

    Returns ``value`` (the distance of the full sets), ``lo``, ``hi``, ``n_boot``, ``level``, ``bias`` and
    ``n_real`` / ``n_fake``. Cost: ``n_boot`` covariances and eigendecompositions of D x D (about a second each at
    D = 2048).
    """
    from tqdm.auto import tqdm

    real, fake = np.asarray(features_real, np.float64), np.asarray(features_fake, np.float64)
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2 (100 is usual), got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level!r}")
    value = frechet_distance_features(real, fake)
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in tqdm(range(n_boot), desc="Fréchet bootstrap", disable=not progress, mininterval=2):
        boots[b] = frechet_distance_features(real[rng.integers(0, len(real), len(real))],
                                             fake[rng.integers(0, len(fake), len(fake))])
    bias = float(np.median(boots) - value)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2]) - bias
    return {"value": value, "lo": max(float(lo), 0.0), "hi": float(hi), "n_boot": int(n_boot), "level": level,
            "bias": bias, "n_real": len(real), "n_fake": len(fake)}
