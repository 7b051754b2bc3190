"""Intervals for the suite's tables: Student t over seeds, a percentile bootstrap over samples, and the power a
comparison had (its minimum detectable effect).

**Over seeds** (a row's 3-5 per-seed values) every interval comes from the t distribution (Student 1908):

- one sample: mean +- t_{n-1} s / sqrt(n) (``t_interval``, ``summarize``; kind ``"t one-sample"``);
- paired, when both sides are the same seeds in the same order: the one-sample interval of the per-seed
  differences (``difference(..., paired=True)``; kind ``"t paired"``);
- independent sides: Welch's interval, se = sqrt(s_a^2/n_a + s_b^2/n_b) with the Welch-Satterthwaite degrees of
  freedom (Welch 1947; Satterthwaite 1946) (``difference``; kind ``"Welch t"``).

A percentile bootstrap of the mean over 3 seeds can see only 10 distinct resamples and under-covers badly (about
71% at nominal 95% for normal seeds, 82% at n = 5); the t interval is exact for normal seeds at every n >= 2.

**Over samples** (one Fréchet number from thousands of images) the percentile bootstrap stays
(``bootstrap_interval_over_samples``; kind ``"percentile bootstrap over samples"``; Efron & Tibshirani 1993,
ch. 13): there n is large and the statistic is not a mean.

``mde``: the smallest true difference a two-sided t-test at ``level`` had ``power`` (80%) to detect: from the
noncentral t for one sample / paired, from the exact power of Welch's test (``welch_power``) for two independent
samples; never the normal approximation. ``t_pvalue``: the test's two-sided p-value (what Holm's adjustment in
``tvclab.claims`` reads). Every dict returned here says its interval ``kind``, its ``n`` and ``df``;
a single seed gets no interval (``single_seed: True``, ``kind`` None), never NaN.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

LEVEL = 0.95
POWER = 0.8
N_BOOT = 2000

KIND_ONE_SAMPLE = "t one-sample"
KIND_PAIRED = "t paired"
KIND_WELCH = "Welch t"
KIND_BOOTSTRAP_SAMPLES = "percentile bootstrap over samples"


def _as_values(values, what: str = "values") -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError(f"{what} is empty: need at least one number")
    if not np.isfinite(v).all():
        raise ValueError(f"{what} holds non-finite numbers ({v.tolist()}): fix the run that produced them")
    return v


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level!r}")


# ---------------------------------------------------------------- the t distribution

@lru_cache(maxsize=4096)
def t_quantile(df: float, level: float = LEVEL) -> float:
    """The two-sided critical value t_{df, (1 + level) / 2} (``scipy.stats.t.ppf``)."""
    from scipy.stats import t

    _check_level(level)
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")
    return float(t.ppf((1 + level) / 2, df))


def t_pvalue(estimate: float, se: float, df: float, null: float = 0.0) -> float:
    """Two-sided p-value of the t statistic (estimate - null) / se on ``df`` degrees of freedom.

    se = 0 (every seed equal): p = 1 when estimate == null, else 0 (the interval is then the single point
    ``estimate``, which excludes ``null``)."""
    from scipy.stats import t

    if se == 0:
        return 1.0 if estimate == null else 0.0
    return float(2 * t.sf(abs(estimate - null) / se, df))


def welch_df(sd_a: float, n_a: int, sd_b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom of mean(a) - mean(b) (Welch 1947, eq. 9; Satterthwaite 1946):
    (va + vb)^2 / (va^2 / (n_a - 1) + vb^2 / (n_b - 1)) with va = sd_a^2 / n_a, vb = sd_b^2 / n_b. When both sds
    are 0 the ratio is undefined; the pooled n_a + n_b - 2 is returned (the interval is a point then anyway)."""
    if n_a < 2 or n_b < 2:
        raise ValueError(f"Welch's df needs >= 2 values per side, got {n_a} and {n_b}")
    va, vb = sd_a ** 2 / n_a, sd_b ** 2 / n_b
    den = va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1)
    return float((va + vb) ** 2 / den) if den > 0 else float(n_a + n_b - 2)


