"""The flow prior of paper F on target features (§4.2, §5.2, App. C.2): the fixed projection of the target
features to the latent width, the frozen flow trained on them by flow matching, cached in a run directory, and the
check that the flow learned its target. The features themselves are read from runs and data by
``tvclab.train.targets``, which trains the prior here when it is missing.

Targets (``align.target``, F §5.2's four kinds, at suite scale):

- ``low_level``: the token latents of the finished ``ae_kl`` run (seed 0, same tier and data): F's VAE features
  (same width as the latents, so no projection);
- ``semantic``: penultimate features (128) of the suite's classifier trained with seed 1 (F: DINOv2, 768), a twin
  of the FD-clf classifier (seed 0) so that the metric's features are not the alignment target;
- ``discrete``: the code vectors of notebook 02's ``baseline_1d`` run (seed 0), drawn with the frequencies its
  training tokens use them (F: LlamaGen VQ codes, 8-dim);
- ``textual``: an embedding table shipped by a registry package that loads offline (F: Qwen, 896). None is
  installed here: asking for it raises ``TargetUnavailable`` naming what is missing.

Features of width D are mapped to the latent width d (``quantizer.code_dim``) by a fixed projection
(``tvclab.projections``; identity when D = d) and divided by one scalar, their standard deviation (as F App. C.1
normalises the toy targets), so the flow is trained on a unit-scale distribution. The latents are then aligned to
that distribution (F eq. 5).

One flow per (target, projection, latent width, flow settings, source run) and tier, trained with seed 0: the
target is one fixed distribution, shared by every aligned run and seed. It is trained in one go (a killed training
restarts it; 3000 steps take about a minute at the cpu tier) and written atomically with its target samples, which also
back the kNN index of the NLL proxy (F §5.2).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from tvclab import configs, paths, streams
from tvclab.flow import ODESolver, VelocityMLP, frozen
from tvclab.io import atomic_torch_save
from tvclab.methods.alignment import FlowPriorConfig
from tvclab.projections import FixedProjection, make_projection

SOURCE_RUNS = {"low_level": "ae_kl", "discrete": "baseline_1d"}  # the run a target is read from (seed 0)
HELD_OUT = 2000  # held-out target samples (validation split) for the flow check


class TargetUnavailable(RuntimeError):
    """The target's features cannot be had on this machine (the message says what is missing)."""


def source_config(cfg: configs.Config) -> configs.Config | None:
    """The finished run a target is read from (seed 0, this tier and data), or None (no run needed)."""
    name = SOURCE_RUNS.get(cfg.align.target)
    if name is None:
        return None
    src = configs.get(name, cfg.tier)
    return configs.apply_overrides(src, {"data.dataset": cfg.data.dataset, "data.image_size": cfg.data.image_size})


@dataclass
class FlowPrior:
    """The frozen flow prior of one target: ``velocity`` (eval mode, no gradients), the ``projection`` of raw
    features and the ``scale`` they are divided by, the target ``samples`` [N, d] and ``held_out`` [M, d] in latent
    units, and the flow's training losses."""
    velocity: VelocityMLP
    projection: FixedProjection
    scale: float
    samples: torch.Tensor
    held_out: torch.Tensor
    losses: list[float]
    directory: Path

    def to_latent(self, features: torch.Tensor) -> torch.Tensor:
        return self.projection(features) / self.scale

    def to(self, device) -> "FlowPrior":
        self.velocity.to(device)
        return self


def prior_key(cfg: configs.Config) -> dict:
    """What defines a flow prior: target, projection, latent width, flow settings, data, tier and source run."""
    src = source_config(cfg)
    return {"target": cfg.align.target, "projection": cfg.align.projection, "dim": cfg.quantizer.code_dim,
            "flow": asdict(cfg.align.flow), "data": asdict(cfg.data), "tier": cfg.tier,
            "source": None if src is None else src.group("stage1")}


def prior_dir(cfg: configs.Config) -> Path:
    key = prior_key(cfg)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return paths.run_dir(cfg.tier, f"flow_priors/{cfg.align.target}__{cfg.align.projection}__d{key['dim']}__{digest}")


