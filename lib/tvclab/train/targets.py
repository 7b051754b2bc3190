"""Paper F's target features, read from data and finished runs (§5.2), and the flow prior trained on them
(``tvclab.flowprior``) before an aligned stage-1 run builds its model.

Targets (``align.target``, F §5.2's four kinds, at suite scale): ``low_level``: the token latents of the finished
``ae_kl`` run; ``semantic``: penultimate features of the tier's FD-clf classifier trained with seed 1;
``discrete``: the code vectors of ``baseline_1d``, drawn with the frequencies of use; ``textual``: needs an
embedding table that loads offline, none is installed (``TargetUnavailable``). See ``tvclab.flowprior``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from tvclab import configs, streams
from tvclab.flowprior import (HELD_OUT, FlowPrior, TargetUnavailable, load_flow_prior, prior_dir, source_config,
                              train_flow_prior)
from tvclab.locks import dir_lock
from tvclab.objectives import enabled_objectives, provide

from . import artifacts
from .stages import StageMissingError, command, default_run_dir
from . import stage1
from .runlog import RunContext
from .stage1 import encode_dataset, first_images, load_data, load_tokenizer


def train_stage1(ctx: RunContext) -> dict:
    """Stage 1 as the runner runs it: each enabled objective's ``prepare`` hook first (every process; paper F's
    alignment trains its flow prior there: one process trains it, the others wait and read it), then
    ``stage1.train``."""
    for obj in enabled_objectives(ctx.cfg):
        obj.prepare(ctx)
    return stage1.train(ctx)


@provide("flow_prior")
def ensure_flow_prior(cfg: configs.Config, device="cpu", progress: bool = True) -> FlowPrior:
    """The flow prior of ``cfg.align``, trained first when its run directory has none (one writer at a time:
    another process asking for it waits, then reads it)."""
    path = prior_dir(cfg) / "flow.pt"
    if not path.exists():
        with dir_lock(path.parent, what="flow prior"):
            if not path.exists():
                train_flow_prior(cfg, raw_features(cfg, "train", cfg.align.flow.target_samples),
                                 raw_features(cfg, "val", HELD_OUT), progress=progress)
    return load_flow_prior(cfg, device)


def _source_dir(cfg: configs.Config) -> Path:
    src = source_config(cfg)
    d = default_run_dir(src)
    if not artifacts.is_done(d):
        raise StageMissingError(f"the {cfg.align.target} target of paper F is read from the finished {src.name} run "
                                f"at {d}, which is not there; train it first: {command('stage1', src, d)}")
    return d


def semantic_classifier(cfg: configs.Config):
    """The semantic target's feature extractor: the tier's FD-clf classifier (``classifier.tier_classifier``)
    trained with seed 1 instead of 0, so the alignment target is not the metric's own feature space."""
    import dataclasses

    from tvclab.classifier import load_classifier, tier_classifier

    return load_classifier(cfg.data.dataset, config=dataclasses.replace(tier_classifier(cfg.tier, cfg.data.dataset),
                                                                        seed=1))


def raw_features(cfg: configs.Config, split: str, n: int) -> torch.Tensor:
    """``n`` target feature vectors [n, D] of ``split`` (rows drawn by the "align_target" stream)."""
    target = cfg.align.target
    g = streams.generator(0, "align_target", ("train", "val").index(split) if split in ("train", "val") else 2)
    if target == "textual":
        raise TargetUnavailable(
            "paper F's textual target needs an embedding table that loads offline (F: Qwen's 896-dim input "
            "embeddings); none of the suite's installed dependencies ships one, and nothing is downloaded at run "
            "time. Use align.target=semantic, low_level or discrete.")
    if target == "semantic":
        clf = semantic_classifier(cfg)
        ds = load_data(cfg, split)
        images = first_images(ds, len(ds))
        idx = torch.randperm(len(images), generator=g)[:n] if n < len(images) else torch.arange(len(images))
        with torch.no_grad():
            return torch.cat([clf.features(images[idx[i : i + 1000]]) for i in range(0, len(idx), 1000)])
    run = _source_dir(cfg)
    total = len(load_data(cfg, split))
    images = torch.randperm(total, generator=g)[: min(total, n)]  # enough images for n token draws
    enc = encode_dataset(run, split, only=images)
    if target == "low_level":
        latents = enc["latents"][enc["encoded"]].flatten(0, 1)
        return latents[torch.randint(len(latents), (n,), generator=g)]
    with torch.no_grad():
        codes = load_tokenizer(run).quantizer.codes().detach()  # the (L2-normalised) code vectors [K, code_dim]
    ids = enc["tokens"][enc["encoded"]].flatten()
    return codes[ids[torch.randint(len(ids), (n,), generator=g)]]  # drawn with the frequencies of use