def _t_result(estimate: float, se: float, df: float, level: float, kind: str) -> dict:
    half = t_quantile(df, level) * se
    return {"lo": float(estimate - half), "hi": float(estimate + half), "df": float(df), "se": float(se),
            "kind": kind}


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """Student-t interval ``(lo, hi)`` of the mean of ``values``: mean +- t_{n-1} s / sqrt(n) (s: ddof 1)."""
    v = _as_values(values)
    _check_level(level)
    if v.size < 2:
        raise ValueError("a t interval needs at least 2 values (seeds); got 1. stats.summarize marks such a row "
                         "single_seed instead")
    r = _t_result(float(v.mean()), float(v.std(ddof=1)) / math.sqrt(v.size), v.size - 1, level, KIND_ONE_SAMPLE)
    return r["lo"], r["hi"]


# ---------------------------------------------------------------- summaries over seeds

def summarize(values: Sequence[float], level: float = LEVEL) -> dict:
    """Mean, sample std (ddof 1), the Student-t interval of the mean (``kind`` "t one-sample", ``df`` n - 1), n and
    the values themselves.

    One value: ``std``, ``lo``, ``hi``, ``df`` and ``kind`` are None and ``single_seed`` is True (no interval,
    never NaN)."""
    v = _as_values(values)
    _check_level(level)
    single = v.size == 1
    out = {"mean": float(v.mean()), "std": None, "lo": None, "hi": None, "n": int(v.size), "values": v.tolist(),
           "single_seed": single, "level": level, "kind": None, "df": None}
    if not single:
        out["std"] = float(v.std(ddof=1))
        r = _t_result(out["mean"], out["std"] / math.sqrt(v.size), v.size - 1, level, KIND_ONE_SAMPLE)
        out.update(lo=r["lo"], hi=r["hi"], kind=r["kind"], df=r["df"])
    return out


def difference(a: Sequence[float], b: Sequence[float], paired: bool = False, level: float = LEVEL) -> dict:
    """Interval of mean(a) - mean(b) over seeds.

    paired=True: a[i] and b[i] are the same seed (equal lengths); the one-sample t interval of the differences
    a - b (``kind`` "t paired", ``df`` n - 1). paired=False: Welch's interval (``kind`` "Welch t", the
    Welch-Satterthwaite ``df``). A side with one value is held fixed (its variability is unknown): the interval is
    then the other side's one-sample t interval shifted by that value (``kind`` "t one-sample", ``fixed`` names the
    side). One value on both sides (or one pair): no interval (lo = hi = kind = None).
    Returns mean, lo, hi, n_a, n_b, paired, level, kind, df, se (the standard error the interval used) and fixed.
    """
    va, vb = _as_values(a, "a"), _as_values(b, "b")
    _check_level(level)
    est = float(va.mean() - vb.mean())
    out = {"mean": est, "lo": None, "hi": None, "n_a": int(va.size), "n_b": int(vb.size), "paired": bool(paired),
           "level": level, "kind": None, "df": None, "se": None, "fixed": None}
    if paired:
        if va.size != vb.size:
            raise ValueError(f"paired difference needs equal lengths (one value per seed), got {va.size} and {vb.size}")
        if va.size >= 2:
            d = va - vb
            out.update(_t_result(est, float(d.std(ddof=1)) / math.sqrt(d.size), d.size - 1, level, KIND_PAIRED))
        return out
    if va.size == 1 and vb.size == 1:
        return out
    if va.size == 1 or vb.size == 1:
        free = vb if va.size == 1 else va
        out["fixed"] = "a" if va.size == 1 else "b"
        out.update(_t_result(est, float(free.std(ddof=1)) / math.sqrt(free.size), free.size - 1, level,
                             KIND_ONE_SAMPLE))
        return out
    sa, sb = float(va.std(ddof=1)), float(vb.std(ddof=1))
    se = math.sqrt(sa ** 2 / va.size + sb ** 2 / vb.size)
    out.update(_t_result(est, se, welch_df(sa, va.size, sb, vb.size), level, KIND_WELCH))
    return out


