"""Reliability: one writer per directory (tvclab.locks; a late second writer too), a non-finite value never marked
done (tvclab.fit), every size / step count / rate validated (tvclab.configs), explicit paths obeyed (tvclab.data,
tvclab.paths), a kill during a checkpoint write, and the batch runner on two notebooks that share a run (and its
refusal of an empty name). One test per row of docs/reliability.md (the faults of the machine, the data files and
the numbers: tests/test_reliability_faults.py). Runs use the smoke tier on the seeded ``synthetic`` stand-in;
processes are started only where processes are the point (locks, kills, the batch runner)."""
from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
import torch

from tvclab import classifier as clf
from tvclab import configs, data, figures, memo, paths, train
from tvclab.fit import NonFiniteError, fit
from tvclab.io import atomic_torch_save, read_jsonl
from tvclab.locks import LockedError, dir_lock, holder
from tvclab.train import artifacts, checkpoint
from tvclab.train.__main__ import main as train_cli
from tvclab.train.distributed import Dist
from tvclab.train.runlog import RunContext

SYN = ["data.dataset=synthetic"]
TINY_RUN = SYN + ["optim.steps=4", "optim.eval_every=4", "optim.ckpt_every=4"]


def _env(tmp_path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TVCLAB_RUNS=str(tmp_path / "runs"),
               PYTHONUNBUFFERED="1")
    env.pop("TVCLAB_DEBUG", None)
    return env


def _wait_for(cond, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _steps_unique(rows: list[dict]) -> bool:
    seen = [(r["kind"], r["step"]) for r in rows]
    return len(seen) == len(set(seen))


# ------------------------------------------------------------------------------------------------ locks

def test_lock_is_reentrant_per_thread_and_exclusive_across_threads(tmp_path):
    d = tmp_path / "run"
    seen = {}

    def other():
        try:
            with dir_lock(d, wait=False):
                seen["got"] = True
        except LockedError as e:
            seen["error"] = e

    with dir_lock(d, what="run"):
        with dir_lock(d, what="run"):  # nested in the same thread: no deadlock
            t = threading.Thread(target=other)
            t.start()
            t.join()
        assert holder(d)["pid"] == os.getpid()
    assert "got" not in seen and str(os.getpid()) in str(seen["error"]) and str(d) in str(seen["error"])
    assert holder(d) is None and (d / ".lock").read_text() == ""  # a clean release empties the file
    other()
    assert seen.get("got")


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path, capfd):
    """A writer killed by SIGKILL leaves its lock file with its PID; the kernel dropped the flock, so the next
    writer gets it at once, with wait=False too, and says whose stale lock it took over."""
    d = tmp_path / "run"
    code = ("import os, sys; from tvclab.locks import dir_lock; l = dir_lock(sys.argv[1]); l.__enter__(); "
            "os.kill(os.getpid(), 9)")
    p = subprocess.Popen([sys.executable, "-c", code, str(d)], env=_env(tmp_path))
    assert p.wait(60) == -signal.SIGKILL
    left = json.loads((d / ".lock").read_text())
    assert left["pid"] == p.pid  # the dead writer's record stays in the file
    assert holder(d) is None  # nobody holds it
    with dir_lock(d, wait=False, what="run"):
        assert holder(d)["pid"] == os.getpid()
    err = capfd.readouterr().err
    assert "took over" in err and f"PID {left['pid']}" in err


def test_two_writers_on_one_run_directory(tmp_path, capfd):
    """Two `python -m tvclab.train stage1` on one --out: the second waits (naming the holder's PID), then finds
    the run finished; metrics.jsonl has no duplicated step. A third with --no-wait refuses, naming the PID."""
    out = tmp_path / "shared"
    args = [sys.executable, "-m", "tvclab.train", "stage1", "--config", "baseline_1d", "--tier", "smoke",
            "--out", str(out), "--set", *TINY_RUN]
    gate = dir_lock(out, what="test gate")  # this test holds the lock first, so both writers start blocked
    gate.__enter__()
    procs, logs = [], []
    try:
        for name in ("a", "b"):
            err = open(tmp_path / f"{name}.err", "w")
            procs.append(subprocess.Popen(args, env=_env(tmp_path), stdout=open(tmp_path / f"{name}.out", "w"),
                                          stderr=err, text=True))
            logs.append(tmp_path / f"{name}.err")
        refused = {}  # the CLI with --no-wait, in another thread of this process (flock is per open file)
        t = threading.Thread(target=lambda: refused.setdefault("rc", train_cli(args[3:] + ["--no-wait"])))
        t.start()
        t.join(120)
        err = capfd.readouterr().err
        assert refused["rc"] == 2 and f"locked by PID {os.getpid()}" in err and str(out) in err, err
        assert "Traceback" not in err and "--no-wait" in err
        _wait_for(lambda: all(f"locked by PID {os.getpid()}" in p.read_text() for p in logs),
                  what="both writers waiting")
    finally:
        gate.__exit__(None, None, None)
    for p in procs:
        assert p.wait(timeout=300) == 0, [x.read_text() for x in logs]
    outs = [(tmp_path / f"{n}.out").read_text() for n in ("a", "b")]
    finished = [i for i, o in enumerate(outs) if "already finished" in o]
    assert len(finished) == 1, outs  # trained once: the later writer found it done
    loser, winner = finished[0], 1 - finished[0]
    assert f"locked by PID {procs[winner].pid}" in logs[loser].read_text()  # it waited for the real writer
    rows = read_jsonl(out / "metrics.jsonl")
    assert rows and _steps_unique(rows) and (out / "done.json").exists()


