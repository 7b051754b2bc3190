"""Checkpoints written atomically (write, fsync, rename via ``tvclab.io``) and read back with a clear error when a
file is truncated or corrupt."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from tvclab.io import atomic_torch_save



class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read; the message names the file and the fix."""


def save(path: str | Path, state: dict) -> Path:
    return atomic_torch_save(path, state)


def load_plain(path: str | Path, map_location="cpu"):
    """torch.load of a file this package wrote (tokenizer.pt, prior.pt, tokens_*.pt), with the same clear error."""
    return load(path, map_location, require_model=False)


def load(path: str | Path, map_location="cpu", require_model: bool = True) -> dict:
    """A training checkpoint; a truncated or corrupt file raises CheckpointError naming the file and the fix."""
    path = Path(path)
    try:
        data = path.read_bytes()
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as e:  # torch.load raises many kinds on a torn file; all mean the same thing here
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupt ({type(e).__name__}: {e}). Delete it to start that stage "
            f"over, or rerun without --resume into a fresh --out directory.") from None
    if require_model and (not isinstance(state, dict) or "model" not in state):
        raise CheckpointError(f"checkpoint {path} does not hold a tvclab training state (no 'model' entry). "
                              "Delete it, or rerun without --resume into a fresh --out directory.")
    return state
