import math
import os
import random
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded(request):
    """Every test starts from the same global random state, whatever ran before it: torch, numpy and ``random``
    seeded from the test's own id (crc32), so a test's unseeded draws (``torch.randn``, a module's initial
    weights) are the same alone, in the file's order and in a shuffled order (``.ci/run`` shuffles)."""
    seed = zlib.crc32(request.node.nodeid.encode())
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    yield


# ---------------------------------------------------------------- float32 tolerances
# Two evaluations of one float32 computation may round differently: another batch size or sequence length sends
# MKL/oneDNN down another blocking of the same reduction, and another CPU (AVX2 against AVX-512, Intel against
# AMD) takes another kernel. Equal-in-exact-arithmetic results then differ by rounding, and only by rounding, which
# the standard worst-case bound prices: n rounded operations on the path from the inputs to an output move it by at
# most gamma_n = n * eps / (1 - n * eps) of the magnitudes that flow through them (Higham, "Accuracy and Stability of
# Numerical Algorithms", 2nd ed., 2002, Lemma 3.1 and eq. 3.12 for a dot product). Tests compare such results with
# ``assert_f32_close(actual, expected, ops=n)``: the tolerance is gamma_n relative to the largest magnitude of the
# expected tensor (a rounding error is a fraction of the values that were summed, not of an output that happens to
# sit near zero), with ``ops`` written beside each call as the sum of the reduction lengths along the deepest path.
EPS32 = float(torch.finfo(torch.float32).eps)  # 2**-23 = 1.19e-7


def gamma32(ops: int) -> float:
    """Higham's gamma_n for float32: the worst-case relative rounding error of ``ops`` rounded operations."""
    if ops * EPS32 >= 1:
        raise ValueError(f"ops={ops} is too deep for a float32 rounding bound (ops * eps >= 1)")
    return ops * EPS32 / (1 - ops * EPS32)


def f32_atol(expected, ops: int) -> float:
    """Absolute tolerance gamma_ops * max(1, max|expected|): relative to the output magnitude when it exceeds 1, and
    to the unit scale of normalised activations below it."""
    scale = float(torch.as_tensor(expected).detach().abs().max()) if torch.as_tensor(expected).numel() else 0.0
    return gamma32(ops) * max(scale, 1.0)


def transformer_ops(width: int, depth: int, n_tokens: int, mlp_ratio: float = 4.0) -> int:
    """Rounded operations on the deepest path of a pre-norm transformer (``models.blocks``), for ``gamma32``: per
    block two norms (2 x width each: mean of squares and scale), the qkv and output projections (width each), the
    attention scores (at most width) and the softmax and attention-weighted sum (n_tokens each), the MLP
    (width + mlp_ratio x width); plus the embedding-side and head-side projections (width each)."""
    return int(depth * ((7 + mlp_ratio) * width + 2 * n_tokens) + 2 * width)


def assert_f32_close(actual, expected, ops: int, msg: str = "") -> None:
    """``actual`` equals ``expected`` up to float32 rounding of a computation ``ops`` operations deep (see above).
    Two tensors that differ by more differ by something other than rounding: an indexing or masking error, a
    batch-dependent layer, a leak across rows or positions."""
    actual, expected = torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach()
    assert actual.shape == expected.shape, f"{msg} shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    atol = f32_atol(expected, ops)
    err = float((actual.double() - expected.double()).abs().max()) if expected.numel() else 0.0
    assert err <= atol, (f"{msg} max |difference| {err:.3g} > {atol:.3g} = gamma_{ops} x max|expected| "
                         f"{float(expected.abs().max()):.3g}")


@pytest.fixture(autouse=True, scope="session")
def _isolated_runs(tmp_path_factory):
    """Training run directories made by tests go to a temp dir, never into the repository's runs/."""
    old = os.environ.get("TVCLAB_RUNS")
    os.environ["TVCLAB_RUNS"] = str(tmp_path_factory.mktemp("runs"))
    yield
    if old is None:
        os.environ.pop("TVCLAB_RUNS", None)
    else:
        os.environ["TVCLAB_RUNS"] = old


