"""Where things live: the repository, notebooks, committed figures, and shared training run directories."""
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
