"""Stage 2: the AR prior on the frozen tokens of a finished stage-1 run (paper W §2.2 L_AR, App. F.1; paper P
App. E), with gLoss (held-out cross-entropy, nats per token) and teacher-forcing top-1 accuracy per evaluation step
(paper W Fig. 1)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch
from tqdm import tqdm

from tvclab import configs
from tvclab.io import atomic_torch_save, read_jsonl
from tvclab.losses import ar_cross_entropy
from tvclab.models import ARPrior

from . import checkpoint, distributed
from .batches import Batches, generator, rank_slice
from .optim import adamw, lr_at, set_lr
from .runlog import RunContext
from .stage1 import encode_dataset, token_layout

PRIOR_FILE = "prior.pt"


class TokenSet:
    """Token sequences (prologue ids first, offset into one vocabulary) and labels, held in memory."""

    def __init__(self, enc: dict, cfg: configs.Config, limit: int = 0):
        seq = enc["tokens"]
        if "prologue" in enc:
            seq = torch.cat([enc["prologue"], seq + cfg.prologue_codebook_size], dim=1)
        n = len(seq) if not limit else min(limit, len(seq))
        self.seq, self.labels = seq[:n], enc["labels"][:n]

    def __len__(self) -> int:
        return len(self.seq)

    def tensors(self, n: int | None = None):
        n = len(self) if n is None else n
        return self.seq[:n], self.labels[:n]


def build_prior(cfg: configs.Config, n_visual: int, num_classes: int) -> ARPrior:
    length, vocab, segs = token_layout(cfg, n_visual)
    return ARPrior(vocab_size=vocab, n_tokens=length, width=cfg.ar_width, depth=cfg.ar_depth, heads=cfg.ar_heads,
                   mlp_ratio=cfg.ar_mlp_ratio, num_classes=num_classes if cfg.ar_class_cond else 0, segments=segs,
                   dropout=cfg.ar_dropout)


@torch.no_grad()
def evaluate(ar: ARPrior, seq: torch.Tensor, labels: torch.Tensor, device, chunk: int = 1000) -> dict[str, float]:
    """gLoss = mean held-out CE in nats/token and teacher-forcing top-1 accuracy (W Fig. 1), true labels."""
    was = ar.training
    ar.eval()
    ce = correct = 0.0
    for i in range(0, len(seq), chunk):
        s = seq[i : i + chunk].to(device)
        y = labels[i : i + chunk].to(device) if ar.num_classes else None
        logits = ar(s, y, temperature=1.0)
        ce += float(ar_cross_entropy(logits, s)) * s.numel()
        correct += float((logits.argmax(-1) == s).sum())
    ar.train(was)
    return {"gloss": ce / seq.numel(), "top1": correct / seq.numel()}


def _tokens(ctx: RunContext, split: str) -> dict:
    """Rank 0 encodes (and caches) the split; the others wait and read the cache."""
    d, step = ctx.dist, ctx.cfg.ar_tokenizer_step or None
    if d.master:
        enc = encode_dataset(ctx.root, split, device=d.device, step=step)
    distributed.barrier(d)
    if not d.master:
        enc = encode_dataset(ctx.root, split, device=d.device, step=step)
    return enc


def train(ctx: RunContext) -> dict:
    cfg, d, out = ctx.cfg, ctx.dist, ctx.dir
    dev = d.device
    from tvclab import data

    num_classes = data.num_classes(cfg.dataset)
    train_set = TokenSet(_tokens(ctx, "train"), cfg, cfg.ar_train_images)
    test_set = TokenSet(_tokens(ctx, "test"), cfg, cfg.ar_eval_images)
    n_visual = train_set.seq.shape[1] - cfg.n_prologue
    torch.manual_seed(cfg.seed + 1)
    ar = build_prior(cfg, n_visual, num_classes).to(dev)
    opt = adamw(ar.parameters(), cfg.ar_lr, (cfg.ar_beta1, cfg.ar_beta2), cfg.ar_weight_decay)
    if d.master:
        print(f"stage2 {cfg.name}/{cfg.tier}: AR prior {sum(p.numel() for p in ar.parameters()) / 1e6:.2f}M params, "
              f"{len(train_set)} train / {len(test_set)} held-out sequences of {train_set.seq.shape[1]} tokens")
    start = ctx.restore(ar, opt, "stage2")
    distributed.barrier(d)
    net = distributed.wrap(ar, d)
    batches = Batches(train_set, cfg.ar_batch_size, cfg.seed, d.rank, d.world)
    acc, n_acc = defaultdict(float), 0
    bar = tqdm(range(start, cfg.ar_steps), initial=start, total=cfg.ar_steps, desc=f"stage2 {cfg.name}",
               disable=not d.master, mininterval=2.0, dynamic_ncols=True)
    for step in bar:
        lr = lr_at(step, cfg.ar_steps, cfg.ar_lr, cfg.ar_lr_min, cfg.ar_warmup_steps, cfg.ar_lr_schedule)
        set_lr(opt, lr)
        seq, labels = batches.fetch(step, dev)
        y = None
        if ar.num_classes:  # classifier-free guidance: drop labels to the null class (P App. E: 10%)
            drop = rank_slice(torch.rand(cfg.ar_batch_size, generator=generator(cfg.seed, 4, step)) < cfg.ar_label_drop,
                              d.rank, d.world).to(dev)
            y = torch.where(drop, torch.full_like(labels, ar.null_class), labels)
        loss = ar_cross_entropy(net(seq, y), seq)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.ar_grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(ar.parameters(), cfg.ar_grad_clip)
        opt.step()
        acc["loss"] = acc["loss"] + loss.detach()
        n_acc += 1
        done = step + 1
        if done % cfg.ar_log_every == 0 or done == cfg.ar_steps:
            row = ctx.reduce_mean({k: float(v) / n_acc for k, v in acc.items()})
            ctx.log({"kind": "train", "step": done, "lr": lr, **row})
            bar.set_postfix(loss=f"{row['loss']:.4f}", refresh=False)
            acc, n_acc = defaultdict(float), 0
        if done % cfg.ar_eval_every == 0 or done == cfg.ar_steps:
            if d.master:
                ctx.log({"kind": "eval", "step": done, **evaluate(ar, test_set.seq, test_set.labels, dev)})
            distributed.barrier(d)
        if done % cfg.ar_ckpt_every == 0 or done == cfg.ar_steps:
            ctx.save_checkpoint(ar, opt, done)
    bar.close()
    if d.master:
        atomic_torch_save(out / PRIOR_FILE, {"config": cfg.to_dict(), "n_visual": n_visual,
                                             "num_classes": num_classes, "state": ar.state_dict()})
    distributed.barrier(d)
    rows = read_jsonl(out / "metrics.jsonl")
    final = next((r for r in reversed(rows) if r.get("kind") == "eval"), {})
    last = next((r for r in reversed(rows) if r.get("kind") == "train"), {})
    del net, ar, opt
    return {"train_loss": last.get("loss"), **{k: v for k, v in final.items() if k != "kind"}}


def load_prior(stage2_dir: str | Path, device="cpu") -> tuple[ARPrior, configs.Config]:
    """The trained AR prior of a stage-2 directory (eval mode) and its config."""
    path = Path(stage2_dir) / PRIOR_FILE
    if not path.exists():
        raise FileNotFoundError(f"no trained AR prior at {path}; train it with: python -m tvclab.train stage2 "
                                f"--config NAME --tier TIER --out {Path(stage2_dir).parent}")
    state = checkpoint.load_plain(path)
    cfg = configs.from_dict(state["config"])
    ar = build_prior(cfg, state["n_visual"], state["num_classes"])
    ar.load_state_dict(state["state"])
    return ar.to(device).eval(), cfg
