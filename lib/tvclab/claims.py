"""The one claims helper: a verdict computed from our numbers, never hand-written.

A verdict is exactly one of ``VERDICTS``: "holds", "does not hold" or "inconclusive".

- ``compare(claim, ours, reference, better=...)``: ours against a reference measurement. The verdict reads the
  interval of the difference ``ours - reference``: entirely on the better side -> "holds", entirely on the worse
  side -> "does not hold", covering zero -> "inconclusive" (``margin`` moves zero: the claim is then "better by more
  than ``margin``"; a negative margin states non-inferiority).
- ``threshold(claim, ours, bound, better=...)``: one quantity against a fixed bound (a cost ratio above 100, a
  residual below 1e-10), by the interval of ours.
- ``holm(results)``: the same results with a Holm-adjusted verdict beside each raw one (Holm 1979).
- ``table(results)``: flat rows for ``report.save_table``.

A quantity (``ours``, ``reference``) is one of: per-seed values (a list or array), a ``stats.summarize`` dict
(its ``values`` are used), a dict with ``value``, ``lo``, ``hi`` (one Fréchet number with its bootstrap interval
over samples, ``metrics.frechet_bootstrap``) or a bare number. Without any interval the verdict is "inconclusive",
unless ``exact=True`` says the numbers are deterministic (an identity's residual, a count): then the point values
decide and the verdict is "holds" or "does not hold".

**Per-seed values** get Student-t intervals (``tvclab.stats``): paired t on the per-seed differences with
``paired=True`` (the same seeds in the same order on both sides), Welch's t otherwise. Such a comparison also
carries its two-sided t-test p-value against the margin (``p``, what ``holm`` adjusts) and its **minimum detectable
effect** (``mde``: the smallest true difference the test had 80% power to see at the stated level, noncentral t;
``stats.mde``). Intervals given from outside (over samples) combine by MOVER and have neither: no seed sd stands
behind them, and ``method`` says so.

**Direction checks.** ``paper_values=(ours_paper, reference_paper)`` (``paper_value=`` for a threshold) are the
paper's own two numbers: a claim whose tested direction they contradict raises ``ValueError`` naming both,
unless ``beyond_paper=True`` marks it as going beyond the paper (recorded in the result). With them the result
also carries the paper's relative effect beside the relative MDE ("paper -24%; detectable here >= 31%").
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np

from . import stats

VERDICTS = ("holds", "does not hold", "inconclusive")
BETTER = ("lower", "higher")
GIVEN = "given interval"  # the interval kind of a {"value", "lo", "hi"} quantity (one over samples, as a rule)


# ---------------------------------------------------------------- quantities

def _quantity(x, what: str, level: float) -> dict:
    """``x`` as {mean, lo, hi, n, single_seed, source, kind, ...}; source "seeds" (per-seed values), "interval" (a
    value with a given interval) or "point" (a bare number); kind the interval kind (``stats``) or None."""
    if isinstance(x, Mapping):
        if "values" in x:
            return _seeds(x["values"], what, level)
        key = "value" if "value" in x else "mean" if "mean" in x else None
        if key is None:
            raise ValueError(f"{what}: a dict must hold 'values' (per-seed), or 'value' with 'lo' and 'hi'; "
                             f"got keys {sorted(x)}")
        mean, lo, hi = _number(x[key], what), x.get("lo"), x.get("hi")
        if lo is None or hi is None:
            return {"mean": mean, "lo": None, "hi": None, "n": x.get("n"), "single_seed": None, "source": "point",
                    "kind": None}
        lo, hi = _number(lo, f"{what} lo"), _number(hi, f"{what} hi")
        if not lo <= hi:
            raise ValueError(f"{what}: interval [{lo}, {hi}] has lo > hi")
        kind = x.get("interval") if isinstance(x.get("interval"), str) else GIVEN  # evaluation.frechet names it
        return {"mean": mean, "lo": lo, "hi": hi, "n": x.get("n", x.get("n_boot")), "single_seed": None,
                "source": "interval", "kind": kind}
    if isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, str):
        return _seeds(x, what, level)
    return {"mean": _number(x, what), "lo": None, "hi": None, "n": None, "single_seed": None, "source": "point",
            "kind": None}


def _seeds(values, what: str, level: float) -> dict:
    s = stats.summarize([_number(v, what) for v in values], level=level)
    return {"mean": s["mean"], "lo": s["lo"], "hi": s["hi"], "n": s["n"], "single_seed": s["single_seed"],
            "source": "seeds", "kind": s["kind"], "values": s["values"], "std": s["std"], "df": s["df"]}


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
    return {k: q[k] for k in ("mean", "lo", "hi", "n", "single_seed", "kind")}


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


def _fmt_df(df: float) -> str:
    return format(df, ".3g")


def _seed_method(d: dict, level: float, qa: dict, qb: dict) -> str:
    """The method text of a ``stats.difference`` of ours - reference over seeds: its kind, n and df."""
    tail = f"df {_fmt_df(d['df'])}, level {level:g}"
    if d["kind"] == stats.KIND_PAIRED:
        return f"{d['kind']} over seeds (n = {d['n_a']} pairs, {tail})"
    if d["fixed"] is not None:
        (free, qf), (fixed, qx) = ((("reference", qb), ("ours", qa)) if d["fixed"] == "a"
                                   else (("ours", qa), ("reference", qb)))
        return (f"{d['kind']} over the seeds of {free} (n = {qf['n']}, {tail}); {fixed} held fixed "
                f"({_why_fixed(qx)})")
    return f"{d['kind']} over seeds (n = {d['n_a']} vs {d['n_b']}, {tail})"


def _power_text(mde, why_none: str | None, power: float) -> str:
    if mde is None:
        return f"no MDE: {why_none}"
    return f"MDE {mde:.4g} at {power:.0%} power (noncentral t)"


def _percent(x: float, signed: bool) -> str:
    return format(x, "+.0%" if signed else ".0%")


def _relative_text(paper_relative, mde_relative) -> str | None:
    parts = []
    if paper_relative is not None:
        parts.append(f"paper {_percent(paper_relative, True)}")
    if mde_relative is not None:
        parts.append(f"detectable here >= {_percent(mde_relative, False)}")
    elif paper_relative is not None:
        parts.append("detectable here: no MDE")
    return "; ".join(parts) or None


def _paper_pair(paper_values, claim: str) -> tuple[float, float]:
    if isinstance(paper_values, (str, bytes)) or not isinstance(paper_values, Sequence) or len(paper_values) != 2:
        raise ValueError(f"claim {claim!r}: paper_values must be the paper's two numbers (ours_paper, "
                         f"reference_paper), got {paper_values!r}")
    return _number(paper_values[0], "paper_values[0]"), _number(paper_values[1], "paper_values[1]")


def _check_paper_direction(claim: str, sign: int, better: str, margin: float, op: float, rp: float,
                           ref_mean: float, beyond_paper: bool) -> str:
    """'agrees' or 'contradicts' (the latter raises unless ``beyond_paper``).

    The paper's gain is sign x (op - rp). With margin >= 0 the claim tests "ours better", which the paper's own
    numbers contradict when its gain is negative (a tie does not contradict). With a negative margin (a
    non-inferiority claim, "not worse by more than |margin|") they contradict when the paper's relative gain
    sign x (op - rp) / |rp| falls below the claim's relative margin margin / |reference mean|."""
    gain = sign * (op - rp)
    if margin < 0 and rp != 0 and ref_mean != 0:
        rel_gain, rel_margin = gain / abs(rp), margin / abs(ref_mean)
        bad = rel_gain < rel_margin
        why = (f"the paper's own numbers (ours {op:g} vs reference {rp:g}, better={better!r}) are worse by "
               f"{_percent(-rel_gain, False)}, beyond the claim's non-inferiority margin of "
               f"{_percent(-rel_margin, False)}")
    else:
        bad = gain < 0
        why = (f"the paper's own numbers show the opposite direction: ours {op:g} vs reference {rp:g} is "
               f"{'higher' if op > rp else 'lower'}, and the claim tests better={better!r}")
    if bad and not beyond_paper:
        raise ValueError(f"claim {claim!r}: {why}. Test the direction the paper's numbers show (swap the sides "
                         f"or `better`), or pass beyond_paper=True to mark the claim as going beyond the paper")
    return "contradicts" if bad else "agrees"


