"""Notebook 06 (cross-paper comparison) at smoke tier: every row, seed and interval in results.json, the frontier
sweep, the paper-tier commands and verdicts from the claims helper."""
import json

import pytest

ROWS = ["plain", "wgf_dpd", "flow_prior", "prologue", "vapi", "wgf_vapi"]


@pytest.mark.slow
def test_notebook_06_smoke(smoke_notebook):
    out = smoke_notebook("06_cross_paper")
    res = json.loads((out / "results.json").read_text())
    assert res["tier"] == "smoke" and res["seeds"] == [0, 1]
    assert set(res["rows"]) == set(ROWS)
    for name in ROWS:
        r = res["rows"][name]
        assert [m["seed"] for m in r["per_seed"]] == [0, 1]
        for m in r["per_seed"]:
            assert m["gfid_lo"] <= m["gfid"] <= m["gfid_hi"] and m["psnr"] is not None
            assert ("fm_loss" in m) if name == "flow_prior" else (m["rate"] > 0 and m["codes_used"] >= 1)
        assert r["summary"]["gfid"]["lo"] is not None
    assert res["rows"]["vapi"]["per_seed"][0]["posttrain_s"] > 0
    # what it reused and trained: every run directory once (2 seeds x (8 shared stage runs + 2 post-trainings) for
    # the rows, 2 seeds x 2 stages for the one smoke sweep point)
    # the cost column: the four tokenizers timed side by side (the post-trained rows use plain's and WGF-DPD's)
    step = res["stage1_step"]["measured"]
    assert set(step) == {"plain", "wgf_dpd", "flow_prior", "prologue"} and step["plain"]["ratio"] == 1.0
    assert all(v["ratio"] > 0 and v["ms"] > 0 for v in step.values())
    listed = res["runs"]["reused"] + res["runs"]["to_train"]
    assert len(listed) == len(set(listed)) == 2 * (8 + 2) + 2 * 2
    # best vs runner-up, each of the 5 methods vs plain, the combination vs each part, and the frontier for the two
    # tokenizers of their own (WGF-DPD, Prologue)
    assert len(res["claims"]) == 1 + 5 + 2 + 2 and set(res["frontier_gaps"]) == {"wgf_dpd", "prologue"}
    assert all(m["val_gfid"] > 0 for r in res["rows"].values() for m in r["per_seed"])  # selection: every seed
    val = [v for _, v in res["validation_order"]]
    assert val == sorted(val) and {n for n, _ in res["validation_order"]} == set(ROWS)
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in res["claims"])
    for name in ("tableX1_cross_paper", "paper_tier_commands", "claims"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    for fig in ("figX1_rate_distortion", "figX2_samples"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
