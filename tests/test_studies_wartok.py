"""Notebook 02's experiment code (tvclab.studies.wartok) on seeded synthetic rows: the tier's sweep and search grid,
the validation choice of the WGF setting, the table cells and their intervals, the frontier gaps, the matched
iterations, the claims' helpers and the figures, without training anything."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from tvclab import configs, evaluation, frontier
from tvclab.losses import wgf_dpd_loss
from tvclab.quantize import prob_ste
from tvclab.studies import wartok


def make_row(name: str, per_seed: list[dict], steps: int = 40, n_tokens: int | None = None) -> evaluation.Row:
    """A table row of synthetic per-seed numbers, with run records whose configs carry the smoke preset."""
    cfg = configs.get("baseline_1d", "smoke")
    runs = [evaluation.SeedRuns(seed, Path(f"/runs/{name}/s{seed}"), Path(f"/runs/{name}/s{seed}/stage2"), cfg)
            for seed in range(len(per_seed))]
    per_seed = [{"seed": i, **m} for i, m in enumerate(per_seed)]
    return evaluation.Row(name, [], runs, per_seed,
                          evaluation.summarize_metrics([{k: v for k, v in m.items() if k != "seed"} for m in per_seed]))


def seed_numbers(rng: np.random.Generator, rate: float, psnr: float, n: int, **fixed) -> list[dict]:
    """``n`` seeds scattered around (rate, psnr) with the columns the tables read."""
    out = []
    for _ in range(n):
        r, p = rate + rng.normal(0, 0.05), psnr + rng.normal(0, 0.05)
        rfid, gfid = 10.0 - p / 3 + rng.normal(0, 0.1), 20.0 - p / 3 + rng.normal(0, 0.1)
        out.append({"rate": r, "psnr": p, "val_rate": r + 0.1, "val_psnr": p - 0.2, "gloss": r / 8,
                    "rfid": rfid, "rfid_lo": rfid - 1, "rfid_hi": rfid + 1, "gfid": gfid, "gfid_lo": gfid - 1,
                    "gfid_hi": gfid + 1, "pfd": gfid - rfid, "pfd_lo": gfid - rfid - 1, "pfd_hi": gfid - rfid + 1,
                    "gap": gfid - rfid, "top1": 0.5, "codes_used": 10.0, "token_entropy": 2.0,
                    "seconds_per_step": 0.1, "metric": "fd_clf", "features": "clf", **fixed})
    return out


@pytest.fixture
def sweep():
    rng = np.random.default_rng(0)
    return {k: make_row("baseline_1d", seed_numbers(rng, r, p, 3))
            for k, r, p in ((8, 2.0, 10.0), (32, 4.0, 14.0), (256, 8.0, 17.0))}


def test_the_tier_grid():
    assert wartok.sweep_codebooks(256, smoke=False) == [8, 16, 32, 64, 128]  # K = 128: between 64 and 256
    assert wartok.sweep_codebooks(256, smoke=True) == [16]
    assert wartok.sweep_codebooks(16, smoke=False) == [2, 4, 8]  # never below two codes, no duplicates
    grid = wartok.search_grid(0.1, 0.03, smoke=False)  # the weight curve at the preset temperature
    assert grid == {"w0.01_T0.03": (0.01, 0.03), "w0.03_T0.03": (0.03, 0.03), "w0.1_T0.03": (0.1, 0.03),
                    "w0.3_T0.03": (0.3, 0.03)}
    assert set(wartok.search_grid(0.1, 0.1, smoke=False).values()) == {(w, 0.1) for w in wartok.WGF_WEIGHTS}
    assert list(wartok.search_grid(0.1, 0.03, smoke=True).values()) == [(0.1, 0.03), (0.1 * 3, 0.03)]
    assert wartok.common_sets("fashion_mnist") == ["data.dataset=fashion_mnist"]
    assert wartok.labels(16)["control_small_k"] == "1D, codebook K/16 = 16 (control)"
    assert set(wartok.labels(16)) == set(wartok.PAPER_T3) | {"control_small_k"}


def test_the_worked_example_of_eq_4():
    """What notebook 02's worked example prints: the surrogate's value is the mean log q - log p at the hard codes,
    and the gradient on the logits is the softmax Jacobian applied to (log Q - log P) / (B n) (W eq. 4, §4.5)."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 6, generator=g).requires_grad_()
    log_q = torch.log_softmax(torch.randn(2, 4, 6, generator=g), -1)
    log_p = torch.log_softmax(torch.randn(2, 4, 6, generator=g), -1)
    z = prob_ste(logits)
    loss = wgf_dpd_loss(z.onehot, log_q, log_p)
    loss.backward()
    assert loss.item() == pytest.approx(float((log_q - log_p).gather(-1, z.index[..., None]).mean()), abs=1e-6)
    score, h = (log_q - log_p) / 8, z.probs.detach()
    assert torch.allclose(logits.grad, h * (score - (h * score).sum(-1, keepdim=True)), atol=1e-6)


