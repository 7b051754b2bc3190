"""Draw images from a trained stage-2 AR prior and its stage-1 tokenizer (for FID-type metrics and sample grids).

Sequences are drawn in chunks; chunk i uses a generator seeded by (seed, i), so the samples do not depend on the
chunk-to-process assignment under torchrun (rank r draws chunks r, r + N, ...; rank 0 gathers and writes).

The ``sample`` stage writes ``samples_<n>.pt`` (images, tokens, labels, seed), ``samples_<n>.png`` (the images as a
grid of ``GRID_COLUMNS`` columns, ``grid``) and the marker ``samples_<n>.json`` into the stage-2 directory, each
atomically (``tvclab.io``), rank 0 only.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch
from tqdm import tqdm

from tvclab.io import atomic_torch_save, atomic_write_bytes, atomic_write_json
from tvclab import timing
from tvclab.models import FlowARPrior, TokenLayout

from . import distributed
from . import artifacts
from tvclab.streams import generator
from .runlog import RunContext
from .stage1 import load_tokenizer
from .stage2 import load_prior


GRID_COLUMNS = 8  # images per row of samples_<n>.png


def grid_path(d, n: int) -> Path:
    """``samples_<n>.png`` beside ``samples_<n>.pt`` (``artifacts.samples``): the sample grid of a stage-2 directory."""
    return artifacts.samples(d, n).with_suffix(".png")


def grid(images: torch.Tensor, path: str | Path, columns: int = GRID_COLUMNS) -> Path:
    """Write ``images`` [n, C, H, W] in [-1, 1] as one PNG grid of ``columns`` columns (torchvision's ``make_grid``:
    2-pixel padding, grayscale as RGB) to ``path``, atomically (rendered in memory, then ``atomic_write_bytes``)."""
    from torchvision.utils import save_image

    buf = io.BytesIO()
    save_image(((images.float() + 1) / 2).clamp(0, 1), buf, nrow=columns, format="png")
    return atomic_write_bytes(path, buf.getvalue())


def _stage2_dir(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if artifacts.prior(run_dir).exists():
        return run_dir
    if artifacts.prior(run_dir / "stage2").exists():
        return run_dir / "stage2"
    raise FileNotFoundError(f"no trained AR prior in {run_dir} or {run_dir / 'stage2'}; train it with: "
                            f"python -m tvclab.train stage2 --config NAME --tier TIER --out {run_dir}")


@torch.no_grad()
@timing.timed("sampling")
def sample(run_dir: str | Path, n: int, seed: int = 0, labels: torch.Tensor | None = None,
           temperature: float | None = None, top_k: int | None = None, cfg_scale: float | None = None,
           batch: int | None = None, device="cpu", chunks: list[int] | None = None, progress: bool = True,
           step: int | None = None, prefix: torch.Tensor | None = None) -> dict:
    """``n`` images in [-1, 1] from the AR prior of ``run_dir`` (a stage-1 run directory or its stage-2 directory).

    Returns {"images" [n, C, H, W] float32, "tokens" [n, L], "labels" [n] or None}. Class-conditional priors get
    ``labels`` (default: 0, 1, ..., K-1, 0, 1, ... balanced). Unset options come from the run's config
    (``sample.temperature``, ``sample.top_k``, ``sample.cfg``, ``sample.batch``). ``chunks``: only these chunk
    indices (torchrun sharding); the default draws all. ``step``: the AR snapshot saved at that post-training step.
    ``temperature`` and ``cfg_scale`` may give one value per segment (prologue, visual: paper P Tab. A5).
    ``prefix`` [n, m]: the first m ids of every sequence, held fixed (in the AR's vocabulary; e.g. the prologue ids
    of real images, paper P Fig. 1: prologue fixed, visual tokens resampled).

    A continuous tokenizer's prior (``FlowARPrior``, paper F App. C.4) draws latents with
    ``stage2.flow_head.sample_steps`` Euler steps per token (``temperature``: the std of its noise; no ``top_k``
    or ``prefix``); "tokens" then holds the latents [n, L, d] (float).
    """
    s2 = _stage2_dir(Path(run_dir))
    ar, cfg = load_prior(s2, device, step)
    tok = load_tokenizer(s2.parent, device, cfg.stage2.tokenizer_step or None)  # the tokenizer stage 2 read
    sc = cfg.sample
    temperature = sc.temperature if temperature is None else temperature
    top_k = sc.top_k if top_k is None else top_k
    cfg_scale = sc.cfg if cfg_scale is None else cfg_scale
    batch = batch or sc.batch
    flow = isinstance(ar, FlowARPrior)
    if flow and (top_k or prefix is not None):
        raise ValueError("a continuous-token prior (FlowARPrior, quantizer.kind='none') has no top_k and no prefix; "
                         "sample it with top_k=0 and prefix=None")
    if prefix is not None and (prefix.dim() != 2 or len(prefix) < n or prefix.shape[1] > ar.n_tokens):
        raise ValueError(f"prefix must be [n >= {n}, m <= {ar.n_tokens}] ids, got {tuple(prefix.shape)}")
    if ar.num_classes and labels is None:
        labels = torch.arange(n) % ar.num_classes
    n_chunks = (n + batch - 1) // batch
    todo = range(n_chunks) if chunks is None else chunks
    imgs, toks = {}, {}
    for c in tqdm(todo, desc="sample", disable=not progress, mininterval=2.0, dynamic_ncols=True):
        lo, hi = c * batch, min(n, (c + 1) * batch)
        y = labels[lo:hi].to(device) if labels is not None else None
        if flow:  # paper F App. C.4: latents token by token, each by Euler steps of the flow head
            seq = ar.sample(hi - lo, labels=y, cfg_scale=cfg_scale, steps=cfg.stage2.flow_head.sample_steps,
                            generator=generator(seed, "sample_tokens", c), temperature=temperature)
            z = seq
        else:
            seq = ar.sample(hi - lo, labels=y, temperature=temperature, top_k=top_k, cfg_scale=cfg_scale,
                            generator=generator(seed, "sample_tokens", c),
                            prefix=None if prefix is None else prefix[lo:hi])
            layout = TokenLayout.for_config(cfg, tok.n_tokens)  # the visual ids: the last segment, offset
            visual = seq[:, layout.length - tok.n_tokens :] - layout.offset(layout.visual)
            z = tok.indices_to_z(visual)
        imgs[c] = tok.decode(z, steps=cfg.decoder.fm_steps, generator=generator(seed, "sample_decode", c)).cpu()
        toks[c] = seq.cpu()
    order = sorted(imgs)
    return {"images": torch.cat([imgs[c] for c in order]) if order else torch.empty(0),
            "tokens": torch.cat([toks[c] for c in order]) if order else
            torch.empty(0, dtype=torch.float32 if flow else torch.long),
            "labels": None if labels is None else labels[: n].clone(), "chunks": order}


def run_stage(ctx: RunContext) -> dict:
    """The ``sample`` stage: ``sample.n`` images into the stage-2 directory (``artifacts.samples`` and their grid,
    ``grid_path``; rank 0 gathers, writes and prints where they went)."""
    cfg, d = ctx.cfg, ctx.dist
    n, batch = cfg.sample.n, cfg.sample.batch
    n_chunks = (n + batch - 1) // batch
    mine = list(range(d.rank, n_chunks, d.world))
    part = sample(ctx.dir, n, seed=cfg.sample.seed, batch=batch, device=d.device, chunks=mine, progress=d.master)
    parts = distributed.all_gather_objects(part, d)
    if d.master:
        imgs, toks = {}, {}
        for p in parts:
            off = 0
            for c in p["chunks"]:
                size = min(n, (c + 1) * batch) - c * batch
                imgs[c], toks[c] = p["images"][off : off + size], p["tokens"][off : off + size]
                off += size
        order = sorted(imgs)
        out = {"images": torch.cat([imgs[c] for c in order]), "tokens": torch.cat([toks[c] for c in order]),
               "labels": part["labels"], "seed": cfg.sample.seed}
        pt, png = artifacts.samples(ctx.dir, n), grid_path(ctx.dir, n)
        atomic_torch_save(pt, out)
        grid(out["images"], png)
        atomic_write_json(artifacts.samples_marker(ctx.dir, n), {"n": n, "config": cfg.group("sample")})
        print(f"sample: {n} samples in {pt}, their grid ({GRID_COLUMNS} columns) in {png}")
    distributed.barrier(d)
    return {"n": n, "file": str(artifacts.samples(ctx.dir, n)), "grid": str(grid_path(ctx.dir, n))}
