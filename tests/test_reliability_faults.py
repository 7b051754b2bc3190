"""Reliability, second pass: every fault of the file system, the data files, numbers and devices is one line on
stderr and exit 2 (no traceback), naming the file, field or device and what to do, and the checkpoint stays intact;
stale temporaries are removed on start; a key given twice in ``--set`` is refused; checkpoints follow the umask;
Ctrl-C is one line with the resume command (or, while waiting for another writer, says nothing was written). One
test per row of docs/reliability.md's "Faults of the machine, the data and the numbers", "Smaller faults" and Ctrl-C
rows (the figures runner's and the late writer's rows are in tests/test_reliability.py).

The CLI runs in-process (``main(argv)``) on the seeded ``synthetic`` stand-in at the smoke tier. A full disk and a
read-only disk are made by a file-system error injected where the suite writes (``os.fsync`` / ``os.open`` /
``os.mkdir`` raising the ``OSError`` the kernel gives), since a test cannot mount a small or read-only file system
without root; memory by the available-memory probe and the allocator's own error; only Ctrl-C during training runs
a process (SIGINT is sent to it)."""
from __future__ import annotations

import errno
import gzip
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tvclab import data, memo
from tvclab.train import checkpoint, faults
from tvclab.train.__main__ import main as train_cli

SYN = ["data.dataset=synthetic"]
TINY = SYN + ["optim.steps=4", "optim.log_every=2", "optim.eval_every=2", "optim.ckpt_every=2"]


def _cli(capsys, out, sets=(), extra=()) -> tuple[int, str, str]:
    """``python -m tvclab.train stage1 --config baseline_1d --tier smoke --out OUT --set SETS`` in-process."""
    argv = ["stage1", "--config", "baseline_1d", "--tier", "smoke", *(["--out", str(out)] if out else []),
            *(["--set", *sets] if sets else []), *extra]
    rc = train_cli(argv)
    got = capsys.readouterr()
    return rc, got.out, got.err


def _error_line(err: str) -> str:
    """The one ``error: ...`` line of a refused command (and no traceback)."""
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("TVCLAB_DEBUG", raising=False)


# ------------------------------------------------------------------------------------------------ file system

def test_disk_full_at_a_checkpoint_is_one_line_and_the_previous_checkpoint_stays(tmp_path, monkeypatch, capsys):
    """ENOSPC from the fsync of the step-4 checkpoint (the step-2 one is on disk): exit 2, one line naming the
    file and the fix; ckpt.pt still holds step 2, no temporary is left; --resume then finishes the run."""
    out = tmp_path / "full"
    real_fsync = os.fsync

    def fsync(fd):
        if ".ckpt.pt." in _fd_path(fd) and (out / "ckpt.pt").exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    rc, _, err = _cli(capsys, out, TINY)
    line = _error_line(err)
    assert rc == 2 and f"no space left on the device while writing {out / 'ckpt.pt'}" in line
    assert "free space there" in line and f"{out / 'ckpt.pt'} is intact: continue with" in line
    assert line.endswith("--resume")
    assert checkpoint.load(out / "ckpt.pt")["step"] == 2 and not list(out.glob(".*.tmp"))
    assert not (out / "done.json").exists()
    monkeypatch.setattr(os, "fsync", real_fsync)  # space freed
    rc, _, err = _cli(capsys, out, TINY, ["--resume"])
    assert rc == 0 and (out / "done.json").exists(), err


