"""The scale tiers, one ``Tier`` object each: what a tier means is stated here once, and every module and notebook
asks its tier object instead of comparing names.

=======  ==================================================================================================
smoke    seconds: tests and the notebooks' smoke runs; the numbers mean nothing (at most 2 seeds, a 30-step
         stand-in classifier for FD-clf, 20 bootstrap resamples)
cpu      the suite's own scale (2 CPU cores, minutes to hours); every seed asked for, 100 resamples
paper    the papers' sizes, trained under torchrun; notebooks only read finished run directories
=======  ==================================================================================================

Each tier's presets are the configs' (``tvclab.configs.get(name, tier)``); this module holds the rest: seeds,
bootstrap resamples, the classifier, the batch timeout, whether runs may train inline.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    max_seeds: int | None          # seeds a notebook row uses at most (None: all it asks for)
    bootstrap: int                 # resamples of an interval over samples (evaluation.frechet)
    classifier_steps: int | None   # FD-clf: a stand-in classifier of this many steps (None: the standard one)
    timeout_s: int                 # wall-clock limit of one notebook in the batch (tvclab.figures)
    trains_inline: bool            # notebooks may train missing runs themselves (paper: torchrun only)
    n_frechet: int = 1000          # images per Fréchet estimate (notebooks 02-06; the paper tier: 10k test images)
    meaningless: bool = False      # the numbers mean nothing (smoke)

    def seeds(self, seed: int, n_seeds: int) -> list[int]:
        """The seeds of a row asking for ``n_seeds`` from ``seed``."""
        n = n_seeds if self.max_seeds is None else min(n_seeds, self.max_seeds)
        return [seed + i for i in range(n)]

    @property
    def smoke(self) -> bool:
        return self.name == "smoke"

    @property
    def paper(self) -> bool:
        return self.name == "paper"


SMOKE = Tier("smoke", max_seeds=2, bootstrap=20, classifier_steps=30, timeout_s=600, trains_inline=True,
             n_frechet=64, meaningless=True)  # a budget of 60 s per notebook, with head-room for a slow CI machine
CPU = Tier("cpu", max_seeds=None, bootstrap=100, classifier_steps=None, timeout_s=2 * 3600, trains_inline=True)
PAPER = Tier("paper", max_seeds=None, bootstrap=100, classifier_steps=None, timeout_s=7 * 24 * 3600,
             trains_inline=False, n_frechet=10_000)
BY_NAME = {t.name: t for t in (SMOKE, CPU, PAPER)}
TIERS = tuple(BY_NAME)


def get(tier: str | Tier) -> Tier:
    """The ``Tier`` named ``tier`` (a ``Tier`` is returned as it is); an unknown name lists the valid ones."""
    if isinstance(tier, Tier):
        return tier
    if tier not in BY_NAME:
        raise ValueError(f"unknown tier {tier!r}; valid tiers: {', '.join(TIERS)}")
    return BY_NAME[tier]