def compare(claim: str, ours, reference, *, better: str, paper: str | None = None, n: int | dict | None = None,
            margin: float = 0.0, exact: bool = False, paired: bool = False, level: float = stats.LEVEL,
            power: float = stats.POWER, paper_values: Sequence[float] | None = None,
            beyond_paper: bool = False) -> dict:
    """Verdict on "ours is better than reference" (``better``: "lower" or "higher" is an improvement).

    ours, reference: per-seed values, a ``stats.summarize`` dict, a ``{"value", "lo", "hi"}`` dict or a number.
    The interval of the difference ``ours - reference`` is
      - per-seed values on both sides: Student t over seeds (``stats.difference``): paired t on the per-seed
        differences with ``paired=True`` (the lists are the same seeds in the same order), Welch's t otherwise; a
        single-seed side, or a bare number against per-seed values, is held fixed (one-sample t of the other side);
      - otherwise, when at least one side has an interval: MOVER from the two intervals; a side without one (a
        bare number) is held fixed;
      - no interval on either side: none, and the verdict is "inconclusive" unless ``exact=True``.
    A t interval comes with ``p`` (two-sided t-test of "the gain equals ``margin``"; its interval excludes the
    margin exactly when p < 1 - level) and ``mde`` (``stats.mde`` from the seed sds and n at ``power``: the
    smallest true |gain - margin| the test had that power to detect). ``mde`` is None where no seed sd exists: a
    single-seed side (its variability is unknown), intervals over samples (MOVER), bare numbers, exact claims.
    paper: the paper's number (as text, with its table) shown beside ours; n: the N of the metric (samples, seeds).
    paper_values: the paper's own (ours, reference) numbers: raises ValueError when they contradict the tested
    direction, unless ``beyond_paper=True``; they add ``paper_relative`` ((ours - reference) / |reference| in the
    paper), ``mde_relative`` (mde / |our reference mean|) and the text ``relative_effect``.
    Returns claim, verdict, kind, ours / reference (mean, lo, hi, n, single_seed, kind), difference (mean, lo, hi,
    kind, df), better, margin, paper, n, method, exact, level, power, p, mde, mde_relative, paper_values,
    paper_relative, paper_direction, beyond_paper, relative_effect.
    """
    sign = _check_better(better)
    margin = _number(margin, "margin")
    qa, qb = _quantity(ours, "ours", level), _quantity(reference, "reference", level)
    op = rp = direction = None
    if paper_values is not None:
        op, rp = _paper_pair(paper_values, claim)
        direction = _check_paper_direction(claim, sign, better, margin, op, rp, qb["mean"], beyond_paper)
    diff = {"mean": qa["mean"] - qb["mean"], "lo": None, "hi": None, "kind": None, "df": None}
    p = mde = None
    if paired and not exact and not qa["source"] == qb["source"] == "seeds":
        raise ValueError(f"claim {claim!r}: paired=True needs per-seed values on both sides (the same seeds in the "
                         f"same order); got {qa['source']} and {qb['source']}")
    fixed = [w for q, w in ((qa, "ours"), (qb, "reference")) if not _has_interval(q)]
    seedlike = all(q["source"] == "seeds" or (q["source"] == "point" and other["source"] == "seeds")
                   for q, other in ((qa, qb), (qb, qa)))
    if exact:
        verdict = "holds" if sign * diff["mean"] > margin else "does not hold"
        method = "exact: deterministic numbers, the point difference decides (no p, no MDE)"
        diff["kind"] = "exact"
    elif len(fixed) == 2:
        verdict = "inconclusive"
        method = ("no interval on either side (single values): inconclusive; pass exact=True for deterministic "
                  "numbers; no MDE: no seed sd")
    else:
        if seedlike:
            va = qa["values"] if qa["source"] == "seeds" else [qa["mean"]]
            vb = qb["values"] if qb["source"] == "seeds" else [qb["mean"]]
            d = stats.difference(va, vb, paired=paired, level=level)
            diff.update(lo=d["lo"], hi=d["hi"], kind=d["kind"], df=d["df"])
            p = stats.t_pvalue(d["mean"], d["se"], d["df"], null=sign * margin)
            method = _seed_method(d, level, qa, qb)
            single = [w for q, w in ((qa, "ours"), (qb, "reference")) if q["single_seed"]]
            why = "fewer than 2 seeds"
            if single:
                why = f"{single[0]} has a single seed (its variability is unknown)"
            elif paired:
                mde = stats.mde(float(np.std(np.subtract(va, vb), ddof=1)), len(va), paired=True, level=level,
                                power=power)
            elif d["fixed"] is not None:  # per-seed values against a bare number (a constant)
                q = qa if d["fixed"] == "b" else qb
                mde = stats.mde(q["std"], q["n"], level=level, power=power)
            else:
                mde = stats.mde(qa["std"], qa["n"], n_b=qb["n"], sd_b=qb["std"], level=level, power=power)
            method += f"; p = {p:.3g}; " + _power_text(mde, None if mde is not None else why, power)
        else:
            diff["lo"], diff["hi"] = _mover(qa, qb)
            diff["kind"] = "MOVER"
            method = f"MOVER (Zou & Donner 2008) from the two intervals (level {level:g})"
            if fixed:
                method += f"; {fixed[0]} has no interval ({_why_fixed(qa if fixed[0] == 'ours' else qb)}), held fixed"
            method += "; no p and no MDE: an interval given from outside (over samples) has no seed sd behind it"
        verdict = _interval_verdict(*_gain(sign, diff["lo"], diff["hi"]), margin)
    if direction == "contradicts":
        method += "; beyond the paper (its own numbers show the other direction)"
    mde_rel = mde / abs(qb["mean"]) if mde is not None and qb["mean"] != 0 else None
    paper_rel = (op - rp) / abs(rp) if op is not None and rp != 0 else None
    return {"claim": claim, "verdict": verdict, "kind": "compare", "ours": _public(qa), "reference": _public(qb),
            "difference": diff, "better": better, "margin": margin, "paper": paper, "n": n, "method": method,
            "exact": bool(exact), "level": level, "power": power, "p": p, "mde": mde, "mde_relative": mde_rel,
            "paper_values": None if op is None else [op, rp], "paper_relative": paper_rel,
            "paper_direction": direction, "beyond_paper": bool(beyond_paper),
            "relative_effect": _relative_text(paper_rel, mde_rel)}


