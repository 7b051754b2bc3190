"""Notebook 07 (the generator's capacity) at smoke tier: every point, seed and interval in results.json, the
figures, a table per method and verdicts from the claims helper (Holm, MDE)."""
import json

import pytest

from conftest import check_evidence, check_smoke_rows

METHODS = ["wgf_dpd", "flow_prior", "prologue_2d", "prologue_1d", "vapi"]


@pytest.mark.slow
def test_notebook_07_smoke(smoke_notebook):
    out = smoke_notebook("07_prior_bottleneck")
    res = json.loads((out / "results.json").read_text())
    points = list(res["rows"])
    check_smoke_rows(res, points)
    check_evidence(res, points)
    sizes = res["sizes"]
    assert len(sizes) >= 2 and res["default_size"] in sizes
    for name in ["plain", *METHODS]:
        own = [p for p, r in res["rows"].items() if r["row"] == name and r["axis"] == "generator"]
        assert len(own) == (2 if name == "vapi" else len(sizes)), name
        for p in own:
            for m in res["rows"][p]["per_seed"]:
                assert m["gfid_lo"] <= m["gfid"] <= m["gfid_hi"] and m["params_generator"] > 0
                assert "precision_clf" in m and "recall_clf" in m and "val_gfid" in m
                assert ("fm_loss" in m) if name == "flow_prior" else (m["gloss_image"] > m["gloss"] > 0)
            assert res["rows"][p]["summary"]["gfid"]["lo"] is not None
    # the generator's parameters grow along the grid, for the discrete AR and the flow-head generator alike
    for name in ("plain", "flow_prior"):
        params = [res["rows"][f"{name} {s}"]["per_seed"][0]["params_generator"] for s in sizes]
        assert params == sorted(params) and params[0] < params[-1]
    axes = {r["axis"] for r in res["rows"].values()}
    assert axes == {"generator", "long", "codebook", "tokenizer"}
    assert set(res["best_k"]) == set(sizes) and all(k in res["sweep_k"] for k in res["best_k"].values())
    assert set(res["kendall_tau"]) == set(sizes) - {res["default_size"]}
    for t in res["kendall_tau"].values():
        assert -1 <= t["lo"] <= t["value"] <= t["hi"] <= 1 or -1 <= t["lo"] <= t["hi"] <= 1
        assert t["interval"] == "percentile bootstrap over seeds"
    # per method: gain larger small vs default, beats plain (gFD, pFD), beats the best K (gFD, pFD); then best K,
    # one tau per non-default size, the two 4x-steps claims and the two tokenizer-axis claims
    assert res["n_claims"] == 5 * len(METHODS) + 1 + (len(sizes) - 1) + 2 + 2
    assert sum(c["beyond_paper"] for c in res["claim_results"]) == res["n_claims"] - 1
    gain = [c for c in res["claim_results"] if "is larger at the smallest generator" in c["claim"]]
    assert len(gain) == len(METHODS) and all(c["difference"]["kind"] == "t paired" for c in gain)
    listed = res["runs"]["reused"] + res["runs"]["to_train"]
    assert len(listed) == len(set(listed))
    for name in ["generator_sizes", "codebook_frontier", "tokenizer_axis", "claims", "table_plain",
                 *[f"table_{m}" for m in METHODS]]:
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists(), name
    for fig in ("fig7_1_gfd_pfd_vs_params", "fig7_2_gain_vs_params", "fig7_3_samples"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
    assert res["provenance"]["wall_time_s"] > 0
