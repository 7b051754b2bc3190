"""``run(stage, config, tier, overrides, out, resume)``: the Python API that the CLI wraps.

Stages are pluggable: ``STAGES`` maps a name to a ``Stage`` (what it runs, which config fields define it, which stage
must have finished first, where it writes); ``register_stage`` lets a later module join (e.g. paper V's GRPO
post-training).

Run directories: stage 1 writes to ``--out`` (default ``<runs_root>/<tier>/<name>[__section.key-value...]``, the
suffix naming the stage-1 leaves changed from the preset, ``seed`` included); stage 2 writes to
``<run>/stage2[__stage2.key-value...]``; ``sample`` writes its samples into that stage-2 directory. Which leaves
belong to which stage comes from the config's nesting (``configs.STAGE_SECTIONS``); the files are named by
``artifacts``. ``run`` on a finished directory with the same config returns at once; a different config is an error
listing the differences; an unfinished one needs ``resume=True``.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Callable, NamedTuple

from tvclab import configs, paths
from tvclab.io import atomic_write_json

from . import artifacts, distributed
from .runlog import RunContext


class StageMissingError(RuntimeError):
    """A stage needs a finished earlier stage that is not there; the message names the path and the command."""


class RunConflictError(RuntimeError):
    """The run directory holds a different or unfinished run."""


class Stage(NamedTuple):
    fn: Callable[[RunContext], dict]          # runs the stage, returns its final metrics
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


def command(stage: str, cfg: configs.Config, root: Path) -> str:
    """The command line that produces ``stage`` of this config into ``root``."""
    group = STAGES[stage].group if stage in STAGES else stage
    sets = [f"{k}={v}" for k, v in changed(cfg, group)]
    return " ".join(["python -m tvclab.train", stage, "--config", cfg.name, "--tier", cfg.tier,
                     *(f"--set {shlex.quote(s)}" for s in sets), "--out", shlex.quote(str(root))])


def _diff(saved: dict, now: dict) -> str:
    """The differences of a saved config group from the current one. Fields the saved run does not know (added to
    the package after it was written) are not differences."""
    return "; ".join(f"{k}: {saved[k]!r} in the directory vs {now.get(k)!r} now" for k in sorted(saved)
                     if saved[k] != now.get(k))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise RunConflictError(f"{path} is unreadable ({e}); delete the directory {path.parent} and rerun") from None


def stage_dir(stage: str, cfg: configs.Config, out=None) -> tuple[Path, Path]:
    """(stage-1 run directory, this stage's directory)."""
    st = STAGES[stage]
    root = Path(out) if out else default_run_dir(cfg)
    return root, (root / st.subdir(cfg) if st.subdir else root)


def run(stage: str, config: str | configs.Config = "baseline_1d", tier: str = "cpu", overrides=(), out=None,
        resume: bool = False) -> Path:
    """Run ``stage`` of ``config`` at ``tier`` with ``overrides`` (["key=value", ...]) and return its directory.

    Works the same in a notebook (one process) and under ``torchrun`` (one call per process; rank 0 writes).
    """
    if stage not in STAGES:
        raise configs.ConfigError(f"unknown stage {stage!r}; valid stages: {', '.join(STAGES)}")
    cfg = config if isinstance(config, configs.Config) else configs.get(config, tier)
    cfg = configs.apply_overrides(cfg, overrides)
    st = STAGES[stage]
    root, sdir = stage_dir(stage, cfg, out)

    if st.parent:
        pst = STAGES[st.parent]
        pdir = root / pst.subdir(cfg) if pst.subdir else root
        pmark = pdir / pst.marker(cfg)
        if not pmark.exists():
            raise StageMissingError(f"{stage} needs a finished {st.parent} run at {pdir} (no {pmark.name} there). "
                                    f"Produce it with: {command(st.parent, cfg, root)}")
        saved = _read_json(pmark).get("config", {})
        if _diff(saved, cfg.group(pst.group)):
            raise RunConflictError(f"the {st.parent} run at {pdir} was made with a different config ({_diff(saved, cfg.group(pst.group))}); "
                                   f"pass the same --set values, or another --out")

    marker = sdir / st.marker(cfg)
    if marker.exists():
        saved = _read_json(marker).get("config", {})
        if not _diff(saved, cfg.group(st.group)):
            print(f"{stage}: {sdir} is already finished with this config; nothing to do")
            return sdir
        raise RunConflictError(f"{sdir} holds a finished {stage} run with a different config "
                               f"({_diff(saved, cfg.group(st.group))}); use another --out or delete that directory")
    cfg_file = artifacts.config(sdir)
    if st.writes_config and cfg_file.exists():
        raw, group = configs.flatten(_read_json(cfg_file)), cfg.group(st.group)
        unknown = sorted(set(raw) - set(configs.keys()))
        if unknown:
            raise RunConflictError(f"{cfg_file} has keys this version of tvclab does not know ({', '.join(unknown[:8])}"
                                   f"{', ...' if len(unknown) > 8 else ''}): a run directory of an older layout. "
                                   f"Delete that directory to regenerate it, or use another --out")
        saved = {k: v for k, v in raw.items() if k in group}
        if _diff(saved, group):
            raise RunConflictError(f"{sdir} holds a {stage} run with a different config ({_diff(saved, group)}); "
                                   f"--resume needs the same config. Use another --out or delete that directory.")
        if artifacts.checkpoint(sdir).exists() and not resume:
            raise RunConflictError(f"{sdir} holds an unfinished {stage} run with a checkpoint; pass --resume "
                                   f"(resume=True) to continue it, or delete the directory to start over")

    d = distributed.setup(cfg.runtime.device)
    ok = False
    try:
        if d.master:
            sdir.mkdir(parents=True, exist_ok=True)
            if st.writes_config:
                atomic_write_json(cfg_file, cfg.to_dict())
        distributed.barrier(d)
        metrics = st.fn(RunContext(cfg, d, sdir, root, resume))
        if d.master:
            atomic_write_json(marker, {"config": cfg.group(st.group), "metrics": metrics})
        ok = True
    finally:
        distributed.teardown(d, clean=ok)
    return sdir


def _register_builtin() -> None:
    from . import sample, stage1, stage2

    register_stage("stage1", Stage(stage1.train, "stage1"))
    register_stage("stage2", Stage(stage2.train, "stage2", parent="stage1", subdir=stage2_subdir))
    register_stage("sample", Stage(sample.run_stage, "sample", parent="stage2", subdir=stage2_subdir,
                                   marker=lambda cfg: artifacts.samples_marker("", cfg.sample.n).name, writes_config=False))


_register_builtin()
