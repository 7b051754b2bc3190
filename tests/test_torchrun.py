"""The same command under ``torchrun --standalone --nproc_per_node=2`` (DDP on gloo) gives the metrics of one process.

Stated tolerance: each of the 2 processes takes half of the same global batch (the data order and the random numbers
are functions of (seed, step) for the global batch), so the averaged gradient equals the 1-process gradient up to
float reduction order; logged losses and eval metrics agree to 1e-4 relative (+1e-6 absolute) after 8 AdamW steps.
The token statistics are counts of nearest-code assignments, so a latent within float noise of two codes may flip:
they agree up to what reassigning one of the N held-out tokens can change (entropy by at most 2 (log N + 1) / N
nats; seen on a new machine: 1-3e-3 nats at N = 256, codes used equal).
"""
import math
import os
import subprocess
import sys

import pytest

from tvclab.io import read_jsonl

ARGS = ["stage1", "--config", "baseline_1d", "--tier", "smoke", "--set", "data.dataset=synthetic",
        "decoder.tail_dropout_p=0.5"]
RTOL, ATOL = 1e-4, 1e-6
N_TOKENS = 64 * 4  # smoke tier: evaluation.code_eval_images x tokenizer.n_tokens
H_TOL = 2 * (math.log(N_TOKENS) + 1) / N_TOKENS  # one token reassigned (see the docstring)


def _close(key: str, a: float, b: float) -> bool:
    if key.endswith("token_entropy"):
        return abs(a - b) <= H_TOL
    if key.endswith("token_perplexity"):
        return abs(math.log(a) - math.log(b)) <= H_TOL
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def _env(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", TVCLAB_RUNS=str(tmp_path / "runs"))
    env.pop("TVCLAB_DEBUG", None)
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    one = subprocess.run([sys.executable, "-m", "tvclab.train", *ARGS, "--out", str(tmp_path / "one")],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "tvclab.train", *ARGS, "--out", str(tmp_path / "two")],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=300)
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
    assert (tmp_path / "two" / "done.json").exists() and (tmp_path / "two" / "tokenizer.pt").exists()
