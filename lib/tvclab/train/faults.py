"""Faults of the machine a run meets (file system, memory, device, Ctrl-C) as one-line errors that name the file,
field or device and what to do; ``tvclab.train.runner`` turns them into these, the CLI prints them.

- ``check_run_path``: before anything is written, a run directory whose path cannot be a folder (``--out`` naming
  an existing file, a component longer than the file system allows, e.g. a default run name listing many
  ``--set`` values).
- ``file_system``: a disk-full, read-only, permission or name-length ``OSError`` met while writing.
- ``out_of_memory`` / ``check_memory``: an allocation that failed, or one that would not fit (checked before it
  is tried, so that the machine does not start to swap or the kernel kill the process).
- ``check_device``: ``runtime.device`` that this machine does not have (``cuda`` without CUDA, ``cuda:3`` with one
  GPU, ``mps`` off a Mac).
- ``interrupted``: Ctrl-C (SIGINT) as "interrupted at step N; resume with: ...".

Checkpoints are written atomically (``tvclab.io``): none of these faults leaves a torn one, and the messages say
when the last one is intact and how to continue from it.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path

DEFAULT_NAME_MAX = 255  # bytes per path component on Linux's local file systems


class RunFaultError(RuntimeError):
    """The machine refused what a run needs (space, a writable folder, a usable name, memory, a device); the
    message names the file, field or device and the fix. ``errno``: the OS error number, when there was one."""

    def __init__(self, message: str, err: int | None = None):
        super().__init__(message)
        self.errno = err


class DeviceError(RunFaultError):
    """``runtime.device`` names a device this machine does not have."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says at which step and the command that continues it. Still a
    ``KeyboardInterrupt``, so a notebook cell stops as it would."""


# ------------------------------------------------------------------------------------------------ paths

def name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` (or its nearest existing parent) allows."""
    for p in [folder, *folder.parents]:
        if p.exists():
            try:
                return os.pathconf(p, "PC_NAME_MAX")
            except (OSError, ValueError):
                return DEFAULT_NAME_MAX
    return DEFAULT_NAME_MAX


def check_run_path(root: Path, sdir: Path, explicit: bool) -> None:
    """Raise ``RunFaultError`` when ``sdir`` (under the stage-1 run directory ``root``) cannot be made a folder:
    an existing file in its path, or a name longer than the file system allows. ``explicit``: ``root`` came from
    ``--out`` (else it is the default name, built from the config)."""
    for p in [sdir, *sdir.parents]:
        if p.exists():
            if not p.is_dir():
                what = "--out" if explicit and p == root else ("the run directory" if p == root else "the path")
                raise RunFaultError(f"{what} {p} is an existing file, not a folder: pass --out a folder path (a "
                                    f"new one or an existing folder), or move that file away", errno.EEXIST)
            break
    limit = name_max(sdir)
    for part in sdir.parts:
        size = len(os.fsencode(part))
        if size > limit:
            if not explicit and part == root.name:
                how = ("the default run directory name (the config's name plus one __key-value per stage-1 "
                       "--set that differs from the preset)")
                fix = "name the run with --out DIR"
            elif part == root.name:
                how, fix = "the --out name", "pass a shorter --out"
            else:
                how = "the stage directory name (one __key-value per --set of that stage)"
                fix = "set fewer of that stage's keys, or pass a shorter --out"
            raise RunFaultError(f"{how} {_short(part)} is {size} bytes, longer than the {limit} the file system "
                                f"of {_existing(sdir)} allows for one name: {fix}", errno.ENAMETOOLONG)


def _existing(p: Path) -> Path:
    return next(q for q in [p, *p.parents] if q.exists())


def _short(name: str, most: int = 60) -> str:
    return repr(name if len(name) <= most else name[: most - 3] + "...")


# ------------------------------------------------------------------------------------------------ file system

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
FILE_SYSTEM = DISK_FULL + (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.EEXIST,
                           errno.ENOTDIR, errno.EISDIR)


