"""Notebook 06 (cross-paper comparison) at smoke tier: every row, seed and interval in results.json, the frontier
sweep, the paper-tier commands and verdicts from the claims helper."""
import json

import pytest

from conftest import check_evidence, check_smoke_rows


ROWS = ["plain", "wgf_dpd", "flow_prior", "prologue", "vapi", "wgf_vapi"]


@pytest.mark.slow
def test_notebook_06_smoke(smoke_notebook):
    out = smoke_notebook("06_cross_paper")
    res = json.loads((out / "results.json").read_text())
    check_smoke_rows(res, ROWS)
    check_evidence(res, ROWS)
    for name in ROWS:
        r = res["rows"][name]
        for m in r["per_seed"]:
            assert m["gfid_lo"] <= m["gfid"] <= m["gfid_hi"] and m["psnr"] is not None
            assert ("fm_loss" in m) if name == "flow_prior" else (m["rate"] > 0 and m["codes_used"] >= 1)
        assert r["summary"]["gfid"]["lo"] is not None
    assert res["rows"]["vapi"]["per_seed"][0]["posttrain_s"] > 0
    # the cost column: the four tokenizers timed side by side (the post-trained rows use plain's and WGF-DPD's)
    step = res["stage1_step"]
    assert step["source"] == "measured side by side" and set(step["recorded_ratio"]) == set(ROWS)
    assert set(step["ratio"]) == {"plain", "wgf_dpd", "flow_prior", "prologue"} and step["ratio"]["plain"]["ratio"] == 1.0
    assert all(v["ratio"] > 0 and v["ms"] > 0 for v in step["ratio"].values())
    # what it reused and trained: every run directory once (2 seeds x (8 shared stage runs + 2 post-trainings) for
    # the rows, 2 seeds x 2 stages for the one smoke sweep point)
    listed = res["runs"]["reused"] + res["runs"]["to_train"]
    assert len(listed) == len(set(listed)) == 2 * (8 + 2) + 2 * 2
    # best vs runner-up, each of the 5 methods vs plain on gFD and on pFD, the combination vs each part, and the
    # frontier for the two tokenizers of their own (WGF-DPD, Prologue)
    assert len(res["claims"]) == 1 + 5 + 5 + 2 + 2 and set(res["frontier_gaps"]) == {"wgf_dpd", "prologue"}
    assert sum("pFD-clf" in c["claim"] for c in res["claims"]) == 5
    # the selection: validation gFD-clf of every seed, averaged; the best two methods (not plain) by it go into claim 1
    for name, v in res["validation_order"]:
        per_seed = [m["val_gfid"] for m in res["rows"][name]["per_seed"]]
        assert len(per_seed) == 2 and abs(v - sum(per_seed) / 2) <= 1e-8 * v  # results.json keeps 10 digits
    methods = [n for n, _ in res["validation_order"] if n != "plain"]
    first = res["claims"][0]["claim"]
    assert res["rows"][methods[0]]["label"] in first.split("runner-up")[0]
    assert res["rows"][methods[1]]["label"] in first.split("runner-up")[1]
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in res["claims"])
    for name in ("tableX1_cross_paper", "paper_tier_commands", "claims"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    for fig in ("figX1_rate_distortion", "figX2_samples"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
