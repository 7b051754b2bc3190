"""Intervals for the suite's tables (SPEC "Evaluation protocol"): bootstrap over seeds, summaries, differences.

Every interval is a **percentile bootstrap** (Efron & Tibshirani 1993, ch. 13) of the mean, seeded, so a rerun gives
the same numbers. It is written here with numpy rather than through ``scipy.stats.bootstrap``: that function's
default BCa interval is undefined for the 3-5 seeds a row has whenever values tie (it returns NaN with a
``DegenerateDataWarning``), and one small function covers the one-sample, independent two-sample and paired cases
with the same resampling rule.

With 3 seeds the bootstrap interval is narrow (it can only see 10 distinct resamples); it is the SPEC's protocol,
and ``n`` beside every interval says how little it rests on. A single seed gets no interval: ``single_seed: True``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

LEVEL = 0.95
N_BOOT = 2000


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


def bootstrap_interval(values: Sequence[float], stat: Callable = np.mean, level: float = LEVEL,
                       n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval ``(lo, hi)`` of ``stat(values)``: ``n_boot`` resamples with replacement."""
    v = _as_values(values)
    _check_level(level)
    if v.size < 2:
        raise ValueError("a bootstrap interval needs at least 2 values (seeds); got 1. "
                         "stats.summarize marks such a row single_seed instead")
    rng = np.random.default_rng(seed)
    return _percentiles(_apply(stat, v[rng.integers(0, v.size, (n_boot, v.size))]), level)


def summarize(values: Sequence[float], level: float = LEVEL, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Mean, sample std (ddof 1), bootstrap interval of the mean, n and the values themselves.

    One value: ``std``, ``lo`` and ``hi`` are None and ``single_seed`` is True (no interval, never NaN)."""
    v = _as_values(values)
    single = v.size == 1
    lo, hi = (None, None) if single else bootstrap_interval(v, np.mean, level, n_boot, seed)
    return {"mean": float(v.mean()), "std": None if single else float(v.std(ddof=1)), "lo": lo, "hi": hi,
            "n": int(v.size), "values": v.tolist(), "single_seed": single, "level": level}


def difference(a: Sequence[float], b: Sequence[float], paired: bool = False, level: float = LEVEL,
               n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Bootstrap interval of mean(a) - mean(b).

    paired=False: a and b are resampled independently. paired=True: a[i] and b[i] belong together (the same seed)
    and their differences are resampled; a and b must then have equal length. A side with one value is held fixed
    (its variability is unknown); with one value on both sides there is no interval (lo = hi = None).
    """
    va, vb = _as_values(a, "a"), _as_values(b, "b")
    _check_level(level)
    out = {"mean": float(va.mean() - vb.mean()), "lo": None, "hi": None, "n_a": int(va.size), "n_b": int(vb.size),
           "paired": bool(paired), "level": level}
    if paired:
        if va.size != vb.size:
            raise ValueError(f"paired difference needs equal lengths (one value per seed), got {va.size} and {vb.size}")
        if va.size >= 2:
            out["lo"], out["hi"] = bootstrap_interval(va - vb, np.mean, level, n_boot, seed)
        return out
    if va.size == 1 and vb.size == 1:
        return out
    rng = np.random.default_rng(seed)
    mean_a = va[rng.integers(0, va.size, (n_boot, va.size))].mean(1)
    mean_b = vb[rng.integers(0, vb.size, (n_boot, vb.size))].mean(1)
    out["lo"], out["hi"] = _percentiles(mean_a - mean_b, level)
    return out