def test_search_table_and_choice_follow_the_validation_frontier(sweep):
    rng = np.random.default_rng(1)
    grid = {"above": (0.1, 0.03), "below": (0.3, 0.03), "outside": (0.1, 0.1)}
    search = {"above": make_row("wartok", seed_numbers(rng, 4.0, 16.0, 1)),
              "below": make_row("wartok", seed_numbers(rng, 6.0, 12.0, 1)),
              "outside": make_row("wartok", seed_numbers(rng, 20.0, 18.0, 1))}
    rows = wartok.search_table(search, grid, sweep, anchor=(0.0, 5.0))
    gain = {r["variant"]: r[wartok.GAIN] for r in rows}
    val = {k: wartok.points(r, "val_rate", "val_psnr") for k, r in sweep.items()}
    m = np.mean(wartok.points(search["above"], "val_rate", "val_psnr"), axis=0)
    means = np.array([np.mean(v, axis=0) for _, v in sorted(val.items())] + [[0.0, 5.0]])
    assert gain["above"] == pytest.approx(frontier.psnr_gain(means[:, 0], means[:, 1], m[0], m[1]))
    assert gain["above"] > 0 > gain["below"] and gain["outside"] is None  # beyond the sweep's largest rate
    assert rows[0]["wgf.weight"] == 0.1 and rows[1]["wgf.weight"] == 0.3
    assert wartok.choose_variant(rows, default="below") == ("above", True)
    none = [dict(r, **{wartok.GAIN: None}) for r in rows]
    assert wartok.choose_variant(none, default="below") == ("below", False)


def test_cells_read_seed_intervals_or_intervals_over_samples():
    rng = np.random.default_rng(2)
    many, one = make_row("wartok", seed_numbers(rng, 4.0, 16.0, 3)), make_row("tail_dropout", seed_numbers(rng, 4, 15, 1))
    assert wartok.quantity(many, "rfid") == many.values("rfid")
    q = wartok.quantity(one, "rfid")
    assert q == {"value": one.per_seed[0]["rfid"], "lo": one.per_seed[0]["rfid_lo"], "hi": one.per_seed[0]["rfid_hi"]}
    assert wartok.quantity(one, "gloss") == one.values("gloss")  # no interval over samples: the one value
    assert wartok.cell(one, "rfid").endswith("(1 seed)") and "[" in wartok.cell(one, "rfid")
    s = many.summary["psnr"]
    assert wartok.cell(many, "psnr") == f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]" and s["lo"] < s["mean"] < s["hi"]
    assert wartok.interval_kind(many) == "t, 3 seeds" and wartok.interval_kind(one).startswith("1 seed")
    assert wartok.frechet_label(many) == "FD-clf"


def test_table3_has_one_row_per_method_with_the_paper_columns():
    rng = np.random.default_rng(3)
    rows = {"baseline_1d": make_row("baseline_1d", seed_numbers(rng, 6, 15, 2)),
            "wartok": make_row("wartok", seed_numbers(rng, 4, 15, 2)),
            "control_small_k": make_row("baseline_1d", seed_numbers(rng, 3, 12, 2))}
    table, record = wartok.table3(rows, wartok.labels(16), "FD-clf")
    assert [t["method"] for t in table] == [wartok.labels(16)[r] for r in rows]
    assert table[1]["paper gFID"] == wartok.PAPER_T3["wartok"][1] and table[2]["paper gFID"] is None
    assert record["wartok"]["matched_iterations"]["seeds"] == [0, 1]
    assert record["wartok"]["matched_iterations"]["iters"] == configs.get("baseline_1d", "smoke").optim.steps
    assert table[0]["rate (nats/image)"] == wartok.cell(rows["baseline_1d"], "rate")
    fr = wartok.frechet_record(rows["baseline_1d"], 100, 50, "fashion_mnist")
    assert fr["label"] == "FD-clf" and fr["n"] == 100 and "50 resamples" in fr["interval"]


