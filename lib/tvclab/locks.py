"""One writer per directory: an advisory ``fcntl.flock`` on ``<dir>/.lock``, held while a run, a cache entry or a
notebook's outputs are being written.

    with dir_lock(run_dir, what="stage1 run"):
        ...  # only this process writes run_dir

- A second writer *waits*: it prints once (to stderr) who holds the lock (PID, host, command, since when) and
  polls until the holder is done; ``wait=False`` (the CLI's ``--no-wait``) raises ``LockedError`` naming the PID.
- A process that dies, even by SIGKILL, drops its flock: the kernel releases it with the last descriptor. A lock
  file left behind by a killed process is therefore *stale by construction*: the next writer's flock succeeds at
  once and it takes the file over (it says so, naming the dead holder). No PID liveness guessing, no cleanup step.
  The lock file itself is never deleted (deleting it would let two writers lock two different files); a clean
  release empties it, so a non-empty file found free means its writer was killed.
- Re-entrant per process and thread: a nested ``dir_lock`` on the same directory by the same thread (a stage that
  calls a cached helper locking the same directory) passes straight through; another thread of the same process
  waits like another process would (flock locks belong to the open file, not to the process).
- Readers of a *finished* directory need no lock: every file is written atomically (``tvclab.io``) and the
  ``done`` marker is written last.

Limits: flock is advisory (only code that takes the lock is kept out); it works on local file systems and on
Linux NFS (emulated with byte-range locks); a process forked while holding the lock (e.g. a forked DataLoader
worker) shares it until that child exits too.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOCK_NAME = ".lock"

_held: dict[tuple[str, int, int], list] = {}  # (lock file, pid, thread) -> [fd, depth]
_guard = threading.Lock()


class LockedError(RuntimeError):
    """Another process (or thread) is writing the directory; the message names its PID and the path."""

    def __init__(self, message: str, path: Path, holder: dict | None):
        super().__init__(message)
        self.path, self.holder = path, holder or {}


def dir_lock(path: str | os.PathLike, *, wait: bool = True, what: str = "run", name: str = LOCK_NAME,
             poll: float = 0.2, timeout: float | None = None, quiet: bool = False):
    """Hold the exclusive writer lock of directory ``path`` (created if missing) for the ``with`` block.

    ``what`` names the thing in messages ("stage1 run", "classifier cache", "toy flow"). ``wait=False``: raise
    ``LockedError`` at once when another writer holds it; ``timeout`` (s): wait at most that long, then raise.
    ``name``: the lock file inside ``path`` (several cache entries can share a folder, one lock file each).
    ``quiet``: no waiting / takeover messages. Yields the lock file's path.
    """
    return _lock(Path(path), wait, what, name, poll, timeout, quiet)


@contextmanager
def _lock(folder: Path, wait: bool, what: str, name: str, poll: float, timeout: float | None,
          quiet: bool) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / name
    key = (str(file.resolve()), os.getpid(), threading.get_ident())
    with _guard:
        mine = _held.get(key)
        if mine is not None:
            mine[1] += 1
    if mine is not None:  # re-entrant: this thread already holds it
        try:
            yield file
        finally:
            with _guard:
                mine[1] -= 1
        return
    fd = _acquire(file, folder, wait, what, poll, timeout, quiet)
    with _guard:
        _held[key] = [fd, 1]
    try:
        yield file
    finally:
        with _guard:
            del _held[key]
        _release(fd)


def _acquire(file: Path, folder: Path, wait: bool, what: str, poll: float, timeout: float | None,
             quiet: bool) -> int:
    fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    t0, told = time.monotonic(), None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            info = _read(fd)
            if not wait or (timeout is not None and time.monotonic() - t0 > timeout):
                raise LockedError(_busy(what, folder, info) + (
                    " Wait for it to finish (run without --no-wait), or stop that process first."
                    if not wait else f" Gave up after waiting {timeout:.0f} s."), folder, info)
            desc = _describe(info)
            if desc != told and (told is None or info) and not quiet:  # once per holder (a new one is named)
                print(f"tvclab: {_busy(what, folder, info)} Waiting for it to finish (Ctrl-C to stop; "
                      f"--no-wait refuses instead).", file=sys.stderr, flush=True)
                told = desc
            time.sleep(poll)
        stale = _read(fd)
        if stale and not quiet:
            print(f"tvclab: took over the {what} lock of {folder} left by {_describe(stale)}, which no longer "
                  "holds it (killed or crashed).", file=sys.stderr, flush=True)
        _write(fd, {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": _command()})
        return fd
    except BaseException:
        os.close(fd)
        raise


def _command() -> str:
    """This process's command line as typed (``python -m tvclab.train stage1 ...``), shortened."""
    argv = list(getattr(sys, "orig_argv", None) or sys.argv)
    if argv:
        argv[0] = os.path.basename(argv[0])
    text = " ".join(argv)
    return text if len(text) <= 200 else text[:197] + "..."


def _release(fd: int) -> None:
    """Empty the lock file (a clean release), then unlock and close."""
    try:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write(fd: int, info: dict) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info, sort_keys=True) + "\n").encode(), 0)


def _read(fd: int) -> dict | None:
    raw = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:  # being written at this instant, or not ours
        return {"raw": raw[:200]}


def _describe(holder: dict | None) -> str:
    if not holder or "pid" not in holder:
        return "a process that has not written its PID yet"
    return (f"PID {holder['pid']} on {holder.get('host', '?')} (since {holder.get('since', '?')}: "
            f"{holder.get('command', '?')})")


def _busy(what: str, folder: Path, holder: dict | None) -> str:
    return f"the {what} directory {folder} is locked by {_describe(holder)}: another writer is using it."


def holder(path: str | os.PathLike, name: str = LOCK_NAME) -> dict | None:
    """Who holds the lock of directory ``path`` now ({"pid", "host", "command", "since", "what"}), or None when
    nobody does (a stale file left by a killed process reads as None)."""
    file = Path(path) / name
    if not file.exists():
        return None
    fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
