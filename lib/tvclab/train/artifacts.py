"""Every file of a run directory, named in one place: no notebook or module spells a file name.

A stage-1 run directory ``<run>`` holds::

    config.json            the full nested config of the run
    metrics.jsonl          one row per log / evaluation step ({"kind": "train" | "eval" | "test", "step", ...})
    ckpt.pt                the training state (model, optimiser, RNG, step), written atomically
    done.json              the marker of a finished stage: its config group and final metrics
    nonfinite.json         present while the stage's last attempt stopped on a NaN / infinite value (what, where,
                           the last good checkpoint); folded into done.json as "recovered_from" once it finishes
    .lock                  the writer lock (``tvclab.locks``): empty when free, the holder's PID while held
    timing.json            seconds per training step (wall time stays out of the metrics, which reruns reproduce)
    tokenizer.pt           the trained tokenizer (config, channels, state)
    snapshots/tokenizer_<step>.pt   the tokenizer every ``evaluation.snapshot_every`` steps (matched-rFID rows, W Table 1)
    tokens_<split>[_step<k>][_first<n>].pt   cached token ids of a data split (or of its first n images)
    stage2[__...]/         the stage-2 directory: the same four files plus prior.pt and samples_<n>.pt/.json
    stage2[__...]__posttrain[__...]/   paper V's post-trained AR: the same files as stage 2, plus
                           snapshots/prior_<step>.pt (the AR at every evaluation step)
"""
from __future__ import annotations

import json
from pathlib import Path

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "ckpt.pt"
DONE = "done.json"
NONFINITE = "nonfinite.json"
TOKENIZER = "tokenizer.pt"
SNAPSHOTS = "snapshots"
PRIOR = "prior.pt"


def config(d) -> Path:
    return Path(d) / CONFIG


def metrics(d) -> Path:
    return Path(d) / METRICS


def checkpoint(d) -> Path:
    return Path(d) / CHECKPOINT


def done(d) -> Path:
    return Path(d) / DONE


def nonfinite(d) -> Path:
    return Path(d) / NONFINITE


def is_done(d) -> bool:
    """Whether the stage in directory ``d`` finished."""
    return done(d).exists()


def done_metrics(d) -> dict:
    """The final metrics a finished stage recorded in its done.json."""
    if not is_done(d):
        raise FileNotFoundError(f"{d} holds no finished run (no {DONE}); run it first")
    return json.loads(done(d).read_text()).get("metrics", {})


def timing(d) -> Path:
    return Path(d) / "timing.json"


def seconds_per_step(d) -> float | None:
    """Measured seconds per training step of the stage in ``d`` (None when not recorded)."""
    p = timing(d)
    return json.loads(p.read_text())["seconds_per_step"] if p.exists() else None


def tokenizer(d) -> Path:
    return Path(d) / TOKENIZER


def snapshot(d, step: int) -> Path:
    return Path(d) / SNAPSHOTS / f"tokenizer_{step}.pt"


def snapshot_steps(d) -> list[int]:
    """Stage-1 steps with a saved tokenizer snapshot, ascending."""
    folder = Path(d) / SNAPSHOTS
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("tokenizer_*.pt")) if folder.exists() else []


def tokens(d, split: str, step: int | None = None, limit: int = 0, subset: str | None = None) -> Path:
    """Cached token ids of ``split`` (its first ``limit`` images when > 0) under the tokenizer (snapshot ``step``);
    ``subset``: the hash of the indices encoded when only some were."""
    return Path(d) / (f"tokens_{split}{f'_step{step}' if step else ''}{f'_first{limit}' if limit else ''}"
                      f"{f'_subset{subset}' if subset else ''}.pt")


def prior(d) -> Path:
    return Path(d) / PRIOR


def prior_snapshot(d, step: int) -> Path:
    return Path(d) / SNAPSHOTS / f"prior_{step}.pt"


def prior_snapshot_steps(d) -> list[int]:
    """Steps with a saved AR snapshot (post-training), ascending."""
    folder = Path(d) / SNAPSHOTS
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("prior_*.pt")) if folder.exists() else []


def samples(d, n: int) -> Path:
    return Path(d) / f"samples_{n}.pt"


def samples_marker(d, n: int) -> Path:
    return Path(d) / f"samples_{n}.json"