def test_frontier_gaps_agree_with_the_frontier_module(sweep):
    rng = np.random.default_rng(4)
    w = make_row("wartok", seed_numbers(rng, 4.0, 16.0, 3))
    gap, gap_psnr, record = wartok.frontier_gaps(sweep, w, anchor=(0.0, 5.0))
    test_sweep = {k: wartok.points(r) for k, r in sweep.items()}
    assert gap == frontier.bootstrap_gap(test_sweep, wartok.points(w), "rate_saving", anchor=(0.0, 5.0))
    assert gap_psnr["value"] > 0 and gap["value"] > 0 and gap["lo"] > 0  # above the frontier both ways
    assert set(record["sweep"]) == {"8", "32", "256"} and record["anchor_test"] == (0.0, 5.0)
    assert record["rate_saving_at_equal_psnr"] is gap and record["wartok"]["rate"] == w.values("rate")


def test_iterations_needed_reads_every_seed_of_the_seeded_rows(monkeypatch):
    rng = np.random.default_rng(5)
    rows = {"wartok": make_row("wartok", seed_numbers(rng, 4, 15, 3)),
            "tail_dropout": make_row("tail_dropout", seed_numbers(rng, 4, 15, 2))}
    curves = {1: {10: 9.0, 20: 5.2, 30: 4.0}, 2: {10: 9.0, 20: 8.0}}
    asked = []

    def fake_curve(stage1, real_val, dataset, seed, classifier=None):
        asked.append((stage1, seed))
        return curves[seed]

    monkeypatch.setattr(evaluation, "snapshot_curve", fake_curve)
    matched = {"steps": {"wartok": 20, "tail_dropout": 30}, "target": 5.0, "tolerance": 0.05, "smooth": 1}
    out = wartok.iterations_needed(rows, matched, torch.zeros(1), "fashion_mnist")
    assert out == {"wartok": [20, 20, None], "tail_dropout": [30]}  # 5.2 <= 1.05 x 5; seed 2 never reaches it
    assert [s for _, s in asked] == [1, 2]  # tail dropout's second seed is not scored
    assert wartok.reached(out["wartok"]) == [20, 20]


def test_row_metrics_derive_the_rate_and_keep_the_first_samples(monkeypatch):
    samples = torch.arange(100 * 4, dtype=torch.float32).reshape(100, 1, 2, 2)
    monkeypatch.setattr(evaluation, "fd_columns", lambda r, real, ds, clf, boot: (
        {"rfid": 1.0, "gfid": 2.0}, samples + r.seed, {"n": 100, "features": "clf"}, {}))
    monkeypatch.setattr(evaluation, "test_metrics", lambda d: {"gloss": 1.5, "top1": 0.25, "codes_used": 7,
                                                               "token_entropy": 1.9})
    monkeypatch.setattr(evaluation, "validation_rows", lambda d: [{"psnr": 0.0, "gloss": 9.0},
                                                                 {"psnr": 12.0, "gloss": 2.0}])
    monkeypatch.setattr(wartok.train.artifacts, "seconds_per_step", lambda d: 0.2)
    metrics = wartok.RowMetrics(torch.zeros(1), "fashion_mnist")
    run = make_row("baseline_1d", [{}]).runs[0]
    m = metrics(run)
    n_tok = run.config.tokenizer.n_tokens
    assert m["rate"] == pytest.approx(1.5 * n_tok) and m["val_rate"] == pytest.approx(2.0 * n_tok)
    assert m["val_psnr"] == 12.0 and m["n"] == 100 and m["rfid"] == 1.0 and m["seconds_per_step"] == 0.2
    assert torch.equal(metrics.samples[run.stage1], samples[:64])
    metrics(evaluation.SeedRuns(5, run.stage1, run.stage2, run.config))  # the same directory again: kept, not replaced
    assert torch.equal(metrics.samples[run.stage1], samples[:64])
    asked = []
    monkeypatch.setattr(evaluation, "rfid", lambda d, real, ds, **k: asked.append(("rfid", len(real))) or {"value": 3.0})
    monkeypatch.setattr(evaluation, "frechet", lambda real, fake, ds, clf, boot: asked.append(
        ("frechet", len(real), fake.shape[0], boot)) or {"value": 4.0})
    with_val = wartok.RowMetrics(torch.zeros(1), "fashion_mnist", real_val=torch.zeros(7, 1, 2, 2))(run)
    assert with_val["val_rfid"] == 3.0 and with_val["val_gfid"] == 4.0  # the same samples against validation images
    assert asked == [("rfid", 7), ("frechet", 7, 100, 0)]
    assert {k: v for k, v in with_val.items() if not k.startswith("val_")} == \
        {k: v for k, v in m.items() if not k.startswith("val_")}  # the test-split numbers do not change


