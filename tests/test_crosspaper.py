"""The cross-paper comparison's rows (notebook 06) share one backbone at every tier, and a difference is an error."""
import pytest

from tvclab import configs, crosspaper

WGF = ["wgf.weight=0.1", "wgf.target_temperature=0.1"]
POST = ["posttrain.optim.lr=1e-06", "posttrain.optim.lr_min=1e-06"]


@pytest.mark.parametrize("tier", configs.TIERS)
def test_every_row_shares_the_backbone(tier):
    rows = crosspaper.methods(WGF, POST)
    assert set(rows) == {"plain"} | {r.key for spec in configs.METHODS.values() for r in spec.rows}
    shared = crosspaper.check_backbone(rows, tier)
    for name, m in rows.items():
        cfg = crosspaper.config(m, tier)
        for key in ("tokenizer.width", "tokenizer.enc_depth", "tokenizer.dec_depth", "tokenizer.n_tokens",
                    "tokenizer.patch_size", "tokenizer.kind", "stage2.ar.width", "stage2.ar.depth", "optim.steps",
                    "stage2.optim.steps", "data.dataset"):
            assert cfg.flat()[key] == shared[key], (tier, name, key)
    assert crosspaper.config(rows["flow_prior"], tier).quantizer.kind == "none"  # F's continuous latents
    assert crosspaper.config(rows["prologue"], tier).prologue.n > 0


def test_rows_reuse_the_notebooks_run_directories_below_the_paper_tier():
    rows = crosspaper.methods(WGF, POST)
    assert crosspaper.run_sets(rows["plain"], "cpu") == []  # notebook 02's runs/cpu/baseline_1d
    assert crosspaper.run_sets(rows["wgf_dpd"], "cpu") == WGF  # notebook 02's chosen wAR-Tok
    assert crosspaper.run_sets(rows["flow_prior"], "cpu") == ["align.target=semantic"]  # notebook 03's row


def test_a_row_off_the_backbone_is_named():
    rows = crosspaper.methods()
    rows["odd"] = crosspaper.Method("baseline_1d", ("tokenizer.width=64",), False, "odd", "-")
    with pytest.raises(ValueError, match=r"row 'odd'.*tokenizer.width 128 vs 64"):
        crosspaper.check_backbone(rows, "cpu")


def test_inventory_lists_every_run_once_and_finds_a_finished_one(monkeypatch, tmp_path):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path))
    rows = crosspaper.methods(WGF, POST)
    runs = {n: (m, [0, 1]) for n, m in rows.items()}
    inv = crosspaper.inventory(runs, "smoke")
    assert inv["reused"] == []
    # per seed: every row's stages, less the stage-1 and stage-2 runs each post-trained row shares with the row it
    # post-trains (VA-pi with plain, WGF-DPD + VA-pi with WGF-DPD: the tokenizer and the AR)
    per_seed = sum(len(crosspaper.stages(m)) for m in rows.values()) - 2 * sum(m.posttrain for m in rows.values())
    assert len(inv["to_train"]) == len(set(inv["to_train"])) == 2 * per_seed
    assert {"plain+vapi seed 1 stage1", "plain+vapi seed 1 stage2", "wgf_dpd+wgf_vapi seed 0 stage1",
            "vapi seed 1 posttrain"} <= set(inv["to_train"])
    # a stage-1 run the runner finished: its done marker where train.run puts it
    from tvclab import train
    cfg = crosspaper.config(rows["plain"], "smoke", seed=1)
    sdir = train.stage_dir("stage1", cfg)[1]
    sdir.mkdir(parents=True)
    (sdir / train.STAGES["stage1"].marker(cfg)).write_text("{}")
    again = crosspaper.inventory(runs, "smoke")
    assert again["reused"] == ["plain+vapi seed 1 stage1"] and len(again["to_train"]) == len(inv["to_train"]) - 1
