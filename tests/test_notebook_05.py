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
    assert {"before (stage 2)", "xi = 0 (no contextual noise)", "beta = 0 (no prior term)",
            "reward only (beta = 0, no KL)"} <= set(res["ablations"])
    assert [r["step"] for r in res["curves"]["val"]] == [2, 4]
    assert set(res["curves"]["test_gfid_by_step"]) == {"0", "2", "4"}
    assert all(isinstance(m["pfd"], float) for m in res["ablations"].values())
    assert set(res["lr_test"]) == {f"{r['lr']:g}" for r in res["lr_search"]["rows"][1:] if r["val gFD"] is not None}
    assert len(res["claims"]) == 6 + len(res["lr_test"])
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
    for name in ("table1_before_after", "table2_ablations", "table3_rates_test", "lr_search_validation", "claims"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    for fig in ("fig1_curves", "fig2_samples"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
