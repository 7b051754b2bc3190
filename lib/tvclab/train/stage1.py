"""Stage 1: train a tokenizer with the objectives its config enables (``tvclab.objectives``), evaluate it on the
validation split during training and on the test split at the end.

One step: encode (and quantise) the batch, then each enabled objective adds its term: reconstruction (paper W's
baselines, §2.3, F.1), the quantiser's loss, WGF-DPD (W Algorithm 1), the prologue CE (paper P eq. 2); one AdamW
step over every trainable parameter (``tvclab.fit``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from tvclab import configs, data, timing
from tvclab.io import atomic_torch_save
from tvclab.locks import dir_lock
from tvclab.models import Tokenizer
from tvclab.objectives import enabled_objectives, provide
from tvclab.fit import Batches, fit, iterate
from tvclab.streams import generator, rank_slice, seed_init

from . import artifacts, checkpoint, distributed
from .stages import StageMissingError, command, default_run_dir
from .runlog import RunContext


class Stage1Model(nn.Module):
    """The tokenizer and the objectives a config enables, in one module so that DDP wraps it whole."""

    def __init__(self, cfg: configs.Config, channels: int):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = Tokenizer.from_config(cfg, channels)
        self.objectives = nn.ModuleDict({c.name: c(cfg, self.tokenizer) for c in enabled_objectives(cfg)})

    def draw(self, batch: int, step: int, rank: int = 0, world: int = 1) -> dict[str, dict[str, torch.Tensor]]:
        """The random numbers of one step, per objective, drawn for the *global* batch from named streams seeded
        by (seed, stream, step) and sliced to this rank: 1 and N processes, and a resumed run, see the same."""
        rnd = {name: obj.draw(batch, step) for name, obj in self.objectives.items()}
        if self.tokenizer.needs_noise:
            tok = self.tokenizer
            rnd["encode"] = {"eps": torch.randn(batch, tok.n_tokens, tok.code_dim,
                                                generator=generator(self.cfg.seed, "vae", step))}
        return {k: {n: rank_slice(v, rank, world) for n, v in d.items()} for k, d in rnd.items()}

    def forward(self, x: torch.Tensor, rnd: dict[str, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer.encode(x, eps=rnd.get("encode", {}).get("eps"))
        out: dict[str, torch.Tensor] = {}
        loss = x.new_zeros(())
        for name, obj in self.objectives.items():
            parts = obj(x, enc, rnd.get(name, {}), self.tokenizer)
            loss = loss + parts.pop("loss")
            out.update(parts)
        out["loss"] = loss
        return out

    def param_groups(self) -> list[dict]:
        """The optimiser's groups: every parameter under ``optim``'s settings, except those of an objective with
        ``optimizer_overrides`` (paper P's compact AR), which get their own."""
        own, groups = set(), []
        for obj in self.objectives.values():
            over = obj.optimizer_overrides()
            if over:
                params = [p for p in obj.parameters() if p.requires_grad]
                own |= {id(p) for p in params}
                groups.append({"params": params, **over})
        return [{"params": [p for p in self.parameters() if p.requires_grad and id(p) not in own]}] + groups

    def param_counts(self) -> dict[str, int]:
        extra = {name: sum(p.numel() for p in obj.parameters()) for name, obj in self.objectives.items()}
        return {**self.tokenizer.param_counts(), **{k: v for k, v in extra.items() if v}}


# ------------------------------------------------------------------------------------------------- evaluation

def marginal_stats(index: torch.Tensor, k: int, prefix: str = "") -> dict[str, float]:
    """Codes used and the token marginal entropy in nats (all positions pooled), reported for every row
    (docs/protocol.md, "Rate, not only loss")."""
    counts = torch.bincount(index.flatten(), minlength=k).double()
    p = counts / counts.sum()
    h = float(-(p[p > 0] * p[p > 0].log()).sum())
    return {f"{prefix}codes_used": int((counts > 0).sum()), f"{prefix}token_entropy": h,
            f"{prefix}token_perplexity": math.exp(h)}


@timing.timed("evaluation")
@torch.no_grad()
def evaluate(model: Stage1Model, images: torch.Tensor, code_images: torch.Tensor, device,
             chunk: int = 256) -> dict[str, float]:
    """Reconstruction l1 / l2 / PSNR on ``images``; code usage, marginal entropy and each objective's own metrics
    (e.g. the WGF surrogate, W §4.7) on ``code_images``. Flow-matching decoders draw their noise from the
    "eval_decode" stream, so an evaluation is the same whenever it runs."""
    from tvclab import metrics

    cfg, tok = model.cfg, model.tokenizer
    was = model.training
    model.eval()
    recs = [tok.reconstruct(images[i : i + chunk].to(device), steps=cfg.decoder.fm_steps,
                            generator=generator(cfg.seed, "eval_decode", i)).cpu()
            for i in range(0, len(images), chunk)]
    rec = torch.cat(recs)
    res = {"l1": float((rec - images).abs().mean()), "l2": float((rec - images).pow(2).mean()),
           "psnr": metrics.psnr(rec, images)}
    idx, pidx, sums = [], [], {}
    for i in range(0, len(code_images), chunk):
        xb = code_images[i : i + chunk].to(device)
        enc = tok.encode(xb)
        if tok.discrete:
            idx.append(enc.visual.index.cpu())
        if enc.prologue is not None:
            pidx.append(enc.prologue.index.cpu())
        for obj in model.objectives.values():
            for k, v in obj.evaluate(enc, tok).items():
                sums[k] = sums.get(k, 0.0) + v * len(xb)
    if idx:
        res.update(marginal_stats(torch.cat(idx), cfg.quantizer.codebook_size))
    if pidx:
        res.update(marginal_stats(torch.cat(pidx), cfg.prologue.codebook_size, "prologue_"))
    res.update({k: v / len(code_images) for k, v in sums.items()})
    model.train(was)
    return res


# ------------------------------------------------------------------------------------------------- training

def load_data(cfg: configs.Config, split: str):
    return data.load(cfg.data.dataset, split, root=cfg.runtime.data_root or None, image_size=cfg.data.image_size)


def check_fits(ds, n: int, stage: str, cfg: configs.Config) -> None:
    """Raise ``faults.RunFaultError`` (naming data.image_size) before ``n`` images of an in-memory data set are
    turned into one float32 tensor that would not fit in memory (the training loop and the encoder hold them so)."""
    from .faults import check_memory

    if hasattr(ds, "tensors"):
        s = ds.image_size
        split = {"train": "training", "val": "validation"}.get(ds.split, ds.split)
        check_memory(4 * n * ds.channels * s * s, f"the {n} {split} images of {ds.name} as float32 at {s}x{s}",
                     stage, cfg)


def first_images(ds, n: int) -> torch.Tensor:
    n = min(n, len(ds))
    if hasattr(ds, "tensors"):
        return ds.tensors(n)[0]
    return torch.stack([ds[i][0] for i in range(n)])


def dataset_labels(ds, n: int) -> torch.Tensor:
    """The labels of the first ``n`` items, without loading images where the data set holds them apart
    (``tensors`` of the in-memory sets, ``targets`` of torchvision's, through ``Subset.indices``)."""
    if hasattr(ds, "tensors"):
        return ds.tensors(n)[1].long()
    base, idx = ds, None
    while isinstance(base, torch.utils.data.Subset):
        idx = torch.as_tensor(base.indices) if idx is None else torch.as_tensor(base.indices)[idx]
        base = base.dataset
    if hasattr(base, "targets"):
        t = torch.as_tensor(base.targets).long()
        return (t if idx is None else t[idx])[:n]
    return torch.tensor([int(ds[j][1]) for j in range(n)], dtype=torch.long)


def images_at(ds, idx: torch.Tensor) -> torch.Tensor:
    if hasattr(ds, "batch"):
        return ds.batch(idx)[0]
    return torch.stack([ds[int(i)][0] for i in idx])


def codebook_upkeep(model: Stage1Model, train_ds, ctx: RunContext):
    """Data-dependent codebook initialisation (``quantizer.init = "data"``: the unit latents of the first global
    training batch, the same on every process) and the dead-code restart hook for the fit loop
    (``quantizer.restart_every``); None when neither applies."""
    cfg, tok, d = model.cfg, model.tokenizer, ctx.dist
    q = cfg.quantizer
    if not tok.discrete or "codebook" in configs.frozen(cfg):  # a frozen codebook (Prologue-Post) is not refreshed
        return None
    if q.init == "data":
        first = Batches(train_ds, cfg.optim.batch_size, cfg.seed).fetch(0, d.device)[0]  # the global batch of step 0
        with torch.no_grad():
            latents = tok.encode(first).visual.latent
        tok.quantizer.reset_codes(torch.ones(q.codebook_size, dtype=torch.bool), latents,
                                  generator(cfg.seed, "codebook_init"))
    if not q.restart_every:
        return None
    obj = model.objectives["quantizer"]

    def after_step(done: int) -> dict:
        if done % q.restart_every:
            return {}
        g = generator(cfg.seed, "codebook_restart", done)
        idx = torch.randperm(len(train_ds), generator=g)[: min(len(train_ds), 256)]
        out = obj.restart_dead(done, tok, images_at(train_ds, idx).to(d.device),
                               lambda t: distributed.all_reduce_sum(t, d))
        return out

    return after_step


def train(ctx: RunContext) -> dict:
    cfg, d = ctx.cfg, ctx.dist
    dev = d.device
    train_ds = load_data(cfg, "train")
    check_fits(train_ds, len(train_ds), "stage1", cfg)
    seed_init(cfg.seed, "stage1")  # the "init" stream (tvclab.streams.init_seed)
    model = Stage1Model(cfg, data.channels(cfg.data.dataset)).to(dev)
    for obj in model.objectives.values():  # e.g. Prologue-Post loads its frozen visual tokenizer
        obj.setup(model.tokenizer, dev)
    upkeep = codebook_upkeep(model, train_ds, ctx)  # before DDP: every process starts from the same codebook
    if d.master:
        print(f"stage1 {cfg.name}/{cfg.tier}: " + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in model.param_counts().items()))
    if cfg.runtime.compile:
        model.compile()  # the training forward only: evaluation calls the tokenizer's methods, not compiled
    net = distributed.wrap(model, d)
    batches = Batches(train_ds, cfg.optim.batch_size, cfg.seed, d.rank, d.world)
    if d.master:  # selection during training reads the validation split only (docs/protocol.md)
        val = load_data(cfg, "val")
        held, code_held = first_images(val, cfg.evaluation.eval_images), first_images(val, cfg.evaluation.code_eval_images)
    stream = iter(())
    position = [None]

    def step_fn(step: int) -> dict:
        nonlocal stream
        if position[0] != step:  # (re)start the data iterator at this step (fresh run or resume)
            stream = iterate(batches, step, cfg.optim.steps, dev, cfg.runtime.num_workers)
        x, _ = next(stream)
        position[0] = step + 1
        rnd = model.draw(cfg.optim.batch_size, step, d.rank, d.world)
        rnd = {k: {n: v.to(dev) for n, v in r.items()} for k, r in rnd.items()}
        return net(x, rnd)

    def snapshot(step: int) -> None:
        save_tokenizer(artifacts.snapshot(ctx.dir, step), model.tokenizer, cfg)

    fit(model, step_fn, cfg.optim, ctx=ctx, params=model.param_groups(), desc=f"stage1 {cfg.name}",
        after_step=upkeep,
        evaluate=lambda step: {"split": "val", **evaluate(model, held, code_held, dev)},
        snapshot=snapshot if cfg.evaluation.snapshots else None, snapshot_every=cfg.evaluation.snapshot_every)
    final = {}
    if d.master:
        save_tokenizer(artifacts.tokenizer(ctx.dir), model.tokenizer, cfg)
        test = first_images(load_data(cfg, "test"), cfg.evaluation.test_images)
        final = {"kind": "test", "step": cfg.optim.steps, "split": "test", **evaluate(model, test, test, dev)}
        ctx.log(final)
    ctx.barrier()
    last_train = (ctx.rows("train") or [{}])[-1] if d.master else {}
    del net, model
    return {**{f"train_{k}": v for k, v in last_train.items() if k not in ("kind", "step")},
            **{k: v for k, v in final.items() if k != "kind"}}


