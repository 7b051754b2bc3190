"""Every file of a run directory, named in one place: no notebook or module spells a file name.

A stage-1 run directory ``<run>`` holds::

    config.json            the full nested config of the run
    metrics.jsonl          one row per log / evaluation step ({"kind": "train" | "eval" | "test", "step", ...})
    ckpt.pt                the training state (model, optimiser, RNG, step), written atomically
    done.json              the marker of a finished stage: its config group and final metrics
    tokenizer.pt           the trained tokenizer (config, channels, state)
    snapshots/tokenizer_<step>.pt   the tokenizer at every evaluation step (matched-rFID rows, W Table 1)
    tokens_<split>[_step<k>].pt     cached token ids of a data split
    stage2[__...]/         the stage-2 directory: the same four files plus prior.pt and samples_<n>.pt/.json
"""
from __future__ import annotations

import json
from pathlib import Path

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "ckpt.pt"
DONE = "done.json"
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


def is_done(d) -> bool:
    """Whether the stage in directory ``d`` finished."""
    return done(d).exists()


def done_metrics(d) -> dict:
    """The final metrics a finished stage recorded in its done.json."""
    if not is_done(d):
        raise FileNotFoundError(f"{d} holds no finished run (no {DONE}); run it first")
    return json.loads(done(d).read_text()).get("metrics", {})


def tokenizer(d) -> Path:
    return Path(d) / TOKENIZER


def snapshot(d, step: int) -> Path:
    return Path(d) / SNAPSHOTS / f"tokenizer_{step}.pt"


def snapshot_steps(d) -> list[int]:
    """Stage-1 steps with a saved tokenizer snapshot, ascending."""
    folder = Path(d) / SNAPSHOTS
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("tokenizer_*.pt")) if folder.exists() else []


def tokens(d, split: str, step: int | None = None) -> Path:
    return Path(d) / (f"tokens_{split}.pt" if not step else f"tokens_{split}_step{step}.pt")


def prior(d) -> Path:
    return Path(d) / PRIOR


def samples(d, n: int) -> Path:
    return Path(d) / f"samples_{n}.pt"


def samples_marker(d, n: int) -> Path:
    return Path(d) / f"samples_{n}.json"
