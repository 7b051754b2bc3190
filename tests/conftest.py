import math
import os
import subprocess
import sys

import pytest


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
