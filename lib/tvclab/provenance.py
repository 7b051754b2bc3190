"""Provenance for every results.json (docs/protocol.md): what produced these numbers.

``collect(tier=..., seeds=..., n=..., lpips_in_loss=..., wall_time_s=...)`` returns the git commit (and whether the
tree had uncommitted changes outside ``figures/``, which the batch itself rewrites), the CPU and thread count, the
versions of the packages the numbers depend on, the tier, the seeds, the N of
every metric, whether LPIPS was in the training loss, the wall time and the validation split. It never raises for
a missing git or a missing package: those read "unknown" / None. ``report.save_results(..., provenance=...)``
stores it under "provenance".
"""
from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

from . import timing
from .paths import REPO_ROOT

UNKNOWN = "unknown"
# distributions whose versions every results.json records (importlib.metadata names)
PACKAGES = ("torch", "torchvision", "tvclab", "numpy", "torch-fidelity", "lpips")
FAISS_DISTRIBUTIONS = ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12", "faiss-gpu-cu11", "faiss")
# the batch's own outputs: rewriting them while it runs does not make the code behind the numbers "dirty"
OUTPUTS = ("figures",)
_RESERVED = ("git_commit", "git_dirty", "versions", "platform", "cpu", "tier", "seeds", "n", "lpips_in_loss",
             "wall_time_s", "time_s", "validation_split")


def _git(*args: str, cwd: Path) -> str | None:
    """stdout of ``git <args>`` in ``cwd``, or None when git is missing, fails or hangs."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def git_state(repo: str | Path = REPO_ROOT) -> tuple[str, bool | str]:
    """``(commit, dirty)``: the 40-hex HEAD commit and whether tracked files outside ``OUTPUTS`` differ from it;
    ``"unknown"`` for both outside a git checkout or without git."""
    repo = Path(repo)
    if not repo.is_dir():
        return UNKNOWN, UNKNOWN
    head = (_git("rev-parse", "--verify", "HEAD", cwd=repo) or "").strip()
    if len(head) != 40 or any(c not in "0123456789abcdef" for c in head):
        return UNKNOWN, UNKNOWN
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  *(f":(exclude){p}" for p in OUTPUTS), cwd=repo)
    return head, (UNKNOWN if status is None else bool(status.strip()))


def cpu() -> dict:
    """The processor (``/proc/cpuinfo``'s model name where there is one), its logical cores and torch's threads:
    CPU timings and the last bits of CPU results depend on them."""
    import os

    import torch

    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        pass
    return {"model": model or platform.processor() or UNKNOWN, "logical_cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads()}


def package_versions() -> dict[str, str | None]:
    """python and the installed versions (importlib.metadata) of ``PACKAGES`` and faiss; None when not installed."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        versions[name] = _version(name)
    faiss = {d: v for d in FAISS_DISTRIBUTIONS if (v := _version(d))}
    versions.update(faiss or {"faiss": None})
    return versions


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect(*, tier: str, seeds, n: Mapping, lpips_in_loss: bool | None, wall_time_s: float | None,
            validation: Mapping | str | None = None, **extra) -> dict:
    """The provenance record of one notebook run.

    tier: "smoke" | "cpu" | "paper"; seeds: the seed or seeds the numbers rest on; n: the N of every metric
    (e.g. ``{"fd_clf": 5000, "identities": 80}``); lpips_in_loss: whether any model behind these numbers trained
    with LPIPS (None: nothing trained with a reconstruction loss); wall_time_s: the notebook's wall time;
    validation: ``data.validation_split(...)`` (or a data set name, looked up) when the notebook used the
    validation split; extra: any further fields, stored as given.
    """
    if not isinstance(n, Mapping):
        raise ValueError(f"n must be a dict of metric name -> N (how many samples / tables / seeds), got {n!r}")
    if lpips_in_loss is not None and not isinstance(lpips_in_loss, bool):
        raise ValueError(f"lpips_in_loss must be True, False or None, got {lpips_in_loss!r}")
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"extra fields {clash} would overwrite collect()'s own; pass them as keyword arguments")
    if isinstance(validation, str):
        from .data import validation_split

        validation = validation_split(validation)
    commit, dirty = git_state()
    return {"git_commit": commit, "git_dirty": dirty, "versions": package_versions(),
            "platform": platform.platform(), "cpu": cpu(), "tier": tier, "seeds": _seed_list(seeds), "n": dict(n),
            "lpips_in_loss": lpips_in_loss, "wall_time_s": None if wall_time_s is None else float(wall_time_s),
            "time_s": None if wall_time_s is None else timing.breakdown(wall_time_s),
            "validation_split": None if validation is None else dict(validation), **extra}


def _seed_list(seeds) -> list[int]:
    if isinstance(seeds, (int,)) and not isinstance(seeds, bool):
        return [seeds]
    return [int(s) for s in seeds]
