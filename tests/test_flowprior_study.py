"""Notebook 03's experiment code (the second half of tvclab.flowprior) on seeded synthetic inputs: eq. 5 ranks
latents like the kNN NLL, the flow check drops an unavailable target, the row metrics and Table 1 read the right
columns, Fig. 4's correlations, the kNN NLL before and after alignment, and the claims' directions follow the
paper's own numbers, without training an autoencoder."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from tvclab import configs, evaluation, flow, flowprior, metrics, train
from tvclab.studies import flow_prior as fp_study
from tvclab.flow import VelocityMLP
from tvclab.projections import FixedProjection
from tvclab.report import row_cell


def make_row(name: str, per_seed: list[dict]) -> evaluation.Row:
    cfg = configs.get("ae_aligned", "smoke")
    runs = [evaluation.SeedRuns(s, Path(f"/runs/{name}/s{s}"), Path(f"/runs/{name}/s{s}/stage2"), cfg)
            for s in range(len(per_seed))]
    per_seed = [{"seed": i, **m} for i, m in enumerate(per_seed)]
    return evaluation.Row(name, fp_study.target_sets(name), runs, per_seed,
                          evaluation.summarize_metrics([{k: v for k, v in m.items() if k != "seed"} for m in per_seed]))


def numbers(rng: np.random.Generator, n: int, rfid: float, gfid: float) -> list[dict]:
    out = []
    for _ in range(n):
        r, g = rfid + rng.normal(0, 0.05), gfid + rng.normal(0, 0.05)
        out.append({"rfid": r, "psnr": 20 - r, "gfid": g, "gfid_lo": g - 0.5, "gfid_hi": g + 0.5, "pfd": g - r,
                    "gap": g - r, "fm_loss": 0.5, "precision": 0.6, "recall": 0.5, "metric": "fd_clf",
                    "knn_nll": 1.0, "rfid_lo": r - 0.5, "rfid_hi": r + 0.5})
    return out


def tiny_prior(rng_seed: int, d: int = 4, raw: int = 8) -> flowprior.FlowPrior:
    g = torch.Generator().manual_seed(rng_seed)
    torch.manual_seed(rng_seed)
    return flowprior.FlowPrior(VelocityMLP(d, 16, 1).eval().requires_grad_(False),
                               FixedProjection(torch.randn(raw, d, generator=g)), 1.0,
                               torch.randn(300, d, generator=g), torch.randn(100, d, generator=g), [1.0], Path("/x"))


def test_eq5_ranks_latents_like_the_knn_proxy_and_descends_toward_the_target():
    """The notebook's worked example as a property: under the exact eq. 3 minimiser of a 2D target, eq. 5 is lowest
    at the target and highest far from it, in the kNN NLL's order, and gradient steps on eq. 5 alone lower the kNN NLL
    of a far latent (F §4.1, §4.3)."""
    g = torch.Generator().manual_seed(1)
    target = torch.randn(128, 2, generator=g) * 0.3 + torch.tensor([2.0, 0.0])
    v_star, knn = flow.EmpiricalVelocity(target), metrics.KNNIndex(target)
    y = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-2.0, 2.0]])
    loss = flow.alignment_loss(v_star, y, n_t=256, reduction="none", generator=g)
    assert list(torch.argsort(loss)) == [0, 1, 2] and list(np.argsort(knn.nll(y, 5))) == [0, 1, 2]
    y_far = y[2:].clone().requires_grad_()
    opt = torch.optim.Adam([y_far], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        flow.alignment_loss(v_star, y_far, n_t=8, generator=g).backward()
        opt.step()
    assert knn.nll(y_far.detach(), 5)[0] < knn.nll(y[2:], 5)[0] - 1.0
    assert float((y_far.detach() - target.mean(0)).norm()) < float((y[2] - target.mean(0)).norm())


def test_labels_and_sets():
    assert fp_study.target_sets("semantic", ["align.weight=0.05"]) == ["align.target=semantic", "align.weight=0.05"]
    assert set(fp_study.ROW_LABELS) == set(fp_study.PAPER_T1)
    assert set(fp_study.HEADLINE) <= set(fp_study.PAPER_T1)
    assert 0.01 in fp_study.PAPER_T2B and "random" in fp_study.PAPER_T2A


def test_row_metrics_route_the_generator_and_keep_twelve_samples(monkeypatch):
    imgs = torch.linspace(-1, 1, 30 * 4).reshape(30, 1, 2, 2)
    monkeypatch.setattr(train, "sample", lambda d, n, seed, progress: {"images": imgs[:n]})
    monkeypatch.setattr(metrics, "generation_metrics", lambda real, fake, ds, **kw: {
        "metric": "fd_clf", "fd_clf": float(len(fake)), "fd_clf_lo": 1.0, "fd_clf_hi": 99.0, "precision_clf": 0.7,
        "recall_clf": 0.4, "kid": 3.0})

    def fake_fd_columns(r, real, ds, clf, boot, generate):
        g, _ = generate(r)
        return {"rfid": 2.0, "gfid": g["value"]}, None, None, g

    monkeypatch.setattr(evaluation, "fd_columns", fake_fd_columns)
    logged = {"/runs/s0/stage2": {"fm_loss": 0.3}, "/runs/s0": {"align_eval": 0.2, "knn_nll": 1.5, "psnr": 9.0}}
    monkeypatch.setattr(evaluation, "test_metrics", lambda d: logged[str(d)])
    rm = fp_study.RowMetrics(torch.zeros(1), "fashion_mnist", 20)
    run = evaluation.SeedRuns(0, Path("/runs/s0"), Path("/runs/s0/stage2"), None)
    m = rm(run)
    assert m["gfid"] == 20.0 and m["fm_loss"] == 0.3 and m["metric"] == "fd_clf"  # n = 20 samples were scored
    assert m["precision_clf"] == 0.7 and m["recall_clf"] == 0.4 and "kid" not in m
    assert m["align_eval"] == 0.2 and m["knn_nll"] == 1.5 and "psnr" not in m
    assert torch.equal(rm.generate.samples["/runs/s0/stage2"], imgs[:12])
    logged["/runs/s0"] = {}  # a plain AE logs no alignment numbers: none are reported
    assert "align_eval" not in rm(run)


def test_check_priors_drops_an_unavailable_target(monkeypatch, capsys):
    priors = {"low_level": tiny_prior(0, raw=4), "semantic": tiny_prior(1, raw=8)}

    def ensure(cfg, progress=False):
        if cfg.align.target not in priors:
            raise flowprior.TargetUnavailable("no offline embedding table")
        return priors[cfg.align.target]

    monkeypatch.setattr(train.targets, "ensure_flow_prior", ensure)
    base = configs.get("ae_aligned", "smoke")
    kept, dropped, checks = fp_study.check_priors(base, ["low_level", "semantic", "textual"])
    assert kept == ["low_level", "semantic"] and dropped == {"textual": "no offline embedding table"}
    assert "textual: row dropped. no offline embedding table" in capsys.readouterr().out
    assert checks["semantic"]["feature_dim"] == 8 and checks["semantic"]["dim"] == 4
    c = checks["low_level"]
    assert c["gap"] == pytest.approx(c["flow_samples_knn_nll"] - c["held_out_knn_nll"]) and c["n"] == 100
    table = fp_study.flow_check_table(checks)
    assert [t["target"] for t in table] == [fp_study.TARGET_LABELS[k] for k in kept]
    assert table[1]["feature width -> latent"] == "8 -> 4"


def test_table1_cells_and_the_dropped_line():
    rng = np.random.default_rng(0)
    rows = {"ae": make_row("ae", numbers(rng, 3, 1.0, 15.0)), "semantic": make_row("semantic", numbers(rng, 2, 1.2, 11))}
    table, record = fp_study.table1(rows, {"textual": "missing"}, "FD-clf", ["precision", "recall"])
    assert [t["autoencoder"] for t in table] == ["AE", fp_study.TARGET_LABELS["semantic"],
                                                 fp_study.TARGET_LABELS["textual"] + " (dropped: no offline embedding table)"]
    assert table[0]["gFD-clf w/o CFG"] == row_cell(rows["ae"], "gfid") and table[0]["precision"] == row_cell(rows["ae"], "precision")
    assert table[1]["interval"] == "t, 2 seeds" and table[1]["paper FID w/o CFG"] == fp_study.PAPER_T1["semantic"][2]
    assert "gFD-clf w/o CFG" not in table[2] and table[2]["paper rFID"] == fp_study.PAPER_T1["textual"][0]
    assert set(record) == {"ae", "semantic"} and record["ae"]["seeds"] == [0, 1, 2]
    assert record["semantic"]["sets"] == ["align.target=semantic"]


def test_alignment_curves_correlate_per_seed(monkeypatch):
    steps = list(range(0, 50, 10))
    logs = {"/runs/low_level/s0": [{"step": s, "align_eval": 1 / (1 + s), "knn_nll": 2 / (1 + s) + 1} for s in steps],
            "/runs/low_level/s1": [{"step": s, "align_eval": 1 / (1 + s), "knn_nll": float(s)} for s in steps]}
    monkeypatch.setattr(evaluation, "validation_rows", lambda d: logs[str(d)])
    aligned = {"low_level": make_row("low_level", [{}, {}])}
    curves, corr = fp_study.alignment_curves(aligned, ["low_level"])
    assert curves["low_level"]["steps"] == steps and curves["low_level"]["knn_nll"][0] == 3.0  # the first seed's
    assert corr["low_level"][0]["pearson"] == pytest.approx(1.0) and corr["low_level"][0]["spearman"] == pytest.approx(1.0)
    assert corr["low_level"][1]["spearman"] == pytest.approx(-1.0) and corr["low_level"][1]["points"] == 5
    row = fp_study.correlation_table(corr)[0]
    assert row["Spearman (per seed)"] == "1.000, -1.000" and row["points per curve"] == 5
    fig, ax = plt.subplots(1, 1, squeeze=False)
    fp_study.plot_alignment_curves(ax[0], curves, corr, ["low_level"])
    assert ax[0, 0].get_title() == fp_study.TARGET_LABELS["low_level"] and len(ax[0, 0].lines) == 1
    plt.close(fig)


def test_knn_before_after_sees_latents_move_to_the_target(monkeypatch):
    g = torch.Generator().manual_seed(2)
    prior = tiny_prior(3)
    monkeypatch.setattr(flowprior, "load_flow_prior", lambda cfg: prior)
    latents = {"ae": prior.samples[:40] + 3.0, "semantic": prior.samples[40:80] + 0.01 * torch.randn(40, 4, generator=g)}
    asked = []

    base = configs.get("ae_aligned", "smoke")
    n_tok = base.tokenizer.n_tokens

    def encode(stage1, split, limit):
        asked.append((split, limit))
        return {"latents": latents[Path(stage1).parent.name][: limit * n_tok].reshape(limit, n_tok, 4)}

    monkeypatch.setattr(train, "encode_dataset", encode)
    plain, aligned = make_row("ae", [{}, {}]), {"semantic": make_row("semantic", [{}])}
    out = fp_study.knn_before_after(base, ["semantic"], plain, aligned, 10)
    assert len(out["semantic"]["before"]) == 2 and len(out["semantic"]["after"]) == 1
    assert out["semantic"]["after"][0] < out["semantic"]["before"][0]
    assert asked[0] == ("test", -(-10 // n_tok))  # the first images that hold the 10 latents
    assert fp_study.latents_of(plain.runs[0], 10).shape == (10, 4)
    row = fp_study.knn_table(out, 10)[0]
    assert float(row["aligned latents (after)"]) < float(row["AE latents (before)"]) and row["latents"] == 10


def test_claims_follow_the_papers_direction_per_target():
    rng = np.random.default_rng(4)
    rows = {"ae": make_row("ae", numbers(rng, 4, 1.0, 15.0)), "semantic": make_row("semantic", numbers(rng, 4, 1.3, 11.0)),
            "discrete": make_row("discrete", numbers(rng, 3, 3.0, 25.0))}
    corr = {t: [{"pearson": 0.95, "points": 6}, {"pearson": 0.9, "points": 6}, {"pearson": 0.97, "points": 6}]
            for t in ("semantic", "discrete")}
    knn = {t: {"before": [2.0, 2.1, 1.9, 2.05], "after": [1.0, 1.1, 0.9, 1.05]} for t in ("semantic", "discrete")}
    sem = fp_study.finding_claims("semantic", rows, corr, knn, "FD-clf", 100, 64)
    assert len(sem) == 4 and all(c["verdict"] == "holds" for c in sem)  # costs rFD, lowers gFD, correlates, closer
    assert sem[0]["better"] == "higher" and sem[1]["better"] == "lower"
    dis = fp_study.finding_claims("discrete", rows, corr, knn, "FD-clf", 100, 64)
    assert dis[1]["better"] == "higher" and dis[1]["claim"].startswith("2) alignment to the discrete target hurts")
    assert dis[1]["verdict"] == "holds"
    three = fp_study.discrete_claim(rows, 100)
    assert three["verdict"] == "holds" and three["n"]["seeds"] == "3 vs 4"
    weak = {"semantic": [{"pearson": 0.2, "points": 6}, {"pearson": 0.3, "points": 6}, {"pearson": 0.1, "points": 6}]}
    assert fp_study.finding_claims("semantic", rows, weak, knn, "FD-clf", 100, 64)[2]["verdict"] == "does not hold"


def test_table2_rows_and_descriptions():
    rng = np.random.default_rng(5)
    m = {p: numbers(rng, 1, 1.0, g)[0] for p, g in (("random", 10.0), ("pca", 14.0))}
    table2b = {0.01: numbers(rng, 1, 1.0, 13.0)[0], 0.05: numbers(rng, 1, 2.0, 11.0)[0]}
    row = fp_study.table2_row("random", m["random"], fp_study.PAPER_T2A["random"], "FD-clf")
    assert row["gFD-clf interval"] == f"[{m['random']['gfid_lo']:.3f}, {m['random']['gfid_hi']:.3f}]"
    assert row["paper FID"] == fp_study.PAPER_T2A["random"][2] and row["seeds"] == 1
    d = fp_study.table2_descriptions(m, table2b, "FD-clf", 100)
    assert [c["claim"] for c in d] == ["Table 2(a): random projection gives a lower gFD-clf than pca",
                                       "Table 2(b): weight 0.05 gives a lower gFD-clf than 0.01",
                                       "Table 2(b): weight 0.05 gives a higher rFD-clf than 0.01"]
    assert [c["verdict"] for c in d] == ["holds", "holds", "holds"]  # the intervals over samples do not overlap


def test_sample_grid():
    rows = {"ae": make_row("ae", [{}]), "semantic": make_row("semantic", [{}])}
    samples = {str(r.runs[0].stage2): torch.zeros(12, 1, 4, 4) for r in rows.values()}
    fig, ax = plt.subplots(2, 12, squeeze=False)
    fp_study.plot_samples(ax, rows, samples)
    assert ax[1, 0].get_title(loc="left") == fp_study.TARGET_LABELS["semantic"] and len(ax[0, 11].images) == 1
    plt.close(fig)
