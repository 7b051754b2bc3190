"""Notebook 04 (paper P) at smoke tier: results.json holds every Table 1 row and seed with intervals, the CFG scale
chosen on validation, the routing sweep, the attention maps, the probes, Table A1 and verdicts from the claims
helper."""
import json

import pytest

from conftest import check_evidence, check_smoke_rows


ROWS = ["baseline_1d", "baseline_2d", "prologue", "prologue_post"]


@pytest.mark.slow
def test_notebook_04_smoke(smoke_notebook):
    out = smoke_notebook("04_prologue")
    res = json.loads((out / "results.json").read_text())
    check_smoke_rows(res, ROWS)
    check_evidence(res, ROWS)
    for row in ROWS:
        r = res["rows"][row]
        for m in r["per_seed"]:
            for key in ("rfid", "psnr", "gfid", "gfid_cfg", "gloss_visual"):
                assert m[key] is not None, (row, key)
            assert m["gfid_lo"] <= m["gfid"] <= m["gfid_hi"]
        assert r["summary"]["gfid"]["lo"] is not None
        assert r["cfg"]["scale"] in r["cfg"]["val gFD-clf"] or str(r["cfg"]["scale"]) in r["cfg"]["val gFD-clf"]
    assert set(res["fig5"]) == {"prologue", "visual 2D", "visual 1D"}
    assert set(res["fig6"]) == {"2D", "1D", "AR grads into 2D", "AR grads into 1D", "Prologue"}
    for m in res["fig6"].values():
        assert all(abs(sum(row) - 1) < 1e-5 for row in m)  # attention rows are distributions
    assert set(res["probe"]) == {"prologue", "baseline_2d", "prologue_post"}
    assert all(0 <= s["top1"] <= 1 for v in res["probe"].values() for s in v)
    # judged: the gap (primary), pFD, gFD, rFD, Prologue-Post, the probe; the one-seed sweep points: descriptions
    assert res["tableA1"]["rows"] and len(res["claims"]) == 6 and len(res["descriptions"]) == 6
    assert res["claims"][0]["claim"].startswith("primary") and "gFD-clf - rFD-clf" in res["claims"][0]["claim"]
    assert res["claim_results"][0]["paper_values"] is not None
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in res["claims"])
    for name in ("table1_tokenizers", "table3_1d_vs_2d", "table4_linear_probe", "tableA1_one_factor", "claims", "descriptions"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    for fig in ("fig1_prologue_fixed", "fig5_routing_lambda", "fig6_attention"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
