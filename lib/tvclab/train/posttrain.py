"""Paper V (VA-pi): pixel-space post-training of the stage-2 AR with GRPO and a reconstruction reward.

``python -m tvclab.train posttrain --config NAME --tier TIER [--set posttrain.ce_weight=0]`` reads a finished
stage-2 run and writes ``<run>/stage2[__...]__posttrain[__posttrain.key-value...]/`` (a direct child of the stage-1
run) with ``prior.pt`` in stage 2's format, so ``train.sample``, ``evaluation.gfid`` and ``stage2.load_prior`` read
it as they read stage 2. Only the AR changes: the tokenizer (encoder, codebook, decoder) is loaded frozen.

One step, for a global batch of B training images I with their ground-truth token ids s (values from the authors'
code where the paper text lost them; paper V §3):

1. contextual noise: each id of s is replaced by a uniformly random code with probability xi (``posttrain.noise``),
   giving the prefix s~; the AR's teacher-forced logits on s~ define the policy pi(. | s~_<t) at every position;
2. G sequences (``group_size``) are drawn from those logits, every position independently (one forward, no
   free-running rollout), and decoded by the frozen decoder;
3. reward r = -(MSE + w LPIPS + c D_clf)(decoded, I) per sequence (``mse_weight``, ``lpips_weight``,
   ``clf_weight``; LPIPS dropped with one notice where its weights are absent; D_clf, ours and off by default, is
   the squared distance in the FD-clf classifier's features, a perceptual term that needs no download);
4. group-normalised advantages, clipped at 5 (``losses.group_advantages``);
5. loss = PPO-clipped per-token policy loss (``losses.clipped_policy_loss``, ratio against the pre-update logits,
   clip 0.2) + beta * teacher-forced CE of s given s~ (``ce_weight``) + k * KL(pi || base) (``kl_weight``, the
   frozen stage-2 AR; 0 keeps no copy), the KL exact over the vocabulary or GRPO's k3 estimator on the G sampled
   tokens (``kl_estimator``; ``losses.k3_kl`` says how they differ).

``updates`` optimiser steps per sampled batch (the authors' setting is 1, where the ratio is 1 where the gradient
is taken and the clip binds only through its form): with more, the draws, rewards and log-probs of the batch's
first update are kept and the later updates take the PPO ratio against them, so the clip can bind. A step of
``optim.steps`` is one update; batch ``i // updates`` and its random numbers serve updates ``i``. Every random number (noise mask,
replacement ids, the G draws as uniforms for inverse-CDF sampling) is drawn for the global batch from the
"posttrain" stream of (seed, step) and sliced by rank: a resumed run and 1 or 2 processes agree (flow-matching
decoders draw their own noise per rank, so for them only up to that noise).

Every ``optim.eval_every`` steps rank 0 logs the validation gLoss / top-1 (``stage2.evaluate``) and the mean reward
of G draws on the first ``eval_images`` validation images without contextual noise, and saves the AR
(``artifacts.prior_snapshot``) for the notebook's curves against iterations; the end logs the same on the test split.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from tvclab import configs, data, timing
from tvclab.fit import Batches, fit, used_indices
from tvclab.methods.vapi import PosttrainConfig
from tvclab.losses import ar_cross_entropy, clipped_policy_loss, group_advantages, k3_kl, lpips_per_image
from tvclab.streams import generator, rank_slice, seed_init

from . import artifacts, distributed
from .runlog import RunContext
from .stage1 import encode_dataset, first_images, images_at, load_data, load_tokenizer
from .stage2 import TokenSet, build_prior, evaluate, load_prior, save_prior, shared_tokens
from .stages import stage2_subdir


def stage2_source(ctx: RunContext):
    """The stage-2 directory this post-training reads (its parent stage, as the runner resolved it)."""
    return ctx.root / stage2_subdir(ctx.cfg)


class ReadRows:
    """The training images a run reads and their ground-truth token ids, held compactly: ``Batches`` draws data-set
    indices over all ``n`` images (its ``len``), ``take`` maps them to the rows held (the other images are never
    loaded: at ImageNet scale the 12,800 read rows are held, not 1.28M)."""

    def __init__(self, n: int, read: torch.Tensor, images: torch.Tensor, tokens: torch.Tensor):
        self.n, self.images, self.tokens = n, images, tokens
        self.row = torch.full((n,), -1, dtype=torch.long)
        self.row[read] = torch.arange(len(read))

    def __len__(self) -> int:
        return self.n

    def take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self.row[idx]
        if (rows < 0).any():
            raise RuntimeError("posttrain: a batch holds images that were not prepared (fit.used_indices and "
                               "Batches disagree); delete the run directory's tokens_train*_subset*.pt and rerun")
        return self.images[rows], self.tokens[rows]


def draws(seed: int, step: int, batch: int, group: int, length: int, vocab: int) -> dict[str, torch.Tensor]:
    """The random numbers of one step for the global batch: ``mask`` [B, n] (uniforms; < xi replaces), ``ids``
    [B, n] (replacement codes), ``u`` [B, G, n] (uniforms of the G inverse-CDF draws per position)."""
    g = generator(seed, "posttrain", step)
    return {"mask": torch.rand(batch, length, generator=g), "ids": torch.randint(0, vocab, (batch, length), generator=g),
            "u": torch.rand(batch, group, length, generator=g)}


def contextual_noise(tokens: torch.Tensor, mask: torch.Tensor, ids: torch.Tensor, xi: float) -> torch.Tensor:
    """Paper V's contextual noise: each id replaced by ``ids`` where ``mask`` < xi (xi = 0 keeps every id)."""
    return torch.where(mask.to(tokens.device) < xi, ids.to(tokens.device), tokens)