LATE = SYN + ["optim.steps=60", "optim.log_every=2", "optim.ckpt_every=2", "optim.eval_every=20"]


def test_late_second_writer_waits_then_finds_the_run_finished(tmp_path, capfd):
    """The sequence of issue 38: one writer starts, the second arrives once its first ckpt.pt is on disk. The
    second takes the lock before it judges the directory, so it waits (naming the first's PID) instead of
    calling a live run dead ("pass --resume ... or delete the directory"), then reports it finished (exit 0)."""
    out = tmp_path / "runs-late"
    args = ["stage1", "--config", "baseline_1d", "--tier", "smoke", "--set", *LATE, "--out", str(out)]
    first = subprocess.Popen([sys.executable, "-m", "tvclab.train", *args], env=_env(tmp_path),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (out / "ckpt.pt").exists() or first.poll() is not None, what="the first checkpoint")
        assert first.poll() is None, "the first writer ended before its first checkpoint"
        rc = train_cli(args)  # the second writer, in this process: it reaches the lock within milliseconds
        got = capfd.readouterr()
    finally:
        first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err[-3000:]
    assert rc == 0 and "already finished with this config" in got.out, got
    assert f"locked by PID {first.pid}" in got.err and "Waiting for it to finish" in got.err, got.err
    assert "pass --resume" not in got.err and "error:" not in got.err
    assert "already finished" not in first_out  # the first trained it
    rows = read_jsonl(out / "metrics.jsonl")
    assert _steps_unique(rows) and max(r["step"] for r in rows) == 60 and (out / "done.json").exists()


def test_classifier_cache_second_writer_waits_and_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_CACHE", str(tmp_path / "cache"))
    memo.clear("classifier")
    cfg = clf.ClassifierConfig(dataset="synthetic", width=4, feature_dim=8, steps=3, batch_size=16, lr=1e-3)
    calls = []
    real = clf._train_classifier
    monkeypatch.setattr(clf, "_train_classifier", lambda *a: calls.append(1) or real(*a))
    got = {}
    with clf.cache_lock(cfg):  # "another process" is training this entry
        t = threading.Thread(target=lambda: got.setdefault("m", clf.load_classifier(config=cfg, progress=False)))
        t.start()
        time.sleep(0.3)
        assert t.is_alive()  # waiting for the lock
        clf.train_classifier(cfg, progress=False)  # re-entrant: the holder writes the entry
        memo.clear("classifier")
    t.join(30)
    assert calls == [1] and got["m"].config_hash == cfg.hash()  # the waiter loaded it, did not retrain
    memo.clear("classifier")


# ------------------------------------------------------------------------------------------------ non-finite

def _tiny_ctx(d: Path) -> RunContext:
    return RunContext(configs.get("baseline_1d", "smoke"), Dist(), d, d)


