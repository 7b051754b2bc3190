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

One writer per directory: ``run`` holds the stage directory's lock (``tvclab.locks``) from its checks to the done
marker. Only a finished run is recognised without the lock (it no longer changes); every other decision (a fresh
run, an unfinished one that needs ``resume``, a config conflict) is taken under it. A second process on the same
directory therefore waits, also when it arrives after the first checkpoint (printing the holder's PID;
``wait=False`` / ``--no-wait`` raises ``LockedError`` instead), then re-reads the directory: a run two notebooks or
batch jobs share is trained once. Readers of a finished run take no lock. The writer first removes the temporary
files a killed write left (``tvclab.io.remove_stale_temporaries``).

Faults of the machine (``faults``): a disk-full, read-only or permission error while writing, an ``out`` that is a
file or a name too long for the file system, too little memory, a device this machine lacks raise
``RunFaultError``, one line naming the file, field or device and the fix; Ctrl-C raises ``RunInterrupted`` (a
``KeyboardInterrupt``) naming the step and the command that resumes. The checkpoint on disk stays intact.

A non-finite loss, gradient norm or metric stops the stage with ``NonFiniteError`` (``tvclab.fit``): the last good
checkpoint stays, no done marker is written, ``nonfinite.json`` records the stop, and ``resume=True`` continues
from the checkpoint, also after changing the stage's own optimiser leaves (``RESUMABLE_AFTER_NONFINITE``: a lower
``lr``, a ``grad_clip``, ...). An explicit ``out`` with ``resume=True`` must exist (nothing to resume otherwise).
"""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from tvclab import configs
from tvclab.fit import NonFiniteError, nonfinite
from tvclab.io import atomic_write_json, remove_stale_temporaries
from tvclab.locks import dir_lock

from . import artifacts, distributed, faults
from .runlog import RunContext


# the registry and the directory names live in ``stages`` (the stage modules import them without importing this one)
from .stages import (STAGES, RunConflictError, Stage, StageMissingError, _suffix, changed, command,  # noqa: F401
                     default_run_dir, posttrain_subdir, register_stage, stage2_subdir)


def _diff(saved: dict, now: dict) -> str:
    """The differences of a saved config group from the current one. Fields the saved run does not know (added to
    the package after it was written) are not differences; renamed ones are read under their new names."""
    saved = configs.migrate(saved)
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


# Optimiser leaves a stage may change when it resumes after a non-finite stop: the loop reads them afresh at every
# step, while the model's shapes and the optimiser's kind, betas and state come back from the checkpoint unchanged.
RESUMABLE_AFTER_NONFINITE = ("steps", "batch_size", "lr", "lr_min", "schedule", "warmup_steps", "grad_clip",
                             "log_every", "eval_every", "ckpt_every")


def optim_section(group: str) -> str:
    """The dotted section of a stage's own optimiser: ``optim`` (stage 1), ``stage2.optim``, ..."""
    return "optim" if group == "stage1" else f"{group}.optim"


def _resumable(key: str, group: str) -> bool:
    section, _, leaf = key.rpartition(".")
    return section == optim_section(group) and leaf in RESUMABLE_AFTER_NONFINITE


def _finished(stage: str, st: Stage, cfg: configs.Config, sdir: Path) -> bool:
    """Whether ``sdir`` holds this finished stage with this config; a finished one with another config raises
    RunConflictError. Safe without the lock: a finished directory no longer changes."""
    marker = sdir / st.marker(cfg)
    if not marker.exists():
        return False
    saved = _read_json(marker).get("config", {})
    if not _diff(saved, cfg.group(st.group)):
        return True
    raise RunConflictError(f"{sdir} holds a finished {stage} run with a different config "
                           f"({_diff(saved, cfg.group(st.group))}); use another --out or delete that directory")