# ---------------------------------------------------------------- power: minimum detectable effect

def t_power(effect: float, se: float, df: float, level: float = LEVEL) -> float:
    """Power of the two-sided t-test at ``level`` against a true difference ``effect`` with standard error ``se``:
    P(|T'| > t_{df,(1+level)/2}), T' noncentral t with ``df`` and noncentrality effect / se
    (``scipy.stats.nct``)."""
    from scipy.stats import nct

    c = t_quantile(df, level)
    delta = abs(effect) / se
    far = float(nct.cdf(-c, df, delta))  # the tail on the other side of zero: below (1 - level) / 2 for delta >= 0
    if not math.isfinite(far):  # scipy's nct.cdf can return NaN where this tail underflows (~1e-16 at df 1, delta 8)
        far = 0.0
    return float(nct.sf(c, df, delta)) + far


def _noncentrality(df: float, level: float, power: float) -> float:
    """The noncentrality delta at which the two-sided t-test on ``df`` has ``power``: the root of
    t_power(delta) - power, found by ``scipy.optimize.brentq`` between 0 (power = 1 - level) and a bracket doubled
    until its power passes ``power``."""
    from scipy.optimize import brentq

    f = lambda d: t_power(d, 1.0, df, level) - power
    hi = 4.0
    while f(hi) < 0:
        hi *= 2
        if hi > 1e6:
            raise ValueError(f"no noncentrality reaches power {power} at df {df}")
    return float(brentq(f, 0.0, hi, xtol=1e-10, rtol=1e-12))


WELCH_NODES = 48  # Gauss-Legendre nodes per sample variance in welch_power: 1e-5 of power against 128 nodes


@lru_cache(maxsize=8)
def _legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on (0, 1)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    return (x + 1) / 2, w / 2


@lru_cache(maxsize=256)
def _chi2_nodes(k: int, nodes: int) -> np.ndarray:
    from scipy.stats import chi2

    return chi2.ppf(_legendre(nodes)[0], k)


def welch_power(effect: float, sd_a: float, n_a: int, sd_b: float, n_b: int, level: float = LEVEL) -> float:
    """Power of Welch's two-sided test at ``level`` against a true difference ``effect`` of two normal samples
    with sds ``sd_a``, ``sd_b`` and sizes ``n_a``, ``n_b`` (>= 2 each).

    The test's df is itself estimated, so no single noncentral t gives its power; at 3 vs 3 seeds the noncentral t
    on the Welch-Satterthwaite df of the true sds promises 0.80 where the test has 0.70. Given the two sample
    variances the difference of the means is normal and independent of them, so the power is the expectation,
    over s_a^2 ~ sd_a^2 chi2(n_a - 1) / (n_a - 1) and s_b^2 likewise, of
    Phi((effect - c se^) / se) + Phi((-effect - c se^) / se), c = t_{df^, (1+level)/2}, se^ and df^ Welch's
    estimates; the double integral is taken by Gauss-Legendre quadrature on the two chi-square quantile scales
    (``WELCH_NODES`` each), as in Moser, Stevens & Watts (1989)."""
    from scipy.special import ndtr
    from scipy.stats import t

    _check_level(level)
    if n_a < 2 or n_b < 2:
        raise ValueError(f"Welch's test needs >= 2 values per side, got {n_a} and {n_b}")
    sd = math.sqrt(sd_a ** 2 / n_a + sd_b ** 2 / n_b)
    if sd == 0:
        return 1.0 if effect != 0 else 1 - level
    w = _legendre(WELCH_NODES)[1]
    ka, kb = n_a - 1, n_b - 1
    va = sd_a ** 2 / n_a * _chi2_nodes(ka, WELCH_NODES)[:, None] / ka
    vb = sd_b ** 2 / n_b * _chi2_nodes(kb, WELCH_NODES)[None, :] / kb
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / ka + vb ** 2 / kb)
    c = t.ppf((1 + level) / 2, df)
    p = ndtr((abs(effect) - c * se) / sd) + ndtr((-abs(effect) - c * se) / sd)
    return float(w @ p @ w)