def test_claim_helpers():
    rng = np.random.default_rng(6)
    rows = {name: make_row(name, seed_numbers(rng, 4, p, 2)) for name, p in zip(wartok.BASELINES, range(10, 16))}
    with pytest.raises(ValueError, match="real_val"):  # no validation numbers: refuse rather than read the test split
        wartok.best_row(rows, "rfid")
    for i, name in enumerate(wartok.BASELINES):  # validation ranks the rows the other way round from the test split
        for m in rows[name].per_seed:
            m["val_rfid"] = 1.0 + i * (-1 if name != "tail_dropout" else 10)
        rows[name].summary = evaluation.summarize_metrics([{k: v for k, v in m.items() if k != "seed"}
                                                           for m in rows[name].per_seed])
    assert wartok.best_row(rows, "rfid") == "control_small_k"
    assert wartok.best_row(rows, "rfid", among=["baseline_1d", "tail_dropout"]) == "baseline_1d"
    assert min(wartok.BASELINES[:2], key=lambda r: rows[r].mean("rfid")) == "tail_dropout"  # test split disagrees
    assert wartok.censored([20, None, 40], 400) == ([20, 400, 40], 1)
    assert wartok.paper_pair(2) == (0.34, 0.93) and wartok.paper_pair(1) == (11.30, 22.76)
    assert wartok.paper_pair(3, wartok.PAPER_T1) == (0.42, 0.78)
    assert wartok.fastest_fm_row({"fm_decoder": [None, None], "fm_tail": [30, 60], "fm_tail_tied": [40]}) == "fm_tail_tied"
    assert wartok.fastest_fm_row({"fm_decoder": [None], "fm_tail": [None], "fm_tail_tied": [None]}) == "fm_decoder"
    rec = {"wartok": {"matched_rfid": {"gfid": 3.0, "gfid_lo": 2.0, "gfid_hi": 4.0}},
           "many": {"matched_rfid": {"gfid": 3.0, "per_seed": [{"gfid": 3.0}, {"gfid": 5.0}]}},
           "bare": {"matched_rfid": {"gloss": 1.5}}}
    assert wartok.matched_values(rec, "wartok", "gfid") == {"value": 3.0, "lo": 2.0, "hi": 4.0}
    assert wartok.matched_values(rec, "many", "gfid") == [3.0, 5.0]  # several seeds: the per-seed values
    assert wartok.matched_values(rec, "bare", "gloss") == {"value": 1.5}
    spread = wartok.gfd_minus_rfd(rows)
    diffs = [rows[r].mean("gfid") - rows[r].mean("rfid") for r in rows]
    assert spread["mean"] == pytest.approx(np.mean(diffs)) and spread["std"] == pytest.approx(np.std(diffs))
    assert spread["gloss_range"][0] <= spread["gloss_range"][1]
    slow = {"baseline_1d": make_row("b", [{"seconds_per_step": 0.2}, {"seconds_per_step": 0.1}]),
            "wartok": make_row("w", [{"seconds_per_step": 0.13}, {"seconds_per_step": None}])}
    assert wartok.wgf_cost_ratio(slow)["ratio"] == pytest.approx(1.3)  # fastest seeds, missing ones skipped


