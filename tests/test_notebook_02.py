"""Notebook 02 (paper W reproduction) at smoke tier: results.json holds every row and metric."""
import json

import pytest

ROWS = ["baseline_1d", "tail_dropout", "fm_decoder", "fm_tail", "fm_tail_tied", "wartok", "control_small_k"]


@pytest.mark.slow
def test_notebook_02_smoke(smoke_notebook):
    out = smoke_notebook("02_wartok")
    res = json.loads((out / "results.json").read_text())
    assert res["tier"] == "smoke"
    assert res["frechet"]["metric"] in ("fid", "fd_clf") and res["frechet"]["n"] == res["n_eval"]
    assert set(res["rows"]) == set(ROWS)
    for row in ROWS:
        mi = res["rows"][row]["matched_iterations"]
        for key in ("iters", "rfid", "gfid", "gloss", "top1", "psnr", "codes_used", "token_entropy"):
            assert mi[key] is not None, (row, key)
        mr = res["rows"][row]["matched_rfid"]
        assert mr["rfid"] <= res["matched_rfid_target"] + 1e-9
        assert set(mr) >= {"iters", "rfid", "gfid", "gloss", "top1"}
        assert len(res["fig1"][row]["gloss"]) == len(res["fig1"][row]["step"]) > 0
    assert len(res["claims"]) == 5 and all(isinstance(c["holds"], bool) for c in res["claims"])
    assert len(res["ablation"]) == 4  # wAR-Tok, two levers, the baseline reference
    for name in ("table1_matched_rfid", "table3_matched_iterations", "claims", "ablation_wgf"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    for fig in ("fig1_ar_dynamics", "fig2_samples"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