# ------------------------------------------------------------------------------------------------- reading runs

def post_base_config(cfg: configs.Config) -> configs.Config:
    """Prologue-Post's frozen tokenizer: baseline_2d with this config's leaves and the preset's prologue (none)."""
    import dataclasses

    preset = configs.get("baseline_2d", cfg.tier)
    return configs.from_dict({**cfg.to_dict(), "name": "baseline_2d", "prologue": dataclasses.asdict(preset.prologue)})


def post_base_dir(cfg: configs.Config) -> Path:
    return default_run_dir(post_base_config(cfg))


@provide("frozen_tokenizer")
def load_post_base(tok, cfg: configs.Config, device) -> None:
    """Load the finished baseline_2d tokenizer into Prologue-Post's frozen ``tok.base`` (or say how to train it)."""
    base_dir = post_base_dir(cfg)
    if not artifacts.is_done(base_dir):
        raise StageMissingError(f"Prologue-Post attaches to the finished baseline_2d run at {base_dir}, which is not "
                                "there; train it first: " + command("stage1", post_base_config(cfg), base_dir))
    state = checkpoint.load_plain(artifacts.tokenizer(base_dir))
    tok.base.load_state_dict(state["state"])
    tok.base.to(device)


def save_tokenizer(path: Path, tok: Tokenizer, cfg: configs.Config) -> None:
    atomic_torch_save(path, {"config": cfg.to_dict(), "channels": tok.channels, "state": tok.state_dict()})


