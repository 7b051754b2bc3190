"""2D toy target distributions of paper F (§5.1, App. B, App. C.1), their densities and a KDE NLL.

Six targets: ``mog5`` (the main one, paper F Fig. 3) and ``grid``, ``moons``, ``rings``, ``spiral``,
``swissroll`` (App. B, Fig. 5). App. C.1 fixes only the mixture of Gaussians (5 isotropic components, std 0.3,
means evenly on a circle of radius 3); the shapes of the other five are not in the paper text, so their
parameters follow the authors' public toy script (cited as "authors' code" below).

Normalisation (App. C.1): every raw sample is divided by one scalar, the standard deviation of 10 million raw
samples pooled over both coordinates. We draw those 10M samples from a fixed seed (``NORMALISATION_SEED``), so
the scalar is the same in every process. ``log_prob`` includes the Jacobian of that scaling, so it is a density
of the *normalised* samples (it integrates to 1 over the normalised plane).

    sample(name, n, generator=None)   -> [n, 2] float32, normalised
    log_prob(name, x)                 -> [n] exact log-density (mog5, grid only)
    kde_nll(samples, x, bandwidth)    -> [n] -log of the Gaussian KDE of App. B eq. 27
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np
import torch

NAMES = ("mog5", "grid", "moons", "rings", "spiral", "swissroll")
ANALYTIC = ("mog5", "grid")  # mixtures of Gaussians: closed-form density (App. B: "computed analytically")
NORMALISATION_SAMPLES = 10_000_000  # App. C.1: "a large batch of 10 million samples"
NORMALISATION_SEED = 0
KDE_BANDWIDTH = 0.1  # App. B: Gaussian kernel with bandwidth 0.1

# --- mixture parameters --------------------------------------------------------------------------------------
MOG5_COMPONENTS, MOG5_RADIUS, MOG5_STD = 5, 3.0, 0.3  # App. C.1
GRID_SIZE, GRID_SPACING, GRID_STD = 4, 1.0, 0.1  # authors' code: 4 x 4 grid, unit spacing, std 0.1
# --- shapes (authors' code) ----------------------------------------------------------------------------------
MOONS_RADIUS, MOONS_SHIFT_Y, MOONS_NOISE = 2.0, 0.5, 0.1
RINGS_COUNT, RINGS_MAX_RADIUS, RINGS_NOISE = 3, 4.0, 0.1
SPIRAL_HALF_TURNS, SPIRAL_R0, SPIRAL_NOISE = 3, 0.5, 0.1  # one arm, r = 0.5 + theta / (2 pi)
SWISSROLL_TURNS, SWISSROLL_NOISE = 3, 0.1  # (t cos t, t sin t) / pi, t in [0, 6 pi]


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown toy distribution {name!r}; valid names: {', '.join(NAMES)}")


def mixture_means(name: str) -> torch.Tensor:
    """Component means [K, 2] of ``mog5`` or ``grid`` in raw (unnormalised) coordinates."""
    if name == "mog5":
        angle = 2 * math.pi * torch.arange(MOG5_COMPONENTS, dtype=torch.float64) / MOG5_COMPONENTS
        return MOG5_RADIUS * torch.stack([angle.cos(), angle.sin()], dim=1)
    if name == "grid":
        half = GRID_SPACING * (GRID_SIZE - 1) / 2
        axis = torch.linspace(-half, half, GRID_SIZE, dtype=torch.float64)
        gx, gy = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    _check_name(name)
    raise ValueError(f"{name!r} is not a mixture of Gaussians; mixtures: {', '.join(ANALYTIC)}")


def _mixture_std(name: str) -> float:
    return MOG5_STD if name == "mog5" else GRID_STD


def _uniform(n: int, g: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=g)


def _normal(shape, g: torch.Generator | None) -> torch.Tensor:
    return torch.randn(shape, generator=g)


def _raw_sample(name: str, n: int, g: torch.Generator | None) -> torch.Tensor:
    """``n`` raw samples [n, 2] (float32) before the App. C.1 normalisation."""
    if name in ANALYTIC:
        means = mixture_means(name).float()
        k = torch.randint(len(means), (n,), generator=g)
        return means[k] + _mixture_std(name) * _normal((n, 2), g)
    if name == "moons":  # upper half circle at the origin, lower one shifted right by r and down by 0.5
        upper = torch.rand(n, generator=g) < 0.5
        theta = math.pi * _uniform(n, g) + torch.where(upper, 0.0, math.pi)
        x = MOONS_RADIUS * theta.cos() + torch.where(upper, 0.0, MOONS_RADIUS)
        y = MOONS_RADIUS * theta.sin() - torch.where(upper, 0.0, MOONS_SHIFT_Y)
        return torch.stack([x, y], dim=1) + MOONS_NOISE * _normal((n, 2), g)
    if name == "rings":  # equal-weight rings of radius R/3, 2R/3, R with radial noise
        ring = torch.randint(RINGS_COUNT, (n,), generator=g).float()
        radius = RINGS_MAX_RADIUS * (ring + 1) / RINGS_COUNT + RINGS_NOISE * _normal(n, g)
        theta = 2 * math.pi * _uniform(n, g)
        return torch.stack([radius * theta.cos(), radius * theta.sin()], dim=1)
    if name == "spiral":
        theta = SPIRAL_HALF_TURNS * math.pi * _uniform(n, g)
        r = SPIRAL_R0 + theta / (2 * math.pi)
        return torch.stack([r * theta.cos(), r * theta.sin()], dim=1) + SPIRAL_NOISE * _normal((n, 2), g)
    if name == "swissroll":
        t = SWISSROLL_TURNS * 2 * math.pi * _uniform(n, g)
        return torch.stack([t * t.cos(), t * t.sin()], dim=1) / math.pi + SWISSROLL_NOISE * _normal((n, 2), g)
    _check_name(name)
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=None)
def normalisation_std(name: str) -> float:
    """The App. C.1 scalar: pooled std of ``NORMALISATION_SAMPLES`` raw samples drawn from a fixed seed."""
    _check_name(name)
    g = torch.Generator().manual_seed(NORMALISATION_SEED)
    total, total_sq, count = 0.0, 0.0, 0
    chunk = 1_000_000
    for start in range(0, NORMALISATION_SAMPLES, chunk):
        x = _raw_sample(name, min(chunk, NORMALISATION_SAMPLES - start), g)
        total += x.sum(dtype=torch.float64).item()
        total_sq += (x * x).sum(dtype=torch.float64).item()
        count += x.numel()
    return math.sqrt((total_sq - total * total / count) / (count - 1))


def sample(name: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` normalised samples [n, 2] (float32, CPU) of the toy target ``name`` (App. C.1)."""
    _check_name(name)
    if n < 0:
        raise ValueError(f"sample: n must be >= 0, got {n}")
    return _raw_sample(name, n, generator) / normalisation_std(name)