def file_system(e: OSError, checkpoint: Path | None, resume: str, root: Path) -> RunFaultError | None:
    """The one-line error of a file-system ``OSError`` met while a run works (None: not one of ``FILE_SYSTEM``).
    ``checkpoint``: the stage's checkpoint when one is on disk (it is intact: written atomically); ``resume``: the
    command that continues the run; ``root``: the stage-1 run directory (a file outside it, e.g. a cache, is
    named as such)."""
    if e.errno not in FILE_SYSTEM:
        return None
    file = e.filename or root
    in_run = _inside(file, root)
    elsewhere = ("pass --out on another disk" if in_run else "use another folder for it (runtime.data_root and the "
                 "TVCLAB_RUNS, TVCLAB_CACHE and TVCLAB_DATA variables name them)")
    kept = (f"; {checkpoint} is intact: continue with {resume} --resume" if checkpoint is not None else
            f"; then rerun {resume}")
    if e.errno in DISK_FULL:
        what = "disk quota exceeded" if e.errno == errno.EDQUOT else "no space left on the device"
        msg = f"{what} while writing {file}: free space there, or {elsewhere}{kept}"
    elif e.errno == errno.EROFS:
        fix = "pass --out (or set TVCLAB_RUNS) to a folder on a writable disk" if in_run else elsewhere
        msg = f"{file} is on a read-only file system: {fix}, or remount it read-write{kept}"
    elif e.errno in (errno.EACCES, errno.EPERM):
        fix = "pass --out to a folder you can write" if in_run else elsewhere
        msg = f"permission denied on {file}: {fix}, or fix its permissions{kept}"
    elif e.errno == errno.ENAMETOOLONG:
        msg = f"the path {file} has a name longer than the file system allows: pass a shorter --out"
    else:  # EEXIST, ENOTDIR, EISDIR: a file where a folder is needed, or the other way round
        msg = (f"{file}: {e.strerror or 'a file is in the way'} (a file stands where the run needs a folder, or a "
               f"folder where it needs a file): pass another --out, or move that entry away")
    return RunFaultError(msg, e.errno)


def _inside(file, root: Path) -> bool:
    try:
        Path(os.fsdecode(file)).resolve().relative_to(Path(root).resolve())
        return True
    except (ValueError, OSError, TypeError):
        return False


# ------------------------------------------------------------------------------------------------ memory

_OOM = re.compile(r"can't allocate memory|not enough memory|out of memory|CUDA out of memory|"
                  r"DefaultCPUAllocator", re.IGNORECASE)
_BYTES = re.compile(r"allocate (\d+) bytes|Tried to allocate ([\d.]+ [KMGT]iB)")