def _why_fixed(q: dict) -> str:
    return "a single seed" if q["single_seed"] else "a bare number"


def _satisfies(x: float, bound: float, sign: int, inclusive: bool) -> bool:
    if sign < 0:
        return x <= bound if inclusive else x < bound
    return x >= bound if inclusive else x > bound


def threshold(claim: str, ours, bound: float, *, better: str, paper: str | None = None, n: int | dict | None = None,
              exact: bool = False, inclusive: bool = False, level: float = stats.LEVEL, power: float = stats.POWER,
              paper_value: float | None = None, beyond_paper: bool = False) -> dict:
    """Verdict on "ours is below ``bound``" (better="lower") or "above ``bound``" (better="higher").

    ``inclusive=True`` counts the bound itself as satisfying (<= or >=); the default is strict (< or >).
    The interval of ours (Student t over seeds, or the given ``lo``/``hi``) entirely on the satisfying side ->
    "holds", entirely on the other -> "does not hold", straddling the bound -> "inconclusive"; no interval ->
    "inconclusive" unless ``exact=True`` (a deterministic number: the point value decides).
    Per-seed values add ``p`` (two-sided one-sample t-test of "mean = bound") and ``mde`` (``stats.mde``: the
    smallest true |mean - bound| the test had ``power`` to detect); None otherwise, with the reason in ``method``.
    paper_value: the paper's own number for this quantity: raises ValueError when it does not satisfy the bound
    itself (the claim would test what the paper does not show), unless ``beyond_paper=True``; it adds
    ``paper_relative`` ((paper - bound) / |bound|) beside ``mde_relative`` (mde / |bound|).
    Returns claim, verdict, kind, ours, bound, comparator, difference (ours - bound), paper, n, method, exact,
    level, power, p, mde, mde_relative, paper_values, paper_relative, paper_direction, beyond_paper,
    relative_effect.
    """
    sign = _check_better(better)
    bound = _number(bound, "bound")
    comparator = {(-1, False): "<", (-1, True): "<=", (1, False): ">", (1, True): ">="}[(sign, bool(inclusive))]
    direction = pv = None
    if paper_value is not None:
        pv = _number(paper_value, "paper_value")
        direction = "agrees" if _satisfies(pv, bound, sign, inclusive) else "contradicts"
        if direction == "contradicts" and not beyond_paper:
            raise ValueError(f"claim {claim!r}: the paper's own number {pv:g} does not satisfy {comparator} "
                             f"{bound:g} (better={better!r}). Test what the paper's number shows, or pass "
                             f"beyond_paper=True to mark the claim as going beyond the paper")
    extra = {"level": level, "power": power, "p": None, "mde": None, "mde_relative": None,
             "paper_values": None if pv is None else [pv], "paper_direction": direction,
             "paper_relative": (pv - bound) / abs(bound) if pv is not None and bound != 0 else None,
             "beyond_paper": bool(beyond_paper)}
    if ours is None or (isinstance(ours, Mapping) and "value" in ours and ours["value"] is None):
        # no number to judge (e.g. a point outside the range a frontier was measured on): nothing decides the claim
        return {"claim": claim, "verdict": "inconclusive", "kind": "threshold",
                "ours": {"mean": None, "lo": None, "hi": None, "n": 0, "single_seed": None, "kind": None},
                "bound": bound, "comparator": {-1: "<", 1: ">"}[sign],
                "difference": {"mean": None, "lo": None, "hi": None, "kind": None, "df": None},
                "better": better, "paper": paper, "n": n,
                "method": "no value (outside the measured range); no MDE: no value", "exact": bool(exact), **extra,
                "relative_effect": _relative_text(extra["paper_relative"], None)}
    q = _quantity(ours, "ours", level)
    comparator = {(-1, False): "<", (-1, True): "<=", (1, False): ">", (1, True): ">="}[(sign, bool(inclusive))]
    diff = {"mean": q["mean"] - bound, "lo": None, "hi": None, "kind": None, "df": None}
    if exact:
        verdict = "holds" if _satisfies(q["mean"], bound, sign, inclusive) else "does not hold"
        method = "exact: a deterministic number, the point value decides (no p, no MDE)"
        diff["kind"] = "exact"
    elif not _has_interval(q):
        verdict = "inconclusive"
        method = (f"no interval ({_why_fixed(q)}): inconclusive; pass exact=True for a deterministic number; "
                  f"no MDE: {'a single seed has no seed sd' if q['single_seed'] else 'no seed sd'}")
    else:
        diff.update(lo=q["lo"] - bound, hi=q["hi"] - bound, kind=q["kind"], df=q.get("df"))
        ok = [_satisfies(v, bound, sign, inclusive) for v in (q["lo"], q["hi"])]
        verdict = "holds" if all(ok) else "does not hold" if not any(ok) else "inconclusive"
        if q["source"] == "seeds":
            se = q["std"] / math.sqrt(q["n"])
            extra["p"] = stats.t_pvalue(q["mean"], se, q["df"], null=bound)
            extra["mde"] = stats.mde(q["std"], q["n"], level=level, power=power)
            method = (f"{q['kind']} over seeds (n = {q['n']}, df {_fmt_df(q['df'])}, level {level:g}) against the "
                      f"fixed bound; p = {extra['p']:.3g}; " + _power_text(extra["mde"], None, power))
        else:
            method = "the given interval against the fixed bound; no p and no MDE: no seed sd behind it"
    if direction == "contradicts":
        method += "; beyond the paper (its own number does not satisfy the bound)"
    if extra["mde"] is not None and bound != 0:
        extra["mde_relative"] = extra["mde"] / abs(bound)
    return {"claim": claim, "verdict": verdict, "kind": "threshold", "ours": _public(q), "bound": bound,
            "comparator": comparator, "difference": diff, "better": better, "paper": paper, "n": n,
            "method": method, "exact": bool(exact), **extra,
            "relative_effect": _relative_text(extra["paper_relative"], extra["mde_relative"])}


