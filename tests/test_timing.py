"""tvclab.timing: phases nest and are counted exclusively; the breakdown sums to the wall time."""
import time

import pytest

from tvclab import provenance, timing


def test_nested_phases_are_counted_exclusively_and_sum_to_the_wall_time():
    timing.reset()
    t0 = time.perf_counter()
    with timing.phase("evaluation"):
        time.sleep(0.05)
        with timing.phase("metrics"):
            time.sleep(0.1)
    wall = time.perf_counter() - t0
    t = timing.totals()
    assert t["metrics"] == pytest.approx(0.1, abs=0.03)
    assert t["evaluation"] == pytest.approx(0.05, abs=0.03)  # the nested 0.1 s is not counted twice
    assert t["training"] == 0.0
    b = timing.breakdown(wall + 1.0)
    assert b["wall"] == pytest.approx(wall + 1.0, abs=1e-3)
    assert sum(v for k, v in b.items() if k != "wall") == pytest.approx(b["wall"], abs=1e-2)
    assert b["other"] == pytest.approx(1.0, abs=0.03)


def test_timed_decorator_and_reset():
    timing.reset()

    @timing.timed("sampling")
    def work():
        time.sleep(0.02)
        return 7

    assert work() == 7
    assert timing.totals()["sampling"] >= 0.02
    timing.reset()
    assert set(timing.totals().values()) == {0.0}


def test_unknown_phase_is_an_error_naming_the_phases():
    with pytest.raises(ValueError, match="training, evaluation"):
        with timing.phase("plotting"):
            pass


def test_fit_counts_training_and_evaluation_apart():
    import torch

    from tvclab.configs import OptimConfig
    from tvclab.fit import fit

    timing.reset()
    model = torch.nn.Linear(2, 1)
    x = torch.randn(8, 2)

    def evaluate(step):
        time.sleep(0.05)
        return {"loss": 0.0}

    t0 = time.perf_counter()
    fit(model, lambda step: {"loss": model(x).pow(2).mean()}, OptimConfig(steps=2, eval_every=1, warmup_steps=0),
        evaluate=evaluate, progress=False)
    wall = time.perf_counter() - t0
    t = timing.totals()
    assert t["evaluation"] >= 0.1 and t["training"] > 0
    assert t["training"] + t["evaluation"] == pytest.approx(wall, abs=1e-3)  # each second counted once


def test_provenance_records_the_breakdown():
    timing.reset()
    p = provenance.collect(tier="smoke", seeds=0, n={}, lpips_in_loss=None, wall_time_s=2.0)
    assert p["time_s"]["wall"] == 2.0 and p["time_s"]["other"] == pytest.approx(2.0)
    assert set(p["time_s"]) == set(timing.PHASES) | {"other", "wall"}
