"""The evaluation protocol: bootstrap intervals (tvclab.stats), verdicts (tvclab.claims), provenance, results.json."""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess

import numpy as np
import pytest
import torch

from tvclab import claims, provenance, report, stats

# ---------------------------------------------------------------- stats

def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    v = np.random.default_rng(0).normal(3.0, 1.0, 40)
    lo, hi = stats.bootstrap_interval(v)
    assert lo < v.mean() < hi and (lo, hi) == stats.bootstrap_interval(v)
    assert (lo, hi) != stats.bootstrap_interval(v, seed=1)
    lo90, hi90 = stats.bootstrap_interval(v, level=0.9)
    assert lo < lo90 < hi90 < hi
    med = stats.bootstrap_interval(v, stat=lambda s: float(np.median(s)), n_boot=200)  # a stat without axis=
    assert med[0] < np.median(v) < med[1]
    with pytest.raises(ValueError, match="at least 2"):
        stats.bootstrap_interval([1.0])
    with pytest.raises(ValueError, match="non-finite"):
        stats.bootstrap_interval([1.0, float("nan")])


def test_summarize_marks_a_single_seed():
    s = stats.summarize([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == 1.0 and s["n"] == 3 and not s["single_seed"]
    assert s["lo"] < 2.0 < s["hi"] and s["values"] == [1.0, 2.0, 3.0] and s["kind"] == "t one-sample"
    assert s["hi"] - 2.0 == pytest.approx(4.302652729749464 / np.sqrt(3))  # t_{2, 0.975} s / sqrt(n), s = 1
    one = stats.summarize([0.5])
    assert one == {"mean": 0.5, "std": None, "lo": None, "hi": None, "n": 1, "values": [0.5], "single_seed": True,
                   "level": 0.95, "kind": None, "df": None}


def test_difference_independent_and_paired():
    a, b = [10.0, 10.5, 11.0, 10.2], [5.0, 5.4, 4.8, 5.1]
    d = stats.difference(a, b)
    assert d["mean"] == pytest.approx(np.mean(a) - np.mean(b)) and 0 < d["lo"] < d["mean"] < d["hi"]
    assert (d["n_a"], d["n_b"]) == (4, 4) and d == stats.difference(a, b)
    # paired removes a shared per-seed offset that the independent interval has to carry
    offset = np.array([0.0, 5.0, -5.0, 2.0])
    pa, pb = offset + 1.0, offset
    paired, indep = stats.difference(pa, pb, paired=True), stats.difference(pa, pb)
    assert paired["lo"] == paired["hi"] == pytest.approx(1.0) and indep["lo"] < 0 < indep["hi"]
    with pytest.raises(ValueError, match="equal lengths"):
        stats.difference([1.0, 2.0], [1.0], paired=True)
    single = stats.difference([1.0], [2.0])
    assert single["mean"] == -1.0 and single["lo"] is None and single["hi"] is None


# ---------------------------------------------------------------- claims

LOW = [1.0, 1.1, 0.9, 1.05, 0.95]
HIGH = [2.0, 2.1, 1.9, 2.05, 1.95]


@pytest.mark.parametrize("better, ours, reference, verdict", [
    ("lower", LOW, HIGH, "holds"), ("lower", HIGH, LOW, "does not hold"),
    ("higher", HIGH, LOW, "holds"), ("higher", LOW, HIGH, "does not hold"),
])
def test_compare_separated_seeds(better, ours, reference, verdict):
    c = claims.compare("ours beats the baseline", ours, reference, better=better, paper="11.30 (W Tab. 1)", n=5)
    assert c["verdict"] == verdict and c["verdict"] in claims.VERDICTS
    assert c["difference"]["mean"] == pytest.approx(np.mean(ours) - np.mean(reference))
    lo, hi = c["difference"]["lo"], c["difference"]["hi"]
    assert lo < c["difference"]["mean"] < hi and (lo > 0 or hi < 0)
    assert c["ours"]["n"] == 5 and c["paper"] == "11.30 (W Tab. 1)" and "Welch t over seeds" in c["method"]


def test_compare_overlapping_is_inconclusive():
    a, b = [1.0, 1.5, 0.8, 1.3], [1.1, 1.4, 0.9, 1.2]
    c = claims.compare("no real difference", a, b, better="lower")
    assert c["verdict"] == "inconclusive" and c["difference"]["lo"] < 0 < c["difference"]["hi"]
    # the same numbers as summarize dicts give the same verdict
    assert claims.compare("x", stats.summarize(a), stats.summarize(b), better="lower")["verdict"] == "inconclusive"


def test_compare_frechet_intervals_and_margin():
    ours, ref = {"value": 10.0, "lo": 9.0, "hi": 11.5}, {"value": 14.0, "lo": 12.5, "hi": 15.0}
    c = claims.compare("lower FD", ours, ref, better="lower", n={"samples": 5000})
    assert c["verdict"] == "holds" and "MOVER" in c["method"] and c["difference"]["hi"] < 0
    assert c["difference"]["lo"] == pytest.approx(-4.0 - np.hypot(1.0, 1.0))
    assert c["difference"]["hi"] == pytest.approx(-4.0 + np.hypot(1.5, 1.5))
    near = {"value": 13.0, "lo": 12.0, "hi": 14.0}
    assert claims.compare("lower FD", near, ref, better="lower")["verdict"] == "inconclusive"
    # better by more than a margin of 3: the gain's interval [1.88, 6.12] of 4 straddles 3
    assert claims.compare("lower by > 3", ours, ref, better="lower", margin=3.0)["verdict"] == "inconclusive"
    assert claims.compare("lower by > 10", ours, ref, better="lower", margin=10.0)["verdict"] == "does not hold"
    # an interval against a bare number: the number is held fixed
    fixed = claims.compare("below 12", ours, 12.0, better="lower")
    assert fixed["verdict"] == "holds" and "held fixed" in fixed["method"]
    assert (fixed["difference"]["lo"], fixed["difference"]["hi"]) == pytest.approx((-3.0, -0.5))


def test_compare_single_values_need_exact():
    c = claims.compare("a < b", 1.0, 2.0, better="lower")
    assert c["verdict"] == "inconclusive" and c["difference"]["lo"] is None
    assert claims.compare("a < b", [1.0], [2.0], better="lower")["verdict"] == "inconclusive"  # one seed each
    assert claims.compare("a < b", 1.0, 2.0, better="lower", exact=True)["verdict"] == "holds"
    assert claims.compare("a > b", 1.0, 2.0, better="higher", exact=True)["verdict"] == "does not hold"
    assert claims.compare("a < b", 2.0, 2.0, better="lower", exact=True)["verdict"] == "does not hold"  # a tie
    seeds_vs_one = claims.compare("x", LOW, [2.0], better="lower")
    assert seeds_vs_one["verdict"] == "holds" and "single seed" in seeds_vs_one["method"]
    assert seeds_vs_one["reference"]["single_seed"] is True


def test_threshold_verdicts():
    assert claims.threshold("ratio >= 100", [150.0, 160.0, 155.0], 100, better="higher")["verdict"] == "holds"
    assert claims.threshold("ratio >= 100", [50.0, 60.0, 55.0], 100, better="higher")["verdict"] == "does not hold"
    assert claims.threshold("ratio >= 100", [60.0, 160.0, 100.0], 100, better="higher")["verdict"] == "inconclusive"
    assert claims.threshold("ratio >= 100", 150.0, 100, better="higher")["verdict"] == "inconclusive"  # no interval
    t = claims.threshold("fd below 12", {"value": 10.0, "lo": 9.0, "hi": 11.5}, 12.0, better="lower")
    assert t["verdict"] == "holds" and t["comparator"] == "<" and t["difference"]["hi"] == pytest.approx(-0.5)


def test_threshold_exact_mode_and_inclusive_bound():
    assert claims.threshold("residual", 3e-16, 1e-10, better="lower", exact=True)["verdict"] == "holds"
    assert claims.threshold("residual", 2e-9, 1e-10, better="lower", exact=True)["verdict"] == "does not hold"
    assert claims.threshold("at bound", 0.9, 0.9, better="higher", exact=True)["verdict"] == "does not hold"
    incl = claims.threshold("at bound", 0.9, 0.9, better="higher", exact=True, inclusive=True)
    assert incl["verdict"] == "holds" and incl["comparator"] == ">=" and "exact" in incl["method"]


def test_invalid_better_and_inputs_raise_clear_errors():
    for call in (lambda: claims.compare("x", LOW, HIGH, better="smaller"),
                 lambda: claims.threshold("x", 1.0, 2.0, better="up", exact=True)):
        with pytest.raises(ValueError, match="better must be 'lower' or 'higher'"):
            call()
    with pytest.raises(ValueError, match="finite"):
        claims.compare("x", float("nan"), 1.0, better="lower", exact=True)
    with pytest.raises(ValueError, match="'values'.*'value'"):
        claims.compare("x", {"fd": 1.0}, 1.0, better="lower")


def test_table_rows_for_save_table(tmp_path):
    rows = claims.table([
        claims.compare("lower FD", LOW, HIGH, better="lower", paper="52.53 -> 11.30", n={"samples": 5000, "seeds": 5}),
        claims.threshold("residual", 1e-16, 1e-10, better="lower", exact=True, n=80),
    ])
    assert [set(r) for r in rows] == [{"claim", "verdict", "ours", "reference", "difference", "paper", "n",
                                       "interval", "mde", "effect"}] * 2
    assert rows[0]["verdict"] == "holds" and "(5 seeds)" in rows[0]["ours"] and rows[0]["n"] == "samples=5000, seeds=5"
    assert rows[1]["reference"] == "< 1e-10" and rows[1]["paper"] == "" and rows[1]["n"] == "80"
    md = report.save_table(rows, tmp_path, "claims")
    assert "does not hold" not in md and "holds" in md and (tmp_path / "claims.csv").is_file()
    with pytest.raises(ValueError, match="compare/threshold"):
        claims.table([{"claim": "hand-written", "holds": True}])


# ---------------------------------------------------------------- provenance and results.json

def test_provenance_collect():
    p = provenance.collect(tier="smoke", seeds=[0, 1, 2], n={"fd_clf": 500}, lpips_in_loss=False, wall_time_s=1.5,
                           validation="synthetic", note="test")
    for key in ("git_commit", "git_dirty", "versions", "cpu", "tier", "seeds", "n", "lpips_in_loss", "wall_time_s",
                "validation_split", "note"):
        assert key in p, key
    assert p["git_commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{40}", p["git_commit"])
    assert p["git_dirty"] in (True, False, "unknown")
    assert p["seeds"] == [0, 1, 2] and p["n"] == {"fd_clf": 500} and p["validation_split"]["size"] == 600
    assert p["cpu"]["logical_cores"] == os.cpu_count() and p["cpu"]["torch_threads"] == torch.get_num_threads()
    assert isinstance(p["cpu"]["model"], str) and p["cpu"]["model"]
    v = p["versions"]
    assert {"python", "torch", "torchvision", "tvclab", "numpy", "torch-fidelity", "lpips"} <= set(v)
    assert any(k.startswith("faiss") for k in v)
    for name, version in v.items():
        if name == "python":
            continue
        try:
            expected = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = None
        assert version == expected, name
    json.dumps(p)  # serialisable as is
    with pytest.raises(ValueError, match="overwrite"):
        provenance.collect(tier="smoke", seeds=0, n={}, lpips_in_loss=None, wall_time_s=None, tier_extra=1, seeds_=2,
                           versions={})


def test_git_dirty_ignores_the_batch_outputs(tmp_path):
    """A batch rewrites tracked files under figures/ as it runs: they do not make the tree dirty; code does."""
    def git(*a):
        subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "r.json").write_text("1")
    (tmp_path / "code.py").write_text("x = 1")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    assert provenance.git_state(tmp_path)[1] is False
    (tmp_path / "figures" / "r.json").write_text("2")
    assert provenance.git_state(tmp_path)[1] is False
    (tmp_path / "code.py").write_text("x = 2")
    assert provenance.git_state(tmp_path)[1] is True


def test_provenance_outside_git_is_unknown(tmp_path, monkeypatch):
    assert provenance.git_state(tmp_path) == ("unknown", "unknown")
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable at all
    assert provenance.git_state() == ("unknown", "unknown")


def test_save_results_with_provenance(tmp_path):
    prov = provenance.collect(tier="smoke", seeds=0, n={"identities": 3}, lpips_in_loss=None, wall_time_s=0.123456789123)
    report.save_results({"x": 1 / 3}, tmp_path, provenance=prov)
    saved = report.load_results(tmp_path)
    assert saved["x"] == 0.3333333333 and saved["provenance"]["wall_time_s"] == 0.123456789123  # written as is
    assert saved["provenance"]["seeds"] == [0] and saved["provenance"]["lpips_in_loss"] is None
    report.save_results({"x": 1.0}, tmp_path)
    assert "provenance" not in report.load_results(tmp_path)
    with pytest.raises(ValueError, match="provenance"):
        report.save_results({"provenance": 1}, tmp_path, provenance=prov)


def test_tier_setup_decodes_the_tier_once():
    """What the notebooks' ``tier`` parameter decides: presets, seeds, bootstrap resamples, the FD-clf classifier."""
    from tvclab import evaluation

    smoke = evaluation.tier_setup("smoke", 3, 5)
    assert (smoke.tier, smoke.smoke, smoke.seeds, smoke.boot) == ("smoke", True, [3, 4], 20)
    assert smoke.classifier.steps == 30 and smoke.classifier.dataset == "fashion_mnist"
    run_tier, is_smoke, seeds, boot, clf = evaluation.tier_setup("cpu", 0, 3)
    assert (run_tier, is_smoke, seeds, boot, clf) == ("cpu", False, [0, 1, 2], evaluation.BOOTSTRAP, None)
    with pytest.raises(ValueError, match="unknown tier 'gpu'"):
        evaluation.tier_setup("gpu", 0, 1)