def test_read_only_output_is_one_line_and_the_checkpoint_stays(tmp_path, monkeypatch, capsys):
    """EROFS: a fresh --out on a read-only disk (the first mkdir fails), and a disk that turns read-only after
    the first checkpoint (creating the next file fails): one line each naming the path; ckpt.pt stays intact."""
    ro = tmp_path / "ro"
    ro.mkdir()
    out = tmp_path / "turns_ro"
    real_open, real_mkdir = os.open, os.mkdir

    def read_only(path) -> bool:
        p = os.fspath(path)
        return p.startswith(str(ro)) or (p.startswith(str(out)) and (out / "ckpt.pt").exists())

    def mkdir(path, *a, **k):
        if read_only(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_mkdir(path, *a, **k)

    def open_(path, flags, *a, **k):
        if flags & os.O_CREAT and read_only(path) and not os.path.exists(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
    rc, _, err = _cli(capsys, ro / "run", TINY)
    line = _error_line(err)
    assert rc == 2 and f"{ro / 'run'} is on a read-only file system" in line and "writable disk" in line
    rc, _, err = _cli(capsys, out, TINY)
    line = _error_line(err)
    assert rc == 2 and "is on a read-only file system" in line and str(out) in line
    assert f"{out / 'ckpt.pt'} is intact" in line and "--resume" in line
    assert checkpoint.load(out / "ckpt.pt")["step"] == 2 and not (out / "done.json").exists()


def test_out_naming_an_existing_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("keep me\n")
    rc, _, err = _cli(capsys, f, TINY)
    line = _error_line(err)
    assert rc == 2 and f"--out {f} is an existing file, not a folder" in line and "folder path" in line
    assert f.read_text() == "keep me\n"
    rc, _, err = _cli(capsys, f / "run", TINY)  # a file further up the path
    assert rc == 2 and f"{f} is an existing file, not a folder" in _error_line(err)


def test_default_run_name_too_long_is_one_line(tmp_path, monkeypatch, capsys):
    """Thirteen stage-1 --set values make a default run name of 331 bytes (the limit is 255): it says so and
    names --out, before anything is created."""
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path / "runs"))
    sets = SYN + ["tokenizer.width=64", "tokenizer.enc_depth=2", "tokenizer.dec_depth=2", "tokenizer.heads=4",
                  "tokenizer.n_tokens=8", "quantizer.codebook_size=64", "quantizer.code_dim=12", "quantizer.beta=0.3",
                  "quantizer.commit_weight=0.9", "decoder.fm_steps=3", "reconstruction.l1_weight=0.2",
                  "optim.warmup_steps=3"]
    rc, _, err = _cli(capsys, None, sets)
    line = _error_line(err)
    assert rc == 2 and "the default run directory name" in line and "longer than the 255" in line
    assert "name the run with --out DIR" in line and not (tmp_path / "runs").exists()


def test_name_too_long_met_while_writing_is_one_line():
    """The same fault met at a write (ENAMETOOLONG from the OS) is translated too, naming the path."""
    e = OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), "/r/" + "x" * 300)
    fault = faults.file_system(e, None, "python -m tvclab.train stage1 ...", Path("/r"))
    assert "has a name longer than the file system allows: pass a shorter --out" in str(fault)
    assert fault.errno == errno.ENAMETOOLONG and "\n" not in str(fault)


# ------------------------------------------------------------------------------------------------ data files

