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


# ------------------------------------------------------------------ notebook 06's orchestration (seeded fake rows)

import json
from pathlib import Path

import numpy as np

from tvclab import evaluation

NAMES = ["plain", "wgf_dpd", "flow_prior", "prologue", "vapi", "wgf_vapi"]


def fake_rows(seed: int = 0, n_seeds: int = 3, gfid_shift: dict | None = None,
              rate_psnr: dict | None = None) -> dict:
    """Table X1 rows as ``RowEvaluator`` would fill them, with seeded numbers: gFD-clf around 10 (minus
    ``gfid_shift[name]``), validation gFD-clf around 10 + the row's index, (rate, PSNR) around ``rate_psnr[name]``."""
    rng = np.random.default_rng(seed)
    shift, rp = gfid_shift or {}, rate_psnr or {}
    out = {}
    for i, name in enumerate(NAMES):
        per_seed = []
        for s in range(n_seeds):
            rate, psnr = rp.get(name, (40.0 + i, 18.0 + 0.1 * i))
            m = {"seed": s, "rfid": 1.0 + rng.random(), "psnr": psnr + 0.01 * rng.standard_normal(),
                 "gfid": 10.0 - shift.get(name, 0.0) + 0.1 * rng.standard_normal(), "metric": "fd_clf",
                 "pfd": 5.0 + rng.random(), "gap": 8.0 + rng.random(), "precision_clf": rng.random(),
                 "recall_clf": rng.random(), "f_score_clf": rng.random(), "val_gfid": 10.0 + i + 0.1 * rng.random(),
                 "seconds_per_step": 0.1 * (1 + i) + 0.01 * s, "posttrain_s": 3.0 if "vapi" in name else 0.0,
                 "params_encoder": 1e6, "params_decoder": 2e6, "params_generator": 3e6}
            if name == "flow_prior":
                m["fm_loss"] = 0.5 + rng.random()
            else:
                m.update(gloss=(rate + 0.1 * rng.standard_normal()) / 8, codes_used=100.0)
                m["rate"] = m["gloss"] * 8
            per_seed.append(m)
        runs = [evaluation.SeedRuns(s, Path(f"/runs/{name}/{s}"), None, None) for s in range(n_seeds)]
        out[name] = evaluation.Row(name, [], runs, per_seed, evaluation.summarize_metrics(
            [{k: v for k, v in m.items() if k != "seed"} for m in per_seed]))
    return out


def tok_of_fake():
    return {**{n: n for n in NAMES}, "vapi": "plain", "wgf_vapi": "wgf_dpd"}


def test_chosen_in_reads_only_a_choice_made_at_this_tier(tmp_path):
    (tmp_path / "02_wartok").mkdir()
    chosen = {"weight": 0.3, "target_temperature": 0.5}
    (tmp_path / "02_wartok" / "results.json").write_text(json.dumps({"tier": "smoke",
                                                                     "wgf_search": {"chosen": chosen}}))
    assert crosspaper.chosen_in("02_wartok", "wgf_search", "smoke", tmp_path) == chosen
    assert crosspaper.chosen_in("02_wartok", "wgf_search", "cpu", tmp_path) is None  # another tier's choice
    assert crosspaper.chosen_in("02_wartok", "lr_search", "smoke", tmp_path) is None  # no such search
    assert crosspaper.chosen_in("05_vapi", "lr_search", "smoke", tmp_path) is None  # notebook has not run


def test_chosen_sets_apply_the_choices_to_the_rows_configs():
    wgf_sets, post_sets = crosspaper.chosen_sets({"weight": 0.3, "target_temperature": 0.5}, 3e-5)
    rows = crosspaper.methods(wgf_sets, post_sets)
    cfg = crosspaper.config(rows["wgf_vapi"], "smoke")  # both choices reach the combination
    assert (cfg.wgf.weight, cfg.wgf.target_temperature) == (0.3, 0.5)
    assert cfg.posttrain.optim.lr == cfg.posttrain.optim.lr_min == 3e-5
    assert crosspaper.config(rows["vapi"], "smoke").posttrain.optim.lr == 3e-5
    assert crosspaper.chosen_sets(None, None) == ([], [])
    assert "preset" in crosspaper.describe_choices(None, None)
    assert "notebook 05 chose 3e-05" in crosspaper.describe_choices(None, 3e-5)


@pytest.mark.parametrize("tier,smoke", [("smoke", True), ("cpu", False)])
def test_codebook_sweep_shrinks_only_the_codebook(tier, smoke):
    k0, ks, sweep = crosspaper.codebook_sweep(tier, smoke)
    assert ks == sorted(ks) and all(2 <= k < k0 for k in ks) and len(ks) == (1 if smoke else 4)
    assert list(sweep) == [f"plain K={k}" for k in ks]
    for k, m in zip(ks, sweep.values()):
        assert crosspaper.config(m, tier).quantizer.codebook_size == k
    crosspaper.check_backbone({"plain": crosspaper.methods()["plain"], **sweep}, tier)  # same backbone


def test_stage1_owner_maps_a_post_trained_row_to_its_tokenizer():
    rows = crosspaper.methods(WGF, POST)
    assert crosspaper.stage1_owner(rows, "smoke") == tok_of_fake()


def test_stage1_cost_from_recorded_step_times():
    rows_eval, rows = fake_rows(), crosspaper.methods(WGF, POST)
    cost = crosspaper.stage1_cost(rows_eval, rows, tok_of_fake(), "paper", trains_inline=False, smoke=False)
    assert cost["source"] == "recorded" and cost["recorded_ratio"]["plain"] == 1.0
    assert set(cost["ratio"]) == {"plain", "wgf_dpd", "flow_prior", "prologue"}  # one per tokenizer
    # fastest seed over plain's fastest: seconds_per_step = 0.1 (1 + i) + 0.01 s
    assert cost["recorded_ratio"]["prologue"] == pytest.approx(0.4 / 0.1)
    assert "recorded" in crosspaper.describe_cost(cost, rows)