def log_prob(name: str, x: torch.Tensor) -> torch.Tensor:
    """Exact log-density [n] of normalised points ``x`` [n, 2] under ``mog5`` or ``grid``.

    With s the normalisation scalar, x = x_raw / s, so log p(x) = log p_raw(s x) + 2 log s, where p_raw is the
    equal-weight mixture of isotropic Gaussians. Differentiable in ``x``; returned in ``x``'s dtype.
    """
    _check_name(name)
    if name not in ANALYTIC:
        raise ValueError(f"log_prob: {name!r} has no closed-form density; use kde_nll(sample({name!r}, N), x) "
                         f"instead (exact for: {', '.join(ANALYTIC)})")
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"log_prob: x must be [n, 2], got shape {tuple(x.shape)}")
    s = normalisation_std(name)
    sd = _mixture_std(name)
    means = mixture_means(name).to(device=x.device, dtype=torch.float64)
    sq = ((s * x.double()[:, None, :] - means[None]) ** 2).sum(-1)  # [n, K]
    log_comp = -0.5 * sq / sd**2 - math.log(2 * math.pi * sd**2)  # 2D isotropic Gaussian
    lp = torch.logsumexp(log_comp, dim=1) - math.log(len(means)) + 2 * math.log(s)
    return lp.to(x.dtype)


def make_kde_nll(samples: torch.Tensor | np.ndarray, bandwidth: float = KDE_BANDWIDTH,
                 rtol: float = 1e-6) -> Callable[[torch.Tensor | np.ndarray], np.ndarray]:
    """Fit the Gaussian KDE of App. B eq. 27 once; return ``x -> -log p_hat(x)`` (numpy [n], float64).

    p_hat(x) = 1/N sum_i (2 pi h^2)^(-d/2) exp(-|x - x_i|^2 / (2 h^2)), h = ``bandwidth``; scikit-learn's
    ``KernelDensity`` (computed in log space, so far-away points get a large finite NLL, never inf; ``rtol``
    bounds its relative error, 1e-6 by default).
    """
    from sklearn.neighbors import KernelDensity

    ref = _as_numpy(samples, "samples")
    kde = KernelDensity(kernel="gaussian", bandwidth=bandwidth, rtol=rtol).fit(ref)

    def nll(x):
        q = _as_numpy(x, "x")
        if q.shape[1] != ref.shape[1]:
            raise ValueError(f"kde_nll: x has {q.shape[1]} dims but the samples have {ref.shape[1]}")
        return -kde.score_samples(q)

    return nll


