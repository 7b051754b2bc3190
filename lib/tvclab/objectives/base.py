"""What an objective is: one term of the stage-1 loss, with its own config section, random streams and
(optionally) its own models, such as WGF-DPD's proxy and target or paper P's joint AR.

``Stage1Model`` (``tvclab.train.stage1``) composes the objectives whose ``enabled(cfg)`` is true, in
``OBJECTIVES`` order; adding a method adds a module that calls ``register``, not a branch.

An objective's ``forward(x, enc, rnd, tok)`` gets the images, the tokenizer's ``Encoded`` output, its own random
draws (``draw``) and the tokenizer, and returns named scalar tensors, ``"loss"`` being its weighted contribution
to the total. ``evaluate(enc, tok)`` may add validation metrics (means over the batch). Hooks instead of flags:
``prepare(ctx)`` runs before the stage builds its model, ``setup(tok, device)`` after, and ``frozen(cfg)`` names
the tokenizer parts a method freezes (declared by its ``MethodSpec``, read by reconstruction, the quantiser's loss
and the codebook upkeep).
"""
from __future__ import annotations

from typing import Callable, ClassVar

import torch
import torch.nn as nn

from tvclab.configs import Config, frozen
from tvclab.streams import generator


class Objective(nn.Module):
    name: ClassVar[str]
    section: ClassVar[str]             # the Config section it reads
    streams: ClassVar[tuple[str, ...]] = ()  # the named random streams it draws from

    @staticmethod
    def enabled(cfg: Config) -> bool:
        raise NotImplementedError

    def __init__(self, cfg: Config, tok):
        super().__init__()
        self.cfg = cfg

    def draw(self, batch: int, step: int) -> dict[str, torch.Tensor]:
        """Random numbers of one step for the *global* batch (sliced per rank by the caller)."""
        return {}

    def stream(self, name: str, step: int) -> torch.Generator:
        if name not in self.streams:
            raise ValueError(f"objective {self.name} does not declare the random stream {name!r}")
        return generator(self.cfg.seed, name, step)

    def forward(self, x: torch.Tensor, enc, rnd: dict[str, torch.Tensor], tok) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, enc, tok) -> dict[str, float]:
        return {}

    @classmethod
    def prepare(cls, ctx) -> None:
        """Before the stage builds its model (every process; ``ctx`` is the stage's ``RunContext``): train or fetch
        what the objective reads, e.g. paper F's flow prior (``service``)."""

    def setup(self, tok, device) -> None:
        """After the model is built, before training: e.g. load the frozen parts a method reuses (P's
        Prologue-Post loads the finished visual tokenizer, ``service``)."""

    @staticmethod
    def frozen(cfg: Config) -> frozenset[str]:
        """The tokenizer parts this config freezes (``configs.frozen``: each method's spec declares its own)."""
        return frozen(cfg)

    def optimizer_overrides(self) -> dict | None:
        """AdamW settings (``betas``, ``weight_decay``) for this objective's own parameters, or None: those of the
        stage's ``optim`` (``Stage1Model.param_groups``)."""
        return None


OBJECTIVES: list[type[Objective]] = []
SERVICES: dict[str, Callable] = {}


def provide(name: str):
    """Decorator: a function of a higher layer (the run machinery of ``tvclab.train``) that objectives' hooks call
    by name (``service``), so an objective needs no import of the machinery that runs it."""
    def wrap(fn: Callable) -> Callable:
        SERVICES[name] = fn
        return fn
    return wrap


def service(name: str) -> Callable:
    if name not in SERVICES:
        raise RuntimeError(f"no {name!r} service is registered (import tvclab.train first)")
    return SERVICES[name]


def register(cls: type[Objective]) -> type[Objective]:
    """Class decorator: make ``cls`` one of the objectives ``Stage1Model`` may compose."""
    if any(c.name == cls.name and c is not cls and c.enabled is cls.enabled for c in OBJECTIVES):
        raise ValueError(f"an objective named {cls.name!r} is already registered")
    OBJECTIVES.append(cls)
    return cls


def enabled_objectives(cfg: Config) -> list[type[Objective]]:
    active = [c for c in OBJECTIVES if c.enabled(cfg)]
    names = [c.name for c in active]
    if len(set(names)) != len(names):
        raise ValueError(f"two enabled objectives share a name: {names}")
    return active
