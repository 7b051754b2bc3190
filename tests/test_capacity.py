"""tvclab.capacity (notebook 07): the generator grid per tier, the overrides of one size (the preset's own size is
the preset's run directory, so notebook 06's runs are reused), the points, the best codebook size and Kendall's tau
with its bootstrap over seeds."""
import math

import pytest
import torch

from tvclab import capacity, configs, crosspaper, data, train
from tvclab.models import Tokenizer
from tvclab.models.blocks import count_params


def generator_params(m, size, tier):
    base = crosspaper.config(m, tier)
    cfg = configs.apply_overrides(base, capacity.size_sets(base, size))
    with torch.device("meta"):
        tok = Tokenizer.from_config(cfg, data.channels(cfg.data.dataset))
        return count_params(train.stage2.build_prior(cfg, tok.n_tokens, data.num_classes(cfg.data.dataset)))


ROWS = capacity.methods()


@pytest.mark.parametrize("tier", configs.TIERS)
def test_every_plan_holds_the_presets_size_and_splits_into_heads(tier):
    plan = capacity.PLANS[tier]
    for name, m in ROWS.items():
        capacity.check_plan(plan, crosspaper.config(m, tier))
    assert plan.sizes[0] in plan.vapi_sizes and set(plan.long_sizes) <= set(plan.sizes)
    assert len(set(plan.sizes)) == len(plan.sizes) and plan.sizes[0] != capacity.default_size(
        crosspaper.config(ROWS["plain"], tier))


def test_cpu_grid_has_five_sizes_spanning_thirty_fold_and_grows():
    plan = capacity.PLANS["cpu"]
    assert len(plan.sizes) >= 5 and plan.tok_steps[0] == 400 and plan.tok_steps[1] >= 1600
    for name in ("plain", "prologue_2d", "flow_prior"):
        p = [generator_params(ROWS[name], s, "cpu") for s in plan.sizes]
        assert p == sorted(p) and p[-1] / p[0] >= 25, (name, p)  # the flow head scales too


def test_size_sets_of_the_default_size_name_the_presets_directory():
    for name in ("plain", "flow_prior", "prologue_2d"):
        base = crosspaper.config(ROWS[name], "cpu")
        cfg = configs.apply_overrides(base, capacity.size_sets(base, capacity.default_size(base)))
        assert train.stage_dir("stage2", cfg)[1] == train.stage_dir("stage2", base)[1]
        small = configs.apply_overrides(base, capacity.size_sets(base, capacity.PLANS["cpu"].sizes[0]))
        assert train.stage_dir("stage2", small)[0] == train.stage_dir("stage1", base)[0]  # the tokenizer reused
        assert train.stage_dir("stage2", small)[1].name.startswith("stage2__stage2.ar.")
    flow = crosspaper.config(ROWS["flow_prior"], "cpu")
    sets = capacity.size_sets(flow, capacity.Size(1, 32))
    assert "stage2.flow_head.width=64" in sets and "stage2.flow_head.blocks=1" in sets  # cpu: head 256 x 3 at 3 x 128


def test_dedupe_keeps_the_last_value_of_each_key():
    assert capacity.dedupe(["a.b=1", "c=2", "a.b=3"]) == ["a.b=3", "c=2"]
    cfg = crosspaper.config(ROWS["prologue_2d"], "cpu")
    assert cfg.tokenizer.kind == "2d" and cfg.prologue.n > 0
    assert capacity.point_sets(ROWS["prologue_2d"], "cpu") == ["tokenizer.kind=2d"]


@pytest.mark.parametrize("tier", ["smoke", "cpu"])
def test_points_cover_every_axis_once(tier):
    plan = capacity.PLANS[tier]
    pts = capacity.points(ROWS, plan, tier, [8, 16])
    keys = [p.key for p in pts]
    assert len(keys) == len(set(keys))
    tokenizers = [n for n, m in ROWS.items() if not m.posttrain]
    assert sum(p.axis == "generator" for p in pts) == len(tokenizers) * len(plan.sizes) + len(plan.vapi_sizes)
    assert sum(p.axis == "long" for p in pts) == 2 * len(plan.long_sizes)
    assert sum(p.axis == "codebook" for p in pts) == 2 * len(plan.sizes)
    assert sum(p.axis == "tokenizer" for p in pts) == 2 * len(plan.tok_sizes) * (len(plan.tok_steps) - 1)
    for p in pts:
        cfg = crosspaper.config(p.method, tier)
        assert capacity.default_size(cfg) == p.size, p.key
        if p.axis in ("generator", "long"):  # the method's own stage-1 runs, whatever the generator
            assert train.stage_dir("stage1", cfg)[0] == train.stage_dir("stage1", crosspaper.config(ROWS[p.row], tier))[0]
        if p.axis == "long":
            assert cfg.stage2.optim.steps == 4 * crosspaper.config(ROWS[p.row], tier).stage2.optim.steps
        if p.axis == "tokenizer":
            assert cfg.optim.steps == p.tok_steps


def test_best_k_per_seed_and_ties():
    assert capacity.best_k({8: 2.0, 16: 1.0, 256: 1.0}) == 16
    assert capacity.per_seed_best_k({8: [1.0, 3.0], 256: [2.0, 2.0]}) == [8, 256]


def test_kendall_tau_and_its_bootstrap_over_seeds():
    from scipy.stats import kendalltau

    a, b = [1.0, 2.0, 3.0, 5.0], [1.5, 2.5, 2.0, 9.0]
    assert math.isclose(capacity.kendall_tau(a, b), kendalltau(a, b).statistic)
    assert capacity.kendall_tau([1, 1, 1], [1, 2, 3]) == 0.0  # undefined (a constant): 0
    same = {"x": [1.0, 1.1, 0.9], "y": [2.0, 2.1, 1.9], "z": [3.0, 3.1, 2.9]}
    t = capacity.tau_bootstrap(same, same, n_boot=200)
    assert t["value"] == t["lo"] == t["hi"] == 1.0 and t["interval"] == capacity.KIND_BOOT_SEEDS
    rev = {k: [-v for v in vs] for k, vs in same.items()}
    assert capacity.tau_bootstrap(same, rev, n_boot=200)["hi"] == -1.0
    with pytest.raises(ValueError):
        capacity.tau_bootstrap(same, {k: v[:2] for k, v in same.items()})


def test_gains_and_gloss_columns():
    assert capacity.gains([3.0, 4.0], [1.0, 5.0]) == [2.0, -1.0]
    with pytest.raises(ValueError):
        capacity.gains([1.0], [1.0, 2.0])
    assert capacity.gloss_columns({"gloss": 2.0}, 20) == {"gloss": 2.0, "gloss_image": 40.0}
    assert capacity.gloss_columns({"fm_loss": 0.5}, 8) == {"fm_loss": 0.5}


def test_chosen_in_reads_only_the_same_tier():
    res = {"tier": "cpu", "wgf_search": {"chosen": {"weight": 0.3}}}
    assert capacity.chosen_in(lambda nb: res, "02_wartok", "wgf_search", "cpu") == {"weight": 0.3}
    assert capacity.chosen_in(lambda nb: res, "02_wartok", "wgf_search", "smoke") is None

    def missing(nb):
        raise FileNotFoundError(nb)

    assert capacity.chosen_in(missing, "02_wartok", "wgf_search", "cpu") is None
