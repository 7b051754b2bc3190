"""Notebook 01 (paper F §5.1, App. B, C.1) runs end to end at the smoke tier and writes its artifacts."""
import json

import pytest

from tvclab import figures, toy


@pytest.mark.slow
def test_notebook_01_smoke(tmp_path):
    rc = figures.main(["--only", "01", "--tier", "smoke", "--out-root", str(tmp_path),
                       "--runs-root", str(tmp_path / "runs")])
    assert rc == 0
    out = tmp_path / "01_flow_alignment_toy"
    for fig in ("fig3_mog5", "fig5_toy_distributions", "fig6_trajectories"):
        assert (out / f"{fig}.png").exists() and (out / f"{fig}.pdf").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["tier"] == "smoke"
    assert set(results["distributions"]) == set(toy.NAMES)
    for r in results["distributions"].values():
        assert {"nll_before", "nll_after", "pearson", "spearman", "landscape_spearman", "pearson_late",
                "minima_on_support", "coverage_gap", "flow_support_checks", "claim_checks"} <= set(r)
        assert set(r["claim_checks"]) == {"a", "coverage", "b", "c"}
    assert {"pearson", "spearman"} <= set(results["correlation_mog5"])
    assert results["flow_cost"]["ratio_ode_over_alignment"] > 1
    assert results["settings"]["align_lr"] == 1e-2
    assert len(results["claims"]) == 9  # (a), (a'), (b), (c) for Fig. 3 and for Fig. 5, and the cost claim
    assert all(c["verdict"] in ("holds", "does not hold", "inconclusive") for c in results["claims"])
    assert results["provenance"]["tier"] == "smoke"
    assert {"nll_after_ideal_flow", "loss_probe"} <= set(results["rings_ideal_flow_check"])
