"""Where things live, every root in one place: the repository, notebooks, committed figures, shared training run
directories, the cache of what is trained once (the FD-clf classifier), the data search folder and download root."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
FIGURES = REPO_ROOT / "figures"


def explicit_dir(var: str, default: Path) -> Path:
    """``$var`` as a folder the suite writes into, or ``default`` when unset.

    A path the user set is obeyed, never replaced by the default: it must be a folder or a new folder in an
    existing one (so a typo such as ``/nonexistent/dir`` is an error naming it, not a tree created somewhere).
    """
    value = os.environ.get(var)
    if not value:
        return default
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"${var}={value} is not a folder; point {var} at a folder, or unset it to use "
                                 f"the default {default}")
    if not path.exists() and not path.parent.is_dir():
        raise FileNotFoundError(f"${var}={value} does not exist, nor does its parent folder {path.parent}; create "
                                f"it (mkdir -p {path}) or correct {var}, or unset it to use the default {default}")
    return path


def runs_root() -> Path:
    """Root of training run directories, shared between notebooks so none retrains another's model.

    ``$TVCLAB_RUNS`` when set (``python -m tvclab.figures --runs-root`` sets it; tests point it at a
    temporary folder; checked by ``explicit_dir``), else ``runs/`` in the repository (git-ignored).
    """
    return explicit_dir("TVCLAB_RUNS", REPO_ROOT / "runs")


def run_dir(tier: str, name: str) -> Path:
    """``<runs_root>/<tier>/<name>``: one run directory per (tier, config) pair."""
    return runs_root() / tier / name


def cache_root() -> Path:
    """Where the suite caches what it trains once for every run (the FD-clf classifier): ``$TVCLAB_CACHE`` or
    ``~/.cache/tvclab`` (an explicit ``$TVCLAB_CACHE`` is checked by ``explicit_dir``)."""
    return explicit_dir("TVCLAB_CACHE", Path.home() / ".cache" / "tvclab")


def data_env_root() -> Path | None:
    """``$TVCLAB_DATA``: the data folder when no explicit ``root`` is given; then the only one read
    (``tvclab.data``: explicit paths are obeyed, only the defaults search)."""
    return Path(os.environ["TVCLAB_DATA"]).expanduser() if os.environ.get("TVCLAB_DATA") else None


def download_root() -> Path:
    """Where torchvision's downloader writes when a network is available: ``$TVCLAB_DOWNLOAD_ROOT`` or
    ``~/.cache/tvclab/data``."""
    return Path(os.environ.get("TVCLAB_DOWNLOAD_ROOT", Path.home() / ".cache" / "tvclab" / "data"))