def _preflight(stage: str, st: Stage, cfg: configs.Config, sdir: Path, resume: bool) -> tuple[bool, str]:
    """Read ``sdir`` before running ``stage`` into it: (True, "") when it already holds this finished stage; raise
    RunConflictError when it holds another run, an unfinished one without ``resume``, or an older layout;
    (False, note) to run it (``note``: a config change accepted after a non-finite stop). Call it holding the
    directory's lock: without it an unfinished run may be another writer's live one."""
    if _finished(stage, st, cfg, sdir):
        return True, ""
    cfg_file, stop_file = artifacts.config(sdir), artifacts.nonfinite(sdir)
    stopped = _read_json(stop_file) if stop_file.exists() else None
    note = ""
    if st.writes_config and cfg_file.exists():
        raw, group = configs.migrate(configs.flatten(_read_json(cfg_file))), cfg.group(st.group)
        unknown = sorted(set(raw) - set(configs.keys()))
        if unknown:
            raise RunConflictError(f"{cfg_file} has keys this version of tvclab does not know ({', '.join(unknown[:8])}"
                                   f"{', ...' if len(unknown) > 8 else ''}): a run directory of an older layout. "
                                   f"Delete that directory to regenerate it, or use another --out")
        saved = {k: v for k, v in raw.items() if k in group}
        diff = _diff(saved, group)
        if diff:
            keys = [k for k in saved if saved[k] != group.get(k)]
            sec = optim_section(st.group)
            if stopped is None or not all(_resumable(k, st.group) for k in keys):
                after = (f" After its non-finite stop only {sec}.{{{','.join(RESUMABLE_AFTER_NONFINITE)}}} may "
                         f"change." if stopped is not None else "")
                raise RunConflictError(f"{sdir} holds a {stage} run with a different config ({diff}); --resume "
                                       f"needs the same config.{after} Use another --out or delete that directory.")
            if not resume:
                raise RunConflictError(f"{sdir} holds a {stage} run that stopped on non-finite values at step "
                                       f"{stopped.get('step')}; to continue it from its last good checkpoint with "
                                       f"the changed settings ({diff}) pass --resume (resume=True), or delete the "
                                       f"directory to start over")
            note = f"{stage}: continuing {sdir} after its non-finite stop at step {stopped.get('step')} with {diff}"
        if artifacts.checkpoint(sdir).exists() and not resume:
            why = (f" (it stopped on non-finite values at step {stopped.get('step')}, see {stop_file}: change "
                   f"{optim_section(st.group)}.lr or .grad_clip first)" if stopped is not None else "")
            raise RunConflictError(f"{sdir} holds an unfinished {stage} run with a checkpoint{why}; pass --resume "
                                   f"(resume=True) to continue it, or delete the directory to start over")
    return False, note


def _stopped(e: NonFiniteError, stage: str, st: Stage, cfg: configs.Config, root: Path, sdir: Path,
             master: bool) -> NonFiniteError:
    """Record a non-finite stop (``nonfinite.json``, rank 0) and the same error with what was kept and the fix."""
    ckpt = artifacts.checkpoint(sdir)
    if master:
        atomic_write_json(artifacts.nonfinite(sdir), {
            "step": e.step, "kind": e.kind, "parts": {k: repr(v) for k, v in e.parts.items()},
            "last_checkpoint": e.last_checkpoint, "message": str(e), "config": cfg.group(st.group)})
    sec = optim_section(st.group)
    kept = f" ({ckpt} kept)" if e.last_checkpoint is not None and ckpt.exists() else ""
    return NonFiniteError(
        f"{e}{kept} [{sdir}: no {st.marker(cfg)} written, stop recorded in {artifacts.NONFINITE}. Fix: change "
        f"the config, e.g. --set {sec}.lr=<smaller> or {sec}.grad_clip=1.0, and continue with: "
        f"{command(stage, cfg, root)} --resume]", e.step, e.parts, e.kind, e.last_checkpoint)


def run(stage: str, config: str | configs.Config = "baseline_1d", tier: str = "cpu", overrides=(), out=None,
        resume: bool = False, wait: bool = True) -> Path:
    """Run ``stage`` of ``config`` at ``tier`` with ``overrides`` (["key=value", ...]) and return its directory.

    Works the same in a notebook (one process) and under ``torchrun`` (one call per process; rank 0 writes and
    holds the directory's lock). ``wait=False``: raise ``LockedError`` when another process is writing the
    directory, instead of waiting for it. A fault of the machine raises ``faults.RunFaultError`` (Ctrl-C:
    ``faults.RunInterrupted``), one line naming the file, field or device and the fix.
    """
    if stage not in STAGES:
        raise configs.ConfigError(f"unknown stage {stage!r}; valid stages: {', '.join(STAGES)}")
    cfg = config if configs.is_config(config) else configs.get(config, tier)
    cfg = configs.apply_overrides(cfg, overrides)
    st = STAGES[stage]
    root, sdir = stage_dir(stage, cfg, out)
    faults.check_run_path(root, sdir, explicit=out is not None)
    if out is not None and resume and not root.exists():
        raise RunConflictError(f"--resume: the run directory {root} does not exist, so there is nothing to resume; "
                               f"correct --out, or drop --resume to start a fresh run there")
    _check_parent(stage, st, cfg, root)
    try:
        return _run(stage, st, cfg, root, sdir, resume, wait)
    except faults.RunInterrupted:
        raise
    except KeyboardInterrupt as e:
        raise faults.interrupted(e, stage, _checkpoint(st, sdir), command(stage, cfg, root), sdir) from None
    except (OSError, MemoryError, RuntimeError) as e:
        fault = _machine_fault(e, stage, st, cfg, root, sdir)
        if fault is None:
            raise
        raise fault from None


def _checkpoint(st: Stage, sdir: Path) -> Path | None:
    """The stage's checkpoint when one is on disk (written atomically: intact whatever stopped the run); None for a
    stage that trains nothing (``sample`` writes into the stage-2 directory, whose checkpoint is not its own)."""
    path = artifacts.checkpoint(sdir)
    return path if st.writes_config and path.exists() else None