@pytest.fixture
def smoke_notebook(tmp_path):
    """Run one notebook at smoke tier through `python -m tvclab.figures` (the users' command); return its folder."""
    from tvclab.figures import main

    def run(name: str):
        rc = main(["--only", name, "--tier", "smoke", "--out-root", str(tmp_path / "figs"),
                   "--runs-root", str(tmp_path / "runs")])
        assert rc == 0, f"notebook {name} failed at smoke tier (executed notebook kept under {tmp_path / 'figs'})"
        (out,) = [p for p in (tmp_path / "figs").iterdir() if p.name.startswith(name)]
        return out

    return run


# 1 process against 2 under torchrun (DDP on gloo): tests/test_torchrun.py states the tolerances
RTOL, ATOL = 1e-4, 1e-6
N_TOKENS = 64 * 4  # smoke tier: evaluation.code_eval_images x tokenizer.n_tokens
H_TOL = 2 * (math.log(N_TOKENS) + 1) / N_TOKENS  # one held-out token reassigned to another code


def _close(key: str, a: float, b: float) -> bool:
    if key.endswith("token_entropy"):
        return abs(a - b) <= H_TOL
    if key.endswith("token_perplexity"):
        return abs(math.log(a) - math.log(b)) <= H_TOL
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def cli_env(tmp_path):
    """The environment of a ``python -m tvclab.train`` subprocess: one thread, runs under ``tmp_path``, no
    inherited torchrun or debug variables."""
    env = dict(os.environ, OMP_NUM_THREADS="1", TVCLAB_RUNS=str(tmp_path / "runs"), PYTHONUNBUFFERED="1")
    for k in ("TVCLAB_DEBUG", "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


@pytest.fixture
def one_vs_two_processes(tmp_path):
    """Run ``python -m tvclab.train ARGS`` in 1 process and under ``torchrun --nproc_per_node=2`` into
    ``tmp_path/one`` and ``tmp_path/two``; assert their metrics logs agree row by row; return the two folders."""
    from tvclab.io import read_jsonl

    def run(args):
        one = subprocess.run([sys.executable, "-m", "tvclab.train", *args, "--out", str(tmp_path / "one")],
                             env=cli_env(tmp_path), capture_output=True, text=True, timeout=300)
        assert one.returncode == 0, one.stderr[-3000:]
        two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                              "-m", "tvclab.train", *args, "--out", str(tmp_path / "two")],
                             env=cli_env(tmp_path), capture_output=True, text=True, timeout=300)
        assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
        a, b = read_jsonl(tmp_path / "one" / "metrics.jsonl"), read_jsonl(tmp_path / "two" / "metrics.jsonl")
        assert [(r["kind"], r["step"]) for r in a] == [(r["kind"], r["step"]) for r in b]
        for ra, rb in zip(a, b):
            assert ra.keys() == rb.keys()
            for k, v in ra.items():
                if isinstance(v, float):
                    assert _close(k, v, rb[k]), (ra["step"], k, v, rb[k])
                else:
                    assert v == rb[k], (ra["step"], k, v, rb[k])
        return tmp_path / "one", tmp_path / "two"

    return run