def mde(sd: float | None, n: int, *, n_b: int | None = None, sd_b: float | None = None, paired: bool = False,
        level: float = LEVEL, power: float = POWER) -> float | None:
    """Minimum detectable effect: the smallest true difference (in the units of the values) that the two-sided
    t-test at ``level`` had probability ``power`` to detect (its interval then excludes zero).

    - one sample, or ``paired=True``: ``sd`` is the sd of the values (of the per-seed differences when paired) and
      ``n`` their count; se = sd / sqrt(n), df = n - 1;
    - two independent samples (``n_b`` given): ``sd`` and ``sd_b`` (default ``sd``) the two sides' sds; the test
      is Welch's.

    One sample / paired: MDE = delta* x se, where delta* solves P(|T'| > t_{df,(1+level)/2}) = power for T'
    noncentral t(df, delta) (``scipy.stats.nct``; exact for normal seeds). Two samples: the effect at which
    ``welch_power`` (the exact power of Welch's test, whose df is estimated) equals ``power``. Roots by
    ``scipy.optimize.brentq``. The normal approximation (z_{(1+level)/2} + z_power) x se is far too small at 3-5
    seeds: the one-sample MDE is 2.0x it at n = 3 and 1.34x at n = 5. (Cohen 1988, ch. 2, for the construction.)
    Returns None when a side has fewer than 2 values or no sd (a single seed has no seed sd).
    """
    _check_level(level)
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), e.g. 0.8, got {power!r}")
    if paired and n_b is not None and n_b != n:
        raise ValueError(f"paired needs one value per seed on both sides, got n={n} and n_b={n_b}")
    if sd is None or n is None or n < 2:
        return None
    one = n_b is None or paired
    if not one:
        if n_b < 2:
            return None
        sd_b = sd if sd_b is None else sd_b
    for v in (sd, sd if one else sd_b):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"sd must be finite and >= 0, got {v!r}")
    if one:
        se = sd / math.sqrt(n)
        return float(_noncentrality(float(n - 1), level, power) * se) if se > 0 else 0.0
    se = math.sqrt(sd ** 2 / n + sd_b ** 2 / n_b)
    if se == 0:
        return 0.0
    from scipy.optimize import brentq

    f = lambda e: welch_power(e, sd, n, sd_b, n_b, level) - power
    hi = _noncentrality(welch_df(sd, n, sd_b, n_b), level, power) * se  # Welch's power is below the nct's: hi up
    while f(hi) < 0:
        hi *= 1.5
    return float(brentq(f, 0.0, hi, xtol=1e-9 * se, rtol=1e-10))


# ---------------------------------------------------------------- bootstrap over samples

def _percentiles(boots: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _apply(stat: Callable, samples: np.ndarray) -> np.ndarray:
    """``stat`` of every row of ``samples`` [n_boot, n]: vectorised when ``stat`` takes ``axis`` (np.mean, ...)."""
    try:
        out = np.asarray(stat(samples, axis=-1), dtype=np.float64)
        if out.shape == (len(samples),):
            return out
    except TypeError:
        pass
    return np.array([float(stat(s)) for s in samples])


def bootstrap_interval_over_samples(values: Sequence[float], stat: Callable = np.mean, level: float = LEVEL,
                                    n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval ``(lo, hi)`` of ``stat(values)`` (Efron & Tibshirani 1993, ch. 13): ``n_boot``
    resamples with replacement, seeded. For intervals over many samples (kind ``"percentile bootstrap over
    samples"``); over 3-5 seeds it under-covers: use ``summarize`` / ``difference`` (Student t) there.

    Written with numpy rather than ``scipy.stats.bootstrap``, whose default BCa interval returns NaN whenever
    values tie."""
    v = _as_values(values)
    _check_level(level)
    if v.size < 2:
        raise ValueError("a bootstrap interval needs at least 2 values; got 1")
    rng = np.random.default_rng(seed)
    return _percentiles(_apply(stat, v[rng.integers(0, v.size, (n_boot, v.size))]), level)


bootstrap_interval = bootstrap_interval_over_samples  # the former name (tests/test_protocol.py)
