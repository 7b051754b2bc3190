"""What a running stage sees: its config, process group, directory, and the metrics log (rank 0 writes)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as tdist

from tvclab import configs
from tvclab.io import append_jsonl, atomic_write_text, read_jsonl

from . import artifacts
from .distributed import Dist


@dataclass
class RunContext:
    cfg: configs.Config
    dist: Dist
    dir: Path            # this stage's directory
    root: Path           # the stage-1 run directory (same as ``dir`` for stage 1)
    resume: bool = False

    def log(self, record: dict) -> None:
        """Append one row to metrics.jsonl (rank 0 only; fsynced)."""
        if self.dist.master:
            append_jsonl(artifacts.metrics(self.dir), record)

    def rows(self, kind: str | None = None) -> list[dict]:
        return [r for r in read_jsonl(artifacts.metrics(self.dir)) if kind is None or r.get("kind") == kind]

    def barrier(self) -> None:
        from . import distributed

        distributed.barrier(self.dist)

    def restore(self, model: torch.nn.Module, opt: torch.optim.Optimizer, stage: str) -> int:
        """Resume from this stage's checkpoint when ``resume`` is set and one exists: load model, optimizer and RNG
        state, trim metrics.jsonl to the checkpoint's step, return that step. Otherwise start a fresh log, return 0."""
        from . import checkpoint

        path = artifacts.checkpoint(self.dir)
        if self.resume and path.exists():
            state = checkpoint.load(path, map_location=self.dist.device)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["torch_rng"])
            if self.dist.master:
                truncate_metrics(self.dir, state["step"])
                print(f"{stage}: resumed {self.dir} at step {state['step']}")
            return state["step"]
        if self.dist.master:
            truncate_metrics(self.dir, -1)
        return 0

    def save_checkpoint(self, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int) -> None:
        """Write this stage's checkpoint atomically (rank 0), the state ``restore`` reads back; then sync ranks."""
        from . import checkpoint

        if self.dist.master:
            checkpoint.save(artifacts.checkpoint(self.dir),
                            {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                             "torch_rng": torch.get_rng_state(), "config": self.cfg.to_dict()})
        self.barrier()

    def record_timing(self, steps: int, seconds: float) -> None:
        """Seconds per training step of this stage (rank 0), kept out of the metrics log (``artifacts.timing``)."""
        from tvclab.io import atomic_write_json

        if self.dist.master:
            atomic_write_json(artifacts.timing(self.dir), {"timed_steps": steps, "train_seconds": seconds,
                                                           "seconds_per_step": seconds / steps})

    def reduce_mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average per-rank scalars over the process group (rank-local means of equal-size shards -> global mean)."""
        if not self.dist.distributed or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.dist.device)
        tdist.all_reduce(t)
        return {k: float(v) / self.dist.world for k, v in zip(keys, t.tolist())}


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Keep only the metrics rows up to ``step`` (the resumed checkpoint; -1: none), rewritten atomically, so a
    resumed run's log matches an uninterrupted one."""
    path = artifacts.metrics(run_dir)
    if not path.exists():
        return
    rows = [r for r in read_jsonl(path) if r.get("step", 0) <= step]
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
