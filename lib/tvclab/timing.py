"""Where a notebook's time goes: wall seconds per phase of work in this process, for results.json's provenance.

The library marks its own work: ``training`` (the fit loop's steps, checkpoints included), ``evaluation``
(validation and test evaluations of a stage, snapshot scores, reconstruction for rFD-clf, flow support checks),
``encoding`` (a data set's tokens for a stage-2 AR), ``sampling`` (AR sampling and decoding of a stage's samples)
and ``metrics`` (FD-clf / FID feature extraction and distances, kNN, LPIPS, linear probes). Phases nest and are
counted exclusively: the FD-clf computed inside a snapshot score is ``metrics``, the rest of the score
``evaluation``. ``breakdown(wall_s)`` adds ``other`` (the notebook's own cells: figures, tables, bootstrap) so the
parts sum to the wall time. Runs read from a cache cost nothing here: the numbers are this execution's.

    with timing.phase("metrics"):
        ...
    @timing.timed("evaluation")
    def evaluate(...): ...

This is bookkeeping with ``time.perf_counter``, not profiling: no library records named phases across a program's
own call tree, so it is written here (``torch.profiler`` records kernels, not the suite's phases).
"""
from __future__ import annotations

import contextlib
import functools
import time
from collections import defaultdict

PHASES = ("training", "evaluation", "encoding", "sampling", "metrics")

_totals: dict[str, float] = defaultdict(float)
_stack: list[list] = []  # [name, start, seconds spent in nested phases]


@contextlib.contextmanager
def phase(name: str):
    """Count the wall time of the block to ``name`` (minus the time of phases nested inside it)."""
    if name not in PHASES:
        raise ValueError(f"unknown timing phase {name!r}; phases: {', '.join(PHASES)}")
    entry = [name, time.perf_counter(), 0.0]
    _stack.append(entry)
    try:
        yield
    finally:
        _stack.pop()
        elapsed = time.perf_counter() - entry[1]
        _totals[name] += elapsed - entry[2]
        if _stack:
            _stack[-1][2] += elapsed


def timed(name: str):
    """Decorator: every call of the function is ``phase(name)``."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            with phase(name):
                return fn(*args, **kwargs)
        return inner
    return wrap


def totals() -> dict[str, float]:
    """Seconds per phase since the process started (or ``reset``), every phase listed."""
    return {p: float(_totals.get(p, 0.0)) for p in PHASES}


def reset() -> None:
    """Start counting afresh (a notebook calls it in its first cell, so a kernel reused by papermill starts at 0)."""
    _totals.clear()


def breakdown(wall_s: float) -> dict[str, float]:
    """``totals()`` plus ``other`` = ``wall_s`` minus their sum and ``wall`` = ``wall_s``: the notebook's time in
    seconds, by phase."""
    t = totals()
    return {**{k: round(v, 3) for k, v in t.items()}, "other": round(max(wall_s - sum(t.values()), 0.0), 3),
            "wall": round(float(wall_s), 3)}
