"""Every benchmark runs at a tiny size and ends with its ratio line (so none rots when the core changes)."""
import re

import pytest

from tvclab.bench.__main__ import available, main

TINY = {
    "flow_cost": ["--width", "16", "--blocks", "1", "--batch", "20", "--ode-steps", "2", "--repeats", "2",
                  "--ode-repeats", "1", "--threads", "1"],
    "wgf_overhead": ["--width", "32", "--heads", "2", "--batch", "2", "--steps", "2"],
    "knn": ["--targets", "200", "--queries", "20", "--dim", "8", "--k", "3", "--repeats", "1"],
    "throughput": ["--tier", "smoke", "--steps", "2", "--warmup", "1"],
    "posttrain_cost": ["--tier", "smoke", "--set", "data.dataset=synthetic"],
    "step_ratio": ["--tier", "smoke", "--steps", "2", "baseline_1d", "wartok"],
}
# benchmarks whose headline is a fraction of a floor (no "x")
FRACTION = {"throughput"}


def test_every_benchmark_has_a_tiny_run():
    assert set(available()) == set(TINY)


@pytest.mark.parametrize("name", sorted(set(TINY) - FRACTION))
def test_benchmark_prints_its_ratio_last(name, capsys):
    assert main([name, *TINY[name]]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r"\d+(\.\d+)?x", last), last


def test_throughput_reports_every_step_and_the_worst_fraction_last(capsys):
    assert main(["throughput", *TINY["throughput"]]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    cases = [line.split(" (")[0] for line in out if "GFLOP per step" in line]
    assert cases == ["stage1 baseline_1d", "stage1 wartok", "stage2 ar"]
    fractions = [float(m.group(1)) for line in out if (m := re.search(r"fraction of floor (\d+\.\d+)", line))]
    assert len(fractions) == 3 and all(f > 0 for f in fractions)
    assert float(out[-1]) == min(fractions)
    gflop = [float(re.search(r"\): (\d+\.\d+) GFLOP", line).group(1)) for line in out if "GFLOP per step" in line]
    assert gflop[1] > gflop[0]  # wAR-Tok = the same tokenizer plus the proxy and target ARs


def test_throughput_counts_the_matmul_flops_from_the_shapes():
    """FlopCounterMode's count of a transformer's forward + backward equals the count by hand: per token and
    block (4 + 3 r) d^2 MACs of linear layers (blocks.py), times 2 FLOPs, times 3 (forward, input and weight
    gradients); the CPU attention kernel is counted apart."""
    import torch

    from tvclab.bench.throughput import Case, count_flops
    from tvclab.configs import OptimConfig
    from tvclab.models.blocks import Transformer

    b, n, d, r, depth = 4, 6, 16, 2.0, 2
    model = Transformer(d, depth, heads=2, mlp_ratio=r)
    x = torch.randn(b, n, d, requires_grad=True)
    flops = count_flops(Case("t", model, lambda step: {"loss": model(x).pow(2).mean()}, OptimConfig(), ""))
    assert flops["matmul"] == 3 * 2 * b * n * depth * (4 + 3 * r) * d * d
    # attention: q k^T and a v, 2 L^2 d MACs each per sample and layer forward; backward counted by torch's formula
    assert flops["attention"] > 2 * 2 * b * n * n * d * depth


def test_posttrain_cost_is_the_ratio_of_the_recorded_step_times(capsys):
    """From the runs' timing.json (trained here when missing): total post-training over total stage-2 seconds."""
    from tvclab import configs, train
    from tvclab.train import artifacts

    assert main(["posttrain_cost", *TINY["posttrain_cost"]]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    cfg = configs.apply_overrides(configs.get("baseline_1d", "smoke"), ["data.dataset=synthetic"])
    root = train.default_run_dir(cfg)
    s2 = artifacts.seconds_per_step(root / "stage2") * cfg.stage2.optim.steps
    pt = artifacts.seconds_per_step(root / "stage2__posttrain") * cfg.posttrain.optim.steps
    assert last == f"{pt / s2:.2f}x"


def test_step_ratio_times_every_config_against_the_reference(monkeypatch):
    import time

    from tvclab import configs
    from tvclab.bench import step_ratio

    calls = []
    times = step_ratio.interleaved({"a": lambda i: calls.append(("a", i)), "b": lambda i: calls.append(("b", i))}, 2, 1)
    assert calls == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2)]  # the order turns every round
    assert [len(v) for v in times.values()] == [2, 2]  # warm-up rounds untimed
    # steps of known relative cost: the ratios come out at those costs
    cost = {"baseline_1d": 0.01, "wartok": 0.03}
    monkeypatch.setattr(step_ratio, "stage1_step", lambda cfg, seed=0: lambda i: time.sleep(cost[cfg.name]))
    cfgs = {n: configs.get(n, "smoke") for n in cost}
    out = step_ratio.stage1_step_ratios(cfgs, "baseline_1d", rounds=4, warmup=1)
    assert out["baseline_1d"]["ratio"] == 1.0 and 2.5 < out["wartok"]["ratio"] < 3.3
    assert 28 < out["wartok"]["ms"] < 45 and out["wartok"]["batch"] == cfgs["wartok"].optim.batch_size
    with pytest.raises(ValueError, match="reference 'ae'"):
        step_ratio.stage1_step_ratios(cfgs, "ae")


def test_step_ratio_steps_the_stage_1_model_in_train_mode():
    import torch

    from tvclab import configs
    from tvclab.bench.step_ratio import stage1_step

    step = stage1_step(configs.get("baseline_1d", "smoke"))
    before = [p.detach().clone() for p in step.model.parameters()]
    step(0)  # forward, backward, clipping, AdamW
    assert step.model.training
    assert any(not torch.equal(a, p) for a, p in zip(before, step.model.parameters()))
