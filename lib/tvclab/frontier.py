"""The rate-distortion frontier of a tokenizer family (notebook 02; docs/protocol.md, "Rate, not only loss").

A lower AR loss can mean tokens that carry less information. The question is rate against distortion: the prior's
rate R = gLoss x tokens (nats per image) against the reconstruction PSNR. Shrinking the codebook (no WGF) draws a
frontier through the points (R_K, PSNR_K), K = 8 ... 256; a method beats "just use fewer codes" only if it sits
above that frontier: at its own PSNR, the frontier needs a higher rate than the method has.

``interpolate`` joins the sweep's points piecewise linearly (no extrapolation: outside the sweep it returns None),
``rate_saving`` is frontier_rate(PSNR_m) - R_m at equal PSNR (positive: the method is above the frontier) and
``psnr_gain`` is PSNR_m - frontier_PSNR(R_m) at equal rate. ``bootstrap_gap`` resamples the seeds of every point
independently (percentile bootstrap) and returns the gap with its interval, which ``tvclab.claims.threshold``
turns into a verdict.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from . import stats


def interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float | None:
    """y at ``x`` on the piecewise-linear curve through (xs, ys) sorted by x; None outside [min xs, max xs]."""
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    if xs.shape != ys.shape or xs.size < 2:
        raise ValueError(f"interpolate needs >= 2 points with as many x as y; got {xs.size} x and {ys.size} y")
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if x < xs[0] or x > xs[-1]:
        return None
    return float(np.interp(x, xs, ys))


def rate_saving(sweep_rate: Sequence[float], sweep_psnr: Sequence[float], rate: float, psnr: float) -> float | None:
    """frontier rate at ``psnr`` minus ``rate`` (nats per image): positive when the point is above the frontier.
    The frontier's rate is read as a function of PSNR (the sweep must be monotone: more codes, more PSNR)."""
    r = interpolate(sweep_psnr, sweep_rate, psnr)
    return None if r is None else r - rate


def psnr_gain(sweep_rate: Sequence[float], sweep_psnr: Sequence[float], rate: float, psnr: float) -> float | None:
    """``psnr`` minus the frontier's PSNR at ``rate`` (dB): positive when the point is above the frontier."""
    p = interpolate(sweep_rate, sweep_psnr, rate)
    return None if p is None else psnr - p


GAPS = {"rate_saving": rate_saving, "psnr_gain": psnr_gain}


def bootstrap_gap(sweep: Mapping[object, Sequence[tuple[float, float]]], point: Sequence[tuple[float, float]],
                  kind: str = "psnr_gain", n_boot: int = stats.N_BOOT, level: float = stats.LEVEL,
                  seed: int = 0, anchor: tuple[float, float] | None = None) -> dict:
    """The gap of ``point`` (per-seed (rate, psnr) pairs) to the frontier of ``sweep`` ({K: per-seed (rate, psnr)
    pairs}), from the seed means, with a percentile-bootstrap interval over seeds (each point resampled on its own).
    ``anchor``: a fixed frontier point, e.g. (0, PSNR of the best constant image): a one-code tokenizer carries no
    information and decodes every image to the mean image. Resamples that fall outside the sweep are dropped and
    counted (``outside``); value None when the mean point falls outside it."""
    if kind not in GAPS:
        raise ValueError(f"kind must be one of {', '.join(GAPS)}, got {kind!r}")
    fn = GAPS[kind]
    keys = sorted(sweep)
    arrays = [np.asarray(sweep[k], np.float64).reshape(-1, 2) for k in keys]
    pt = np.asarray(point, np.float64).reshape(-1, 2)

    def gap(sw, p):
        means = np.stack([a.mean(0) for a in sw] + ([np.asarray(anchor, np.float64)] if anchor is not None else []))
        m = p.mean(0)
        return fn(means[:, 0], means[:, 1], m[0], m[1])

    value = gap(arrays, pt)
    rng = np.random.default_rng(seed)
    boots, outside = [], 0
    multi = any(len(a) > 1 for a in arrays + [pt])
    for _ in range(n_boot if multi else 0):
        sw = [a[rng.integers(0, len(a), len(a))] for a in arrays]
        g = gap(sw, pt[rng.integers(0, len(pt), len(pt))])
        if g is None:
            outside += 1
        else:
            boots.append(g)
    lo = hi = None
    if len(boots) >= 2:
        lo, hi = (float(v) for v in np.quantile(boots, [(1 - level) / 2, (1 + level) / 2]))
    return {"value": value, "lo": lo, "hi": hi, "kind": kind, "n_boot": n_boot if multi else 0,
            "outside": outside, "seeds": {"sweep": {str(k): len(a) for k, a in zip(keys, arrays)}, "point": len(pt)}}
