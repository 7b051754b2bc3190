"""Notebook 04's experiment code (tvclab.studies.prologue, paper P) on small seeded inputs: the CFG choice and the
routing sweep's best lambda read the validation split only, the Table A1 grid and spread, the attention map's
sequence layout, the probes' C chosen on validation, and the claims' directions."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tvclab import evaluation
from tvclab.methods.prologue import PrologueConfig
from tvclab.models import ARPrior
from tvclab.studies import prologue as study


def seed_runs(seed: int, tag: str = "r") -> evaluation.SeedRuns:
    return evaluation.SeedRuns(seed, Path(f"/runs/{tag}{seed}/stage1"), Path(f"/runs/{tag}{seed}/stage2"), None)


def metrics_row(gfid: float, rfid: float, half: float = 0.5, **extra) -> dict:
    """One seed's Table 1 metrics with intervals over samples of half-width ``half``."""
    return {"rfid": rfid, "rfid_lo": rfid - half, "rfid_hi": rfid + half, "psnr": 20.0, "gfid": gfid,
            "gfid_lo": gfid - half, "gfid_hi": gfid + half, "pfd": gfid - rfid, "gap": gfid - rfid,
            "gloss_visual": 2.0, "gloss": 2.5, "metric": "fd_clf", **extra}


def row(name: str, gfids, rfids, tag: str | None = None) -> evaluation.Row:
    runs = [seed_runs(s, tag or name) for s in range(len(gfids))]
    per_seed = [{"seed": s, **metrics_row(g, r)} for s, (g, r) in enumerate(zip(gfids, rfids))]
    r = evaluation.Row(name, [], runs, per_seed)
    r.summary = evaluation.summarize_metrics([{k: v for k, v in m.items() if k != "seed"} for m in per_seed])
    return r


class FakeStudy(study.Study):
    """A Study whose Fréchet numbers are a known function of (run, split, scale): no training, no sampling."""

    def __init__(self, table: dict):
        super().__init__("fashion_mnist", None, 0, torch.zeros(3, 1, 4, 4), torch.ones(2, 1, 4, 4), "smoke")
        self.table, self.calls = table, []

    def fd(self, run, real, sample_seed, cfg_scale=1.0):
        split = "val" if real is self.real_val else "test"
        self.calls.append((str(run), split, sample_seed, cfg_scale))
        v = self.table[(str(run), split, cfg_scale)]
        return {"value": v, "lo": v - 0.1, "hi": v + 0.1}


def test_choose_cfg_picks_the_validation_minimum_and_measures_every_seed_on_test_at_it():
    r = row("prologue", [5.0, 6.0], [1.0, 1.2])
    s2 = [str(x.stage2) for x in r.runs]
    # validation prefers 3.0; the test split would prefer 1.5 (it must not be read for the choice)
    table = {(s2[0], "val", 1.5): 9.0, (s2[0], "val", 3.0): 4.0,
             (s2[0], "test", 3.0): 4.5, (s2[1], "test", 3.0): 5.5, (s2[0], "test", 1.5): 0.1}
    lab = FakeStudy(table)
    choice = study.choose_cfg(lab, {"prologue": r}, [1.5, 3.0], "FD-clf")
    assert choice["prologue"]["scale"] == 3.0
    assert choice["prologue"]["val gFD-clf"] == {1.5: 9.0, 3.0: 4.0}
    assert [m["gfid_cfg"] for m in r.per_seed] == [4.5, 5.5]
    assert all(m["gfid_cfg_lo"] < m["gfid_cfg"] < m["gfid_cfg_hi"] for m in r.per_seed)
    assert r.summary["gfid_cfg"]["mean"] == pytest.approx(5.0)
    val_calls = [c for c in lab.calls if c[1] == "val"]
    assert all(c[2] == lab.val_sample_seed and c[0] == s2[0] for c in val_calls)  # validation: first seed only
    assert [c[2] for c in lab.calls if c[1] == "test"] == [0, 1]  # the reported draws use each run's own seed


