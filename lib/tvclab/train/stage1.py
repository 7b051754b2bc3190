"""Stage 1: train a tokenizer (any method of paper W's Table 1, paper P's 2D baseline, prologue tokens, continuous
latents) and evaluate it on a fixed held-out batch.

One step (paper W Algorithm 1 when ``wgf_weight`` > 0):
  1. encode, quantise (L2-VQ; prob_ste probabilities on the distance logits for WGF-DPD)       Alg. 1 line 2
  2. decode (deterministic, or flow matching with tail dropout / tied timesteps), l1 + l2 + LPIPS   line 3
  3. log P from the fixed random target AR (no_grad, low temperature), log Q from the proxy         line 4
  4. wgf_dpd_loss: probs * sg(log Q - log P) routes the particle gradient of eq. 4 to the encoder   lines 5-6
  5. proxy cross-entropy on the (detached) hard tokens                                               line 7
  6. one AdamW step over encoder, decoder, quantiser and proxy (the target is not in the optimizer)   line 8
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from tvclab import configs, data
from tvclab.io import atomic_torch_save, read_jsonl
from tvclab.losses import ar_cross_entropy, flow_matching_loss, reconstruction_loss, wgf_dpd_loss
from tvclab.models import ARPrior, Tokenizer, patchify, selftok_keep, unpatchify

from . import checkpoint, distributed
from .batches import Batches, generator, iterate, rank_slice
from .optim import adamw, lr_at, set_lr
from .runlog import RunContext

TOKENIZER_FILE = "tokenizer.pt"
SNAPSHOTS = "snapshots"  # tokenizer_<step>.pt at every evaluation step (matched-rFID comparisons, W Table 1)


# ------------------------------------------------------------------------------------------------- building

def build_tokenizer(cfg: configs.Config, channels: int) -> Tokenizer:
    return Tokenizer(
        image_size=cfg.image_size, channels=channels, patch_size=cfg.patch_size, width=cfg.width,
        enc_depth=cfg.enc_depth, dec_depth=cfg.dec_depth, heads=cfg.heads, mlp_ratio=cfg.mlp_ratio,
        n_tokens=cfg.n_tokens, codebook_size=cfg.codebook_size, code_dim=cfg.code_dim, kind=cfg.kind,
        quantizer=cfg.quantizer, vq_beta=cfg.vq_beta, wgf_tau=cfg.wgf_tau, kl=cfg.kl_weight > 0,
        decoder=cfg.decoder, tail_dropout=cfg.tail_dropout_p > 0, tied_timesteps=cfg.tied_timesteps,
        n_prologue=cfg.n_prologue, prologue_codebook_size=cfg.prologue_codebook_size,
        prologue_code_dim=cfg.prologue_code_dim or None, prologue_tau=cfg.prologue_tau)


def token_layout(cfg: configs.Config, n_visual: int) -> tuple[int, int, list | None]:
    """(sequence length, vocabulary, segments) of the AR sequence [prologue ids, visual ids + K_prologue]."""
    if cfg.n_prologue:
        segs = [(cfg.n_prologue, cfg.prologue_codebook_size), (n_visual, cfg.codebook_size)]
        return cfg.n_prologue + n_visual, cfg.prologue_codebook_size + cfg.codebook_size, segs
    return n_visual, cfg.codebook_size, None


class Stage1Model(nn.Module):
    """Everything one stage-1 step runs, in one module so that DistributedDataParallel wraps it whole.

    ``target`` (WGF-DPD's p_theta) is a fixed, randomly initialised causal transformer (W App. F.1) with
    ``requires_grad=False``: DDP skips it and the optimizer never sees it (unless ``target_trained``, the
    Algorithm-1 ablation).
    """

    def __init__(self, cfg: configs.Config, channels: int):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = build_tokenizer(cfg, channels)
        n, k = self.tokenizer.n_tokens, cfg.codebook_size
        self.proxy = self.target = self.joint_ar = None
        if cfg.wgf_weight > 0:
            self.proxy = ARPrior(vocab_size=k, n_tokens=n, width=cfg.proxy_width, depth=cfg.proxy_depth,
                                 heads=cfg.proxy_heads, mlp_ratio=cfg.mlp_ratio)
            self.target = ARPrior(vocab_size=k, n_tokens=n, width=cfg.target_width, depth=cfg.target_depth,
                                  heads=cfg.target_heads, mlp_ratio=cfg.mlp_ratio, temperature=cfg.target_temperature)
            self.target.requires_grad_(cfg.target_trained)
        if cfg.n_prologue:
            length, vocab, segs = token_layout(cfg, n)
            self.joint_ar = ARPrior(vocab_size=vocab, n_tokens=length, width=cfg.joint_ar_width,
                                    depth=cfg.joint_ar_depth, heads=cfg.joint_ar_heads, mlp_ratio=cfg.mlp_ratio,
                                    segments=segs)
            self.visual_drop_emb = nn.Parameter(torch.zeros(1, 1, cfg.joint_ar_width))

    def forward(self, x: torch.Tensor, rnd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg, tok = self.cfg, self.tokenizer
        enc = tok.encode(x, with_probs=self.proxy is not None, eps=rnd.get("eps"))
        vis = enc.visual
        out: dict[str, torch.Tensor] = {}

        # tail dropout / tied timesteps (W §2.3, F.1): keep the first `keep` tokens, [MASK] the rest
        keep = None
        if tok.tied_timesteps:
            keep = tok.tied_keep(rnd["t"])
        elif tok.tail_dropout and "drop" in rnd:
            keep = torch.where(rnd["drop"], selftok_keep(rnd["u_cut"], tok.n_tokens),
                               torch.full_like(rnd["drop"], tok.n_tokens, dtype=torch.long))
        # reconstruction (W F.1)
        if tok.decoder_kind == "det":
            x_hat = unpatchify(tok.decoder(vis.z, keep), tok.patch_size, tok.channels, tok.image_size)
            rec, parts = reconstruction_loss(x_hat, x, cfg.l1_weight, cfg.l2_weight, cfg.lpips_weight)
        else:  # flow matching, x_t = (1 - t) x + t eps, v = eps - x, x0_hat = x_t - t v_hat (FlowMo / W F.1)
            xp, eps, t = patchify(x, tok.patch_size), rnd["noise"], rnd["t"]
            tt = t.view(-1, 1, 1).to(xp.dtype)
            xt = (1 - tt) * xp + tt * eps
            v_hat = tok.decoder(vis.z, keep, xt, t)
            x0_hat = unpatchify(xt - tt * v_hat, tok.patch_size, tok.channels, tok.image_size)
            rec, parts = flow_matching_loss(v_hat, eps - xp, x0_hat, x, cfg.l2_weight, cfg.lpips_weight)
        out.update(parts)
        out["rec"] = rec
        loss = rec
        if tok.discrete:
            out["commit"] = vis.loss
            loss = loss + cfg.commit_weight * vis.loss
        elif cfg.kl_weight > 0:
            out["kl"] = vis.loss
            loss = loss + cfg.kl_weight * vis.loss

        # WGF-DPD (W §4.5, eq. 4, Algorithm 1 lines 4-7)
        if self.proxy is not None:
            idx = vis.index                                     # hard ids: no gradient by construction
            with torch.no_grad():                               # forward only, no autograd graph (W §4.5)
                log_p = self.target.log_probs(idx)
            q_logits = self.proxy(idx)
            out["proxy_ce"] = ar_cross_entropy(q_logits, idx)   # proxy tracks q_phi(z) (line 7)
            log_q = F.log_softmax(q_logits.float(), dim=-1).detach()
            out["wgf"] = wgf_dpd_loss(vis.probs, log_q, log_p)  # lines 5-6
            loss = loss + cfg.wgf_weight * out["wgf"] + out["proxy_ce"]
            if cfg.target_trained:                              # ablation: Algorithm 1 trains the target too
                out["target_ce"] = ar_cross_entropy(self.target(idx, temperature=1.0), idx)
                loss = loss + out["target_ce"]

        # prologue tokens (paper P §2, eq. 2): only the joint AR's CE reaches them, through soft embeddings
        if self.joint_ar is not None:
            pro, kp = enc.prologue, cfg.prologue_codebook_size
            vis_ids = vis.index + kp
            emb_v = self.joint_ar.tok_emb(vis_ids)
            drop = rnd.get("vis_drop", torch.zeros(len(x), dtype=torch.bool, device=x.device))
            emb_v = torch.where(drop.view(-1, 1, 1), self.visual_drop_emb.to(emb_v.dtype), emb_v)
            emb = torch.cat([self.joint_ar.soft_embed(pro.onehot, 0), emb_v], dim=1)
            logits = self.joint_ar(input_emb=emb)
            out["prologue_ce"] = ar_cross_entropy(logits, torch.cat([pro.index, vis_ids], dim=1))
            loss = loss + cfg.prologue_ar_weight * out["prologue_ce"]
        out["loss"] = loss
        return out


def step_randomness(cfg: configs.Config, tok: Tokenizer, batch: int, step: int, rank: int = 0,
                    world: int = 1) -> dict[str, torch.Tensor]:
    """The random numbers of one step, drawn for the *global* batch from a generator seeded by (seed, step) and
    sliced to this rank: 1 and N processes, and a resumed run, see the same numbers."""
    g = generator(cfg.seed, 2, step)
    rnd: dict[str, torch.Tensor] = {}
    if tok.decoder_kind == "fm":
        rnd["t"] = torch.rand(batch, generator=g)
        rnd["noise"] = torch.randn(batch, tok.n_patches, tok.patch_dim, generator=g)
    if tok.tail_dropout and not tok.tied_timesteps:
        rnd["u_cut"] = torch.rand(batch, generator=g)
        rnd["drop"] = torch.rand(batch, generator=g) < cfg.tail_dropout_p
    if not tok.discrete and cfg.kl_weight > 0:
        rnd["eps"] = torch.randn(batch, tok.n_tokens, cfg.code_dim, generator=g)
    if cfg.n_prologue:
        rnd["vis_drop"] = torch.rand(batch, generator=g) < cfg.visual_dropout
    return {k: rank_slice(v, rank, world) for k, v in rnd.items()}


# ------------------------------------------------------------------------------------------------- evaluation

def _marginal_stats(index: torch.Tensor, k: int, prefix: str = "") -> dict[str, float]:
    """Codes used and the token marginal entropy in nats (all positions pooled) (SPEC: "codes used and the token
    marginal entropy for every row")."""
    counts = torch.bincount(index.flatten(), minlength=k).double()
    p = counts / counts.sum()
    h = float(-(p[p > 0] * p[p > 0].log()).sum())
    return {f"{prefix}codes_used": int((counts > 0).sum()), f"{prefix}token_entropy": h,
            f"{prefix}token_perplexity": math.exp(h)}


@torch.no_grad()
def evaluate(model: Stage1Model, images: torch.Tensor, code_images: torch.Tensor, cfg: configs.Config,
             device, chunk: int = 256) -> dict[str, float]:
    """Reconstruction l1 / l2 / PSNR on the fixed held-out batch; code usage, marginal entropy and (wAR-Tok) the
    WGF surrogate mean log q_psi - log p_theta of the hard tokens (W §4.7) on ``code_images``."""
    from tvclab import metrics

    was = model.training
    model.eval()
    tok = model.tokenizer
    recs = []
    for i in range(0, len(images), chunk):
        xb = images[i : i + chunk].to(device)
        recs.append(tok.reconstruct(xb, steps=cfg.fm_steps, generator=generator(cfg.seed, 7, i)).cpu())
    rec = torch.cat(recs)
    res = {"l1": float((rec - images).abs().mean()), "l2": float((rec - images).pow(2).mean()),
           "psnr": metrics.psnr(rec, images)}
    if tok.discrete or tok.n_prologue:
        idx, pidx, sur, pce = [], [], [], []
        for i in range(0, len(code_images), chunk):
            enc = tok.encode(code_images[i : i + chunk].to(device))
            if tok.discrete:
                idx.append(enc.visual.index.cpu())
                if model.proxy is not None:
                    ids = enc.visual.index
                    log_q, log_p = model.proxy.log_probs(ids), model.target.log_probs(ids)
                    hard = F.one_hot(ids, cfg.codebook_size).float()
                    sur.append(float(wgf_dpd_loss(hard, log_q, log_p)) * len(ids))
                    pce.append(float(ar_cross_entropy(model.proxy(ids), ids)) * len(ids))
            if tok.n_prologue:
                pidx.append(enc.prologue.index.cpu())
        if idx:
            res.update(_marginal_stats(torch.cat(idx), cfg.codebook_size))
        if sur:
            res["wgf_surrogate"] = sum(sur) / len(code_images)
            res["proxy_ce_eval"] = sum(pce) / len(code_images)
        if pidx:
            res.update(_marginal_stats(torch.cat(pidx), cfg.prologue_codebook_size, "prologue_"))
    model.train(was)
    return res


# ------------------------------------------------------------------------------------------------- training

def load_data(cfg: configs.Config, split: str):
    return data.load(cfg.dataset, split, root=cfg.data_root or None, image_size=cfg.image_size)


def _held_out(ds, n: int) -> torch.Tensor:
    n = min(n, len(ds))
    if hasattr(ds, "tensors"):
        return ds.tensors(n)[0]
    return torch.stack([ds[i][0] for i in range(n)])


def train(ctx: RunContext) -> dict:
    cfg, d, out = ctx.cfg, ctx.dist, ctx.dir
    dev = d.device
    train_ds, test_ds = load_data(cfg, "train"), load_data(cfg, "test")
    torch.manual_seed(cfg.seed)
    model = Stage1Model(cfg, data.channels(cfg.dataset)).to(dev)
    opt = adamw(model.parameters(), cfg.lr, (cfg.beta1, cfg.beta2), cfg.weight_decay)
    if d.master:
        counts = model.tokenizer.param_counts()
        extra = {k: sum(p.numel() for p in m.parameters()) for k, m in
                 (("proxy", model.proxy), ("target", model.target), ("joint_ar", model.joint_ar)) if m is not None}
        print(f"stage1 {cfg.name}/{cfg.tier}: " + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in {**counts, **extra}.items()))
    start = ctx.restore(model, opt, "stage1")
    distributed.barrier(d)
    net = distributed.wrap(model, d)
    batches = Batches(train_ds, cfg.batch_size, cfg.seed, d.rank, d.world)
    held, code_held = (_held_out(test_ds, cfg.eval_images), _held_out(test_ds, cfg.code_eval_images)) if d.master else (None, None)
    acc, n_acc = defaultdict(float), 0
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc=f"stage1 {cfg.name}",
               disable=not d.master, mininterval=2.0, dynamic_ncols=True)
    for step, (x, _) in zip(bar, iterate(batches, start, cfg.steps, dev, cfg.num_workers)):
        lr = lr_at(step, cfg.steps, cfg.lr, cfg.lr_min, cfg.warmup_steps, cfg.lr_schedule)
        set_lr(opt, lr)
        rnd = {k: v.to(dev) for k, v in step_randomness(cfg, model.tokenizer, cfg.batch_size, step, d.rank, d.world).items()}
        losses = net(x, rnd)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        for k, v in losses.items():
            acc[k] = acc[k] + v.detach()  # summed as tensors: no device sync per step
        n_acc += 1
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            row = ctx.reduce_mean({k: float(v) / n_acc for k, v in acc.items()})
            ctx.log({"kind": "train", "step": done, "lr": lr, **row})
            bar.set_postfix(loss=f"{row['loss']:.4f}", refresh=False)
            acc, n_acc = defaultdict(float), 0
        if done % cfg.eval_every == 0 or done == cfg.steps:
            if d.master:
                ctx.log({"kind": "eval", "step": done, **evaluate(model, held, code_held, cfg, dev)})
                if cfg.snapshots:
                    _save_tokenizer(out / SNAPSHOTS / f"tokenizer_{done}.pt", model.tokenizer, cfg)
            distributed.barrier(d)
        if done % cfg.ckpt_every == 0 or done == cfg.steps:
            ctx.save_checkpoint(model, opt, done)
    bar.close()
    if d.master:
        _save_tokenizer(out / TOKENIZER_FILE, model.tokenizer, cfg)
    distributed.barrier(d)
    rows = read_jsonl(out / "metrics.jsonl")
    final = next((r for r in reversed(rows) if r.get("kind") == "eval"), {})
    last_train = next((r for r in reversed(rows) if r.get("kind") == "train"), {})
    del net, model, opt
    return {**{f"train_{k}": v for k, v in last_train.items() if k not in ("kind", "step")},
            **{k: v for k, v in final.items() if k != "kind"}}