def test_nan_stops_the_fit_before_anything_is_saved(tmp_path):
    """A NaN loss at step 6 (log and checkpoint every 2): NonFiniteError names step 6 and the part; the checkpoint of
    step 4 stays, loads, and holds finite weights; no row of step 6 was logged."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(8, 3)

    def step_fn(step):
        y = model(x).pow(2).mean()
        aux = y * (float("nan") if step == 5 else 1.0)
        return {"loss": y + aux, "aux": aux}

    opt = configs.OptimConfig(steps=10, batch_size=8, warmup_steps=0, log_every=2, eval_every=2, ckpt_every=2)
    with pytest.raises(NonFiniteError, match=r"step 6 .*aux=nan") as e:
        fit(model, step_fn, opt, ctx=_tiny_ctx(tmp_path), progress=False)
    assert (e.value.step, e.value.last_checkpoint, e.value.kind) == (6, 4, "train")
    state = checkpoint.load(artifacts.checkpoint(tmp_path))
    assert state["step"] == 4 and all(torch.isfinite(v).all() for v in state["model"].values())
    assert max(r["step"] for r in read_jsonl(artifacts.metrics(tmp_path))) == 4


def test_nonfinite_gradient_and_evaluation_stop_too(tmp_path):
    model = torch.nn.Linear(2, 1)
    x = torch.randn(4, 2)
    opt = configs.OptimConfig(steps=4, batch_size=4, warmup_steps=0, log_every=1, eval_every=2, ckpt_every=2)

    def inf_grad(step):  # at step 3 the loss is finite (sqrt(0) = 0) but its gradient is not (1 / (2 sqrt(0)))
        loss = model(x).pow(2).mean()
        if step == 2:
            loss = loss + torch.sqrt(model.weight.sum() - model.weight.sum().detach())
        return {"loss": loss}

    with pytest.raises(NonFiniteError, match=r"step 3 \(grad_norm=inf"):
        fit(model, inf_grad, opt, progress=False)
    model = torch.nn.Linear(2, 1)  # the first one's weights went non-finite
    with pytest.raises(NonFiniteError, match=r"evaluation at step 2 gave non-finite metrics \(psnr=nan\)") as e:
        fit(model, lambda s: {"loss": model(x).pow(2).mean()}, opt, ctx=_tiny_ctx(tmp_path / "e"), progress=False,
            evaluate=lambda step: {"split": "val", "psnr": float("nan"), "codes_used": 1})
    assert e.value.kind == "eval" and not any(r["kind"] == "eval" for r in read_jsonl(tmp_path / "e" / "metrics.jsonl"))


def _nan_stage(ctx):
    """A stage whose loss goes NaN from step 5 on when optim.lr > 1 (as `--set optim.lr=1e8` does)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(8, 3)
    blow = ctx.cfg.optim.lr > 1

    def step_fn(step):
        loss = model(x).pow(2).mean()
        return {"loss": loss * (float("nan") if blow and step >= 4 else 1.0)}

    rows = fit(model, step_fn, ctx.cfg.optim, ctx=ctx, desc="nan stage", progress=False)
    return {"loss": rows[-1]["loss"], "step": ctx.cfg.optim.steps}


def test_nan_run_writes_no_done_and_resumes_after_a_config_change(tmp_path):
    train.register_stage("nanstage", train.Stage(_nan_stage, "stage1"))
    over = SYN + ["optim.steps=8", "optim.log_every=2", "optim.eval_every=2", "optim.ckpt_every=2"]
    d = tmp_path / "r"
    try:
        with pytest.raises(NonFiniteError, match=r"step 5 .*loss=nan.*no done\.json written.*--resume"):
            train.run("nanstage", "baseline_1d", "smoke", over + ["optim.lr=1e8"], out=d)
        assert not (d / "done.json").exists() and (d / "nonfinite.json").exists()
        assert checkpoint.load(d / "ckpt.pt")["step"] == 4  # the last good checkpoint
        with pytest.raises(train.RunConflictError, match="stopped on non-finite values at step 5.*--resume"):
            train.run("nanstage", "baseline_1d", "smoke", over + ["optim.lr=1e-3"], out=d)
        with pytest.raises(train.RunConflictError, match="only optim"):  # a model change is not a fix to resume
            train.run("nanstage", "baseline_1d", "smoke", over + ["optim.lr=1e-3", "tokenizer.width=64"], out=d,
                      resume=True)
        train.run("nanstage", "baseline_1d", "smoke", over + ["optim.lr=1e-3"], out=d, resume=True)
        done = json.loads((d / "done.json").read_text())
        assert done["recovered_from"]["step"] == 5 and math.isfinite(done["metrics"]["loss"])
        assert not (d / "nonfinite.json").exists()
        assert [r["step"] for r in read_jsonl(d / "metrics.jsonl")] == [2, 4, 6, 8]
    finally:
        train.STAGES.pop("nanstage")


def test_cli_nan_exits_2_with_one_line_and_no_done(tmp_path, capsys):
    out = tmp_path / "nan"
    rc = train_cli(["stage1", "--config", "baseline_1d", "--tier", "smoke", "--out", str(out),
                    "--set", *SYN, "optim.lr=1e8"])
    err = capsys.readouterr().err
    assert rc == 2 and "non-finite training values at step" in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if "non-finite" in ln]) == 1  # one line
    assert not (out / "done.json").exists()


# ------------------------------------------------------------------------------------------------ config values