# ---------------------------------------------------------------- multiplicity

def holm(results: Sequence[Mapping], level: float = stats.LEVEL) -> list[dict]:
    """The claims ``results`` (of ``compare`` / ``threshold``) with a Holm-adjusted verdict beside each raw one.

    Holm's step-down procedure (Holm 1979) over the m claims that carry a p-value: with p_(1) <= ... <= p_(m) the
    adjusted p_(i) is max_{j <= i} min(1, (m - j + 1) p_(j)); it keeps the familywise error rate at 1 - ``level``
    over the m claims, however they depend on each other. Each such claim gains ``p_holm`` and ``verdict_holm``:
    its raw verdict when p_holm < 1 - level, else "inconclusive" (an adjustment can only withdraw a verdict; for
    m = 1 it changes nothing). A claim without a p-value (exact, an interval over samples, no interval) keeps its
    raw verdict as ``verdict_holm``, with ``p_holm`` None, and ``holm`` says why. Every result gains ``holm_m``
    (m) and ``holm`` (a note). The inputs are not modified; new dicts come back in the same order.
    """
    stats._check_level(level)
    alpha = 1 - level
    out = [dict(c) for c in results]
    for c in out:
        if c.get("verdict") not in VERDICTS:
            raise ValueError(f"not a claims result (verdict {c.get('verdict')!r}); build them with compare/threshold")
        if c.get("p") is not None and c.get("level", level) != level:
            raise ValueError(f"claim {c['claim']!r} was judged at level {c['level']:g}; Holm at level {level:g} "
                             "needs every claim judged at that level")
    tested = sorted((i for i, c in enumerate(out) if c.get("p") is not None), key=lambda i: out[i]["p"])
    m = len(tested)
    running = 0.0
    for rank, i in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * out[i]["p"]))
        c = out[i]
        c["p_holm"] = running
        c["verdict_holm"] = c["verdict"] if c["verdict"] != "inconclusive" and running < alpha else "inconclusive"
        c["holm"] = f"Holm over {m} claims with a p-value: adjusted p {running:.3g}"
    for c in out:
        c["holm_m"] = m
        if "verdict_holm" not in c or c.get("p") is None:
            c["p_holm"], c["verdict_holm"] = None, c["verdict"]
            c["holm"] = "no p-value (exact, an interval over samples, or no interval): raw verdict kept"
    return out


