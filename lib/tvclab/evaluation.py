"""Evaluating finished runs: rFID / gFID (or their FD-clf substitute), gLoss, code statistics.

The numbers of paper W Tables 1 and 3 (and of later notebooks' tables) for one run directory. Each Fréchet number
is returned with the metric it is (``fid`` or ``fd_clf``), its reference set and its N (SPEC "FID conventions").
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import data
from .io import read_jsonl


def reference_images(dataset: str, split: str, n: int, image_size: int | None = None, root=None) -> torch.Tensor:
    """The first ``n`` images of ``split`` as a [n, C, H, W] tensor in [-1, 1] (a fixed evaluation set)."""
    ds = data.load(dataset, split, root=root, image_size=image_size)
    if n > len(ds):
        raise ValueError(f"asked for {n} {split} images of {dataset}, which has {len(ds)}")
    return torch.stack([ds[i][0] for i in range(n)])


def frechet(real: torch.Tensor, fake: torch.Tensor, dataset: str, classifier_config=None) -> dict:
    """The Fréchet distance of ``fake`` against ``real`` at N = len(real): ``{"value", "metric", "n", "features"}``.

    Inception FID when torch-fidelity's weights are cached, else FD-clf (labelled so; tvclab.metrics) in the
    features of the classifier ``classifier_config`` describes (default: the data set's standard one)."""
    from .metrics import fid

    out = fid(real, fake, dataset, n=len(real), classifier_config=classifier_config)
    return {"value": float(out[out["metric"]]), "metric": out["metric"], "n": int(out["n_real"]),
            "features": out["features"]}


def rfid(run_dir: str | Path, real: torch.Tensor, dataset: str, step: int | None = None, seed: int = 0,
         classifier_config=None) -> dict:
    """Reconstruction Fréchet distance: reconstructions of ``real`` against ``real`` itself (same images)."""
    from .train import reconstruct

    recon = reconstruct(run_dir, real, seed=seed, step=step)
    out = frechet(real, recon, dataset, classifier_config)
    out["psnr"] = float(_psnr(real, recon))
    return out


def gfid(stage2_dir: str | Path, real: torch.Tensor, dataset: str, seed: int = 0,
         classifier_config=None) -> tuple[dict, torch.Tensor]:
    """Generation Fréchet distance of len(real) AR samples (fixed ``seed``) against ``real``; returns (metrics, samples)."""
    from .train import sample

    images = sample(stage2_dir, len(real), seed=seed, progress=False)["images"]
    return frechet(real, images, dataset, classifier_config), images


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    from .metrics import psnr

    return float(psnr(a, b))


def metrics_rows(run_dir: str | Path, kind: str | None = None) -> list[dict]:
    """Rows of a run's ``metrics.jsonl`` (optionally only those with ``kind``, e.g. "eval")."""
    rows = read_jsonl(Path(run_dir) / "metrics.jsonl")
    return [r for r in rows if kind is None or r.get("kind") == kind]


def final_eval(run_dir: str | Path) -> dict:
    """The last evaluation row of a run."""
    rows = metrics_rows(run_dir, "eval")
    if not rows:
        raise ValueError(f"{run_dir} has no evaluation rows in metrics.jsonl; is the run finished?")
    return rows[-1]