def snapshot_steps(run_dir: str | Path) -> list[int]:
    return artifacts.snapshot_steps(run_dir)


def load_tokenizer(run_dir: str | Path, device="cpu", step: int | None = None) -> Tokenizer:
    """The trained tokenizer of a stage-1 run directory (eval mode), from its tokenizer file (or the last
    checkpoint of an unfinished run); ``step``: the snapshot saved at that evaluation step instead."""
    run_dir = Path(run_dir)
    path = artifacts.tokenizer(run_dir)
    if step:
        path = artifacts.snapshot(run_dir, step)
        if not path.exists():
            raise FileNotFoundError(f"no tokenizer snapshot at step {step} in {run_dir}; saved steps: "
                                    f"{snapshot_steps(run_dir) or 'none'}")
    if path.exists():
        state = checkpoint.load_plain(path)
        tok = Tokenizer.from_config(configs.from_dict(state["config"]), state["channels"])
        tok.load_state_dict(state["state"])
    elif artifacts.checkpoint(run_dir).exists():
        state = checkpoint.load(artifacts.checkpoint(run_dir))
        cfg = configs.from_dict(state["config"])
        tok = Tokenizer.from_config(cfg, data.channels(cfg.data.dataset))
        tok.load_state_dict({k[len("tokenizer."):]: v for k, v in state["model"].items() if k.startswith("tokenizer.")})
    else:
        raise FileNotFoundError(f"no tokenizer in {run_dir} (neither {path.name} nor a checkpoint); train one with: "
                                f"python -m tvclab.train stage1 --config NAME --tier TIER --out {run_dir}")
    return tok.to(device).eval()


