"""The 2D toy experiment of notebook 01 (paper F §5.1, App. B, C.1): settings, flow training with its run-directory
cache, and the alignment of free latents.

``ToyConfig.for_tier(tier)`` holds every tier-dependent value (``"paper"`` is App. C.1); ``train_flow`` fits a
velocity model by flow matching (eq. 3) and ``align_latents`` optimises free latents by the alignment loss
(eq. 5), both with the suite's one loop (``tvclab.fit``); ``toy_flow`` returns the trained flow of one
target, loaded from its run directory or trained there (atomic write).

``python -m tvclab.toyflows train-toy --tier paper --device cuda`` trains the toy flows into the run directories that
the notebook reads at the paper tier.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch
import torch.nn as nn

from . import streams, tiers, toy
from . import timing
from .configs import OptimConfig
from .fit import fit
from .flow.losses import alignment_loss, flow_matching_loss
from .flow.solver import ODESolver
from .flow.velocity import VelocityMLP, check_points, frozen
from .io import atomic_torch_save
from .locks import dir_lock
from .models.blocks import count_params
from .paths import run_dir


@dataclass(frozen=True)
class ToyConfig:
    """Settings of notebook 01 (paper F §5.1, App. B, C.1). ``for_tier("paper")`` is App. C.1."""

    tier: str = "paper"
    width: int = 512  # App. C.1: hidden dimensionality 512
    blocks: int = 4  # App. C.1: 4 residual blocks
    flow_steps: int = 100_000  # App. C.1: 100k steps
    flow_batch: int = 256  # App. C.1: batch size 256
    flow_lr: float = 1e-4  # App. C.1: constant lr, value lost from the text; authors' code: 1e-4
    max_flow_steps: int = 100_000  # train in chunks of flow_steps until the flow's samples pass (ours; paper: 1 chunk)
    flow_support_bar: float = 0.9  # the flow's own samples must be this share on support (toy.on_support_share)
    support_check_samples: int = 2000  # flow samples drawn for that check (ours)
    support_check_ode_steps: int = 100  # midpoint steps of the sampling ODE for that check (ours)
    n_latents: int = 1000  # App. C.1: 1000 latents from N(0, I)
    align_steps: int = 5000  # App. C.1: 5000 steps
    align_lr: float = 1e-2  # App. C.1: value lost from the text; authors' toy code: 1e-2
    n_t: int = 4  # authors' (autoencoder) code repeats each latent 4 times; the toy's variant is not public
    kde_reference: int = 100_000  # App. B KDE on target samples; authors' code: 100k samples
    kde_bandwidth: float = 0.1  # App. B: bandwidth 0.1
    track_every: int = 10  # true NLL evaluated every k alignment steps (ours)
    landscape_resolution: int = 100  # grid points per axis of the Fig. 3(b) landscape (ours)
    landscape_n_t: int = 32  # Monte-Carlo draws per grid point of the landscape (ours)
    extent: float = 3.0  # plotted square [-extent, extent]^2 in normalised units (ours)
    snapshots: int = 6  # trajectory snapshots in Fig. 6 (ours)
    ideal_reference: int = 2000  # Assumption-1 check: target samples defining the ideal (empirical) flow (ours)
    ideal_latents: int = 500  # Assumption-1 check: latents aligned under the ideal flow (ours)
    ideal_steps: int = 300  # Assumption-1 check: alignment steps under the ideal flow (ours)
    cost_batch: int = 1000  # flow-cost check: latents per evaluation (the 1000 of App. C.1)
    cost_ode_steps: int = 100  # flow-cost check: RK4 steps of ODESolver.log_likelihood (eq. 4)
    distributions: tuple[str, ...] = toy.NAMES

    TIERS = tiers.TIERS

    @classmethod
    def for_tier(cls, tier: str) -> "ToyConfig":
        """The settings of ``tier`` (a name of ``tvclab.tiers``): App. C.1 at the paper tier."""
        try:
            t = tiers.get(tier)
        except ValueError:
            raise ValueError(f"ToyConfig.for_tier: unknown tier {tier!r}; valid tiers: {', '.join(tiers.TIERS)}") from None
        if t is tiers.PAPER:
            return cls()
        if t is tiers.CPU:  # a 128-wide flow trained in 3000-step chunks (so a 10x larger lr), 1000 alignment steps,
            # n_t = 2, KDE on 20k samples; App. C.1 otherwise
            # flows: chunks of 3000 steps until the flow's own samples pass the support check, at most 24k steps
            return cls(tier="cpu", width=128, blocks=4, flow_steps=3000, max_flow_steps=24_000, flow_lr=1e-3,
                       align_steps=1000, n_t=2, kde_reference=20_000, landscape_resolution=80, landscape_n_t=32)
        if t is tiers.SMOKE:  # < 60 s: every target still appears, tiny
            return cls(tier="smoke", width=32, blocks=2, flow_steps=150, max_flow_steps=150, flow_lr=1e-3,
                       n_latents=200, support_check_samples=200, support_check_ode_steps=10,
                       align_steps=60, n_t=1, kde_reference=2000, track_every=5, landscape_resolution=24,
                       landscape_n_t=4, snapshots=4, ideal_reference=200, ideal_latents=50, ideal_steps=20,
                       cost_batch=200, cost_ode_steps=10)
        raise ValueError(f"ToyConfig.for_tier: unknown tier {tier!r}; valid tiers: {', '.join(cls.TIERS)}")

    def snapshot_steps(self) -> list[int]:
        """``snapshots`` alignment steps for Fig. 6: 0, then log-spaced from 2% of ``align_steps`` to the end
        (the latents move most at the start)."""
        if self.snapshots < 2:
            return [self.align_steps]
        fr = [0.0] + [math.exp(math.log(0.02) * (1 - i / (self.snapshots - 2))) for i in range(self.snapshots - 1)]
        return sorted({round(f * self.align_steps) for f in fr})

    def as_dict(self) -> dict:
        return asdict(self)


def toy_optim(steps: int, lr: float, batch_size: int) -> OptimConfig:
    """The optimiser of the toy flows and of the free latents (App. C.1): Adam, betas (0.9, 0.999), no weight
    decay, constant ``lr``, no warm-up or clipping; every step logged (notebook 01 plots the per-step losses)."""
    return OptimConfig(steps=steps, batch_size=batch_size, lr=lr, lr_min=lr, schedule="constant", warmup_steps=0,
                       optimizer="adam", beta1=0.9, beta2=0.999, weight_decay=0.0, grad_clip=0.0, log_every=1)


def train_flow(model: nn.Module, sample_fn: Callable[[int], torch.Tensor], steps: int, batch_size: int = 256,
               lr: float = 1e-4, generator: torch.Generator | None = None, progress: bool = True,
               optim: OptimConfig | None = None, ema: float = 0.0) -> list[float]:
    """Train ``model`` in place by flow matching (eq. 3) on ``sample_fn(batch_size)`` [batch_size, dim] targets.

    ``fit`` with ``toy_optim`` (App. C.1; the lr is lost from the text, the authors' code uses 1e-4), or with
    ``optim`` when given (App. C.2's flow prior: AdamW, cosine, weight decay 0.02, clipping 1.0; its ``steps``,
    ``batch_size`` and ``lr`` then replace the arguments). ``ema`` > 0 keeps an exponential moving average of the
    weights (App. C.2, Table 3: 0.9999; ``torch.optim.swa_utils``) and loads it into ``model`` at the end. Noise x0
    and times t come from ``generator``. Returns the per-step losses. ``fit`` restores the model's train/eval mode
    and clears its gradients on return.
    """
    device = next(model.parameters()).device
    optim = optim or toy_optim(steps, lr, batch_size)
    batch_size = optim.batch_size
    averaged = None
    if ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema), use_buffers=True)

    def step_fn(step: int) -> dict[str, torch.Tensor]:
        x1 = sample_fn(batch_size)
        if x1.dim() != 2 or x1.shape[0] != batch_size:
            raise ValueError(f"train_flow: sample_fn({batch_size}) must return [{batch_size}, dim], "
                             f"got shape {tuple(x1.shape)}")
        return {"loss": flow_matching_loss(model, x1.to(device), generator=generator)}

    after = (lambda done: averaged.update_parameters(model)) if averaged is not None else None
    rows = fit(model, step_fn, optim, desc="flow matching", progress=progress, after_step=after)
    if averaged is not None:
        model.load_state_dict(averaged.module.state_dict())
    return [row["loss"] for row in rows if row["kind"] == "train"]


class Latents(nn.Module):
    """Free latents [N, d] as the one parameter of a module, so that ``fit`` can optimise them."""

    def __init__(self, y0: torch.Tensor):
        super().__init__()
        self.y = nn.Parameter(y0.detach().clone())


def align_latents(model: nn.Module, y0: torch.Tensor, steps: int, lr: float = 1e-2, n_t: int = 1,
                  track: Callable[[torch.Tensor], float] | None = None, track_every: int = 1,
                  snapshot_steps: Sequence[int] = (), generator: torch.Generator | None = None,
                  progress: bool = True) -> tuple[torch.Tensor, dict]:
    """Optimise free latents, initialised at ``y0`` [N, d], by minimising the alignment loss under the frozen
    flow ``model`` (eq. 5; §5.1).

    ``fit`` with Adam, betas (0.9, 0.999), no weight decay, constant ``lr`` (App. C.1; the lr is lost from the text,
    the authors' toy code uses 1e-2); x0 and t from ``generator``. Returns ``(y, history)``: ``y`` a new detached
    tensor (``y0`` is untouched) and ``history`` with

    - ``"alignment_loss"``: one float per step, the loss at the points *before* that step's update;
    - ``"track"``, ``"track_steps"`` (when ``track`` is given): ``track(points)`` at steps 0, track_every, ...,
      on the same points as the loss of that step (e.g. the true mean NLL);
    - ``"snapshots"``: ``{step: points}`` for each step in ``snapshot_steps`` (0 = initial, ``steps`` = final).
    """
    check_points(y0, "y0", "align_latents")
    if track_every < 1:
        raise ValueError(f"align_latents: track_every must be >= 1, got {track_every}")
    latents = Latents(y0)
    wanted = set(snapshot_steps)
    history: dict = {"alignment_loss": [], "snapshots": {}}
    if track is not None:
        history["track"], history["track_steps"] = [], []

    def step_fn(step: int) -> dict[str, torch.Tensor]:
        if step in wanted:
            history["snapshots"][step] = latents.y.detach().clone()
        loss = alignment_loss(model, latents.y, n_t=n_t, generator=generator)
        if track is not None and step % track_every == 0:
            history["track"].append(float(track(latents.y.detach())))
            history["track_steps"].append(step)
        return {"loss": loss}

    rows = fit(latents, step_fn, toy_optim(steps, lr, batch_size=y0.shape[0]), desc="alignment", progress=progress)
    history["alignment_loss"] = [row["loss"] for row in rows if row["kind"] == "train"]
    if steps in wanted:
        history["snapshots"][steps] = latents.y.detach().clone()
    return latents.y.detach(), history


def toy_flow_dir(config: ToyConfig, name: str, seed: int):
    """Run directory of the toy flow for target ``name``: one per (tier, settings, seed)."""
    tag = (f"{name}_w{config.width}_b{config.blocks}_steps{config.flow_steps}_bs{config.flow_batch}"
           f"_lr{config.flow_lr:g}_seed{seed}")
    return run_dir(config.tier, f"toy_flows/{tag}")


@timing.timed("evaluation")
def flow_support_check(model: nn.Module, config: ToyConfig, name: str, seed: int, device: str = "cpu") -> float:
    """Assumption 1 made checkable: the share of the flow's own samples that lie on the target's support
    (``toy.on_support_share``, the same test as claim (a) of notebook 01). ``support_check_samples`` noise draws
    are carried to t = 1 by the midpoint ODE (``support_check_ode_steps`` steps); the true NLL is exact for the
    mixtures and the KDE of App. B otherwise. Seeded by the ``toy_check`` stream, so a rerun gives the same number.
    """
    index = toy.NAMES.index(name)
    g = streams.generator(seed, "toy_check", index)
    nll_fn, _ = toy.nll_function(name, config.kde_reference, g, config.kde_bandwidth)
    target = toy.sample(name, config.support_check_samples, g)
    x0 = torch.randn(config.support_check_samples, 2, generator=g).to(device)
    was = model.training
    model.eval()
    with torch.no_grad():
        samples = ODESolver(frozen(model)).sample(x0, config.support_check_ode_steps, method="midpoint")
    model.train(was)
    return toy.on_support_share(nll_fn, samples.cpu(), target)


def chunk_lr(config: ToyConfig, checks: list[dict]) -> float:
    """The constant lr of the next training chunk: ``flow_lr``, halved once for every support check that did not
    improve on the best before it (a plateau schedule, ReduceLROnPlateau with patience 0, applied across chunks).
    Written out because each chunk is its own ``fit`` with a fresh Adam, and the lr must follow from the stored
    checks alone, so a resumed run continues with the lr an uninterrupted one would use."""
    lr, best = config.flow_lr, -math.inf
    for c in checks:
        if c["on_support"] <= best:
            lr /= 2
        best = max(best, c["on_support"])
    return lr


def toy_flow(config: ToyConfig, name: str, seed: int, train_if_missing: bool = True, device: str = "cpu",
             progress: bool = True) -> tuple[VelocityMLP, list[float], list[dict]]:
    """The trained toy flow for target ``name``: loaded from its run directory, or trained there if missing.

    Training runs in chunks of ``flow_steps`` (``fit`` with ``toy_optim``, a fresh Adam per chunk at the constant
    lr of ``chunk_lr``) until the flow's own samples pass ``flow_support_check`` (share >= ``flow_support_bar``)
    or ``max_flow_steps`` is reached; ``flow.pt`` is rewritten atomically after every chunk, so a killed run
    resumes at the last finished chunk. The run directory is locked while training (``tvclab.locks``): a second
    process asking for the same flow waits, then loads it. Returns ``(model, per-step losses, checks)`` with one ``{"steps", "on_support"}``
    per chunk. Seeded by named streams indexed by the target (and the chunk): ``"init"`` for the weights,
    ``"toy_data"`` for the target samples, ``"toy_noise"`` for the path's x0 and t, so a rerun on the same machine
    type gives the same flow whether or not it was interrupted. The global torch RNG is left as it was.
    """
    directory = toy_flow_dir(config, name, seed)
    path = directory / "flow.pt"
    if train_if_missing:  # it may train: one writer at a time (a finished flow is only read, at once)
        with dir_lock(directory, what="toy flow"):
            return _toy_flow(config, name, seed, path, train_if_missing, device, progress)
    return _toy_flow(config, name, seed, path, train_if_missing, device, progress)


def _toy_flow(config: ToyConfig, name: str, seed: int, path, train_if_missing: bool, device: str,
              progress: bool) -> tuple[VelocityMLP, list[float], list[dict]]:
    index = toy.NAMES.index(name)
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws its init from the global RNG: leave it as it was
        torch.manual_seed(streams.generator(seed, "init", index).initial_seed())
        model = VelocityMLP(2, config.width, config.blocks)
    losses: list[float] = []
    checks: list[dict] = []
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        losses = list(saved["losses"].tolist())
        # shares are k / N with N <= 1e5: 6 decimals give back the float64 value a fresh check computes
        checks = [{"steps": int(a), "on_support": round(float(b), 6)} for a, b in saved.get("checks", []).tolist()]
    elif not train_if_missing:
        raise FileNotFoundError(f"no trained toy flow at {path}; train it with: python -m tvclab.toyflows train-toy "
                                f"--tier {config.tier} --seed {seed} --only {name} [--device cuda]")
    model = model.to(device)

    def save() -> None:
        atomic_torch_save(path, {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                                 "losses": torch.tensor(losses), "config": config.as_dict(), "seed": seed,
                                 "checks": torch.tensor([[c["steps"], c["on_support"]] for c in checks],
                                                        dtype=torch.float64)})

    while True:
        if losses and (not checks or checks[-1]["steps"] != len(losses)):
            checks.append({"steps": len(losses), "on_support": flow_support_check(model, config, name, seed, device)})
            save()
        done = bool(checks) and (checks[-1]["on_support"] >= config.flow_support_bar
                                 or len(losses) + config.flow_steps > max(config.max_flow_steps, config.flow_steps))
        if done:
            break
        if not train_if_missing:
            raise FileNotFoundError(f"the toy flow at {path} is not finished ({len(losses)} of up to "
                                    f"{config.max_flow_steps} steps); continue it with: python -m tvclab.toyflows "
                                    f"train-toy --tier {config.tier} --seed {seed} --only {name}")
        chunk = len(losses) // config.flow_steps
        idx = (index,) if chunk == 0 else (index, chunk)  # chunk 0 keeps the streams of a single-chunk flow
        data_g, noise_g = streams.generator(seed, "toy_data", *idx), streams.generator(seed, "toy_noise", *idx)
        losses += train_flow(model, lambda n: toy.sample(name, n, data_g), config.flow_steps, config.flow_batch,
                             chunk_lr(config, checks), generator=noise_g, progress=progress)
        save()
    return model, losses, checks


# --- notebook 01's reading of the paper's claims (§5.1, App. B): each a test a failed alignment fails ----------
ON_SUPPORT_BAR = 0.9  # (a): share of the latents on the support (toy.on_support_share)
COVERAGE_GAP = 0.5  # (a'): reverse KDE NLL of the latents at most this many nats/point above a target sample's
MINIMA_BAR = 0.9  # (b): share of the landscape's lowest 5% on the support (toy.minima_on_support)
LANDSCAPE_RANK = 0.5  # (b): Spearman of the loss and NLL landscapes over the grid
STRONG = 0.7  # (c): our reading of "strong positive correlation" (Pearson), over the run and its later half


def claim_checks(r: dict) -> dict[str, bool]:
    """Which of notebook 01's claims one alignment run ``r`` passes. Keys of ``r``: nll_before, nll_after,
    on_support, coverage_gap, modes_reached (None for non-mixtures), minima_on_support, landscape_spearman,
    pearson, pearson_late, loss_before, loss_after.

    - ``a``: the NLL falls and >= ``ON_SUPPORT_BAR`` of the latents are on the support (precision only);
    - ``coverage``: the latents also cover the target: reverse KDE NLL within ``COVERAGE_GAP`` of an equal-size
      target sample, and for mixtures every mode reached (ours; the paper's text claims only (a));
    - ``b``: the loss landscape ranks the grid like the NLL (Spearman > ``LANDSCAPE_RANK``) and its minima lie on
      the support (>= ``MINIMA_BAR`` of its lowest 5%);
    - ``c``: the loss falls and its Pearson correlation with the NLL exceeds ``STRONG`` over the whole run and over
      its later half (so that the first steps' large joint drop cannot carry it alone).
    """
    modes_ok = r["modes_reached"] is None or r["modes_reached"] >= 1.0
    return {
        "a": r["nll_after"] < r["nll_before"] and r["on_support"] >= ON_SUPPORT_BAR,
        "coverage": r["coverage_gap"] <= COVERAGE_GAP and modes_ok,
        "b": r["landscape_spearman"] > LANDSCAPE_RANK and r["minima_on_support"] >= MINIMA_BAR,
        "c": r["loss_after"] < r["loss_before"] and r["pearson"] > STRONG and r["pearson_late"] > STRONG,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m tvclab.toyflows train-toy --tier paper [--seed 0] [--only mog5] [--device cuda]``."""
    ap = argparse.ArgumentParser(prog="python -m tvclab.toyflows")
    sub = ap.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train-toy", help="train the toy flows of notebook 01 into their run directories")
    tr.add_argument("--tier", choices=tiers.TIERS, default="paper", help="settings (paper: App. C.1)")
    tr.add_argument("--seed", type=int, default=0, help="the notebook's seed (default 0)")
    tr.add_argument("--only", action="append", choices=toy.NAMES, help="one target (repeatable; default all)")
    tr.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args(argv)
    config = ToyConfig.for_tier(args.tier)
    for name in args.only or config.distributions:
        model, losses, checks = toy_flow(config, name, args.seed, device=args.device)
        tail = losses[-1000:]
        print(f"{name}: {count_params(model):,} parameters, {len(losses)} steps, flow-matching loss (mean of the "
              f"last {len(tail)} steps) {sum(tail) / len(tail):.4f}, own samples on support "
              f"{100 * checks[-1]['on_support']:.0f}% -> {toy_flow_dir(config, name, args.seed)}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
