"""The stage registry and the names of run directories, shared by the runner and the stages.

``STAGES`` / ``register_stage``: what each stage runs, which config group defines it, its parent stage and where it
writes. ``default_run_dir`` (stage 1), ``stage2_subdir``, ``posttrain_subdir``: the directory names, each the
preset's name plus ``__key-value`` for every leaf of the stage's group changed from the preset. ``command``: the
command line that produces a stage. ``tvclab.train.runner`` runs stages; the stage modules import this module, not
the runner, so no import runs in a circle.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Callable, NamedTuple

from tvclab import configs, paths

from . import artifacts


class StageMissingError(RuntimeError):
    """A stage needs a finished earlier stage that is not there; the message names the path and the command."""


class RunConflictError(RuntimeError):
    """The run directory holds a different or unfinished run."""


class Stage(NamedTuple):
    fn: Callable[..., dict]                    # fn(RunContext) runs the stage, returns its final metrics
    group: str                                 # config group that defines the run ("stage1", "stage2", "sample")
    parent: str | None = None                  # stage that must have finished first
    subdir: Callable[[configs.Config], str] | None = None  # directory under the stage-1 run (None: the run itself)
    marker: Callable[[configs.Config], str] = lambda cfg: artifacts.DONE
    writes_config: bool = True


STAGES: dict[str, Stage] = {}


def register_stage(name: str, stage: Stage) -> None:
    STAGES[name] = stage


def changed(cfg: configs.Config, stage: str, own_only: bool = False) -> list[tuple[str, object]]:
    """The leaves of ``stage``'s config group (only its own sections with ``own_only``) that differ from the
    preset of ``cfg.name`` at ``cfg.tier``, as (dotted key, value)."""
    base = configs.get(cfg.name, cfg.tier).flat()
    own = set(configs.STAGE_SECTIONS[stage]) | (set() if stage != "stage1" else {"seed"})
    return [(k, v) for k, v in cfg.group(stage).items()
            if k not in ("name", "tier") and base[k] != v and (not own_only or k.split(".")[0] in own)]


def _suffix(items) -> str:
    return "".join(f"__{k}-{v}" for k, v in items).replace("/", "_")


def default_run_dir(cfg: configs.Config) -> Path:
    """``<runs_root>/<tier>/<name>`` plus ``__key-value`` for each stage-1 leaf (and the seed) changed from the
    preset."""
    return paths.run_dir(cfg.tier, cfg.name + _suffix(changed(cfg, "stage1")))


def stage2_subdir(cfg: configs.Config) -> str:
    return "stage2" + _suffix(changed(cfg, "stage2", own_only=True))


def posttrain_subdir(cfg: configs.Config) -> str:
    """Paper V's post-training: a direct child of the stage-1 run, named for the stage-2 run it reads plus the
    post-training leaves changed from the preset (``stage2__posttrain``, ``stage2__posttrain__posttrain.noise-0.0``)."""
    return stage2_subdir(cfg) + "__posttrain" + _suffix(changed(cfg, "posttrain", own_only=True))


def command(stage: str, cfg: configs.Config, root: Path) -> str:
    """The command line that produces ``stage`` of this config into ``root``."""
    group = STAGES[stage].group if stage in STAGES else stage
    sets = [f"{k}={v}" for k, v in changed(cfg, group)]
    return " ".join(["python -m tvclab.train", stage, "--config", cfg.name, "--tier", cfg.tier,
                     *(f"--set {shlex.quote(s)}" for s in sets), "--out", shlex.quote(str(root))])