@pytest.fixture
def kill_and_resume(tmp_path):
    """Run ``python -m tvclab.train ARGS`` uninterrupted into ``tmp_path/ref``; start it again into
    ``tmp_path/killed``, SIGKILL it once its first checkpoint is on disk, call ``between(killed_dir, cli)`` (checks
    on the interrupted run; ``cli(extra)`` runs the CLI with ``ARGS + extra``), then ``--resume`` it; assert its
    metrics log and final metrics equal the uninterrupted run's. Returns the two folders."""
    import json
    import time

    from tvclab.io import read_jsonl

    def run(args, between=None):
        cli = lambda extra: subprocess.run([sys.executable, "-m", "tvclab.train", *args, *extra],
                                           env=cli_env(tmp_path), capture_output=True, text=True, timeout=300)
        ref, out = tmp_path / "ref", tmp_path / "killed"
        res = cli(["--out", str(ref)])
        assert res.returncode == 0, res.stderr[-3000:]
        proc = subprocess.Popen([sys.executable, "-m", "tvclab.train", *args, "--out", str(out)],
                                env=cli_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while not (out / "ckpt.pt").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.kill()  # SIGKILL; nothing once the process has already exited (and was reaped by poll)
        proc.wait()
        assert not (out / "done.json").exists(), "the run finished before it could be killed"
        if between is not None:
            between(out, cli)
        res = cli(["--out", str(out), "--resume"])
        assert res.returncode == 0, res.stderr[-3000:]
        assert read_jsonl(out / "metrics.jsonl") == read_jsonl(ref / "metrics.jsonl")
        done = lambda d: json.loads((d / "done.json").read_text())["metrics"]
        assert done(out) == done(ref)
        return ref, out

    return run


@pytest.fixture
def offline_metrics(monkeypatch, tmp_path):
    """FD-clf's path: an empty torch hub cache (no Inception or VGG weights), no network, a fresh classifier cache
    and notices not yet printed; returns ``tmp_path`` (the hub cache is ``tmp_path / "torch"``)."""
    from tvclab import memo

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("TVCLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TVCLAB_OFFLINE", "1")
    monkeypatch.delenv("TVCLAB_FID_FEATURES", raising=False)
    memo.clear("notices")
    return tmp_path


def check_smoke_rows(res: dict, rows) -> None:
    """What every table notebook's smoke results.json holds: the smoke tier, seeds 0 and 1, exactly ``rows`` under
    "rows", and each row's per-seed metrics for those seeds in order."""
    assert res["tier"] == "smoke" and res["seeds"] == [0, 1]
    assert set(res["rows"]) == set(rows)
    for row in rows:
        assert [m["seed"] for m in res["rows"][row]["per_seed"]] == [0, 1], row


def check_evidence(res: dict, rows) -> None:
    """The evidence protocol (docs/protocol.md): pFD-clf and gFD - rFD for every row and seed, and for every judged
    claim a numeric ``mde`` (None only where no seed sd exists: then the claim has no p-value either) and a Holm
    verdict."""
    for row in rows:
        for m in res["rows"][row]["per_seed"]:
            assert isinstance(m["pfd"], float) and m["pfd"] >= 0, (row, m.get("pfd"))
            assert m["pfd_lo"] <= m["pfd"] <= m["pfd_hi"] and m["pfd_n"] == res["n_eval"], row
            assert abs(m["gap"] - (m["gfid"] - m["rfid"])) <= 1e-8 * max(1.0, abs(m["gfid"])), row
        assert res["rows"][row]["summary"]["pfd"]["kind"] == "t one-sample"
    assert res["n_claims"] == len(res["claims"]) == len(res["claim_results"]) > 0
    verdicts = ("holds", "does not hold", "inconclusive")
    for c, row in zip(res["claim_results"], res["claims"]):
        assert c["verdict"] in verdicts and c["verdict_holm"] in verdicts, c["claim"]
        assert row["holm"] == c["verdict_holm"] and row["verdict"] == c["verdict"]
        if c["mde"] is None:  # no seed sd behind it (intervals over samples, a bootstrap): no p-value either
            assert c["p"] is None, c["claim"]
        else:
            # >= 0: at the smoke tier a post-training can leave a paired difference exactly 0 on every seed (sd 0)
            assert isinstance(c["mde"], float) and c["mde"] >= 0, c["claim"]
        if c["verdict_holm"] != c["verdict"]:  # Holm can only withdraw a verdict
            assert c["verdict_holm"] == "inconclusive"