def _numeric_leaves():
    """(dotted key, Range, kind) of every numeric leaf of Config with a lower or upper bound."""
    out = []

    def walk(obj, prefix):
        rules = configs.FIELD_RULES.get(type(obj), {})
        for f in fields(obj):
            v = getattr(obj, f.name)
            if is_dataclass(v):
                walk(v, f"{prefix}{f.name}.")
            elif configs.is_number(v) and f.name in rules:
                out.append((f"{prefix}{f.name}", rules[f.name], type(v)))
    walk(configs.Config(), "")
    return out


def _invalid_values(rule: configs.Range, kind: type) -> list[str]:
    vals = []
    if rule.lo is not None:
        vals.append(str(int(rule.lo) - 1) if kind is int else str(rule.lo if rule.lo_open else rule.lo - 0.5))
    if rule.hi is not None:
        vals.append(str(int(rule.hi) + 1) if kind is int else str(rule.hi if rule.hi_open else rule.hi + 0.5))
    if kind is float:
        vals += ["nan", "inf"]
    return vals


LEAVES = [(k, v) for k, rule, kind in _numeric_leaves() for v in _invalid_values(rule, kind)]


def test_every_numeric_field_declares_its_range():
    assert configs.check_ranges(configs.Config()) == []  # a new numeric field without a rule fails here
    assert len({k for k, _ in LEAVES}) >= 60  # sizes, step counts, rates, weights of every section


@pytest.mark.parametrize("key,value", LEAVES, ids=[f"{k}={v}" for k, v in LEAVES])
def test_invalid_numeric_value_names_the_field(key, value):
    with pytest.raises(configs.ConfigError, match=rf"{key.replace('.', '[.]')} = .* must be"):
        configs.apply_overrides(configs.get("baseline_1d", "smoke"), [f"{key}={value}"])


def test_zero_is_kept_where_it_means_off():
    zeros = ["optim.warmup_steps", "optim.grad_clip", "optim.weight_decay", "quantizer.restart_every",
             "quantizer.kl_weight", "wgf.weight", "prologue.n", "prologue.code_dim", "stage2.train_images",
             "stage2.tokenizer_step", "stage2.optim.warmup_steps", "sample.top_k", "runtime.num_workers",
             "reconstruction.lpips_weight", "optim.lr_min", "optim.beta1"]
    configs.apply_overrides(configs.get("wartok", "smoke"), [f"{k}=0" for k in zeros])


def test_cli_zero_batch_size_is_one_line(capsys):
    rc = train_cli(["stage1", "--config", "baseline_1d", "--tier", "smoke", "--set", "optim.batch_size=0"])
    err = capsys.readouterr().err
    assert rc == 2 and "optim.batch_size = 0 is invalid: it must be an int >= 1" in err and "Traceback" not in err
    with pytest.raises(configs.ConfigError, match="classifier config: steps = 0"):
        clf.ClassifierConfig(steps=0)


# ------------------------------------------------------------------------------------------------ explicit paths

