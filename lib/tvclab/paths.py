"""Where things live, every root in one place: the repository, notebooks, committed figures, shared training run
directories, the cache of what is trained once (the FD-clf classifier), the data search folder and download root."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
FIGURES = REPO_ROOT / "figures"


def runs_root() -> Path:
    """Root of training run directories, shared between notebooks so none retrains another's model.

    ``$TVCLAB_RUNS`` when set (``python -m tvclab.figures --runs-root`` sets it; tests point it at a
    temporary folder), else ``runs/`` in the repository (git-ignored).
    """
    return Path(os.environ.get("TVCLAB_RUNS", REPO_ROOT / "runs"))


def run_dir(tier: str, name: str) -> Path:
    """``<runs_root>/<tier>/<name>``: one run directory per (tier, config) pair."""
    return runs_root() / tier / name


def cache_root() -> Path:
    """Where the suite caches what it trains once for every run (the FD-clf classifier): ``$TVCLAB_CACHE`` or
    ``~/.cache/tvclab``."""
    return Path(os.environ.get("TVCLAB_CACHE", Path.home() / ".cache" / "tvclab")).expanduser()


def data_env_root() -> Path | None:
    """``$TVCLAB_DATA``: a folder the data loaders search after an explicit ``root``."""
    return Path(os.environ["TVCLAB_DATA"]).expanduser() if os.environ.get("TVCLAB_DATA") else None


def download_root() -> Path:
    """Where torchvision's downloader writes when a network is available: ``$TVCLAB_DOWNLOAD_ROOT`` or
    ``~/.cache/tvclab/data``."""
    return Path(os.environ.get("TVCLAB_DOWNLOAD_ROOT", Path.home() / ".cache" / "tvclab" / "data"))
