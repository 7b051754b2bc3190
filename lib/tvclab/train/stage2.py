"""Stage 2: the AR prior on the frozen tokens of a finished stage-1 run (paper W §2.2 L_AR, App. F.1; paper P
App. E), with gLoss (held-out cross-entropy, nats per token) and teacher-forcing top-1 accuracy per evaluation step
(paper W Fig. 1) on the validation split, and the reported gLoss / top-1 on the test split at the end.

A continuous tokenizer (``quantizer.kind="none"``, paper F) gets the causal transformer with a per-token flow head
instead (``FlowARPrior``, paper F App. C.4), trained by flow matching on its latents scaled by 1 / std of the
training latents; its metric is ``fm_loss``, the held-out per-token flow-matching loss with fixed draws."""
from __future__ import annotations

from pathlib import Path

import torch

from tvclab import configs, timing
from tvclab.io import atomic_torch_save
from tvclab.losses import ar_cross_entropy
from tvclab.models import ARPrior, FlowARPrior
from tvclab.objectives import sequence_layout
from tvclab.fit import Batches, fit, used_indices
from tvclab.streams import generator, rank_slice, seed_init

from . import artifacts, checkpoint, distributed
from .runlog import RunContext
from .stage1 import encode_dataset




_UNNAMED = {2: ("prologue", "visual")}  # an ARPrior built without a layout: paper P's two segments


class TokenSet:
    """Token sequences (prologue ids first, offset into one vocabulary) and labels, held in memory."""

    def __init__(self, enc: dict, cfg: configs.Config, limit: int = 0):
        seq = enc["tokens"]
        if "prologue" in enc:
            layout = sequence_layout(cfg, seq.shape[1])
            vis = seq + layout.offset(layout.visual)
            seq = torch.cat([enc["prologue"], torch.where(seq < 0, seq, vis)], dim=1)  # -1: not encoded, kept
        n = len(seq) if not limit else min(limit, len(seq))
        self.seq, self.labels = seq[:n], enc["labels"][:n]

    def __len__(self) -> int:
        return len(self.seq)

    def tensors(self, n: int | None = None):
        n = len(self) if n is None else n
        return self.seq[:n], self.labels[:n]


class LatentSet:
    """Continuous latent sequences [N, n, d] (paper F) and labels, held in memory; rows never encoded are NaN."""

    def __init__(self, enc: dict, cfg: configs.Config, limit: int = 0):
        if "latents" not in enc:
            raise ValueError("LatentSet needs the latents of a continuous tokenizer (quantizer.kind='none'); token "
                             "ids of a VQ tokenizer go to TokenSet")
        n = len(enc["latents"]) if not limit else min(limit, len(enc["latents"]))
        self.seq, self.labels = enc["latents"][:n], enc["labels"][:n]
        self.encoded = enc["encoded"][:n] if "encoded" in enc else torch.ones(n, dtype=torch.bool)

    def __len__(self) -> int:
        return len(self.seq)

    def tensors(self, n: int | None = None):
        n = len(self) if n is None else n
        return self.seq[:n], self.labels[:n]

    def std(self) -> float:
        """The std of the encoded latents, all coordinates pooled (``FlowARPrior.scale`` = 1 / it)."""
        return float(self.seq[self.encoded].double().std())


def continuous(cfg: configs.Config) -> bool:
    """Whether stage 2 of ``cfg`` models continuous latents (paper F: quantizer.kind='none') with ``FlowARPrior``."""
    return cfg.quantizer.kind == "none"


def token_set(enc: dict, cfg: configs.Config, limit: int = 0):
    """The ``TokenSet`` or ``LatentSet`` of an ``encode_dataset`` result."""
    return LatentSet(enc, cfg, limit) if continuous(cfg) else TokenSet(enc, cfg, limit)


def build_prior(cfg: configs.Config, n_visual: int, num_classes: int) -> ARPrior | FlowARPrior:
    """The stage-2 prior of ``cfg``: ``ARPrior`` over token ids, or for continuous tokens ``FlowARPrior`` (paper F
    App. C.4: a causal transformer ``stage2.ar`` with the flow head ``stage2.flow_head``)."""
    num_classes = num_classes if cfg.stage2.class_cond else 0
    if continuous(cfg):
        if configs.prefix_tokens(cfg):
            raise ValueError("stage 2 for continuous tokens (quantizer.kind='none') models the visual latents only; "
                             "drop the tokens before the visual ones (paper P: no prologue) or use quantizer.kind=vq")
        return FlowARPrior.from_config(cfg.stage2.ar, cfg.stage2.flow_head, cfg.quantizer.code_dim, n_visual,
                                       num_classes)
    return ARPrior.from_config(cfg.stage2.ar, sequence_layout(cfg, n_visual), num_classes=num_classes)


