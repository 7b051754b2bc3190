"""Notebook 05 (paper V, VA-pi post-training) at smoke tier: results.json holds the learning-rate search on the
validation split, every seed before and after, every ablation row, the curves and verdicts from the claims helper."""
import json

import pytest


@pytest.mark.slow
def test_notebook_05_smoke(smoke_notebook):
    out = smoke_notebook("05_vapi")
    res = json.loads((out / "results.json").read_text())
    assert res["tier"] == "smoke" and res["seeds"] == [0, 1]
    assert res["lr_search"]["chosen"] in [r["lr"] for r in res["lr_search"]["rows"][1:]]
    assert res["lr_search"]["rows"][0]["run"] == "before (stage 2)" and "validation" in res["lr_search"]["criterion"]
    for which in ("before", "after"):
        seeds = res["main"]["per_seed"][which]
        assert [m["seed"] for m in seeds] == [0, 1]
        for m in seeds:
            assert m["gfid_lo"] <= m["gfid"] <= m["gfid_hi"] and m["ce"] > 0 and m["n"] == res["n_eval"]
            assert isinstance(m["pfd"], float) and m["pfd_lo"] <= m["pfd"] <= m["pfd_hi"] and "gap" in m
        assert res["main"]["summary"][which]["pfd"]["lo"] is not None
        s = res["main"]["summary"][which]["gfid"]
        assert s["lo"] is not None and not s["single_seed"]
    lr, move = res["lr_search"]["chosen"], res["lr_search"]["moving"]
    assert set(res["ablations"]) == {f"{lr:g}", f"{move:g}"}  # the chosen rate and the one that moves the AR
    arms = res["ablations"][f"{move:g}"]
    assert {"xi = 0 (no contextual noise)", "beta = 0 (no prior term)", "reward only (beta = 0, no KL)",
            "k3 KL estimator (GRPO)", "as the authors ship it (no KL, no token noise)",
            "+ classifier-feature reward (ours, not LPIPS)"} <= set(arms)
    assert all([m["seed"] for m in rows] == [0, 1] and all(isinstance(m["pfd"], float) for m in rows)
               for rows in arms.values())  # every arm paired over the same seeds
    assert [r["step"] for r in res["curves"]["val"]] == [2, 4]
    assert set(res["curves"]["test_gfid_by_step"]) == {"0", "2", "4"}
    assert all(len(v) == 3 and v[1] <= v[0] <= v[2] for v in res["curves"]["test_gfid_by_step"].values())
    assert set(res["lr_test"]) == {f"{r['lr']:g}" for r in res["lr_search"]["rows"][1:] if r["val gFD"] is not None}
    assert all([m["seed"] for m in rows] == [0, 1] for rows in res["lr_test"].values())
    assert [r["AR"] for r in res["free_running"]][0] == "before" and all(
        r["teacher-forced reward"] < 0 and r["free-running reward (2nd half drawn)"] < 0 for r in res["free_running"])
    objective = [k for k in arms if k.startswith(("k3", "as the authors", "+ classifier")) or "updates per batch" in k]
    assert len(res["claims"]) == 3 + len(res["lr_test"]) + 3 * len(res["ablations"]) + len(objective)
    assert all(c["difference"]["kind"] == "t paired" for c in res["claim_results"])
    assert res["n_claims"] == len(res["claims"]) == len(res["claim_results"])
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in res["claims"])
    assert all(c["holm"] in ("holds", "does not hold", "inconclusive") for c in res["claims"])
    for c in res["claim_results"]:
        assert c["verdict_holm"] in ("holds", "does not hold", "inconclusive"), c["claim"]
        assert "mde" in c and (c["mde"] is None or isinstance(c["mde"], (int, float))), c["claim"]
        if c["difference"]["kind"] == "t paired":
            assert isinstance(c["mde"], (int, float)), c["claim"]  # paired over seeds: a seed sd, an MDE
    assert res["claim_results"][0]["paper_values"] == [9.23, 15.55]
    assert res["lpips_reward"]["available"] in (True, False)
    assert res["provenance"]["tier"] == "smoke" and res["provenance"]["n"]["frechet"] == res["n_eval"]
    for name in ("table1_before_after", "table2_ablations", "table3_rates_test", "table4_free_running",
                 "lr_search_validation", "claims"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    for fig in ("fig1_curves", "fig2_samples"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