def _idx(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + payload


def _fashion_files(folder: Path, gz: bool, n: int = 100) -> dict[str, Path]:
    """Four small seeded IDX files (n train, n // 5 test images) in ``folder``, gzipped or raw."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, count in (("train", n), ("t10k", n // 5)):
        images = _idx(2051, (count, 28, 28), rng.integers(0, 256, count * 784, dtype=np.uint8).tobytes())
        labels = _idx(2049, (count,), rng.integers(0, 10, count, dtype=np.uint8).tobytes())
        for kind, body in (("images-idx3", images), ("labels-idx1", labels)):
            path = folder / (f"{split}-{kind}-ubyte" + (".gz" if gz else ""))
            path.write_bytes(gzip.compress(body, mtime=0) if gz else body)
            files[f"{split}-{kind}"] = path
    return files


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_truncated_or_corrupt_gz_data_file_names_it(tmp_path, monkeypatch, capsys, damage):
    """A cut .gz (EOFError) and a damaged one (zlib.error): one line naming the file and the fix."""
    monkeypatch.delenv("TVCLAB_DATA", raising=False)
    memo.clear("data")
    files = _fashion_files(tmp_path / "fm", gz=True)
    bad = files["train-images-idx3"]
    gz = bad.read_bytes()
    bad.write_bytes(gz[: len(gz) // 2] if damage == "truncated" else gz[:10] + b"\xff" * 4 + gz[14:])
    rc, _, err = _cli(capsys, tmp_path / "o", [f"runtime.data_root={tmp_path / 'fm'}"])
    line = _error_line(err)
    assert rc == 2 and f"data file {bad} is truncated or corrupt" in line
    assert ("EOFError" if damage == "truncated" else "zlib.error") in line and "good copy" in line
    assert not (tmp_path / "o" / "ckpt.pt").exists()


def test_truncated_raw_label_file_names_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TVCLAB_DATA", raising=False)
    memo.clear("data")
    files = _fashion_files(tmp_path / "fm", gz=False)
    bad = files["train-labels-idx1"]
    bad.write_bytes(bad.read_bytes()[:-8])
    rc, _, err = _cli(capsys, tmp_path / "o", [f"runtime.data_root={tmp_path / 'fm'}"])
    line = _error_line(err)
    assert rc == 2 and f"data file {bad} is truncated or corrupt (truncated: its header states 100 = 100 " \
                       f"bytes of data, it holds 92)" in line
    memo.clear("data")
    assert len(data.load("fashion_mnist", "test", root=tmp_path / "fm")) == 20  # the intact files still read


# ------------------------------------------------------------------------------------------------ numbers

@pytest.mark.parametrize("setting,says", [
    ("seed=inf", "--set seed=inf: expected an int"),
    ("optim.steps=1e400", "optim.steps = 1.000e+400 is invalid: it does not fit a 64-bit integer"),
    ("seed=1e30", "seed = 1.000e+30 is invalid: it does not fit a 64-bit integer; it must be an int in "
                  "[0, 4294967295]"),
], ids=["seed=inf", "optim.steps=1e400", "seed=1e30"])
def test_infinite_or_huge_numbers_name_the_field(tmp_path, capsys, setting, says):
    rc, _, err = _cli(capsys, tmp_path / "o", SYN + [setting])
    assert rc == 2 and says in _error_line(err) and not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------ devices

def test_unknown_or_missing_device_is_one_line(tmp_path, monkeypatch, capsys):
    """runtime.device=banana is not a device (a config error); cuda on a machine without CUDA, and cuda:7 on one
    with a single GPU, name what the machine has. Nothing is created."""
    rc, _, err = _cli(capsys, tmp_path / "o", SYN + ["runtime.device=banana"])
    assert rc == 2 and "runtime.device = 'banana' is invalid: it must be auto, cpu, cuda" in _error_line(err)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc, _, err = _cli(capsys, tmp_path / "o", SYN + ["runtime.device=cuda"])
    line = _error_line(err)
    assert rc == 2 and "runtime.device=cuda: this machine has no usable CUDA device" in line
    assert "runtime.device=auto" in line and "runtime.device=cpu" in line
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    rc, _, err = _cli(capsys, tmp_path / "o", SYN + ["runtime.device=cuda:7"])
    assert rc == 2 and "runtime.device=cuda:7: this machine has 1 CUDA device (cuda:0)" in _error_line(err)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------ memory

ALLOC = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to "
         "allocate 22560854400 bytes. Error code 12 (Cannot allocate memory)")


def test_image_size_that_fits_the_range_but_not_the_memory(tmp_path, monkeypatch, capsys):
    """data.image_size=1022 (in [8, 1024], a multiple of the patch 7): the 5400 training images as floats need
    21 GiB. With 4 GiB available it is refused before the allocation; where the probe knows nothing, the
    allocator's own error becomes the same kind of line."""
    sets = SYN + ["data.image_size=1022"]
    monkeypatch.setattr(faults, "available_memory", lambda: 4 * 2**30)
    rc, _, err = _cli(capsys, tmp_path / "o", sets)
    line = _error_line(err)
    assert rc == 2 and "the 5400 training images of synthetic as float32 at 1022x1022 need 21.0 GiB, more than " \
                       "75% of the 4.0 GiB this machine has available" in line
    assert "lower data.image_size (now 1022; the native size of synthetic is 28) or optim.batch_size (now 16)" in line

    def no_memory(*a, **k):
        raise RuntimeError(ALLOC)

    monkeypatch.setattr(faults, "available_memory", lambda: None)
    monkeypatch.setattr(data, "_to_float", no_memory)
    rc, _, err = _cli(capsys, tmp_path / "o2", sets)
    line = _error_line(err)
    assert rc == 2 and "stage1: out of memory on this machine (it tried to allocate 21.0 GiB): lower " \
                       "data.image_size (now 1022" in line


# ------------------------------------------------------------------------------------------------ smaller

def test_stale_temporaries_are_removed_on_start(tmp_path, capsys):
    """A kill mid-write leaves .ckpt.pt.*.tmp (and snapshots/.tokenizer_*.tmp); the next writer removes them
    under the lock and says so. Another stage's directory below is not touched."""
    out = tmp_path / "run"
    (out / "snapshots").mkdir(parents=True)
    (out / "stage2").mkdir()
    stale = [out / ".ckpt.pt.k1ll3d00.tmp", out / "snapshots" / ".tokenizer_2.pt.k1ll3d01.tmp"]
    for p in stale:
        p.write_bytes(b"\0" * 4096)
    other = out / "stage2" / ".ckpt.pt.notmine0.tmp"
    other.write_bytes(b"\0")
    rc, _, err = _cli(capsys, out, TINY)
    assert rc == 0 and not any(p.exists() for p in stale) and other.exists()
    assert "removed 2 temporary files a killed write left" in err and ".ckpt.pt.k1ll3d00.tmp" in err
    assert not list(out.glob(".*.tmp")) and (out / "done.json").exists()


def test_a_key_given_twice_in_set_is_refused(tmp_path, capsys):
    rc, _, err = _cli(capsys, tmp_path / "o", SYN + ["optim.lr=1e-3", "optim.steps=4", "optim.lr=1e-4"])
    assert rc == 2 and "--set optim.lr is given 2 times ('1e-3', '1e-4'): give each key once" in _error_line(err)
    assert not (tmp_path / "o").exists()


def test_checkpoint_and_done_follow_the_umask(tmp_path, capsys):
    """With umask 027 every file of the run is 0640, the atomically written ones (ckpt.pt, done.json, ...) as the
    appended metrics.jsonl (tempfile alone would leave them 0600)."""
    old = os.umask(0o027)
    try:
        rc, _, err = _cli(capsys, tmp_path / "run", TINY)
    finally:
        os.umask(old)
    assert rc == 0, err
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir() if p.is_file()}
    assert {"ckpt.pt", "done.json", "config.json", "metrics.jsonl", "tokenizer.pt"} <= set(modes)
    assert {n: m for n, m in modes.items() if m != 0o640} == {}, {n: oct(m) for n, m in modes.items()}