def judge(results: Sequence[Mapping], level: float = stats.LEVEL) -> dict:
    """What a notebook keeps of its claims: Holm over the whole list (``holm``), then
    ``{"n_claims": m, "claims": table rows (raw and Holm-adjusted verdicts, MDE, interval kind), "claim_results":
    the full results}`` for results.json; ``claim_results`` keeps every number (``mde``, ``p``, ``p_holm``) that
    the table shows as text."""
    judged = holm(results, level)
    return {"n_claims": len(judged), "claims": table(judged), "claim_results": judged}


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


def _fmt_interval(c: Mapping) -> str:
    """The interval kind of the verdict with its n (seeds) and df."""
    d = c["difference"]
    kind = d.get("kind")
    if kind is None:
        return "none"
    if kind == "exact":
        return kind
    if kind == "MOVER" or d.get("df") is None:  # intervals given from outside (over samples): their N, if known
        ns = [c[s]["n"] for s in (("ours",) if c["kind"] == "threshold" else ("ours", "reference"))]
        return kind + (f", N {' vs '.join('-' if v is None else str(v) for v in ns)}" if any(ns) else "")
    if c["kind"] == "threshold":
        size = f"n {c['ours']['n']}"
    elif kind == stats.KIND_PAIRED:
        size = f"n {c['ours']['n']} pairs"
    else:
        size = f"n {c['ours']['n']} vs {c['reference']['n'] or 'fixed'}"
    return f"{kind}, {size}, df {_fmt_df(d['df'])}"