def test_routing_sweep_reuses_table1s_prologue_and_sets_the_weight_everywhere_else():
    rows = {"prologue": row("prologue", [5.0], [1.0])}
    asked = []

    class Sweeper(FakeStudy):
        def run_row(self, name, sets, seeds):
            asked.append((name, list(sets), list(seeds)))
            return row(name, [7.0], [2.0], tag=f"{name}-{len(asked)}")

    arms = {"prologue": ("prologue", []), "visual 2D": ("baseline_2d", ["prologue.routing=visual"])}
    sweep = study.routing_sweep(Sweeper({}), rows, arms, [1.0, 3.0], ["stage2.class_cond=true"], 3.0, [0])
    assert sweep[("prologue", 3.0)] is rows["prologue"]
    assert len(asked) == 3 and all(seeds == [0] for _, _, seeds in asked)
    assert ("baseline_2d", ["stage2.class_cond=true", "prologue.routing=visual", "prologue.ar_weight=3"], [0]) in asked
    assert ("prologue", ["stage2.class_cond=true", "prologue.ar_weight=1"], [0]) in asked


def test_best_point_is_chosen_by_validation_not_by_test():
    lambdas = [0.3, 1.0, 3.0]
    sweep = {("a", l): row("a", [g], [1.0], tag=f"a{l}") for l, g in zip(lambdas, [1.0, 5.0, 9.0])}
    val = {("a", 0.3): 8.0, ("a", 1.0): 2.0, ("a", 3.0): 4.0}
    assert study.best_point(sweep, val, "a", lambdas)["gfid"] == 5.0  # the test minimum would be lambda 0.3
    fig5 = study.fig5_data(sweep, val, ["a"], lambdas)
    assert fig5["a"]["gfid"] == [1.0, 5.0, 9.0] and fig5["a"]["val_gfid"] == [8.0, 2.0, 4.0]
    assert fig5["a"]["lambda"] == lambdas


def test_one_factor_grid_brackets_the_default_and_the_table_has_one_default_per_knob():
    p0 = PrologueConfig(n=4, codebook_size=64, tau=0.1, visual_dropout=0.5)
    grid, default = study.one_factor_grid(p0, smoke=False)
    assert default == {"visual dropout": 0.5, "n": 4, "codebook": 64, "tau": 0.1}
    for knob, values in grid.items():
        assert len(values) == 2 and min(values) < default[knob] < max(values), knob
    smoke_grid, _ = study.one_factor_grid(p0, smoke=True)
    assert smoke_grid == {"visual dropout": [0.0], "n": [8]}
    gen = torch.Generator().manual_seed(0)
    ablation = {(k, v): metrics_row(float(torch.rand((), generator=gen)) * 10, 1.0) for k in grid for v in grid[k]}
    default_row = metrics_row(3.0, 1.0)
    table = study.tableA1(default_row, ablation, grid, default, "FD-clf")
    assert len(table) == 3 * len(grid)
    for knob in grid:
        mine = [r for r in table if r["knob"] == knob]
        assert [r["value"] for r in mine] == sorted(r["value"] for r in mine)
        assert sum(r["default"] for r in mine) == 1
        points = study.knob_rows(default_row, ablation, grid, default, knob)
        assert points[1] is default_row  # the default sits between its two changed values
        assert study.gfid_spread(table, grid, "FD-clf")[knob] == pytest.approx(
            study.spread_interval(points)["value"])


def test_spread_interval_contains_its_value_and_is_positive_only_when_the_points_separate():
    gen = torch.Generator().manual_seed(3)
    for _ in range(50):
        g = (torch.rand(3, generator=gen) * 10).tolist()
        half = float(torch.rand((), generator=gen))
        q = study.spread_interval([metrics_row(v, 0.0, half) for v in g])
        assert q["value"] == pytest.approx(max(g) - min(g))
        assert 0.0 <= q["lo"] <= q["value"] <= q["hi"]
        assert (q["lo"] > 0) == (max(g) - min(g) > 2 * half)


