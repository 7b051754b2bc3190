"""``run(stage, config, tier, overrides, out, resume)``: the Python API that the CLI wraps.

Stages are pluggable: ``STAGES`` maps a name to a ``Stage`` (what it runs, which config fields define it, which stage
must have finished first, where it writes); ``register_stage`` lets a later module join (e.g. paper V's GRPO
post-training).

Run directories: stage 1 writes to ``--out`` (default ``<runs_root>/<tier>/<name>[__key-value...]``, the suffix
naming the stage-1 fields changed from the preset); stage 2 writes to ``<run>/stage2[__ar_key-value...]``; ``sample``
writes ``samples_<n>.pt`` into that stage-2 directory. A directory holds ``config.json``, ``metrics.jsonl``,
``ckpt.pt`` and, when finished, ``done.json`` (the marker: its config group and final metrics). ``run`` on a
finished directory with the same config returns at once; a different config is an error listing the differences;
an unfinished one needs ``resume=True``.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Callable, NamedTuple

from tvclab import configs, paths
from tvclab.io import atomic_write_json

from . import checkpoint, distributed
from .runlog import RunContext

DONE = "done.json"


class StageMissingError(RuntimeError):
    """A stage needs a finished earlier stage that is not there; the message names the path and the command."""


class RunConflictError(RuntimeError):
    """The run directory holds a different or unfinished run."""


class Stage(NamedTuple):
    fn: Callable[[RunContext], dict]          # runs the stage, returns its final metrics
    group: str                                 # config group that defines the run ("stage1", "stage2", "sample")
    parent: str | None = None                  # stage that must have finished first
    subdir: Callable[[configs.Config], str] | None = None  # directory under the stage-1 run (None: the run itself)
    marker: Callable[[configs.Config], str] = lambda cfg: DONE
    writes_config: bool = True


STAGES: dict[str, Stage] = {}


def register_stage(name: str, stage: Stage) -> None:
    STAGES[name] = stage


def _changed(cfg: configs.Config, pred: Callable[[str], bool]) -> list[tuple[str, object]]:
    base = configs.get(cfg.name, cfg.tier).to_dict()
    return [(k, v) for k, v in cfg.to_dict().items()
            if k not in configs.RUNTIME_KEYS and k not in ("name", "tier") and pred(k) and base[k] != v]


def _suffix(items) -> str:
    return "".join(f"__{k}-{v}" for k, v in items).replace("/", "_")


def _is_stage1(k: str) -> bool:
    return not k.startswith(("ar_", "sample_"))


def default_run_dir(cfg: configs.Config) -> Path:
    """``<runs_root>/<tier>/<name>`` plus ``__key-value`` for each stage-1 field changed from the preset."""
    return paths.run_dir(cfg.tier, cfg.name + _suffix(_changed(cfg, _is_stage1)))


def stage2_subdir(cfg: configs.Config) -> str:
    return "stage2" + _suffix(_changed(cfg, lambda k: k.startswith("ar_")))


def command(stage: str, cfg: configs.Config, root: Path) -> str:
    """The command line that produces ``stage`` of this config into ``root``."""
    sets = [f"{k}={v}" for k, v in _changed(cfg, _is_stage1 if stage == "stage1" else lambda k: not k.startswith("sample_"))]
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
    cfg_file = sdir / "config.json"
    if st.writes_config and cfg_file.exists():
        raw, group = _read_json(cfg_file), cfg.group(st.group)
        unknown = sorted(set(raw) - set(configs.keys()))
        if unknown:
            raise RunConflictError(f"{cfg_file} has keys this version of tvclab does not know ({', '.join(unknown)}); "
                                   f"use another --out or delete that directory")
        saved = {k: v for k, v in raw.items() if k in group}
        if _diff(saved, group):
            raise RunConflictError(f"{sdir} holds a {stage} run with a different config ({_diff(saved, group)}); "
                                   f"--resume needs the same config. Use another --out or delete that directory.")
        if (sdir / checkpoint.CKPT_NAME).exists() and not resume:
            raise RunConflictError(f"{sdir} holds an unfinished {stage} run with a checkpoint; pass --resume "
                                   f"(resume=True) to continue it, or delete the directory to start over")

    d = distributed.setup(cfg.device)
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
                                   marker=lambda cfg: f"samples_{cfg.sample_n}.json", writes_config=False))


_register_builtin()
