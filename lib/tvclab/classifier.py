"""The suite's own image classifier, whose penultimate features stand in for Inception's when its weights are absent.

A Fréchet distance in a small classifier's features is the field's answer for MNIST-like data ("Fréchet LeNet
distance"); the suite reports it as ``fd_clf`` (FD-clf), never as FID (README, "Metrics without network").

Train it once (a few minutes on 2 CPU cores for Fashion-MNIST)::

    python -m tvclab.classifier train --dataset fashion_mnist

The checkpoint goes to ``<cache>/classifier/<dataset>-<confighash>.pt`` where ``<cache>`` is ``$TVCLAB_CACHE`` or
``~/.cache/tvclab``; the hash covers every ``ClassifierConfig`` field and the architecture version, so a changed
config never reuses a stale file. ``load_classifier`` trains it (with a printed notice) when it is missing. Training
holds the cache entry's lock (``tvclab.locks``, ``<cache>/classifier/.<dataset>-<confighash>.lock``): a second
process that needs the same classifier waits for the first and then loads its file instead of training it again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data, memo, paths
from .configs import COUNT, RATE, WEIGHT, ANY_INT, ConfigError, check_ranges
from .io import atomic_torch_save
from .locks import dir_lock

ARCH_VERSION = 2  # bump when DataClassifier or its training changes, so old checkpoints are not reused
# 2: trained by the suite's fit loop (warm-up 10% + cosine to 0, "classifier" random stream) on the training rest


@dataclass(frozen=True)
class ClassifierConfig:
    dataset: str = "fashion_mnist"
    width: int = 32  # channels of the first conv; then 2x, 4x
    feature_dim: int = 128  # penultimate features (the FD-clf feature space)
    steps: int = 1500  # ~3.2 epochs of Fashion-MNIST at batch 128
    batch_size: int = 128
    lr: float = 2e-3  # AdamW peak, 10% linear warm-up, cosine to 0
    weight_decay: float = 1e-4
    seed: int = 0

    def __post_init__(self):
        rules = {"width": COUNT, "feature_dim": COUNT, "steps": COUNT, "batch_size": COUNT, "lr": RATE,
                 "weight_decay": WEIGHT, "seed": ANY_INT}
        bad = check_ranges(self, {ClassifierConfig: rules})
        if bad:
            raise ConfigError(f"classifier config: {'; '.join(bad)}")

    def hash(self) -> str:
        """10 hex digits over every field and ARCH_VERSION: the checkpoint's name."""
        blob = json.dumps({"arch": ARCH_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:10]


class DataClassifier(nn.Module):
    """Three conv blocks (28 -> 14 -> 7 -> global average) and a two-layer head.

    ``features(x)`` is the ``feature_dim`` penultimate activation (after ReLU), used by FD-clf / KD-clf.
    Inputs at another size than the data set's native one are brought to it: 32 px Fashion-MNIST is center-cropped
    to 28 (the exact inverse of ``data.load(..., image_size=32)``'s -1 padding), other sizes are resized bilinearly.
    """

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        c, w = data.channels(config.dataset), config.width
        self.native = data.native_size(config.dataset) or 64
        self.body = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.penultimate = nn.Sequential(nn.Linear(4 * w, config.feature_dim), nn.ReLU())
        self.head = nn.Linear(config.feature_dim, data.num_classes(config.dataset))

    def to_native(self, x: torch.Tensor) -> torch.Tensor:
        expected = self.body[0].in_channels
        if x.ndim != 4 or x.shape[1] != expected:
            raise ValueError(f"classifier for {self.config.dataset} expects [B,{expected},H,W] in [-1,1], got "
                             f"{tuple(x.shape)}; convert channels first (grayscale C=1, RGB C=3)")
        h, n = x.shape[-1], self.native
        if h == n:
            return x
        if h == n + 4 and n == 28:
            return x[..., 2:-2, 2:-2]
        return F.interpolate(x, size=(n, n), mode="bilinear", align_corners=False, antialias=h > n)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.penultimate(self.body(self.to_native(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def tier_classifier(tier: str, dataset: str = "fashion_mnist") -> ClassifierConfig:
    """The FD-clf classifier of a tier: at ``smoke`` a 30-step one stands in (its numbers mean nothing), else the
    data set's standard one."""
    from .tiers import get

    steps = get(tier).classifier_steps
    return ClassifierConfig(dataset=dataset, steps=steps) if steps else ClassifierConfig(dataset=dataset)


def checkpoint_path(config: ClassifierConfig) -> Path:
    return paths.cache_root() / "classifier" / f"{config.dataset}-{config.hash()}.pt"


def train_command(config: ClassifierConfig) -> str:
    """The shell command that trains ``config`` (non-default fields as flags)."""
    default = ClassifierConfig(dataset=config.dataset)
    flags = "".join(f" --{f.name.replace('_', '-')} {getattr(config, f.name)}" for f in fields(config)
                    if f.name != "dataset" and getattr(config, f.name) != getattr(default, f.name))
    return f"python -m tvclab.classifier train --dataset {config.dataset}{flags}"


@torch.no_grad()
def accuracy(model: DataClassifier, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = sum(int((model(images[i : i + batch]).argmax(1) == labels[i : i + batch]).sum())
                  for i in range(0, len(labels), batch))
    return correct / len(labels)


def optim_config(config: ClassifierConfig):
    """The classifier's training as the suite's ``OptimConfig`` (one loop, ``tvclab.fit``)."""
    from .configs import OptimConfig

    return OptimConfig(steps=config.steps, batch_size=config.batch_size, lr=config.lr, lr_min=0.0,
                       schedule="cosine", warmup_steps=max(1, config.steps // 10), optimizer="adamw", beta1=0.9,
                       beta2=0.999, weight_decay=config.weight_decay, log_every=50, eval_every=config.steps,
                       ckpt_every=config.steps)


def cache_lock(config: ClassifierConfig, wait: bool = True):
    """The writer lock of ``config``'s cache entry (one lock file per entry in the classifier folder)."""
    path = checkpoint_path(config)
    return dir_lock(path.parent, wait=wait, what="classifier cache", name=f".{path.stem}.lock")


def train_classifier(config: ClassifierConfig, root=None, progress: bool = True) -> DataClassifier:
    """Train ``config`` deterministically (seeded init and batch order), store it atomically, return it (eval mode).
    Holds the cache entry's lock while it trains and writes."""
    with cache_lock(config):
        return _train_classifier(config, root, progress)


def _train_classifier(config: ClassifierConfig, root, progress: bool) -> DataClassifier:
    from .fit import Batches, fit

    torch.manual_seed(config.seed)
    train = data.load(config.dataset, "train", root=root)
    test = data.load(config.dataset, "test", root=root)
    model = DataClassifier(config)
    batches = Batches(train, config.batch_size, config.seed)

    def step_fn(step: int) -> dict:
        x, y = batches.fetch(step, "cpu")
        return {"loss": F.cross_entropy(model(x), y)}

    t0 = time.perf_counter()
    fit(model, step_fn, optim_config(config), desc=f"classifier {config.dataset}", progress=progress)
    seconds = time.perf_counter() - t0
    test_x, test_y = test.tensors()
    acc = accuracy(model, test_x, test_y)
    model.test_accuracy, model.train_seconds, model.config_hash = acc, seconds, config.hash()
    path = checkpoint_path(config)
    atomic_torch_save(path, {"config": asdict(config), "arch_version": ARCH_VERSION, "hash": config.hash(),
                             "state_dict": model.state_dict(), "test_accuracy": acc, "n_test": len(test_y),
                             "train_seconds": seconds, "data_source": train.source})
    memo.table("classifier")[str(path)] = model
    print(f"tvclab.classifier: {config.dataset} test accuracy {acc:.4f} after {config.steps} steps "
          f"({seconds:.0f} s); saved {path}")
    return model


def load_classifier(dataset: str = "fashion_mnist", config: ClassifierConfig | None = None, root=None,
                    train_if_missing: bool = True, progress: bool = True) -> DataClassifier:
    """The cached classifier for ``config`` (default: ``ClassifierConfig(dataset=dataset)``), in eval mode.

    Missing: trained now with a printed notice (``train_if_missing``), else a FileNotFoundError naming the command.
    """
    config = config or ClassifierConfig(dataset=dataset)
    path = checkpoint_path(config)
    loaded = memo.table("classifier")
    if str(path) in loaded:
        return loaded[str(path)]
    if not path.exists():
        if not train_if_missing:
            raise FileNotFoundError(f"no classifier checkpoint at {path}; train it with `{train_command(config)}`")
        with cache_lock(config):  # another process may be training it: wait, then read its file
            if not path.exists():
                print(f"tvclab.classifier: no cached classifier for {config.dataset} at {path}; training it now "
                      f"(once; same as `{train_command(config)}`)")
                return train_classifier(config, root=root, progress=progress).eval()
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = DataClassifier(config)
    model.load_state_dict(ckpt["state_dict"])
    model.test_accuracy, model.train_seconds = ckpt["test_accuracy"], ckpt["train_seconds"]
    model.config_hash = ckpt["hash"]
    model.eval().requires_grad_(False)
    loaded[str(path)] = model
    return model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.classifier",
                                description="Train the suite's classifier (features for FD-clf / KD-clf).")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train and cache the classifier for one data set")
    for f in fields(ClassifierConfig):
        kw = {"choices": [d for d in data.DATASETS if d != "imagenet"]} if f.name == "dataset" else {}
        t.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default, **kw)
    t.add_argument("--root", default=None, help="data folder (default: $TVCLAB_DATA, then the standard places)")
    t.add_argument("--force", action="store_true", help="retrain even if the checkpoint exists")
    t.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        config = ClassifierConfig(**{f.name: getattr(args, f.name) for f in fields(ClassifierConfig)})
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    path = checkpoint_path(config)
    if path.exists() and not args.force:
        model = load_classifier(config=config)
        print(f"tvclab.classifier: {path} exists (test accuracy {model.test_accuracy:.4f}); --force retrains")
        return 0
    train_classifier(config, root=args.root, progress=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