def test_attention_map_feeds_the_prologue_layout_and_returns_rows_of_probabilities(monkeypatch):
    torch.manual_seed(0)
    K, V, n, m = 4, 6, 2, 3
    ar = ARPrior(vocab_size=K + V, n_tokens=n + m, width=16, depth=2, heads=2, num_classes=3).eval()
    seen = {}
    forward = ar.forward
    monkeypatch.setattr(ar, "forward", lambda seq, labels=None: (seen.update(seq=seq, labels=labels), forward(seq, labels))[1])
    gen = torch.Generator().manual_seed(1)
    enc = {"tokens": torch.randint(V, (10, m), generator=gen), "prologue": torch.randint(K, (10, n), generator=gen),
           "labels": torch.randint(3, (10,), generator=gen)}
    monkeypatch.setattr(study.train, "load_prior", lambda path: (ar, None))
    monkeypatch.setattr(study.train, "encode_dataset", lambda path, split: enc)
    run = evaluation.SeedRuns(0, Path("s1"), Path("s2"), SimpleNamespace(prologue=SimpleNamespace(codebook_size=K)))
    a = study.attention_map(run, n=8)
    assert torch.equal(seen["seq"], torch.cat([enc["prologue"][:8], enc["tokens"][:8] + K], 1))
    assert torch.equal(seen["labels"], enc["labels"][:8])
    assert a.shape == (n + m, n + m)  # the class token and the first n + m - 1 ids are the inputs
    assert torch.allclose(a.sum(-1), torch.ones(n + m), atol=1e-5)
    assert torch.count_nonzero(a.triu(1)) == 0


def test_linear_probes_choose_c_on_validation_and_separate_informative_features(monkeypatch):
    gen = torch.Generator().manual_seed(0)
    labels = {s: torch.arange(n) % 10 for s, n in (("train", 400), ("val", 200), ("test", 200))}
    centres = torch.randn(10, 8, generator=gen) * 3

    def features(run, split, n, prologue, n_pro):
        y = labels[split][:n]
        noise = torch.randn(len(y), 8, generator=gen)
        return (centres[y] + noise if prologue else noise), y  # prologue: class-informative; 2D: pure noise

    monkeypatch.setattr(study, "probe_features", features)
    rows = {name: row(name, [1.0, 1.0], [1.0, 1.0]) for name in ("prologue", "baseline_2d", "prologue_post")}
    probe = study.linear_probes(rows, 400, 200, n_pro=2)
    assert set(probe) == {"prologue", "baseline_2d", "prologue_post"}
    assert all(m["C"] in study.PROBE_C and 0 <= m["top1"] <= m["top5"] <= 1 for v in probe.values() for m in v)
    assert min(m["top1"] for m in probe["prologue"]) > 0.8
    assert max(m["top1"] for m in probe["baseline_2d"]) < 0.3  # chance is 0.1
    t4 = study.table4(probe, 2, {"prologue": (35.88, 60.28), "baseline_2d": (23.71, 44.17)})
    assert [r["paper top-1 (%)"] for r in t4] == [35.88, 23.71, None]
    assert t4[0]["top-1"].endswith("(2 seeds)")


PAPER_T1 = {"baseline_1d": (2.11, 20.71, 19.32, 6.10), "baseline_2d": (2.15, 20.71, 21.01, 5.02),
            "prologue": (2.24, 20.64, 10.75, 4.11), "prologue_post": (2.15, 20.71, 11.04, 3.88)}
PAPER_T4 = {"prologue": (35.88, 60.28), "baseline_2d": (23.71, 44.17)}


def table1_rows(gen: torch.Generator) -> dict:
    """Five seeds each: Prologue's gFD clearly below 2D's with the same rFD (seed-to-seed sd 0.1 and 0.01)."""
    noise = lambda sd: (torch.randn(5, generator=gen) * sd).tolist()
    return {name: row(name, [g + e for e in noise(0.1)], [1 + e for e in noise(0.01)])
            for name, g in (("baseline_1d", 8.0), ("baseline_2d", 9.0), ("prologue", 5.0), ("prologue_post", 6.0))}