def test_table_x1_rows_columns_and_shared_costs():
    rows_eval, rows = fake_rows(), crosspaper.methods(WGF, POST)
    metric, pr = crosspaper.metric_names(rows_eval)
    assert metric == "FD-clf" and pr == ["precision_clf", "recall_clf"]  # F-scores left out
    cost = {"ratio": {"plain": {"ratio": 1.0}, "wgf_dpd": {"ratio": 1.7}, "flow_prior": {"ratio": 1.2},
                      "prologue": {"ratio": 1.4}}}
    table = crosspaper.table_x1(rows_eval, rows, cost, tok_of_fake(), metric, pr)
    by = {t["method"]: t for t in table}
    assert [t["method"] for t in table] == [rows[n].label for n in NAMES]
    assert by[rows["vapi"].label]["stage-1 step / plain"] == "1.00"  # plain's tokenizer
    assert by[rows["wgf_vapi"].label]["stage-1 step / plain"] == "1.70"  # WGF-DPD's
    assert by[rows["flow_prior"].label]["gLoss (nats/token)"].startswith("flow-matching loss")
    assert by[rows["flow_prior"].label]["rate (nats/image)"] == "n/a"
    assert by[rows["vapi"].label]["post-training (s)"] == "3" and by["plain two-stage (1D)"]["post-training (s)"] == "-"
    s = rows_eval["plain"].summary["gfid"]
    assert by["plain two-stage (1D)"]["gFD-clf"] == f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]"
    assert all(t["interval"] == "t, 3 seeds" and t["params enc / dec / generator (M)"] == "1.00 / 2.00 / 3.00"
               for t in table)
    kept = crosspaper.results_rows(rows_eval, rows, "cpu")
    assert kept["wgf_dpd"]["sets"] == WGF and kept["vapi"]["seeds"] == [0, 1, 2]
    assert kept["prologue"]["per_seed"] is rows_eval["prologue"].per_seed


def test_frontier_line_and_error_bars():
    sweep = {64: [(30.0, 16.0), (32.0, 16.2)], 16: [(20.0, 14.0), (22.0, 14.4)], 256: [(40.0, 18.0)]}
    assert crosspaper.frontier_line(sweep) == [(21.0, 14.2, 16), (31.0, 16.1, 64), (40.0, 18.0, 256)]
    assert crosspaper.seed_err({"mean": 2.0, "lo": None, "hi": None}) is None
    assert crosspaper.seed_err({"mean": 2.0, "lo": 1.5, "hi": 3.0}) == [[0.5], [1.0]]


def test_validation_order_and_the_headline_claims():
    # WGF-DPD generates far better than plain on test, every other row about the same
    rows_eval, rows = fake_rows(seed=1, gfid_shift={"wgf_dpd": 3.0}), crosspaper.methods(WGF, POST)
    order = crosspaper.validation_order(rows_eval)
    means = {n: np.mean([m["val_gfid"] for m in rows_eval[n].per_seed]) for n in NAMES}
    assert order == sorted(NAMES, key=means.get) == NAMES  # val_gfid grows with the row's index
    out = crosspaper.headline_claims(rows_eval, rows, tok_of_fake(), "FD-clf", {"seeds": 3, "N": 64}, order)
    assert len(out) == 1 + 5 + 5 + 2
    best = out[0]  # the best two methods on validation, WGF-DPD first, then flow-prior
    assert rows["wgf_dpd"].label in best["claim"].split("runner-up")[0]
    assert rows["flow_prior"].label in best["claim"].split("runner-up")[1] and best["verdict"] == "holds"
    vs_plain = {c["claim"].split(" lowers")[0]: c for c in out[1:6]}
    assert vs_plain[rows["wgf_dpd"].label]["verdict"] == "holds"
    assert vs_plain[rows["wgf_dpd"].label]["paper_values"] == list(crosspaper.PAPER_GFD["wgf_dpd"])
    # paired only where two rows share a tokenizer seed by seed
    assert vs_plain[rows["vapi"].label]["difference"]["kind"] == "t paired"
    assert vs_plain[rows["prologue"].label]["difference"]["kind"] == "Welch t"
    assert all("pFD-clf" in c["claim"] for c in out[6:11])
    assert out[11]["verdict"] == "does not hold"  # WGF-DPD + VA-pi is 3 worse than WGF-DPD alone
    assert out[11]["difference"]["kind"] == "t paired" and out[12]["difference"]["kind"] == "Welch t"


def test_frontier_claims_for_the_tokenizers_of_their_own():
    sweep = {k: [(float(k), 10.0 + k / 10), (k + 1.0, 10.0 + (k + 1) / 10)] for k in (8, 16, 32, 64)}
    # WGF-DPD 2 dB above the line PSNR = 10 + rate / 10, Prologue 2 dB below it
    rows_eval = fake_rows(rate_psnr={"wgf_dpd": (30.0, 15.0), "prologue": (30.0, 11.0), "plain": (64.0, 16.4)})
    gaps, out = crosspaper.frontier_claims(rows_eval, crosspaper.methods(WGF, POST), sweep, 3)
    assert set(gaps) == {"wgf_dpd", "prologue"}  # not plain, not the post-trained rows, not F's continuous row
    assert gaps["wgf_dpd"]["value"] == pytest.approx(2.0, abs=0.05)
    assert gaps["prologue"]["value"] == pytest.approx(-2.0, abs=0.05)
    assert [c["verdict"] for c in out] == ["holds", "does not hold"]
    assert out[0]["paper"].startswith("W §5")