def _machine_fault(e: BaseException, stage: str, st: Stage, cfg: configs.Config, root: Path,
                   sdir: Path) -> faults.RunFaultError | None:
    """The one-line ``RunFaultError`` of a file-system or memory fault met by the run (None: another error)."""
    resume = command(stage, cfg, root)
    if isinstance(e, OSError):
        return faults.file_system(e, _checkpoint(st, sdir), resume, root)
    if faults.is_out_of_memory(e):
        device = cfg.runtime.device if cfg.runtime.device != "auto" else "this machine"
        batch = "sample.batch" if st.group == "sample" else f"{optim_section(st.group)}.batch_size"
        return faults.out_of_memory(e, stage, device, cfg, batch, _checkpoint(st, sdir), resume)
    return None


def _check_parent(stage: str, st: Stage, cfg: configs.Config, root: Path) -> None:
    """Raise StageMissingError / RunConflictError unless the stage ``stage`` reads has finished with this config."""
    if not st.parent:
        return
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


def _decide(stage: str, st: Stage, cfg: configs.Config, sdir: Path, resume: bool) -> tuple[bool, str]:
    """Under the directory's lock (rank 0): (finished, "" or why the run is refused). Prints what it found (a
    finished run, a change accepted after a non-finite stop) and removes the temporary files a killed write left."""
    try:
        finished, note = _preflight(stage, st, cfg, sdir, resume)
    except RunConflictError as e:
        return False, str(e)
    if finished or note:
        print(f"{stage}: {sdir} is already finished with this config; nothing to do" if finished else note)
    if not finished:
        removed = remove_stale_temporaries(sdir) + remove_stale_temporaries(sdir / artifacts.SNAPSHOTS)
        if removed:
            print(f"{stage}: removed {len(removed)} temporary file{'s' if len(removed) > 1 else ''} a killed write "
                  f"left in {sdir} ({', '.join(f'{p.name} {_size(n)}' for p, n in removed[:4])}"
                  f"{', ...' if len(removed) > 4 else ''})", file=sys.stderr)
    return finished, ""


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _run(stage: str, st: Stage, cfg: configs.Config, root: Path, sdir: Path, resume: bool, wait: bool) -> Path:
    """``run`` once its arguments are checked: take the lock, decide, train, mark done."""
    if _finished(stage, st, cfg, sdir):  # read-only, every process: no lock for a finished run
        print(f"{stage}: {sdir} is already finished with this config; nothing to do")
        return sdir
    d = distributed.setup(cfg.runtime.device)
    ok = False
    try:
        with contextlib.ExitStack() as held:
            decision = None
            if d.master:
                held.enter_context(dir_lock(sdir, wait=wait, what=f"{stage} run"))
                # decided under the lock only: an unfinished run found before it may be another writer's live one,
                # and another writer may have finished (or stopped) it while this one waited
                decision = _decide(stage, st, cfg, sdir, resume)
            finished, refused = distributed.broadcast_object(decision, d)
            if refused:
                raise RunConflictError(refused)
            if finished:
                ok = True
                return sdir
            cfg_file = artifacts.config(sdir)
            if d.master and st.writes_config:
                atomic_write_json(cfg_file, cfg.to_dict())
            distributed.barrier(d)
            try:
                metrics = st.fn(RunContext(cfg, d, sdir, root, resume))
                bad = nonfinite(metrics) if d.master else {}
                if bad:
                    step = int(metrics.get("step", 0) or 0)
                    raise NonFiniteError(f"{stage}: the final metrics at step {step} are not finite "
                                         f"({', '.join(f'{k}={v}' for k, v in bad.items())})", step, bad, "eval",
                                         step if artifacts.checkpoint(sdir).exists() else None)
            except NonFiniteError as e:
                raise _stopped(e, stage, st, cfg, root, sdir, d.master) from None
            if d.master:
                record = {"config": cfg.group(st.group), "metrics": metrics}
                stop_file = artifacts.nonfinite(sdir)
                if stop_file.exists():  # it finished after a non-finite stop and a resume: keep the record
                    record["recovered_from"] = _read_json(stop_file)
                atomic_write_json(sdir / st.marker(cfg), record)
                stop_file.unlink(missing_ok=True)
            ok = True
    finally:
        distributed.teardown(d, clean=ok)
    return sdir


def _register_builtin() -> None:
    from . import posttrain, sample, stage2, targets

    register_stage("stage1", Stage(targets.train_stage1, "stage1"))  # paper F: the flow prior, then stage 1
    register_stage("stage2", Stage(stage2.train, "stage2", parent="stage1", subdir=stage2_subdir))
    register_stage("sample", Stage(sample.run_stage, "sample", parent="stage2", subdir=stage2_subdir,
                                   marker=lambda cfg: artifacts.samples_marker("", cfg.sample.n).name, writes_config=False))
    register_stage("posttrain", Stage(posttrain.train, "posttrain", parent="stage2", subdir=posttrain_subdir))


_register_builtin()
