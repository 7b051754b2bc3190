"""Atomic file writes: write to a temporary file in the same folder, fsync, rename.

A run killed at any moment leaves either the old file or the new one, never a torn one. The file gets the
permissions of any other new file (``0o666`` less the umask), not ``tempfile``'s 0600. A write that fails (disk
full, read-only file system) removes its temporary file and raises the ``OSError`` with the *target* path as its
``filename``; a kill leaves a ``.<name>.*.tmp`` that ``remove_stale_temporaries`` cleans up (by the folder's next
writer, under its lock).
"""
from __future__ import annotations

import io as _io
import json
import os
import tempfile
from pathlib import Path
from typing import Any


TEMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (write, fsync, rename), with the umask's permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # its error names the folder
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as e:
        raise _naming(e, path)
    try:
        with os.fdopen(fd, "wb") as f:
            _follow_umask(f.fileno())
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _naming(e, path)
        raise
    return path


def _naming(e: OSError, path: Path) -> OSError:
    """``e`` naming ``path`` (a failed ``write`` or ``fsync`` names no file, ``mkstemp`` its temporary name)."""
    e.filename = str(path)
    return e


def _follow_umask(fd: int) -> None:
    """Give a ``mkstemp`` file (0600) the permissions ``open`` would (0666 less the umask); a file system without
    permissions (some FUSE or FAT mounts) keeps what it has."""
    try:
        os.fchmod(fd, 0o666 & ~umask())
    except OSError:
        pass


def umask() -> int:
    """This process's umask, read without changing it (``/proc/self/status`` on Linux; elsewhere set and
    restored at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | os.PathLike) -> list[tuple[Path, int]]:
    """Remove the ``.<name>.*.tmp`` files that ``atomic_write_bytes`` left in ``folder`` (not below it) when a
    kill stopped it mid-write; return each one's path and size. Only the folder's writer may call this, holding
    its lock (another writer's temporary file would be in use)."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.glob(f".?*.*{TEMP_SUFFIX}"):
        try:
            size = p.stat().st_size
            p.unlink()
        except FileNotFoundError:
            continue
        removed.append((p, size))
    return removed


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """JSON with sorted keys and a trailing newline, so reruns diff cleanly."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    import torch

    buf = _io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line and fsync. A torn last line (killed mid-write) is skipped by ``read_jsonl``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True, default=_json_default) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise _naming(e, path)


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a kill: ignore it
    return out


def _json_default(o: Any):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        if isinstance(o, torch.Tensor):
            return o.detach().cpu().tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