def run_config(run_dir: str | Path) -> configs.Config:
    path = artifacts.config(run_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} is not a tvclab run directory")
    return configs.from_dict(json.loads(path.read_text()))


@torch.no_grad()
def encode_dataset(run_dir: str | Path, split: str = "train", device="cpu", batch: int = 500,
                   step: int | None = None, limit: int = 0, only: torch.Tensor | None = None) -> dict:
    """Token ids of every image of ``split`` (its first ``limit`` when > 0) under the run's tokenizer (or its
    snapshot at ``step``): {"tokens" [N, n], "labels" [N], optionally "prologue" [N, n_prologue]}, in data order;
    cached in the run directory (``artifacts.tokens``), written under the run directory's lock (a run still
    training holds it: its tokens are encoded once it has finished).

    A continuous tokenizer (``quantizer.kind="none"``, paper F) gives {"latents" [N, n, code_dim] float32,
    "labels" [N]} instead: the deterministic latents ``enc.visual.z`` of the tokenizer in eval mode (the Gaussian
    means of a KL tokenizer).

    ``only`` (data-set indices): encode just those images, e.g. the ones a stage-2 run of S steps will read
    (``fit.used_indices``); the other rows of "tokens" (and "prologue") are -1 and those of "latents" NaN, so
    reading one fails loudly, and "encoded" [N] marks the rows that hold tokens. Cached under a name carrying the
    indices' hash."""
    run_dir = Path(run_dir)
    cache = artifacts.tokens(run_dir, split, step, limit, subset=None if only is None else _index_hash(only))
    if cache.exists():
        return checkpoint.load_plain(cache)
    with dir_lock(run_dir, what="token cache of the run"):
        if cache.exists():  # another process encoded it while this one waited
            return checkpoint.load_plain(cache)
        return _encode(run_dir, cache, split, device, batch, step, limit, only)