@timing.timed("evaluation")
@torch.no_grad()
def evaluate(ar: ARPrior | FlowARPrior, seq: torch.Tensor, labels: torch.Tensor, device,
             chunk: int = 1000) -> dict[str, float]:
    """gLoss = mean held-out CE in nats/token and teacher-forcing top-1 accuracy (W Fig. 1), true labels. An AR over
    several segments (paper P: [prologue; visual]) adds the CE of each, ``gloss_prologue`` and ``gloss_visual``
    (the visual-only gLoss, comparable with a baseline's). A ``FlowARPrior`` (continuous latents ``seq``
    [N, n, d]): {"fm_loss"}, ``evaluate_flow``."""
    if isinstance(ar, FlowARPrior):
        return evaluate_flow(ar, seq, labels, device, chunk)
    was = ar.training
    ar.eval()
    segs = ar.segments or [(ar.n_tokens, ar.vocab_size)]
    names = getattr(ar, "segment_names", ()) or _UNNAMED.get(len(segs)) or tuple(f"segment{i}" for i in range(len(segs)))
    ce_pos = torch.zeros(ar.n_tokens, dtype=torch.float64)
    correct = 0.0
    for i in range(0, len(seq), chunk):
        s = seq[i : i + chunk].to(device)
        y = labels[i : i + chunk].to(device) if ar.num_classes else None
        logits = ar(s, y, temperature=1.0)
        nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), s, reduction="none")  # [B, n]
        ce_pos += nll.sum(0).double().cpu()
        correct += float((logits.argmax(-1) == s).sum())
    ar.train(was)
    out = {"gloss": float(ce_pos.sum()) / seq.numel(), "top1": correct / seq.numel()}
    if len(segs) > 1:
        start = 0
        for name, (n, _) in zip(names, segs):
            out[f"gloss_{name}"] = float(ce_pos[start : start + n].sum()) / (n * len(seq))
            start += n
    return out


def evaluate_flow(ar: FlowARPrior, latents: torch.Tensor, labels: torch.Tensor, device,
                  chunk: int = 1000) -> dict[str, float]:
    """fm_loss: the held-out per-token flow-matching loss (per coordinate, of the scaled latents; paper F App. C.4)
    with true labels and fixed draws, chunk i's (x0, t) from the "eval_flow_head" stream of (0, i); under no_grad
    (``evaluate``)."""
    was = ar.training
    ar.eval()
    total = 0.0
    for c, i in enumerate(range(0, len(latents), chunk)):
        z = latents[i : i + chunk].to(device)
        y = labels[i : i + chunk].to(device) if ar.num_classes else None
        x0, t = ar.flat_path_noise(*ar.draw_path_noise(len(z), generator(0, "eval_flow_head", c)))
        total += float(ar.loss(z, y, x0.to(device), t.to(device))) * len(z)
    ar.train(was)
    return {"fm_loss": total / len(latents)}


def shared_tokens(ctx: RunContext, split: str, limit: int = 0, only: torch.Tensor | None = None) -> dict:
    """Rank 0 encodes (and caches) the split's first ``limit`` images (0: all), or just the indices ``only``; the
    others wait and read the cache."""
    d, step = ctx.dist, ctx.cfg.stage2.tokenizer_step or None
    if d.master:
        enc = encode_dataset(ctx.root, split, device=d.device, step=step, limit=limit, only=only)
    ctx.barrier()
    if not d.master:
        enc = encode_dataset(ctx.root, split, device=d.device, step=step, limit=limit, only=only)
    return enc


def train_indices(cfg: configs.Config) -> torch.Tensor | None:
    """The training images the stage-2 AR reads in its ``stage2.optim.steps`` steps (None: all of them). Only
    those are encoded: at the cpu tier 300 steps of 128 read 38,400 of the 55,000 (the largest cost of a stage-2
    run after training itself)."""
    from .stage1 import load_data

    n = len(load_data(cfg, "train"))
    if cfg.stage2.train_images:
        n = min(n, cfg.stage2.train_images)
    return used_indices(n, cfg.stage2.optim.batch_size, cfg.seed, cfg.stage2.optim.steps)