def flow_optim(f: FlowPriorConfig) -> configs.OptimConfig:
    """F Table 3's flow optimiser: AdamW (0.9, beta2), cosine with warm-up, weight decay, clipping."""
    return configs.OptimConfig(steps=f.steps, batch_size=f.batch_size, lr=f.lr, lr_min=0.0, schedule="cosine",
                               warmup_steps=min(f.warmup_steps, f.steps - 1), optimizer="adamw", beta1=0.9,
                               beta2=f.beta2, weight_decay=f.weight_decay, grad_clip=f.grad_clip,
                               log_every=max(1, f.steps // 100), eval_every=f.steps, ckpt_every=f.steps)


def _build(cfg: configs.Config) -> VelocityMLP:
    f = cfg.align.flow
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(streams.generator(0, "prior_flow", 0).initial_seed())
        return VelocityMLP(cfg.quantizer.code_dim, f.width, f.blocks)


def load_flow_prior(cfg: configs.Config, device="cpu") -> FlowPrior:
    """The trained flow prior of ``cfg.align`` from its run directory (``tvclab.train.targets.ensure_flow_prior``
    trains it there first; a stage-1 run of an aligned config does so itself)."""
    path = prior_dir(cfg) / "flow.pt"
    if not path.exists():
        raise FileNotFoundError(f"no flow prior at {path}; it is trained by the first aligned stage-1 run "
                                f"(python -m tvclab.train stage1 --config {cfg.name} --tier {cfg.tier} "
                                f"--set align.target={cfg.align.target} ...) or by "
                                "tvclab.train.targets.ensure_flow_prior(cfg)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = _build(cfg)
    model.load_state_dict(state["velocity"])
    model.eval().requires_grad_(False)
    proj = FixedProjection(state["projection"]["matrix"], state["projection"]["offset"], kind=state["kind"])
    return FlowPrior(model, proj, float(state["scale"]), state["samples"], state["held_out"],
                     state["losses"].tolist(), path.parent).to(device)


def train_flow_prior(cfg: configs.Config, raw: torch.Tensor, held: torch.Tensor, progress: bool = True) -> Path:
    """Project the target features ``raw`` [N, D] (and the held-out ``held`` [M, D]) to the latent width, divide
    by their standard deviation, train the flow on them (App. C.2) and write it atomically; returns the file."""
    from tvclab.toyflows import train_flow

    f, d = cfg.align.flow, cfg.quantizer.code_dim
    raw, held = raw.float(), held.float()
    if raw.shape[1] == d:
        proj = FixedProjection(torch.eye(d), kind="identity")  # F: a projection only where the widths differ
    else:
        proj = make_projection(cfg.align.projection, raw.shape[1], d, features=raw,
                               generator=streams.generator(0, "align_target", 3))
    samples = proj(raw)
    scale = float(samples.std())
    samples, held = samples / scale, proj(held) / scale
    model = _build(cfg)
    g_batch, g_noise = streams.generator(0, "prior_flow", 1), streams.generator(0, "prior_flow", 2)
    losses = train_flow(model, lambda b: samples[torch.randint(len(samples), (b,), generator=g_batch)], f.steps,
                        generator=g_noise, progress=progress, optim=flow_optim(f), ema=f.ema)
    path = prior_dir(cfg) / "flow.pt"
    atomic_torch_save(path, {"velocity": model.state_dict(), "kind": proj.kind,
                             "projection": {"matrix": proj.matrix, "offset": proj.offset}, "scale": scale,
                             "samples": samples, "held_out": held, "losses": torch.tensor(losses),
                             "key": json.dumps(prior_key(cfg), sort_keys=True, default=str)})
    return path


@torch.no_grad()
def flow_check(prior: FlowPrior, n: int = HELD_OUT, steps: int = 50, k: int = 5) -> dict[str, float]:
    """Did the flow learn its target (Assumption 1, checked)? The kNN NLL proxy d log r_k (F §5.2) against the
    target samples of ``n`` samples of the flow (Euler, ``steps`` steps, seeded), beside that of held-out target
    samples: the flow passes when its samples sit as close to the target as fresh target samples do."""
    from tvclab.metrics import KNNIndex

    index = KNNIndex(prior.samples)
    dev = next(prior.velocity.parameters()).device
    x0 = torch.randn(n, prior.samples.shape[1], generator=streams.generator(0, "prior_flow", 3)).to(dev)
    drawn = ODESolver(frozen(prior.velocity)).sample(x0, steps, "euler").cpu()
    flow_nll = float(index.nll(drawn, k).mean())
    held_nll = float(index.nll(prior.held_out[:n], k).mean())
    noise_nll = float(index.nll(x0.cpu(), k).mean())
    return {"flow_samples_knn_nll": flow_nll, "held_out_knn_nll": held_nll, "noise_knn_nll": noise_nll,
            "gap": flow_nll - held_nll, "n": n, "k": k, "dim": int(prior.samples.shape[1]),
            "n_targets": int(len(prior.samples))}