def _index_hash(idx: torch.Tensor) -> str:
    import hashlib

    return hashlib.sha256(idx.to(torch.int64).contiguous().numpy().tobytes()).hexdigest()[:12]


@timing.timed("encoding")  # encode_dataset, its only caller, runs under no_grad
def _encode(run_dir: Path, cache: Path, split: str, device, batch: int, step: int | None, limit: int,
            only: torch.Tensor | None = None) -> dict:
    cfg = run_config(run_dir)
    tok = load_tokenizer(run_dir, device, step)  # eval mode: a KL tokenizer's latents are its means
    ds = load_data(cfg, split)
    total = min(limit, len(ds)) if limit else len(ds)
    order = torch.arange(total) if only is None else torch.unique(only.to(torch.int64))
    if len(order) and (order[0] < 0 or order[-1] >= total):
        raise ValueError(f"encode_dataset: indices outside the {total} images of {split}")
    check_fits(ds, total, f"encoding {run_dir}", cfg)
    images_all = ds.tensors(total) if hasattr(ds, "tensors") else None
    if tok.discrete:
        toks = torch.full((total, tok.n_tokens), -1, dtype=torch.long)
    else:  # paper F: continuous latents; NaN rows are not encoded
        toks = torch.full((total, tok.n_tokens, tok.code_dim), float("nan"), dtype=torch.float32)
    pros = torch.full((total, tok.n_prologue), -1, dtype=torch.long) if tok.n_prologue else None
    labels = dataset_labels(ds, total)  # of every image, also with ``only``, so the token set keeps its data order
    for i in tqdm(range(0, len(order), batch), desc=f"encode {split}", mininterval=2.0, dynamic_ncols=True):
        idx = order[i : i + batch]
        x = images_all[0][idx] if images_all is not None else images_at(ds, idx)
        enc = tok.encode(x.to(device))
        toks[idx] = enc.visual.index.cpu() if tok.discrete else enc.visual.z.float().cpu()
        if pros is not None:
            pros[idx] = enc.prologue.index.cpu()
    out = {"tokens" if tok.discrete else "latents": toks, "labels": labels}
    if pros is not None:
        out["prologue"] = pros
    if only is not None:
        encoded = torch.zeros(total, dtype=torch.bool)
        encoded[order] = True
        out["encoded"] = encoded
    atomic_torch_save(cache, out)
    return out


@timing.timed("evaluation")
@torch.no_grad()
def reconstruct(run_dir: str | Path, images: torch.Tensor, steps: int | None = None, seed: int = 0,
                device="cpu", batch: int = 256, step: int | None = None) -> torch.Tensor:
    """Reconstructions in [-1, 1] of ``images`` [B, C, H, W] by the run's tokenizer (or its snapshot at stage-1
    ``step``); flow-matching decoders take ``steps`` Euler steps (default the config's ``decoder.fm_steps``),
    noise from the "eval_decode" stream of ``seed``."""
    cfg = run_config(run_dir)
    tok = load_tokenizer(run_dir, device, step)
    outs = [tok.reconstruct(images[i : i + batch].to(device), steps=steps or cfg.decoder.fm_steps,
                            generator=generator(seed, "eval_decode", i)).cpu() for i in range(0, len(images), batch)]
    return torch.cat(outs)