def kde_nll(samples: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray,
            bandwidth: float = KDE_BANDWIDTH) -> np.ndarray:
    """Per-point KDE NLL [n] of ``x`` given target ``samples`` (App. B eq. 27, NLL = -log p_hat(x))."""
    return make_kde_nll(samples, bandwidth)(x)


def nll_function(name: str, n_reference: int = 100_000, generator: torch.Generator | None = None,
                 bandwidth: float = KDE_BANDWIDTH) -> tuple[Callable[[torch.Tensor], np.ndarray], str]:
    """The "true NLL" of App. B for ``name``: ``(x -> per-point NLL as numpy, kind)``.

    ``kind`` is ``"exact"`` for mog5 and grid (``-log_prob``) and ``"kde"`` for the others (KDE of eq. 27 on
    ``n_reference`` target samples drawn from ``generator``; the authors' code uses 100k).
    """
    _check_name(name)
    if name in ANALYTIC:
        def exact(x):
            x = torch.as_tensor(x)
            return (-log_prob(name, x.detach().cpu().double())).numpy()
        return exact, "exact"
    return make_kde_nll(sample(name, n_reference, generator), bandwidth), "kde"


def _as_numpy(a, what: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"kde_nll: {what} must be a 2-D array [n, d], got shape {a.shape}")
    return a


# --- precision and coverage of a point set against a target (notebook 01's claims) ---------------------------
SUPPORT_QUANTILE = 0.95  # "on the support": NLL below the 95th percentile of the target's own samples' NLL (ours)


def support_threshold(nll_fn: Callable, target) -> float:
    """The NLL below which a point counts as on the target's support: the ``SUPPORT_QUANTILE`` quantile of
    ``nll_fn`` over the target's own samples (so 95% of a perfect sample lands on it, by construction)."""
    return float(np.quantile(nll_fn(target), SUPPORT_QUANTILE))


def on_support_share(nll_fn: Callable, points, target) -> float:
    """Precision: the share of ``points`` on the support of the target (``support_threshold``). It says nothing
    about coverage: points collapsed onto one mode score 1."""
    return float((nll_fn(points) < support_threshold(nll_fn, target)).mean())


def reverse_kde_nll(points, target, bandwidth: float = KDE_BANDWIDTH) -> float:
    """Coverage: the mean NLL of the ``target`` samples under a Gaussian KDE (eq. 27) fitted on ``points``.

    Points that collapse onto the modes, or miss part of the target, leave target samples far from every point,
    and this NLL grows; compare it with the same number for an equal-size set of fresh target samples.
    """
    return float(make_kde_nll(points, bandwidth)(target).mean())


def modes_reached(name: str, points) -> float:
    """For the mixtures (mog5, grid): the share of components that receive at least half their fair share
    (N / 2K) of ``points``, each point assigned to its nearest component mean. 1 means no mode is missed or
    starved; collapse onto a few modes lowers it."""
    if name not in ANALYTIC:
        raise ValueError(f"modes_reached: {name!r} has no modes to count; mixtures: {', '.join(ANALYTIC)}")
    means = (mixture_means(name) / normalisation_std(name)).numpy()
    pts = _as_numpy(points, "points")
    nearest = ((pts[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=len(means))
    return float((counts >= 0.5 * len(pts) / len(means)).mean())


def minima_on_support(landscape: np.ndarray, nll_grid: np.ndarray, threshold: float, fraction: float = 0.05) -> float:
    """The share of the lowest ``fraction`` of grid points of ``landscape`` (e.g. the alignment loss) whose true
    NLL (``nll_grid``, same grid) is below ``threshold`` (``support_threshold``): do the landscape's minima lie on
    the target's support? A landscape that ranks points like the NLL overall but has its minimum in an empty
    region (the rings' centre) scores low."""
    landscape, nll_grid = np.asarray(landscape).ravel(), np.asarray(nll_grid).ravel()
    if landscape.shape != nll_grid.shape:
        raise ValueError(f"minima_on_support: landscape has {landscape.size} points, nll_grid {nll_grid.size}")
    k = max(1, int(round(fraction * landscape.size)))
    lowest = np.argsort(landscape, kind="stable")[:k]
    return float((nll_grid[lowest] < threshold).mean())