def test_sigint_prints_one_line_with_the_resume_command(tmp_path):
    """Ctrl-C (SIGINT) once the first checkpoint is on disk: exit 130, one line "stage1: interrupted at step N
    (...); resume with: python -m tvclab.train ... --resume", no traceback; the checkpoint loads."""
    out = tmp_path / "int"
    env = dict(os.environ, OMP_NUM_THREADS="1", TVCLAB_RUNS=str(tmp_path / "runs"), PYTHONUNBUFFERED="1")
    env.pop("TVCLAB_DEBUG", None)
    args = [sys.executable, "-m", "tvclab.train", "stage1", "--config", "baseline_1d", "--tier", "smoke", "--out",
            str(out), "--set", *SYN, "optim.steps=2000", "optim.log_every=2", "optim.ckpt_every=2",
            "optim.eval_every=1000"]
    # SIGINT back to its default in the child: a test run started in the background (nohup, `&` in a script) has
    # SIGINT ignored, the child inherits that, and Python then installs no KeyboardInterrupt handler at all
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (out / "ckpt.pt").exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # a few steps into training
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-3000:]
    lines = [ln for ln in err.splitlines() if "interrupted" in ln]
    assert len(lines) == 1 and "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    line = lines[0].split("\r")[-1]  # after the progress bar's last redraw
    assert line.startswith("stage1: interrupted at step ") and "is kept); resume with: python -m tvclab.train " \
                                                               "stage1 --config baseline_1d --tier smoke" in line
    assert line.endswith(f"--out {out} --resume")
    step = int(line.split("at step ")[1].split()[0])
    state = checkpoint.load(out / "ckpt.pt")
    assert 2 <= state["step"] <= step and not (out / "done.json").exists()
    assert not list(out.glob(".*.tmp"))


def test_ctrl_c_while_waiting_for_another_writer_is_one_line(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the CLI waits for another writer's lock (injected as the poll's sleep raising
    KeyboardInterrupt): one line saying nothing was written by this process, exit 130; the holder keeps its lock."""
    import types

    from tvclab import locks

    out = tmp_path / "busy"
    held, release = threading.Event(), threading.Event()

    def holder():  # another thread is kept out like another process (flock belongs to the open file)
        with locks.dir_lock(out, what="stage1 run"):
            held.set()
            release.wait(60)

    def ctrl_c(seconds):
        raise KeyboardInterrupt

    t = threading.Thread(target=holder)
    t.start()
    try:
        held.wait(30)
        monkeypatch.setattr(locks, "time", types.SimpleNamespace(monotonic=time.monotonic, strftime=time.strftime,
                                                                 sleep=ctrl_c))
        rc, _, err = _cli(capsys, out, TINY)
        assert locks.holder(out)["pid"] == os.getpid()  # still held by the other writer
    finally:
        release.set()
        t.join(30)
    assert rc == 130 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "interrupted" in ln]
    assert lines == [f"stage1: interrupted while waiting for another writer of {out} to finish; this process wrote "
                     "nothing (that writer goes on)"], err
    assert not (out / "config.json").exists()