def is_out_of_memory(e: BaseException) -> bool:
    """Whether ``e`` is a failed allocation (``MemoryError``, torch's ``OutOfMemoryError``, the CPU allocator's
    ``RuntimeError``)."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    return type(e) is RuntimeError and bool(_OOM.search(str(e)))  # torch's own; not the suite's RuntimeErrors


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _tried(e: BaseException) -> str:
    m = _BYTES.search(str(e))
    if not m:
        return ""
    return f" (it tried to allocate {gib(int(m.group(1))) if m.group(1) else m.group(2)})"


def memory_fix(cfg, batch_key: str = "optim.batch_size") -> str:
    """What to lower when a run does not fit: its image size (naming the data set's native one), its batch
    (``batch_key``, e.g. ``stage2.optim.batch_size``, ``sample.batch``), the model's width."""
    from tvclab import data

    native = data.native_size(cfg.data.dataset)
    try:
        batch = f" or {batch_key} (now {_get(cfg, batch_key)})"
    except AttributeError:
        batch = ""
    return (f"lower data.image_size (now {cfg.data.image_size}"
            f"{f'; the native size of {cfg.data.dataset} is {native}' if native else ''}){batch}, or the model's "
            f"width, or run on a machine with more memory")


def _get(cfg, dotted: str):
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def out_of_memory(e: BaseException, stage: str, device, cfg, batch_key: str, checkpoint: Path | None,
                  resume: str) -> RunFaultError:
    """The one-line error of a failed allocation: the device, the size asked for, what to lower, how to resume."""
    kept = f"; {checkpoint} is intact: continue with {resume} --resume" if checkpoint is not None else ""
    return RunFaultError(f"{stage}: out of memory on {device}{_tried(e)}: {memory_fix(cfg, batch_key)}{kept}")


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (``MemAvailable`` of /proc/meminfo; None when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


MEMORY_SHARE = 0.75  # of the available memory, at most this share for one up-front allocation (the model,
                     # batches and evaluation need the rest)


def check_memory(need: int, what: str, stage: str, cfg, batch_key: str = "optim.batch_size") -> None:
    """Raise ``RunFaultError`` before allocating ``need`` bytes (``what``: for what) when they exceed
    ``MEMORY_SHARE`` of the available memory."""
    free = available_memory()
    if free is not None and need > MEMORY_SHARE * free:
        raise RunFaultError(f"{stage}: {what} need {gib(need)}, more than {MEMORY_SHARE:.0%} of the {gib(free)} "
                            f"this machine has available: {memory_fix(cfg, batch_key)}")


# ------------------------------------------------------------------------------------------------ devices

def check_device(device: str, local_rank: int = 0) -> None:
    """Raise ``DeviceError`` when ``runtime.device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) is not on
    this machine. ``auto`` and ``cpu`` always are."""
    import torch

    if device in ("auto", "cpu"):
        return
    kind, _, index = device.partition(":")
    if kind == "cuda" and (not index or index.isdigit()):
        if not torch.cuda.is_available():
            raise DeviceError(f"runtime.device={device}: this machine has no usable CUDA device (torch "
                              f"{torch.__version__} sees none: no NVIDIA GPU, driver or CUDA build); use "
                              f"--set runtime.device=auto (cuda when there is one, else cpu) or runtime.device=cpu")
        count = torch.cuda.device_count()
        index = int(index) if index else local_rank
        if index >= count:
            raise DeviceError(f"runtime.device={device}: this machine has {count} CUDA device"
                              f"{'s' if count != 1 else ''} (cuda:0{f'..cuda:{count - 1}' if count > 1 else ''})"
                              f"; use one of those, or runtime.device=auto")
        return
    if device == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise DeviceError("runtime.device=mps: this machine has no Apple-silicon GPU (mps); use "
                              "--set runtime.device=auto or runtime.device=cpu")
        return
    raise DeviceError(f"runtime.device={device!r} is not a device: use auto, cpu, cuda, cuda:N or mps")


# ------------------------------------------------------------------------------------------------ Ctrl-C

def interrupted_step(tb) -> tuple[int | None, int | None]:
    """(the step the fit loop was running, its last good checkpoint step) from the traceback of an interrupt
    raised inside ``tvclab.fit``; (None, None) when it came before or after the loop."""
    from tvclab.fit import loop

    step = saved = None
    while tb is not None:
        f = tb.tb_frame
        if f.f_code.co_name == "fit" and f.f_code.co_filename == loop.__file__:
            local = f.f_locals
            if "step" in local:
                step = int(local["step"]) + 1
            if local.get("saved"):
                saved = local["saved"][0]
        tb = tb.tb_next
    return step, saved


def _waiting_for_lock(tb) -> bool:
    """Whether the interrupt of traceback ``tb`` came while ``tvclab.locks`` waited for another writer."""
    from tvclab import locks

    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_acquire" and tb.tb_frame.f_code.co_filename == locks.__file__:
            return True
        tb = tb.tb_next
    return False


def interrupted(e: KeyboardInterrupt, stage: str, checkpoint: Path | None, resume: str,
                sdir: Path | None = None) -> RunInterrupted:
    """Ctrl-C as one line: at which step, and the command that continues from the checkpoint (or reruns)."""
    if _waiting_for_lock(e.__traceback__):
        return RunInterrupted(f"{stage}: interrupted while waiting for another writer of {sdir or 'the run'} to "
                              f"finish; this process wrote nothing (that writer goes on)")
    step, saved = interrupted_step(e.__traceback__)
    where = f"at step {step}" if step is not None else "before its training loop ran or after it ended"
    if checkpoint is not None:
        held = f" (the checkpoint of step {saved} is kept)" if saved else f" ({checkpoint} is kept)"
        return RunInterrupted(f"{stage}: interrupted {where}{held}; resume with: {resume} --resume")
    return RunInterrupted(f"{stage}: interrupted {where}, before its first checkpoint; start it again with: "
                          f"{resume}")