def test_explicit_data_paths_are_obeyed(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TVCLAB_DATA", raising=False)
    memo.clear("data")
    missing = tmp_path / "nonexistent" / "dir"
    rc = train_cli(["stage1", "--config", "baseline_1d", "--tier", "smoke", "--out", str(tmp_path / "o"),
                    "--set", f"runtime.data_root={missing}"])
    err = capsys.readouterr().err
    assert rc == 2 and str(missing) in err and "does not exist" in err and "train-images-idx3-ubyte" in err
    assert "Traceback" not in err and not (tmp_path / "o" / "done.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("TVCLAB_DATA", str(empty))  # set, exists, lacks the files: no fall-back to the defaults
    with pytest.raises(data.DataNotFoundError, match=re.escape(f"$TVCLAB_DATA {empty} does not hold t10k-images")):
        data.load("fashion_mnist", "test")
    with pytest.raises(data.DataNotFoundError, match="CIFAR-10 not found.*does not hold cifar-10-batches-py"):
        data.load("cifar10", "test")
    monkeypatch.setenv("TVCLAB_CACHE", str(missing))
    with pytest.raises(FileNotFoundError, match=re.escape(f"TVCLAB_CACHE={missing} does not exist")):
        paths.cache_root()
    monkeypatch.setenv("TVCLAB_CACHE", str(tmp_path / "new-cache"))  # a new folder in an existing one is fine
    assert paths.cache_root() == tmp_path / "new-cache"
    rc = train_cli(["stage1", "--config", "baseline_1d", "--tier", "smoke", "--out", str(missing), "--resume"])
    err = capsys.readouterr().err
    assert rc == 2 and f"{missing} does not exist, so there is nothing to resume" in err


# ------------------------------------------------------------------------------------------------ kill mid-write

def test_sigkill_during_a_checkpoint_write_keeps_the_previous_one(tmp_path):
    """A process killed while writing ckpt.pt (data written to the temporary file, not yet renamed) leaves the
    previous checkpoint in place, and it loads."""
    path = tmp_path / "ckpt.pt"
    checkpoint.save(path, {"model": {"w": torch.ones(3)}, "step": 1})
    new = tmp_path / "new.bin"
    atomic_torch_save(new, {"model": {"w": torch.full((3,), 2.0)}, "step": 2})
    code = ("import os, sys, time\nfrom tvclab import io\n"
            "def stall(fd):\n    print('in-write', flush=True)\n    time.sleep(120)\n"
            "os.fsync = stall\nio.atomic_write_bytes(sys.argv[1], open(sys.argv[2], 'rb').read())\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(path), str(new)], env=_env(tmp_path),
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "in-write"
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    torn = list(tmp_path.glob(".ckpt.pt.*.tmp"))
    assert torn and torn[0].stat().st_size > 0  # the new bytes went to a temporary file only
    state = checkpoint.load(path)
    assert state["step"] == 1 and torch.equal(state["model"]["w"], torch.ones(3))


# ------------------------------------------------------------------------------------------------ batch runner

NOTEBOOK = '''# %% [markdown]
# # Shares a run

# %% tags=["parameters"]
tier: str = "smoke"
seed: int = 0
out_dir: str = "figures/{name}"

# %%
# Train the shared run (counted)
import json, os, time
from pathlib import Path
from tvclab import train
from tvclab.train import runner, stage1

shared = Path({shared!r})
def counted(ctx):
    with open(shared.parent / "trainings.txt", "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    deadline = time.time() + 120  # hold the lock until the other notebook has reached train.run
    while len(list(shared.parent.glob("arrived_*"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    return stage1.train(ctx)
runner.register_stage("stage1", runner.STAGES["stage1"]._replace(fn=counted))
(shared.parent / "arrived_{name}").touch()
d = train.run("stage1", "baseline_1d", "smoke", {sets!r}, out=shared)
Path(out_dir, "results.json").write_text(json.dumps({{"done": (d / "done.json").exists()}}))
'''


def test_figures_empty_name_or_negative_timeout_exits_2_before_running(tmp_path, monkeypatch, capsys):
    """`--only ''` (an unset shell variable) would be a prefix of every notebook name; `--timeout -5` is no limit.
    Both exit 2 with one line, and nothing runs."""
    ran = []
    monkeypatch.setattr(figures, "run_notebook", lambda *a, **k: ran.append(a) or figures.Outcome("x", True, 0.0))
    monkeypatch.setattr(figures, "_execute", lambda *a, **k: ran.append(a))
    common = ["--tier", "smoke", "--out-root", str(tmp_path / "out")]
    for argv, says in ((["--only", ""], "--only '' names no notebook"),
                       (["--only", "01", "--only", "  "], "--only '  ' names no notebook"),
                       (["--only", "01", "--timeout", "-5"], "--timeout -5 is not a wall-clock limit"),
                       (["--only", "01", "--timeout", "0"], "--timeout 0 is not a wall-clock limit")):
        assert figures.main(argv + common) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
    assert ran == [] and not (tmp_path / "out").exists()


def test_batch_runner_jobs_2_trains_a_shared_run_once(tmp_path):
    nbdir, shared = tmp_path / "nbs", tmp_path / "runs" / "shared"
    nbdir.mkdir()
    shared.parent.mkdir()
    for name in ("00_first", "01_second"):
        (nbdir / f"{name}.py").write_text(NOTEBOOK.format(name=name, shared=str(shared), sets=TINY_RUN))
    rc = figures.main(["--notebooks", str(nbdir), "--tier", "smoke", "--out-root", str(tmp_path / "out"),
                       "--jobs", "2", "--timeout", "300"])
    assert rc == 0
    assert (shared.parent / "trainings.txt").read_text().count("\n") == 1  # trained once
    rows = read_jsonl(shared / "metrics.jsonl")
    assert rows and _steps_unique(rows)
    texts = []
    for name in ("00_first", "01_second"):
        assert json.loads((tmp_path / "out" / name / "results.json").read_text())["done"]
        nb = json.loads((tmp_path / "out" / name / f"{name}.executed.ipynb").read_text())
        texts.append("".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])))
    assert sum("already finished" in t for t in texts) == 1
    assert any("locked by PID" in t for t in texts)  # the second waited for the first
