"""Training entry points (``python -m tvclab.train STAGE ...``; the same under ``torchrun``) and their Python API.

- ``run(stage, config, tier, overrides, out, resume, wait) -> Path``: what the CLI calls; notebooks call it
  in-process. One writer per run directory (``LockedError`` with ``wait=False``); a non-finite loss, gradient or
  metric raises ``NonFiniteError`` and leaves the last good checkpoint; a fault of the machine (disk full,
  read-only, a name too long, too little memory, a missing device) raises ``RunFaultError``, Ctrl-C
  ``RunInterrupted`` (``faults``).
- ``STAGES`` / ``register_stage``: the stage registry (``stage1``, ``stage2``, ``sample``, ``posttrain``: paper V).
- ``fit``: the one training loop (``loop``); ``streams.generator``: named random streams; ``artifacts``: the
  files of a run directory.
- ``load_tokenizer(run_dir)``, ``encode_dataset(run_dir, split)``, ``reconstruct(run_dir, images)``: stage-1 runs.
- ``load_prior(stage2_dir)``, ``sample(run_dir, n, ...)``: stage-2 runs (and post-trained ones, ``posttrain``).
"""
from tvclab import streams

from . import artifacts
from .checkpoint import CheckpointError
from .faults import DeviceError, RunFaultError, RunInterrupted
from tvclab.fit import NonFiniteError, fit
from tvclab.locks import LockedError
from .runner import (STAGES, RunConflictError, Stage, StageMissingError, changed, command, default_run_dir,
                     posttrain_subdir, register_stage, run, stage_dir, stage2_subdir)
from .sample import sample
from .stage1 import encode_dataset, load_tokenizer, reconstruct, run_config, snapshot_steps
from .stage2 import load_prior

__all__ = ["artifacts", "streams", "CheckpointError", "DeviceError", "LockedError", "NonFiniteError", "fit", "STAGES",
           "RunConflictError", "RunFaultError", "RunInterrupted", "Stage",
           "StageMissingError", "changed", "command", "default_run_dir", "posttrain_subdir", "register_stage", "run", "stage_dir", "stage2_subdir",
           "sample", "encode_dataset", "load_tokenizer", "reconstruct", "run_config", "snapshot_steps", "load_prior"]
