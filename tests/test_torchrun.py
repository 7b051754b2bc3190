"""The same command under ``torchrun --standalone --nproc_per_node=2`` (DDP on gloo) gives the metrics of one process.

Stated tolerance: each of the 2 processes takes half of the same global batch (the data order and the random numbers
are functions of (seed, step) for the global batch), so the averaged gradient equals the 1-process gradient up to
float reduction order; logged losses and eval metrics agree to 1e-4 relative (+1e-6 absolute) after 8 AdamW steps.
The token statistics are counts of nearest-code assignments, so a latent within float noise of two codes may flip:
they agree up to what reassigning one of the N held-out tokens can change (entropy by at most 2 (log N + 1) / N
nats; seen on a new machine: 1-3e-3 nats at N = 256, codes used equal).
"""
import pytest

ARGS = ["stage1", "--config", "baseline_1d", "--tier", "smoke", "--set", "data.dataset=synthetic",
        "decoder.tail_dropout_p=0.5"]


@pytest.mark.slow
def test_two_processes_match_one(one_vs_two_processes):
    _, two = one_vs_two_processes(ARGS)  # the comparison and its tolerances: conftest.one_vs_two_processes
    assert (two / "done.json").exists() and (two / "tokenizer.pt").exists()