# ------------------------------------------------------------------------------------------------- helpers for notebooks

def _save_tokenizer(path: Path, tok: Tokenizer, cfg: configs.Config) -> None:
    atomic_torch_save(path, {"config": cfg.to_dict(), "channels": tok.channels, "state": tok.state_dict()})


def snapshot_steps(run_dir: str | Path) -> list[int]:
    """Stage-1 steps with a saved tokenizer snapshot (every evaluation step), ascending."""
    folder = Path(run_dir) / SNAPSHOTS
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("tokenizer_*.pt")) if folder.exists() else []


def load_tokenizer(run_dir: str | Path, device="cpu", step: int | None = None) -> Tokenizer:
    """The trained tokenizer of a stage-1 run directory (eval mode), from tokenizer.pt (or the last checkpoint of an
    unfinished run); ``step``: the snapshot saved at that evaluation step instead (``snapshot_steps``)."""
    run_dir = Path(run_dir)
    path = run_dir / TOKENIZER_FILE
    if step:
        path = run_dir / SNAPSHOTS / f"tokenizer_{step}.pt"
        if not path.exists():
            raise FileNotFoundError(f"no tokenizer snapshot at step {step} in {run_dir}; saved steps: "
                                    f"{snapshot_steps(run_dir) or 'none'}")
    if path.exists():
        state = checkpoint.load_plain(path)
        cfg = configs.from_dict(state["config"])
        tok = build_tokenizer(cfg, state["channels"])
        tok.load_state_dict(state["state"])
    elif (run_dir / checkpoint.CKPT_NAME).exists():
        state = checkpoint.load(run_dir / checkpoint.CKPT_NAME)
        cfg = configs.from_dict(state["config"])
        tok = build_tokenizer(cfg, data.channels(cfg.dataset))
        tok.load_state_dict({k[len("tokenizer."):]: v for k, v in state["model"].items() if k.startswith("tokenizer.")})
    else:
        raise FileNotFoundError(f"no tokenizer in {run_dir} (neither {TOKENIZER_FILE} nor {checkpoint.CKPT_NAME}); "
                                f"train one with: python -m tvclab.train stage1 --config NAME --tier TIER --out {run_dir}")
    return tok.to(device).eval()