def test_figures_draw_every_row(sweep):
    rng = np.random.default_rng(7)
    names = wartok.labels(16)
    rows = {name: make_row(name, seed_numbers(rng, 4, 15, 2)) for name in names}
    search = {"w0.1_T0.03": make_row("wartok", seed_numbers(rng, 4, 15, 1))}
    fig, axes = plt.subplots(1, 2)
    wartok.plot_frontier(axes, sweep, search, rows, (0.0, 5.0), names, (0.1, 0.03), "FD-clf",
                         no_restart={"wAR-Tok": rows["wartok"], "1D K=256": rows["baseline_1d"]})
    legend = axes[1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]  # one legend, every series once
    assert "codebook sweep K (no WGF)" in labels and "wAR-Tok (chosen on validation: w 0.1, T 0.03)" in labels
    assert names["fm_tail_tied"] in labels and "K = 1: the mean image (rate 0)" in labels
    assert "wAR-Tok, no dead-code restart" in labels and len(labels) == len(set(labels))
    assert axes[0].get_legend() is None
    plt.close(fig)
    curves = {"wartok": {"step": [1, 2], "gloss": [3.0, 2.0], "top1": [0.1, 0.2]},
              "control_small_k": {"step": [1, 2], "gloss": [3.0, 2.5], "top1": [0.1, 0.15]}}
    fig, axes = plt.subplots(1, 2)
    wartok.plot_ar_dynamics(axes, curves, names, {"wartok": "red", "control_small_k": "blue"})
    assert [ln.get_linestyle() for ln in axes[0].lines] == ["-", "--"] and axes[0].lines[0].get_linewidth() == 2
    assert list(axes[1].lines[1].get_ydata()) == [0.1, 0.15]
    plt.close(fig)


def test_imagenet_commands_name_every_stage():
    cmds = wartok.imagenet_commands("wartok")
    assert len(cmds) == 3 and all(c.startswith("torchrun --standalone --nproc_per_node=8 -m") for c in cmds)
    assert all("runs/paper/imagenet/wartok" in c for c in cmds)
    assert wartok.imagenet_row(Path("/nonexistent/wartok"), "wartok", "wAR-Tok", 10) is None


def test_trained_pool_leaves_out_rows_near_the_mean_image():
    rng = np.random.default_rng(8)
    rows = {"baseline_1d": make_row("b", seed_numbers(rng, 4, 16.2, 2)),   # val PSNR = psnr - 0.2
            "tail_dropout": make_row("t", seed_numbers(rng, 4, 16.0, 2)),
            "fm_decoder": make_row("f", seed_numbers(rng, 4, 11.4, 2))}
    pool, record = wartok.trained_pool(rows, (0.0, 10.9))
    assert pool == ["baseline_1d", "tail_dropout"] and record["fm_decoder"][2] is False
    assert record["baseline_1d"][1] == 10.9 and record["baseline_1d"][0] == pytest.approx(16.0, abs=0.2)
    pool, record = wartok.trained_pool(rows, (0.0, 20.0))  # nothing trained: the 1D baseline alone, said so
    assert pool == ["baseline_1d"] and record["fallback"] == "baseline_1d"


def test_paired_table_differences_over_shared_seeds():
    on = make_row("a", [{"codes_used": 200.0}, {"codes_used": 220.0}, {"codes_used": 210.0}])
    off = make_row("b", [{"codes_used": 20.0}, {"codes_used": 30.0}])  # two of the three seeds
    table, record = wartok.paired_table({"x": (on, off)}, ("restart", "no restart"), columns=("codes_used",))
    assert record["x"]["seeds"] == [0, 1] and record["x"]["restart"]["codes_used"] == [200.0, 220.0]
    d = record["x"]["difference"]["codes_used"]
    assert d["mean"] == pytest.approx(185.0) and d["paired"] and d["kind"] == "t paired"
    assert table[0]["interval"] == "t paired, 2 seeds" and table[0]["codes_used (restart)"] == pytest.approx(210.0)
    one, _ = wartok.paired_table({"y": (on, make_row("c", [{"codes_used": 5.0}]))}, ("a", "b"), columns=("codes_used",))
    assert one[0]["codes_used: a - b"] == "195.000 (1 seed)" and one[0]["interval"] == "1 seed: none"