def table(claims: Sequence[Mapping]) -> list[dict]:
    """Flat rows (claim, verdict, ours, reference, difference, paper, n) of ``compare`` / ``threshold`` results,
    for ``report.save_table``; "reference" is the bound with its comparator for a threshold.

    Columns added when the results carry them: "holm" (the Holm-adjusted verdict, after ``holm``) beside the raw
    verdict, "interval" (the kind of the verdict's interval, its n and df), "mde" (minimum detectable effect;
    empty where none exists) and "effect" (the paper's relative effect beside the relative MDE)."""
    rows = []
    for c in claims:
        if c.get("verdict") not in VERDICTS:
            raise ValueError(f"not a claims result (verdict {c.get('verdict')!r}); build rows with compare/threshold")
    has_holm = any("verdict_holm" in c for c in claims)
    has_mde = any("mde" in c for c in claims)
    has_kind = any("kind" in c.get("difference", {}) for c in claims)
    has_effect = any(c.get("relative_effect") for c in claims)
    for c in claims:
        ref = (f"{c['comparator']} {_fmt(c['bound'])}" if c["kind"] == "threshold" else _fmt_quantity(c["reference"]))
        d = c["difference"]
        diff = _fmt(d["mean"]) + (f" [{_fmt(d['lo'])}, {_fmt(d['hi'])}]" if d["lo"] is not None else "")
        row = {"claim": c["claim"], "verdict": c["verdict"]}
        if has_holm:
            row["holm"] = c.get("verdict_holm", c["verdict"])
        row.update({"ours": _fmt_quantity(c["ours"]), "reference": ref, "difference": diff})
        if has_kind:
            row["interval"] = _fmt_interval(c) if "kind" in d else ""
        if has_mde:
            row["mde"] = _fmt(c.get("mde"))
        if has_effect:
            row["effect"] = c.get("relative_effect") or ""
        row.update({"paper": c.get("paper") or "", "n": _fmt_n(c.get("n"))})
        rows.append(row)
    return rows