def run_config(run_dir: str | Path) -> configs.Config:
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} is not a tvclab run directory")
    return configs.from_dict(json.loads(path.read_text()))


@torch.no_grad()
def encode_dataset(run_dir: str | Path, split: str = "train", device="cpu", batch: int = 500,
                   step: int | None = None) -> dict:
    """Token ids of every image of ``split`` under the run's tokenizer (or its snapshot at ``step``):
    {"tokens" [N, n], "labels" [N], optionally "prologue" [N, n_prologue]}; cached in the run directory as
    tokens_<split>.pt (tokens_<split>_step<step>.pt)."""
    run_dir = Path(run_dir)
    cache = run_dir / (f"tokens_{split}.pt" if not step else f"tokens_{split}_step{step}.pt")
    if cache.exists():
        return checkpoint.load_plain(cache)
    cfg = run_config(run_dir)
    tok = load_tokenizer(run_dir, device, step)
    if not tok.discrete:
        raise ValueError(f"{run_dir} has a continuous tokenizer (quantizer='none'): there are no token ids to encode")
    ds = load_data(cfg, split)
    toks, pros, labels = [], [], []
    images_all = ds.tensors() if hasattr(ds, "tensors") else None
    for i in tqdm(range(0, len(ds), batch), desc=f"encode {split}", mininterval=2.0, dynamic_ncols=True):
        if images_all is not None:
            x, y = images_all[0][i : i + batch], images_all[1][i : i + batch]
        else:
            items = [ds[j] for j in range(i, min(i + batch, len(ds)))]
            x, y = torch.stack([a for a, _ in items]), torch.tensor([b for _, b in items])
        enc = tok.encode(x.to(device))
        toks.append(enc.visual.index.cpu())
        labels.append(y.long())
        if enc.prologue is not None:
            pros.append(enc.prologue.index.cpu())
    out = {"tokens": torch.cat(toks), "labels": torch.cat(labels)}
    if pros:
        out["prologue"] = torch.cat(pros)
    atomic_torch_save(cache, out)
    return out


@torch.no_grad()
def reconstruct(run_dir: str | Path, images: torch.Tensor, steps: int | None = None, seed: int = 0,
                device="cpu", batch: int = 256, step: int | None = None) -> torch.Tensor:
    """Reconstructions in [-1, 1] of ``images`` [B, C, H, W] by the run's tokenizer (or its snapshot at stage-1
    ``step``); flow-matching decoders take ``steps`` Euler steps (default the config's ``fm_steps``), noise seeded
    by ``seed``."""
    cfg = run_config(run_dir)
    tok = load_tokenizer(run_dir, device, step)
    outs = []
    for i in range(0, len(images), batch):
        outs.append(tok.reconstruct(images[i : i + batch].to(device), steps=steps or cfg.fm_steps,
                                    generator=generator(seed, 7, i)).cpu())
    return torch.cat(outs)
