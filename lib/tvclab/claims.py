"""The one claims helper (SPEC "Evaluation protocol"): a verdict computed from our numbers, never hand-written.

A verdict is exactly one of ``VERDICTS``: "holds", "does not hold" or "inconclusive".

- ``compare(claim, ours, reference, better=...)``: ours against a reference measurement. The verdict reads the
  interval of the difference ``ours - reference``: entirely on the better side -> "holds", entirely on the worse
  side -> "does not hold", covering zero -> "inconclusive" (``margin`` moves zero: the claim is then "better by more
  than ``margin``"; a negative margin states non-inferiority).
- ``threshold(claim, ours, bound, better=...)``: one quantity against a fixed bound (a cost ratio above 100, a
  residual below 1e-10), by the interval of ours.
- ``table(results)``: flat rows for ``report.save_table``.

A quantity (``ours``, ``reference``) is one of: per-seed values (a list or array), a ``stats.summarize`` dict
(its ``values`` are used), a dict with ``value``, ``lo``, ``hi`` (one Fréchet number with its bootstrap interval
over samples, ``metrics.frechet_bootstrap``) or a bare number. Without any interval the verdict is "inconclusive",
unless ``exact=True`` says the numbers are deterministic (an identity's residual, a count): then the point values
decide and the verdict is "holds" or "does not hold".
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np

from . import stats

VERDICTS = ("holds", "does not hold", "inconclusive")
BETTER = ("lower", "higher")


# ---------------------------------------------------------------- quantities

def _quantity(x, what: str, level: float, n_boot: int, seed: int) -> dict:
    """``x`` as {mean, lo, hi, n, single_seed, kind}; kind "seeds" (per-seed values), "interval" (a value with a
    given interval) or "point" (a bare number)."""
    if isinstance(x, Mapping):
        if "values" in x:
            return _seeds(x["values"], what, level, n_boot, seed)
        key = "value" if "value" in x else "mean" if "mean" in x else None
        if key is None:
            raise ValueError(f"{what}: a dict must hold 'values' (per-seed), or 'value' with 'lo' and 'hi'; "
                             f"got keys {sorted(x)}")
        mean, lo, hi = _number(x[key], what), x.get("lo"), x.get("hi")
        if lo is None or hi is None:
            return {"mean": mean, "lo": None, "hi": None, "n": x.get("n"), "single_seed": None, "kind": "point"}
        lo, hi = _number(lo, f"{what} lo"), _number(hi, f"{what} hi")
        if not lo <= hi:
            raise ValueError(f"{what}: interval [{lo}, {hi}] has lo > hi")
        return {"mean": mean, "lo": lo, "hi": hi, "n": x.get("n", x.get("n_boot")), "single_seed": None,
                "kind": "interval"}
    if isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, str):
        return _seeds(x, what, level, n_boot, seed)
    return {"mean": _number(x, what), "lo": None, "hi": None, "n": None, "single_seed": None, "kind": "point"}


def _seeds(values, what: str, level: float, n_boot: int, seed: int) -> dict:
    s = stats.summarize([_number(v, what) for v in values], level=level, n_boot=n_boot, seed=seed)
    return {"mean": s["mean"], "lo": s["lo"], "hi": s["hi"], "n": s["n"], "single_seed": s["single_seed"],
            "kind": "seeds", "values": s["values"]}


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (Real, np.number)):
        raise ValueError(f"{what}: expected a number, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{what} is {v}: a verdict needs finite numbers; fix the run that produced it")
    return v


def _has_interval(q: dict) -> bool:
    return q["lo"] is not None


def _public(q: dict) -> dict:
    return {k: q[k] for k in ("mean", "lo", "hi", "n", "single_seed")}


def _check_better(better) -> int:
    """+1 when higher is better, -1 when lower is."""
    if better not in BETTER:
        raise ValueError(f"better must be 'lower' or 'higher' (which direction of the number is an improvement), "
                         f"got {better!r}")
    return 1 if better == "higher" else -1


# ---------------------------------------------------------------- verdicts

def _interval_verdict(gain_lo: float | None, gain_hi: float | None, margin: float) -> str:
    """The gain (difference signed so that larger is better) against ``margin``."""
    if gain_lo is None:
        return "inconclusive"
    if gain_lo > margin:
        return "holds"
    if gain_hi < margin:
        return "does not hold"
    return "inconclusive"


def _gain(sign: int, lo, hi):
    if lo is None:
        return None, None
    return (lo, hi) if sign > 0 else (-hi, -lo)


def _mover(a: dict, b: dict) -> tuple[float, float]:
    """Interval of mean(a) - mean(b) from the two intervals by MOVER (Zou & Donner 2008, eq. 5): each side's
    lower and upper distances to its estimate combine in quadrature. A side without an interval is held fixed."""
    def ends(q):
        return (q["lo"], q["hi"]) if _has_interval(q) else (q["mean"], q["mean"])

    (la, ua), (lb, ub) = ends(a), ends(b)
    d = a["mean"] - b["mean"]
    return (d - math.hypot(a["mean"] - la, ub - b["mean"]), d + math.hypot(ua - a["mean"], b["mean"] - lb))


def compare(claim: str, ours, reference, *, better: str, paper: str | None = None, n: int | dict | None = None,
            margin: float = 0.0, exact: bool = False, paired: bool = False, level: float = stats.LEVEL,
            n_boot: int = stats.N_BOOT, seed: int = 0) -> dict:
    """Verdict on "ours is better than reference" (``better``: "lower" or "higher" is an improvement).

    ours, reference: per-seed values, a ``stats.summarize`` dict, a ``{"value", "lo", "hi"}`` dict or a number.
    The interval of the difference ``ours - reference`` is
      - per-seed on both sides: a bootstrap over seeds (``stats.difference``; ``paired=True`` when the lists are
        the same seeds in the same order); a single-seed side is held fixed;
      - otherwise, when at least one side has an interval: MOVER from the two intervals; a side without one (a
        bare number) is held fixed;
      - no interval on either side: none, and the verdict is "inconclusive" unless ``exact=True``.
    paper: the paper's number (as text, with its table) shown beside ours; n: the N of the metric (samples, seeds).
    Returns claim, verdict, ours / reference (mean, lo, hi, n, single_seed), difference (mean, lo, hi), better,
    margin, paper, n, method, exact.
    """
    sign = _check_better(better)
    margin = _number(margin, "margin")
    qa, qb = (_quantity(x, w, level, n_boot, seed) for x, w in ((ours, "ours"), (reference, "reference")))
    diff = {"mean": qa["mean"] - qb["mean"], "lo": None, "hi": None}
    fixed = [w for q, w in ((qa, "ours"), (qb, "reference")) if not _has_interval(q)]
    if exact:
        verdict = "holds" if sign * diff["mean"] > margin else "does not hold"
        method = "exact: deterministic numbers, the point difference decides"
    elif len(fixed) == 2:
        verdict = "inconclusive"
        method = "no interval on either side (single values): inconclusive; pass exact=True for deterministic numbers"
    else:
        if qa["kind"] == qb["kind"] == "seeds":
            d = stats.difference(qa["values"], qb["values"], paired=paired, level=level, n_boot=n_boot, seed=seed)
            diff["lo"], diff["hi"] = d["lo"], d["hi"]
            method = (f"percentile bootstrap over seeds ({'paired' if paired else 'independent'}, {n_boot} resamples,"
                      f" level {level:g})")
        else:
            diff["lo"], diff["hi"] = _mover(qa, qb)
            method = f"MOVER (Zou & Donner 2008) from the two intervals (level {level:g})"
        if fixed:
            method += f"; {fixed[0]} has no interval ({_why_fixed(qa if fixed[0] == 'ours' else qb)}), held fixed"
        verdict = _interval_verdict(*_gain(sign, diff["lo"], diff["hi"]), margin)
    return {"claim": claim, "verdict": verdict, "kind": "compare", "ours": _public(qa), "reference": _public(qb),
            "difference": diff, "better": better, "margin": margin, "paper": paper, "n": n, "method": method,
            "exact": bool(exact)}


def _why_fixed(q: dict) -> str:
    return "a single seed" if q["single_seed"] else "a bare number"


def _satisfies(x: float, bound: float, sign: int, inclusive: bool) -> bool:
    if sign < 0:
        return x <= bound if inclusive else x < bound
    return x >= bound if inclusive else x > bound


def threshold(claim: str, ours, bound: float, *, better: str, paper: str | None = None, n: int | dict | None = None,
              exact: bool = False, inclusive: bool = False, level: float = stats.LEVEL, n_boot: int = stats.N_BOOT,
              seed: int = 0) -> dict:
    """Verdict on "ours is below ``bound``" (better="lower") or "above ``bound``" (better="higher").

    ``inclusive=True`` counts the bound itself as satisfying (<= or >=); the default is strict (< or >).
    The interval of ours (bootstrap over seeds, or the given ``lo``/``hi``) entirely on the satisfying side ->
    "holds", entirely on the other -> "does not hold", straddling the bound -> "inconclusive"; no interval ->
    "inconclusive" unless ``exact=True`` (a deterministic number: the point value decides).
    Returns claim, verdict, ours, bound, comparator, difference (ours - bound), paper, n, method, exact.
    """
    sign = _check_better(better)
    bound = _number(bound, "bound")
    if ours is None or (isinstance(ours, Mapping) and "value" in ours and ours["value"] is None):
        # no number to judge (e.g. a point outside the range a frontier was measured on): nothing decides the claim
        return {"claim": claim, "verdict": "inconclusive", "kind": "threshold",
                "ours": {"mean": None, "lo": None, "hi": None, "n": 0, "single_seed": None}, "bound": bound,
                "comparator": {-1: "<", 1: ">"}[sign], "difference": {"mean": None, "lo": None, "hi": None},
                "better": better, "paper": paper, "n": n, "method": "no value (outside the measured range)",
                "exact": bool(exact)}
    q = _quantity(ours, "ours", level, n_boot, seed)
    comparator = {(-1, False): "<", (-1, True): "<=", (1, False): ">", (1, True): ">="}[(sign, bool(inclusive))]
    diff = {"mean": q["mean"] - bound, "lo": None, "hi": None}
    if exact:
        verdict = "holds" if _satisfies(q["mean"], bound, sign, inclusive) else "does not hold"
        method = "exact: a deterministic number, the point value decides"
    elif not _has_interval(q):
        verdict = "inconclusive"
        method = f"no interval ({_why_fixed(q)}): inconclusive; pass exact=True for a deterministic number"
    else:
        diff["lo"], diff["hi"] = q["lo"] - bound, q["hi"] - bound
        ok = [_satisfies(v, bound, sign, inclusive) for v in (q["lo"], q["hi"])]
        verdict = "holds" if all(ok) else "does not hold" if not any(ok) else "inconclusive"
        method = (f"percentile bootstrap over seeds ({n_boot} resamples, level {level:g})" if q["kind"] == "seeds"
                  else "the given interval") + " against the fixed bound"
    return {"claim": claim, "verdict": verdict, "kind": "threshold", "ours": _public(q), "bound": bound,
            "comparator": comparator, "difference": diff, "better": better, "paper": paper, "n": n,
            "method": method, "exact": bool(exact)}


# ---------------------------------------------------------------- tables

def _fmt(v, digits: int = 4) -> str:
    return "" if v is None else format(v, f".{digits}g")


def _fmt_quantity(q: dict) -> str:
    text = _fmt(q["mean"])
    if q["lo"] is not None:
        text += f" [{_fmt(q['lo'])}, {_fmt(q['hi'])}]"
    if q.get("single_seed"):
        text += " (1 seed)"
    elif q.get("single_seed") is False:
        text += f" ({q['n']} seeds)"
    return text


def _fmt_n(n) -> str:
    if isinstance(n, Mapping):
        return ", ".join(f"{k}={v}" for k, v in n.items())
    return "" if n is None else str(n)


def table(claims: Sequence[Mapping]) -> list[dict]:
    """Flat rows (claim, verdict, ours, reference, difference, paper, n) of ``compare`` / ``threshold`` results,
    for ``report.save_table``; "reference" is the bound with its comparator for a threshold."""
    rows = []
    for c in claims:
        if c.get("verdict") not in VERDICTS:
            raise ValueError(f"not a claims result (verdict {c.get('verdict')!r}); build rows with compare/threshold")
        ref = (f"{c['comparator']} {_fmt(c['bound'])}" if c["kind"] == "threshold" else _fmt_quantity(c["reference"]))
        d = c["difference"]
        diff = _fmt(d["mean"]) + (f" [{_fmt(d['lo'])}, {_fmt(d['hi'])}]" if d["lo"] is not None else "")
        rows.append({"claim": c["claim"], "verdict": c["verdict"], "ours": _fmt_quantity(c["ours"]),
                     "reference": ref, "difference": diff, "paper": c.get("paper") or "", "n": _fmt_n(c.get("n"))})
    return rows
