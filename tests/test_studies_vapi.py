"""Notebook 05's experiment code (tvclab.studies.vapi, paper V) on small seeded inputs: the learning rate is chosen
on validation among the finite rates, the chosen rate and the last snapshot are not measured twice, the ablation
rows override what they say, the sample tile keeps every image in place, and the claims' directions."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tvclab import configs, evaluation, train
from tvclab.studies import vapi as study

PC = SimpleNamespace(ce_weight=0.1, noise=0.5, optim=SimpleNamespace(steps=4, batch_size=8))


class FakeStudy(study.Study):
    """A Study whose runs are names and whose generation numbers are a known function of (run, split): no training,
    no sampling. ``diverge``: rates whose post-training raises NonFiniteError."""

    def __init__(self, gfd: dict, diverge=()):
        super().__init__("baseline_1d", None, "smoke", True, "fashion_mnist", None, 0, torch.zeros(3, 1, 4, 4),
                         torch.ones(2, 1, 4, 4))
        self.gfd, self.diverge, self.calls, self.trained = gfd, set(diverge), [], []

    def posttrain_run(self, s, extra):
        self.trained.append((s, list(extra)))
        if any(f"posttrain.optim.lr={lr:g}" in extra for lr in self.diverge):
            raise train.NonFiniteError("loss is nan", step=3, parts={"loss": float("nan")})
        return Path(f"/runs/s{s}/" + "__".join(extra))

    def generation(self, run, real, sample_seed, step=None, prior=None):
        split = "val" if real is self.real_val else "test"
        self.calls.append((str(run), split, sample_seed, step))
        v = self.gfd[(str(run), split, step)]
        out = {"gfid": v, "gfid_lo": v - 0.1, "gfid_hi": v + 0.1, "metric": "fd_clf", "precision": 0.5,
               "recall": 0.5, "n": len(real), "samples": torch.full((64, 1, 4, 4), v)}
        if prior is not None:
            out.update(pfd=v / 2, pfd_lo=v / 2 - 0.1, pfd_hi=v / 2 + 0.1, pfd_n=len(real), gap=v - prior[1])
        return out


def run_of(s: int, lr: float) -> str:
    return f"/runs/s{s}/posttrain.optim.lr={lr:g}__posttrain.optim.lr_min={lr:g}"


def test_lr_search_records_divergence_and_the_choice_reads_validation_only(monkeypatch):
    monkeypatch.setattr(study.evaluation, "validation_rows", lambda run: [{"gloss": 2.0, "reward": -0.5}])
    # validation prefers 1e-4; 1e-3 diverges; the test split (never read here) would prefer 1e-5
    lab = FakeStudy({(run_of(0, 1e-5), "val", None): 5.0, (run_of(0, 1e-4), "val", None): 3.0,
                     (run_of(0, 1e-5), "test", None): 0.1}, diverge=[1e-3])
    rows, runs = study.lr_search(lab, Path("/runs/s0/stage2"), 0, [1e-5, 1e-4, 1e-3], {"gfid": 4.0})
    assert [r["lr"] for r in rows] == [0.0, 1e-5, 1e-4, 1e-3]
    assert rows[0] == {"lr": 0.0, "run": "before (stage 2)", "val gFD": 4.0, "val reward": None, "val CE": 2.0}
    assert rows[3]["run"].startswith("diverged") and rows[3]["val gFD"] is None and set(runs) == {1e-5, 1e-4}
    assert all(split == "val" and seed == lab.val_sample_seed for _, split, seed, _ in lab.calls)
    assert study.chosen_lr(rows, [1e-5, 1e-4, 1e-3]) == 1e-4
    # the "before" row is not a candidate, even when it is the lowest
    assert study.chosen_lr([{**rows[0], "val gFD": 0.0}] + rows[1:], []) == 1e-4
    with pytest.raises(SystemExit, match="diverged"):
        study.chosen_lr(rows[:1] + [rows[3]], [1e-3])


def test_before_after_measures_every_seed_on_test_and_keeps_samples_of_the_first(monkeypatch):
    ce = {"b0": 2.0, "a0": 2.01, "b1": 2.1, "a1": 2.12}
    monkeypatch.setattr(study.evaluation, "test_metrics", lambda run: {"gloss": ce[str(run)], "top1": 0.3})
    before = {0: (Path("s1-0"), Path("b0")), 1: (Path("s1-1"), Path("b1"))}
    after = {0: Path("a0"), 1: Path("a1")}
    lab = FakeStudy({(k, "test", None): v for k, v in {"b0": 10.0, "a0": 8.0, "b1": 11.0, "a1": 9.0}.items()})
    per_seed, grids = study.before_after(lab, before, after, {0: (None, 1.0), 1: (None, 2.0)}, s0=0)
    assert [m["seed"] for m in per_seed["before"]] == [0, 1] == [m["seed"] for m in per_seed["after"]]
    assert [m["gfid"] for m in per_seed["after"]] == [8.0, 9.0] and [m["ce"] for m in per_seed["before"]] == [2.0, 2.1]
    assert per_seed["after"][1]["gap"] == 9.0 - 2.0  # gFD - the seed's own rFD
    assert all("samples" not in m for rows in per_seed.values() for m in rows)
    assert set(grids) == {"before", "after"} and float(grids["after"][0, 0, 0, 0]) == 8.0  # seed 0's samples
    assert [c[2] for c in lab.calls] == [0, 0, 1, 1]  # each seed's own sample draw, before and after alike
    summary = study.summaries(per_seed)
    assert summary["after"]["gfid"]["mean"] == pytest.approx(8.5)
    table = study.main_table(summary, 2, "FD-clf")
    assert [r["AR"] for r in table] == ["before", "after"] and [r["paper FID XL"] for r in table] == [15.55, 9.23]
    assert "[" in table[1]["test gFD-clf"] and table[1]["IS"] == "—"  # no IS without Inception: a dash


def test_rates_on_test_reuse_the_chosen_rate_and_every_seed_is_measured(monkeypatch):
    monkeypatch.setattr(study.evaluation, "test_metrics", lambda run: {"gloss": 2.0})
    lab = FakeStudy({(run_of(s, lr), "test", None): v + s for lr, v in ((1e-3, 7.0), (1e-5, 9.5)) for s in (0, 1)})
    after = [{"seed": s, "gfid": 8.0 + s, "gfid_lo": 7.9, "gfid_hi": 8.1, "pfd": 4.0, "ce": 2.0} for s in (0, 1)]
    lr_test = study.rates_on_test(lab, [1e-5, 1e-4, 1e-3], [0, 1], 1e-4, {"after": after}, {0: (None, 1.0), 1: (None, 1.0)})
    assert lr_test[1e-4] == after  # the chosen rate is the main table's "after", not measured twice
    assert sorted(lab.trained) == sorted((s, study.lr_sets(lr)) for lr in (1e-5, 1e-3) for s in (0, 1))
    assert [m["gfid"] for m in lr_test[1e-3]] == [7.0, 8.0] and [m["seed"] for m in lr_test[1e-5]] == [0, 1]
    before = [{**a, "gfid": 10.0 + a["seed"]} for a in after]
    table = study.rates_table(lr_test, before, "FD-clf")
    assert [r["lr"] for r in table] == [0.0, 1e-5, 1e-4, 1e-3] and table[0]["AR"] == "before (stage 2)"
    assert table[3]["test gFD-clf"].startswith("7.500 [") and table[3]["interval"] == "t, 2 seeds"


def test_the_moving_rate_is_the_best_validation_reward():
    rows = [{"lr": 0.0, "val reward": None}, {"lr": 1e-6, "val reward": -0.30}, {"lr": 1e-4, "val reward": -0.21},
            {"lr": 1e-3, "val reward": None}]
    assert study.moving_lr(rows) == 1e-4
    with pytest.raises(SystemExit):
        study.moving_lr(rows[:1])


def test_matches_notebook_02_compares_only_the_same_tier_and_n(tmp_path):
    path = tmp_path / "results.json"
    before = [{"seed": 0, "gfid": 10.0}, {"seed": 1, "gfid": 11.0}]
    assert study.matches_notebook_02(path, "smoke", 64, before) is None  # no file
    rows = {"baseline_1d": {"matched_iterations": {"per_seed": [{"seed": 0, "gfid": 10.0}, {"seed": 1, "gfid": 11.5},
                                                                  {"seed": 7, "gfid": 0.0}]}}}
    path.write_text(json.dumps({"tier": "smoke", "n_eval": 64, "rows": rows}))
    assert study.matches_notebook_02(path, "smoke", 64, before) == {"seeds": [0, 1], "max_abs_difference": 0.5}
    assert study.matches_notebook_02(path, "cpu", 64, before) is None
    assert study.matches_notebook_02(path, "smoke", 128, before) is None


def test_ablation_rows_override_what_their_labels_say():
    sets = study.ablation_sets(PC, [0.0, 0.03, 0.1, 0.3], lpips_ok=False)
    assert sets["beta = 0 (no prior term)"] == ["posttrain.ce_weight=0"]
    assert sets["reward only (beta = 0, no KL)"] == ["posttrain.ce_weight=0", "posttrain.kl_weight=0"]
    assert sets["xi = 0 (no contextual noise)"] == ["posttrain.noise=0"]
    assert {k for k in sets if k.startswith("beta = 0.")} == {"beta = 0.03", "beta = 0.3"}  # not 0, not the default
    assert "MSE reward (no LPIPS)" not in sets
    assert study.ablation_sets(PC, [0.0], lpips_ok=True)["MSE reward (no LPIPS)"] == ["posttrain.lpips_weight=0"]
    # every configured override is a real config key
    cfg = configs.get("baseline_1d", "smoke")
    for extra in sets.values():
        configs.apply_overrides(cfg, extra)


def test_objective_variants_are_real_keys_and_updates_divide_the_run():
    cfg = configs.get("baseline_1d", "cpu")
    sets = study.objective_sets(cfg.posttrain)
    assert study.updates_per_batch(cfg.posttrain) == 5  # 100 steps, checkpoints every 25: 4 does not divide 25
    assert sets[study.AUTHORS_SHIP] == ["posttrain.kl_weight=0", "posttrain.noise=0"]
    for extra in sets.values():  # every override is a key the config accepts, and the run it names is valid
        configs.apply_overrides(cfg, extra).validate()
    smoke = configs.get("baseline_1d", "smoke").posttrain
    assert study.updates_per_batch(smoke) == 2 and any("updates=2" in e[0] for e in study.objective_sets(smoke).values())


def test_ablation_runs_pair_each_seed_and_the_table_takes_paired_differences(monkeypatch):
    monkeypatch.setattr(study.evaluation, "test_metrics", lambda run: {"gloss": 2.5})
    sets = {"xi = 0 (no contextual noise)": ["posttrain.noise=0"]}
    lab = FakeStudy({})
    lab.gfd = {("/runs/s" + f"{s}/" + "__".join(study.lr_sets(1e-4) + ["posttrain.noise=0"]), "test", None): 9.0 + s
               for s in (0, 1, 2)}
    after = [{"seed": s, "gfid": 8.0 + s, "pfd": 4.0, "precision": 0.5, "recall": 0.1, "ce": 2.0} for s in (0, 1, 2)]
    abl = study.ablation_runs(lab, [0, 1, 2], 1e-4, sets, after, {s: (None, 1.0) for s in (0, 1, 2)}, PC)
    assert list(abl) == ["after (beta = 0.1, xi = 0.5)", "xi = 0 (no contextual noise)"]
    assert lab.trained == [(s, study.lr_sets(1e-4) + ["posttrain.noise=0"]) for s in (0, 1, 2)]
    rows = abl["xi = 0 (no contextual noise)"]
    assert [r["gfid"] for r in rows] == [9.0, 10.0, 11.0] and rows[0]["ce"] == 2.5 and "samples" not in rows[0]
    before = [{**a, "gfid": 10.0 + a["seed"]} for a in after]
    table = study.ablation_table({1e-4: abl}, before, "FD-clf")
    assert [r["row"] for r in table] == ["before (stage 2)", "after (beta = 0.1, xi = 0.5)",
                                         "xi = 0 (no contextual noise)"]
    assert table[2]["paired diff. vs after"] == "1.000 [1.000, 1.000]"  # +1 at every seed: no spread
    assert table[1]["paired diff. vs after"] == "—" and table[2]["interval"] == "t, 3 seeds"


def test_gfd_by_step_reads_every_snapshot_but_the_last(monkeypatch):
    monkeypatch.setattr(study.train.artifacts, "prior_snapshot_steps", lambda run: [2, 4])
    lab = FakeStudy({("run", "test", 2): 9.0})
    per_seed = {"before": [{"gfid": 10.0, "gfid_lo": 9.0, "gfid_hi": 11.0}],
                "after": [{"gfid": 8.0, "gfid_lo": 7.5, "gfid_hi": 8.5}]}
    assert study.gfd_by_step(lab, Path("run"), 0, per_seed, last_step=4) == {0: [10.0, 9.0, 11.0], 2: [9.0, 8.9, 9.1],
                                                                             4: [8.0, 7.5, 8.5]}
    assert [c[3] for c in lab.calls] == [2]
    curves = study.curves_results([{"step": 1, "reward": -1.0, "ce": 2.0, "policy": 0.0, "extra": 1}],
                                  [{"step": 2, "reward": -0.5, "gloss": 2.0}], {0: 10.0, 2: 9.0})
    assert curves["train"] == [{"step": 1, "reward": -1.0, "ce": 2.0, "policy": 0.0}]
    assert curves["test_gfid_by_step"] == {0: 10.0, 2: 9.0}


@pytest.mark.parametrize("channels", [1, 3])
def test_sample_tile_keeps_every_image_in_its_place(channels):
    gen = torch.Generator().manual_seed(0)
    imgs = torch.rand(70, channels, 5, 6, generator=gen) * 2.4 - 1.2  # some values outside [-1, 1]
    tile = study.sample_tile(imgs)
    assert tile.shape == ((40, 48) if channels == 1 else (40, 48, 3))  # 64 of 70 images: 8 x 8
    assert tile.min() >= 0 and tile.max() <= 1
    clamped = imgs.clamp(-1, 1).add(1).div(2)
    for i in (0, 9, 63):
        r, c = divmod(i, 8)
        block = torch.as_tensor(tile[5 * r: 5 * r + 5, 6 * c: 6 * c + 6])
        want = clamped[i, 0] if channels == 1 else clamped[i].permute(1, 2, 0)
        assert torch.equal(block, want)


def test_generation_maps_the_metric_and_adds_the_prior_columns(monkeypatch):
    gen = torch.Generator().manual_seed(0)
    samples = torch.rand(3, 1, 4, 4, generator=gen)
    monkeypatch.setattr(study.train, "sample", lambda run, n, seed, progress, step: {"images": samples[:n]})
    monkeypatch.setattr(study.metrics, "generation_metrics", lambda real, imgs, *a, **k: {
        "metric": "fd_clf", "fd_clf": 6.0, "fd_clf_lo": 5.0, "fd_clf_hi": 7.0, "precision_clf": 0.7,
        "recall_clf": 0.4, "precision": -1.0, "n_real": len(real)})
    monkeypatch.setattr(study.evaluation, "pfd_clf", lambda *a, **k: {"value": 2.0, "lo": 1.5, "hi": 2.5, "n": 3})
    lab = study.Study("baseline_1d", None, "smoke", True, "fashion_mnist", None, 0, torch.zeros(3, 1, 4, 4),
                      torch.zeros(2, 1, 4, 4))
    g = lab.generation(Path("run"), lab.real_test, 0, prior=(torch.zeros(3, 1, 4, 4), 1.5))
    assert (g["gfid"], g["gfid_lo"], g["gfid_hi"]) == (6.0, 5.0, 7.0)
    assert (g["precision"], g["recall"]) == (0.7, 0.4)  # the classifier-feature precision, not Inception's
    assert "is" not in g and g["n"] == 3 and torch.equal(g["samples"], samples)
    assert g["pfd"] == 2.0 and g["gap"] == pytest.approx(6.0 - 1.5)  # gFD - rFD


def test_claims_are_paired_and_point_where_the_paper_points():
    gen = torch.Generator().manual_seed(0)
    noise = lambda: (torch.randn(3, generator=gen) * 0.05).tolist()  # noqa: E731

    def seeds(gfid, ce=2.0):
        return [{"seed": s, "gfid": gfid + e, "pfd": gfid / 2 + f, "ce": ce + f / 10}
                for s, (e, f) in enumerate(zip(noise(), noise()))]

    before, after = seeds(10.0), seeds(8.0)
    pc = configs.get("baseline_1d", "smoke").posttrain
    lr, move = 1e-6, 1e-4
    rates = {1e-6: after, 1e-4: seeds(7.0)}
    abl = {lr: {study.main_label(pc): after, "beta = 0 (no prior term)": seeds(9.0),
                "reward only (beta = 0, no KL)": seeds(9.2), "xi = 0 (no contextual noise)": seeds(8.9)},
           move: {study.main_label(pc): rates[move], "beta = 0 (no prior term)": seeds(7.5),
                  study.AUTHORS_SHIP: seeds(6.0)}}
    v = study.vapi_claims({"before": before, "after": after}, rates, abl, pc, 64, "FD-clf", lr, move)
    assert len(v) == 3 + 2 + 3 + 1 + 1
    assert [c["verdict"] for c in v[:2]] == ["holds"] * 2 and tuple(v[0]["paper_values"]) == (9.23, 15.55)
    assert all(c["difference"]["kind"] == "t paired" for c in v), {c["difference"]["kind"] for c in v}
    assert v[3]["claim"].startswith("post-training at lr 1e-06") and v[4]["claim"].startswith("post-training at lr 0.0001")
    ablations = [c for c in v if "raises" in c["claim"]]
    assert len(ablations) == 4 and all(c["verdict"] == "holds" for c in ablations)  # each ablation is worse
    (ship,) = [c for c in v if study.AUTHORS_SHIP in c["claim"]]
    assert ship["verdict"] == "holds" and ship["claim"].startswith("lr 0.0001")
    w = study.vapi_claims({"before": after, "after": before}, {1e-6: before}, {lr: {study.main_label(pc): before}},
                          pc, 64, "FD-clf", lr, lr)
    assert [c["verdict"] for c in w[:2]] == ["does not hold"] * 2