def test_headline_claims_hold_when_prologue_clearly_wins_and_fail_when_it_clearly_loses():
    rows = table1_rows(torch.Generator().manual_seed(0))
    probe = {"prologue": [{"top1": 0.6 + 0.01 * i} for i in range(5)],
             "baseline_2d": [{"top1": 0.3 + 0.01 * i} for i in range(5)]}
    v = study.headline_claims(rows, probe, "FD-clf", 100, 50, PAPER_T1, PAPER_T4)
    assert len(v) == 6 and v[0]["claim"].startswith("primary") and "gFD-clf - rFD-clf" in v[0]["claim"]
    assert [c["verdict"] for c in v] == ["holds"] * 6
    # swap the Prologue and 2D rows: every "Prologue lowers" claim must now fail
    swapped = {**rows, "prologue": rows["baseline_2d"], "baseline_2d": rows["prologue"]}
    w = study.headline_claims(swapped, probe, "FD-clf", 100, 50, PAPER_T1, PAPER_T4)
    assert [c["verdict"] for c in w[:3]] == ["does not hold"] * 3


def test_tables_carry_intervals_seeds_and_the_papers_numbers():
    rows = table1_rows(torch.Generator().manual_seed(1))
    cfg = {n: {"scale": 2.0} for n in rows}
    labels = {n: n.upper() for n in rows}
    t1 = study.table1(rows, cfg, "FD-clf", PAPER_T1, labels)
    assert [r["tokenizer"] for r in t1] == [labels[n] for n in rows]
    assert all(r["interval"] == "t, 5 seeds" and r["seeds"] == 5 and "[" in r["gFD-clf w/o CFG"] for r in t1)
    assert t1[2]["paper gFID w/o CFG"] == 10.75
    one = {"x": row("x", [1.0], [1.0])}
    assert study.interval_kind(one["x"]) == "1 seed: none"
    res = study.row_results(rows, cfg)
    assert res["prologue"]["per_seed"] is rows["prologue"].per_seed and res["prologue"]["seeds"] == list(range(5))
    t3 = study.table3(rows, "FD-clf", PAPER_T1, {"baseline_1d": 7.89, "baseline_2d": 7.73}, labels)
    assert [r["paper AR loss"] for r in t3] == [7.89, 7.73]


def test_one_seed_descriptions_read_the_sweep_and_table_a1():
    gen = torch.Generator().manual_seed(2)
    rows = table1_rows(gen)
    lambdas = [0.3, 3.0]
    # 2D visual routing: rFD rises with lambda; the prologue arm stays flat
    pts = {("visual 2D", 0.3): (10.0, 1.0), ("visual 2D", 3.0): (12.0, 6.0), ("visual 1D", 0.3): (7.0, 1.0),
           ("visual 1D", 3.0): (9.0, 3.0), ("prologue", 0.3): (5.0, 1.0), ("prologue", 3.0): (5.0, 1.0)}
    sweep = {k: row(k[0], [g], [r], tag=f"{k[0]}{k[1]}") for k, (g, r) in pts.items()}
    val = {k: g for k, (g, _) in pts.items()}
    grid = {"visual dropout": [0.0, 1.0], "n": [1, 4]}
    default = {"visual dropout": 0.5, "n": 2}
    ablation = {("visual dropout", 0.0): metrics_row(15.0, 1.0, 0.2), ("visual dropout", 1.0): metrics_row(14.0, 1.0, 0.2),
                ("n", 1): metrics_row(5.2, 1.0, 0.2), ("n", 4): metrics_row(5.1, 1.0, 0.2)}
    d = study.one_seed_descriptions(rows, sweep, val, lambdas, ablation, grid, default, "FD-clf", 100, PAPER_T1)
    assert len(d) == 6
    assert d[0]["verdict"] == "holds"  # rFD 6 [5.5, 6.5] vs 1 [0.5, 1.5]
    assert d[5]["verdict"] == "holds" and d[5]["claim"].startswith("visual dropout is the most sensitive")
    assert all(c["n"]["seeds"] == 1 for c in d)
