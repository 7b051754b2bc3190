"""Named random streams: every random number a run draws comes from ``generator(seed, "<stream>", *index)``.

A stream's name says what it drives ("batches", "noise", "tail_dropout", ...), so two purposes can never share
numbers by accident, and a new objective adds a name, not a magic integer. Each generator is seeded by a hash of
(seed, name, index...), e.g. (seed, "noise", step): the numbers of step s do not depend on how many steps ran
before, so a resumed run and 1 or N processes (draws made for the global batch, then ``rank_slice``) agree.
"""
from __future__ import annotations

import zlib

import torch

STREAMS = {
    "batches": "epoch permutations of the training set (tvclab.fit.batches)",
    "init": "model initialisation",
    "noise": "flow-matching decoder: noise x0 and time t per step (W F.1)",
    "tail_dropout": "tail dropout: whether to drop and the cut-off (W §2.3, F.1)",
    "visual_dropout": "prologue: all-or-none visual-token dropout in the joint AR (P §2.2)",
    "vae": "Gaussian latents: the reparameterisation noise",
    "align": "flow-prior alignment: x0 and t of the alignment loss (F eq. 5)",
    "align_eval": "flow-prior alignment: the fixed x0 and t of the logged validation alignment loss",
    "prior_flow": "flow prior on target features: its init, batches of target samples, path x0 and t (F App. C.2)",
    "align_target": "flow prior: which target samples are drawn (and the random projection's matrix)",
    "flow_head": "stage 2 for continuous tokens: the flow head's x0 and t per step (F App. C.4)",
    "eval_flow_head": "stage 2 for continuous tokens: the fixed x0 and t of the held-out flow-matching loss",
    "label_drop": "stage 2: classifier-free-guidance label dropout (P App. E)",
    "sample_tokens": "sampling: the AR's token draws",
    "sample_decode": "sampling: the flow-matching decoder's noise",
    "eval_decode": "evaluation: the flow-matching decoder's noise when reconstructing",
    "toy_data": "toy flows: target samples",
    "toy_noise": "toy flows: path noise and times",
    "toy_check": "toy flows: the support check of the flow's own samples (noise, target, KDE reference)",
    "classifier": "the FD-clf classifier's batch order",
    "bootstrap": "bootstrap resampling of intervals",
    "codebook_init": "VQ: which first-batch latents initialise the codebook (quantizer.init = data)",
    "codebook_restart": "VQ: the training images whose latents restart dead codes, and which latents",
    "posttrain": "paper V post-training: contextual-noise mask and ids, the G draws per position (global batch)",
    "posttrain_free": "paper V post-training's free-running reward diagnostic: the AR's draws after the given prefix",
}


def _mix(*ints: int) -> int:
    h = 0x9E3779B97F4A7C15
    for i in ints:
        h = (h ^ (int(i) + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2))) & 0x7FFFFFFFFFFFFFFF
    return h


def generator(seed: int, stream: str, *index: int) -> torch.Generator:
    """A CPU generator for ``stream`` (a name in ``STREAMS``) seeded from (seed, stream, *index)."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; named streams: {', '.join(STREAMS)} "
                         "(add a new one to tvclab.streams.STREAMS with what it drives)")
    return torch.Generator().manual_seed(_mix(seed, zlib.crc32(stream.encode()), *index))


# The "init" stream: the seed torch's global generator gets before a model is built, one part per model. The
# values are the suite's first ones (stage 1: the run's seed; stage 2: seed + 1; post-training: seed + 2;
# notebook 01's toy streams: seed * 1000 + k), kept so that every trained run stays bit-identical.
INIT_PARTS = {"stage1": lambda seed, k: seed, "stage2": lambda seed, k: seed + 1,
              "posttrain": lambda seed, k: seed + 2, "toy": lambda seed, k: seed * 1000 + k}


def init_seed(seed: int, part: str, k: int = 0) -> int:
    """The "init" stream's seed of ``part`` (``INIT_PARTS``) for run seed ``seed`` (index ``k`` where a part has
    several streams)."""
    if part not in INIT_PARTS:
        raise ValueError(f"unknown init part {part!r}; parts: {', '.join(INIT_PARTS)}")
    return INIT_PARTS[part](seed, k)


def init_generator(seed: int, part: str, k: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``init_seed(seed, part, k)``."""
    return torch.Generator().manual_seed(init_seed(seed, part, k))


def seed_init(seed: int, part: str) -> None:
    """Seed torch's global generator for building the models of ``part`` (``init_seed``)."""
    torch.manual_seed(init_seed(seed, part))


def rank_slice(t: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's contiguous share of a global-batch tensor (random numbers drawn for the global batch)."""
    per = t.shape[0] // world
    return t[rank * per : (rank + 1) * per]