def train(ctx: RunContext) -> dict:
    cfg, d = ctx.cfg, ctx.dist
    s2, dev = cfg.stage2, d.device
    from tvclab import data

    num_classes = data.num_classes(cfg.data.dataset)
    flow = continuous(cfg)
    train_set = token_set(shared_tokens(ctx, "train", s2.train_images, train_indices(cfg)), cfg)
    val_set = token_set(shared_tokens(ctx, "val", s2.eval_images), cfg)
    n_visual = train_set.seq.shape[1] - configs.prefix_tokens(cfg)
    seed_init(cfg.seed, "stage2")  # the "init" stream (tvclab.streams.init_seed)
    ar = build_prior(cfg, n_visual, num_classes).to(dev)
    if flow:  # paper F App. C.4: input normalisation by the latents' scale (saved with the prior: a buffer)
        ar.scale.fill_(1.0 / train_set.std())
    if d.master:
        what = f"flow AR prior (latents x {float(ar.scale):.4g})" if flow else "AR prior"
        print(f"stage2 {cfg.name}/{cfg.tier}: {what} {sum(p.numel() for p in ar.parameters()) / 1e6:.2f}M params, "
              f"{len(train_set)} train / {len(val_set)} validation sequences of {train_set.seq.shape[1]} tokens")
    if cfg.runtime.compile:
        ar.compile()  # forward (training and evaluation); sampling drives the blocks directly, uncompiled
    net = distributed.wrap(ar, d)
    batches = Batches(train_set, s2.optim.batch_size, cfg.seed, d.rank, d.world)

    def step_fn(step: int) -> dict:
        seq, labels = batches.fetch(step, dev)
        y = None
        if ar.num_classes:  # classifier-free guidance: drop labels to the null class (P App. E: 10%)
            u = torch.rand(s2.optim.batch_size, generator=generator(cfg.seed, "label_drop", step))
            drop = rank_slice(u < s2.label_drop, d.rank, d.world).to(dev)
            y = torch.where(drop, torch.full_like(labels, ar.null_class), labels)
        if flow:  # the flow head's (x0, t), drawn for the global batch, this rank's share (F App. C.4)
            x0, t = ar.draw_path_noise(s2.optim.batch_size, generator(cfg.seed, "flow_head", step))
            x0, t = ar.flat_path_noise(rank_slice(x0, d.rank, d.world), rank_slice(t, d.rank, d.world))
            return {"loss": net(seq, y, x0.to(dev), t.to(dev))}
        return {"loss": ar_cross_entropy(net(seq, y), seq)}

    fit(ar, step_fn, s2.optim, ctx=ctx, desc=f"stage2 {cfg.name}",
        evaluate=lambda step: {"split": "val", **evaluate(ar, val_set.seq, val_set.labels, dev)})
    final = {}
    if d.master:
        save_prior(artifacts.prior(ctx.dir), ar, cfg, n_visual, num_classes)
        test_set = token_set(encode_dataset(ctx.root, "test", device=dev, step=s2.tokenizer_step or None,
                                            limit=s2.eval_images), cfg)
        final = {"kind": "test", "step": s2.optim.steps, "split": "test",
                 **evaluate(ar, test_set.seq, test_set.labels, dev)}
        ctx.log(final)
    ctx.barrier()
    last = (ctx.rows("train") or [{}])[-1] if d.master else {}
    del net, ar
    return {"train_loss": last.get("loss"), **{k: v for k, v in final.items() if k != "kind"}}


PRIOR_KINDS = ("tokens", "latents")  # prior.pt's "kind": ARPrior over token ids | FlowARPrior (paper F)


def save_prior(path: Path, ar: ARPrior | FlowARPrior, cfg: configs.Config, n_visual: int, num_classes: int) -> None:
    """The file ``load_prior`` reads (stage 2's ``prior.pt``, post-training's too, and its snapshots); the state
    dict holds a ``FlowARPrior``'s latent ``scale``."""
    kind = "latents" if isinstance(ar, FlowARPrior) else "tokens"
    atomic_torch_save(path, {"config": cfg.to_dict(), "kind": kind, "n_visual": n_visual,
                             "num_classes": num_classes, "state": ar.state_dict()})


def load_prior(stage2_dir: str | Path, device="cpu",
               step: int | None = None) -> tuple[ARPrior | FlowARPrior, configs.Config]:
    """The trained AR prior of a stage-2 (or post-training) directory (eval mode) and its config; ``step``: its
    snapshot at that step instead (post-training saves one at every evaluation step). A continuous tokenizer's
    prior is a ``FlowARPrior``; files written before the "kind" key are token priors."""
    if step is not None:
        path = artifacts.prior_snapshot(stage2_dir, step)
        if not path.exists():
            raise FileNotFoundError(f"no AR snapshot at step {step} in {stage2_dir}; saved steps: "
                                    f"{artifacts.prior_snapshot_steps(stage2_dir) or 'none'}")
    else:
        path = artifacts.prior(stage2_dir)
    if not path.exists():
        raise FileNotFoundError(f"no trained AR prior at {path}; train it with: python -m tvclab.train stage2 "
                                f"--config NAME --tier TIER --out {Path(stage2_dir).parent}")
    state = checkpoint.load_plain(path)
    cfg = configs.from_dict(state["config"])
    kind = state.get("kind", "tokens")
    if kind not in PRIOR_KINDS or (kind == "latents") != continuous(cfg):
        raise ValueError(f"{path}: prior kind {kind!r} does not match its config (quantizer.kind="
                         f"{cfg.quantizer.kind!r}); the file is damaged or from another version: retrain it with "
                         f"python -m tvclab.train stage2 --config {cfg.name} --tier {cfg.tier}")
    ar = build_prior(cfg, state["n_visual"], state["num_classes"])
    ar.load_state_dict(state["state"])
    return ar.to(device).eval(), cfg