def sample_from_logits(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """G ids per position by inverse-CDF sampling of softmax(logits) [B, n, V] with uniforms ``u`` [B, G, n]:
    [B, G, n]. Deterministic given ``u`` (which is what lets 1 and N processes agree)."""
    cdf = torch.softmax(logits.detach().float(), dim=-1).cumsum(-1)  # [B, n, V]
    cdf = cdf / cdf[..., -1:]  # exactly 1 at the end
    b, g, n = u.shape
    query = u.to(cdf.device).permute(0, 2, 1).contiguous()  # [B, n, G]
    idx = torch.searchsorted(cdf.contiguous(), query, right=True).clamp_(max=cdf.shape[-1] - 1)
    return idx.permute(0, 2, 1).contiguous()


def image_rewards(x: torch.Tensor, y: torch.Tensor, pc: PosttrainConfig, clf=None) -> torch.Tensor:
    """Reward -(mse_weight * MSE + lpips_weight * LPIPS + clf_weight * D_clf) [N] of images ``x`` against ``y``
    (per image; LPIPS dropped where unavailable; D_clf = mean squared difference of the classifier ``clf``'s
    features, needed when clf_weight > 0)."""
    r = pc.mse_weight * (x - y).pow(2).flatten(1).mean(1)
    if pc.lpips_weight > 0:
        lp = lpips_per_image(x, y)
        if lp is not None:
            r = r + pc.lpips_weight * lp
    if pc.clf_weight > 0:
        if clf is None:
            raise ValueError("posttrain.clf_weight > 0 needs the FD-clf classifier (rewards(..., clf=...))")
        r = r + pc.clf_weight * (clf.features(x) - clf.features(y)).pow(2).mean(1)
    return -r


def rewards(tok, seqs: torch.Tensor, images: torch.Tensor, pc: PosttrainConfig, fm_steps: int,
            gen: torch.Generator | None = None, chunk: int = 1024, clf=None) -> torch.Tensor:
    """``image_rewards`` [B, G] of decoding ``seqs`` [B, G, n] against ``images`` [B, C, H, W]."""
    b, g, n = seqs.shape
    flat = seqs.reshape(b * g, n)
    target = images.repeat_interleave(g, dim=0)
    out = []
    with torch.no_grad():
        for i in range(0, len(flat), chunk):
            x = tok.decode(tok.indices_to_z(flat[i : i + chunk]), steps=fm_steps, generator=gen)
            out.append(image_rewards(x, target[i : i + chunk], pc, clf))
    return torch.cat(out).reshape(b, g)


def _gather(logp_all: torch.Tensor, seqs: torch.Tensor) -> torch.Tensor:
    """log-probs [B, G, n] of the drawn ids ``seqs`` [B, G, n] under per-position log-probs ``logp_all`` [B, n, V]."""
    return logp_all.unsqueeze(1).expand(-1, seqs.shape[1], -1, -1).gather(-1, seqs.unsqueeze(-1)).squeeze(-1)


def grpo_loss(ar, base, tokens: torch.Tensor, images: torch.Tensor, rnd: dict, tok, pc: PosttrainConfig,
              fm_steps: int, labels: torch.Tensor | None = None, gen: torch.Generator | None = None,
              old: dict | None = None, clf=None) -> dict:
    """The loss parts of one post-training update on this rank's share (see the module docstring):
    {"loss", "policy", "ce", "kl", "reward", "reward_std", "replaced", "old"}. ``old`` (the "old" of the batch's
    first update, ``updates`` > 1) reuses its draws, rewards and log-probs: the ratio is taken against them."""
    noisy = contextual_noise(tokens, rnd["mask"], rnd["ids"], pc.noise)
    logits = ar(noisy, labels)
    logp_all = F.log_softmax(logits.float(), dim=-1)                             # [B, n, V]
    if old is None:
        seqs = sample_from_logits(logits, rnd["u"])                               # [B, G, n]
        r = rewards(tok, seqs, images, pc, fm_steps, gen, clf=clf)                # [B, G]
        logp = _gather(logp_all, seqs)
        old = {"seqs": seqs, "reward": r, "logp": logp.detach()}                  # first update: old = pre-update
    else:
        seqs, r = old["seqs"], old["reward"]
        logp = _gather(logp_all, seqs)
    adv = group_advantages(r, pc.advantage_clip)
    policy = clipped_policy_loss(logp, old["logp"], adv.unsqueeze(-1), pc.clip)
    ce = ar_cross_entropy(logits, tokens)
    loss = policy + pc.ce_weight * ce
    parts = {"policy": policy.detach(), "ce": ce.detach()}
    if base is not None:
        with torch.no_grad():
            logp_base = F.log_softmax(base(noisy, labels).float(), dim=-1)
        if pc.kl_estimator == "k3":
            kl = k3_kl(logp, _gather(logp_base, seqs))
        else:
            kl = (logp_all.exp() * (logp_all - logp_base)).sum(-1).mean()
        loss = loss + pc.kl_weight * kl
        parts["kl"] = kl.detach()
    return {"loss": loss, **parts, "reward": r.mean().detach(), "reward_std": r.std(dim=1).mean().detach(),
            "replaced": (noisy != tokens).float().mean().detach(), "old": old}


@timing.timed("evaluation")
@torch.no_grad()
def mean_reward(ar, tok, tokens: torch.Tensor, images: torch.Tensor, pc: PosttrainConfig, fm_steps: int,
                seed: int, device, labels: torch.Tensor | None = None, chunk: int = 64, clf=None) -> float:
    """Mean reward of G teacher-forced draws per image (no contextual noise): fixed draws of the "posttrain"
    stream, flow-matching decoders' noise from "eval_decode"; ``chunk`` images at a time (logits are [B, n, V])."""
    was = ar.training
    ar.eval()
    u = torch.rand(len(tokens), pc.group_size, tokens.shape[1], generator=generator(seed, "posttrain", -1))
    total = 0.0
    for i in range(0, len(tokens), chunk):
        sl = slice(i, i + chunk)
        logits = ar(tokens[sl].to(device), None if labels is None else labels[sl].to(device))
        r = rewards(tok, sample_from_logits(logits, u[sl]), images[sl].to(device), pc, fm_steps,
                    generator(seed, "eval_decode", i), clf=clf)
        total += float(r.sum())
    ar.train(was)
    return total / (len(tokens) * pc.group_size)


@timing.timed("evaluation")
@torch.no_grad()
def free_running_reward(ar, tok, tokens: torch.Tensor, images: torch.Tensor, pc: PosttrainConfig, fm_steps: int,
                        seed: int, device, labels: torch.Tensor | None = None, chunk: int = 64, clf=None) -> float:
    """A diagnostic of what the teacher-forced reward says about generation: the mean reward of one free-running
    draw per image, the first half of its ground-truth ids given and the rest sampled by the AR itself (its own
    earlier draws as context, as at generation time), decoded against the image. The "posttrain_free" stream."""
    keep = tokens.shape[1] // 2
    gen = generator(seed, "posttrain_free", -1)
    total = 0.0
    for i in range(0, len(tokens), chunk):
        sl = slice(i, i + chunk)
        seqs = ar.sample(len(tokens[sl]), None if labels is None else labels[sl].to(device), generator=gen,
                         prefix=tokens[sl, :keep])
        r = rewards(tok, seqs.unsqueeze(1).to(device), images[sl].to(device), pc, fm_steps,
                    generator(seed, "eval_decode", i), clf=clf)
        total += float(r.sum())
    return total / len(tokens)


def train(ctx: RunContext) -> dict:
    cfg = ctx.cfg
    if configs.prefix_tokens(cfg):
        groups = ", ".join(f"{g.n} {g.name} tokens" for g in configs.token_groups(cfg, 0)[:-1])
        raise configs.ConfigError(f"posttrain: {cfg.name} has tokens before the visual ones ({groups}); "
                                  "post-training covers visual-only priors (baseline_1d, baseline_2d, wartok) so far")
    if cfg.quantizer.kind == "none":
        raise configs.ConfigError(f"posttrain: {cfg.name} has continuous tokens (quantizer.kind='none', a flow-head "
                                  "prior); post-training draws token ids from the AR's logits: use a VQ tokenizer "
                                  "(quantizer.kind=vq)")
    d = ctx.dist
    pc, dev = cfg.posttrain, d.device
    src = stage2_source(ctx)
    base_ar, _ = load_prior(src, dev)
    step = cfg.stage2.tokenizer_step or None
    tok = load_tokenizer(ctx.root, dev, step)
    for p in tok.parameters():
        p.requires_grad_(False)
    num_classes = data.num_classes(cfg.data.dataset)
    n_visual, vocab = base_ar.n_tokens, cfg.quantizer.codebook_size

    train_ds = load_data(cfg, "train")
    n_train = len(train_ds)
    read = used_indices(n_train, pc.optim.batch_size, cfg.seed, pc.optim.steps // pc.updates)
    enc = shared_tokens(ctx, "train", only=read)
    read = torch.arange(n_train) if read is None else read
    pairs = ReadRows(n_train, read, _images(train_ds, read), enc["tokens"][read])
    labels_all = enc["labels"]

    seed_init(cfg.seed, "posttrain")  # the "init" stream (tvclab.streams.init_seed)
    ar = build_prior(cfg, n_visual, num_classes).to(dev)
    ar.load_state_dict(base_ar.state_dict())  # start from the stage-2 AR (a resume then loads its checkpoint)
    base = None
    if pc.kl_weight > 0:
        base = copy.deepcopy(base_ar).eval()
        for p in base.parameters():
            p.requires_grad_(False)
    del base_ar
    clf = None
    if pc.clf_weight > 0:  # the FD-clf classifier of this tier (tvclab.classifier; trained once and cached)
        from tvclab.classifier import load_classifier, tier_classifier

        clf = load_classifier(cfg.data.dataset, tier_classifier(cfg.tier, cfg.data.dataset)).to(dev)
    if d.master:
        print(f"posttrain {cfg.name}/{cfg.tier}: AR {sum(p.numel() for p in ar.parameters()) / 1e6:.2f}M params from "
              f"{src}; {pc.optim.steps} steps x {pc.optim.batch_size} images, G = {pc.group_size}")
    net = distributed.wrap(ar, d)
    batches = Batches(pairs, pc.optim.batch_size, cfg.seed, d.rank, d.world)
    fm_steps = cfg.decoder.fm_steps

    def held_out(split: str):
        """Rank 0's held-out set: the split's tokens (``stage2.eval_images``) and its first ``eval_images`` images."""
        tset = TokenSet(encode_dataset(ctx.root, split, device=dev, step=step, limit=cfg.stage2.eval_images), cfg)
        return tset, first_images(load_data(cfg, split), min(pc.eval_images, len(tset)))

    def held_out_metrics(tset, images) -> dict:
        """gLoss / top-1 of every held-out sequence and the mean reward of the first ``len(images)``."""
        n = len(images)
        m = evaluate(ar, tset.seq, tset.labels, dev)
        lab = tset.labels[:n] if ar.num_classes else None
        m["reward"] = mean_reward(ar, tok, tset.seq[:n], images, pc, fm_steps, cfg.seed, dev, lab, clf=clf)
        if pc.free_running_eval:
            m["reward_free"] = free_running_reward(ar, tok, tset.seq[:n], images, pc, fm_steps, cfg.seed, dev, lab,
                                                   clf=clf)
        return m

    if d.master:
        val = held_out("val")

    kept: dict[int, dict] = {}  # the batch's first update's draws, rewards and log-probs (updates > 1)

    def step_fn(i: int) -> dict:
        b = i // pc.updates  # the sampled batch of update i (updates = 1: b = i)
        idx = batches.indices(b)
        x, seq = (t.to(dev) for t in pairs.take(idx))
        y = labels_all[idx].to(dev) if ar.num_classes else None
        rnd = draws(cfg.seed, b, pc.optim.batch_size, pc.group_size, n_visual, vocab)
        rnd = {k: rank_slice(v, d.rank, d.world) for k, v in rnd.items()}
        gen = generator(cfg.seed, "posttrain", b, d.rank) if cfg.decoder.kind == "fm" else None
        out = grpo_loss(net, base, seq, x, rnd, tok, pc, fm_steps, y, gen, old=kept.get(b), clf=clf)
        old = out.pop("old")
        if pc.updates > 1 and b not in kept:
            kept.clear()
            kept[b] = old
        return out

    def evaluate_val(i: int) -> dict:
        return {"split": "val", **held_out_metrics(*val)}

    def snapshot(i: int) -> None:
        save_prior(artifacts.prior_snapshot(ctx.dir, i), ar, cfg, n_visual, num_classes)

    fit(ar, step_fn, pc.optim, ctx=ctx, desc=f"posttrain {cfg.name}", evaluate=evaluate_val,
        snapshot=snapshot if pc.snapshots else None)
    final = {}
    if d.master:
        save_prior(artifacts.prior(ctx.dir), ar, cfg, n_visual, num_classes)
        final = {"kind": "test", "step": pc.optim.steps, "split": "test", **held_out_metrics(*held_out("test"))}
        ctx.log(final)
    ctx.barrier()
    last = (ctx.rows("train") or [{}])[-1] if d.master else {}
    del net, ar, base
    return {"train_reward": last.get("reward"), **{k: v for k, v in final.items() if k != "kind"}}


def _images(ds, idx: torch.Tensor) -> torch.Tensor:
    """The images ``idx`` of ``ds`` [len(idx), C, H, W], loaded in blocks."""
    return torch.cat([images_at(ds, idx[i : i + 4096]) for i in range(0, len(idx), 4096)])
