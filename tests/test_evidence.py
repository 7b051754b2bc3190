"""Evidence that can tell: Student-t intervals over seeds (coverage, against scipy), the minimum detectable effect
(against a Monte-Carlo power), Holm's adjustment (a hand-worked example), the paper-direction check, and the
prior-isolating Fréchet distance pFD-clf (a trained smoke tokenizer and AR)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from tvclab import claims, stats

LOW = [1.0, 1.1, 0.9, 1.05, 0.95]
HIGH = [2.0, 2.1, 1.9, 2.05, 1.95]
# the t quantities here are float64 arithmetic on the same scipy quantile: they agree with scipy's own formulas to
# a few ulps; 1e-12 relative leaves room for the different order of operations
RTOL64 = 1e-12


# ---------------------------------------------------------------- t intervals against scipy

@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_t_interval_matches_scipy(n):
    v = np.random.default_rng(n).normal(3.0, 2.0, n)
    ref = scipy.stats.t.interval(0.95, n - 1, loc=v.mean(), scale=scipy.stats.sem(v))
    assert stats.t_interval(v) == pytest.approx(ref, rel=RTOL64)
    s = stats.summarize(v)
    assert (s["lo"], s["hi"]) == pytest.approx(ref, rel=RTOL64)
    assert (s["kind"], s["df"], s["n"]) == ("t one-sample", n - 1, n)
    ref90 = scipy.stats.t.interval(0.9, n - 1, loc=v.mean(), scale=scipy.stats.sem(v))
    assert stats.t_interval(v, level=0.9) == pytest.approx(ref90, rel=RTOL64)
    with pytest.raises(ValueError, match="at least 2"):
        stats.t_interval(v[:1])


def test_paired_and_welch_intervals_and_p_match_scipy():
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.0, 1.0, 5), rng.normal(0.0, 2.0, 4)
    w = stats.difference(a, b)
    ref = scipy.stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (w["lo"], w["hi"]) == pytest.approx((ci.low, ci.high), rel=RTOL64)
    assert w["kind"] == "Welch t" and w["df"] == pytest.approx(ref.df, rel=RTOL64)
    assert stats.t_pvalue(w["mean"], w["se"], w["df"]) == pytest.approx(ref.pvalue, rel=1e-9)
    pa, pb = rng.normal(1.0, 1.0, 5), rng.normal(0.0, 1.0, 5)
    p = stats.difference(pa, pb, paired=True)
    ref = scipy.stats.ttest_rel(pa, pb)
    ci = ref.confidence_interval(0.95)
    assert (p["lo"], p["hi"]) == pytest.approx((ci.low, ci.high), rel=RTOL64)
    assert (p["kind"], p["df"]) == ("t paired", 4)
    # the same verdicts' p-values through the claims helper, against scipy's t-tests
    c = claims.compare("x", list(a), list(b), better="higher")
    assert c["p"] == pytest.approx(scipy.stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    c = claims.compare("x", list(pa), list(pb), better="higher", paired=True, margin=0.5)
    assert c["p"] == pytest.approx(scipy.stats.ttest_rel(pa - 0.5, pb).pvalue, rel=1e-9)
    t = claims.threshold("x", list(pa), 0.2, better="higher")
    assert t["p"] == pytest.approx(scipy.stats.ttest_1samp(pa, 0.2).pvalue, rel=1e-9)


def test_held_fixed_side_and_degenerate_cases():
    d = stats.difference(LOW, [2.0])
    assert d["kind"] == "t one-sample" and d["fixed"] == "b" and d["df"] == 4
    assert (d["lo"], d["hi"]) == pytest.approx(tuple(np.subtract(stats.t_interval(LOW), 2.0)), rel=RTOL64)
    one = stats.difference([1.0], [2.0])
    assert one["lo"] is None and one["kind"] is None
    flat = stats.difference([1.0, 1.0, 1.0], [0.0, 0.0])  # no spread at all: a point interval, p 0
    assert flat["lo"] == flat["hi"] == 1.0 and flat["df"] == 3
    assert stats.t_pvalue(1.0, 0.0, 3) == 0.0 and stats.t_pvalue(1.0, 0.0, 3, null=1.0) == 1.0


# ---------------------------------------------------------------- coverage at 3 and 5 seeds

REPLICATES = 4000  # the coverage's Monte-Carlo SE is sqrt(0.95 * 0.05 / 4000) = 0.0034: 0.93 sits 5.8 SE below 0.95


@pytest.mark.parametrize("n", [3, 5])
def test_t_intervals_cover_at_nominal_95(n):
    """Simulated normal seeds (fixed numpy seed): the one-sample, paired and Welch intervals cover the true value
    >= 93% of the time at nominal 95% (the t interval is exact for normal seeds; Welch nearly so), where the
    percentile bootstrap of the mean over the same seeds covers far less."""
    rng = np.random.default_rng(1000 + n)
    hits = {"mean": 0, "paired": 0, "welch": 0, "bootstrap": 0}
    for i in range(REPLICATES):
        x = rng.normal(3.0, 1.5, n)
        s = stats.summarize(x)
        hits["mean"] += s["lo"] <= 3.0 <= s["hi"]
        lo, hi = stats.bootstrap_interval_over_samples(x, n_boot=200, seed=i)
        hits["bootstrap"] += lo <= 3.0 <= hi
        seed_effect = rng.normal(0.0, 2.0, n)  # shared by both sides of a seed: what pairing removes
        a, b = 1.0 + seed_effect + rng.normal(0, 1, n), seed_effect + rng.normal(0, 0.5, n)
        d = stats.difference(a, b, paired=True)
        hits["paired"] += d["lo"] <= 1.0 <= d["hi"]
        a, b = rng.normal(1.0, 1.0, n), rng.normal(0.0, 2.0, n + 1)  # unequal sds and n: Welch's case
        d = stats.difference(a, b)
        hits["welch"] += d["lo"] <= 1.0 <= d["hi"]
    cover = {k: v / REPLICATES for k, v in hits.items()}
    for k in ("mean", "paired", "welch"):
        assert 0.93 <= cover[k] <= 0.97, (n, cover)  # and not wider than asked for (0.97: 5.8 SE above)
    assert cover["bootstrap"] < 0.88, (n, cover)  # measured 0.71 at n = 3 and 0.82 at n = 5 (t: 0.94, 0.95)


# ---------------------------------------------------------------- minimum detectable effect

POWER_REPS = 20000  # SE of a Monte-Carlo power of 0.8: sqrt(0.16 / 20000) = 0.0028


@pytest.mark.parametrize("case", ["one-sample 3", "one-sample 5", "paired 5", "welch 4 vs 6"])
def test_mde_has_80_percent_power_by_monte_carlo(case):
    """At a true difference equal to the MDE, scipy's own two-sided t-test (independent of tvclab.stats) rejects
    in 80% of simulated experiments."""
    rng = np.random.default_rng(["one-sample 3", "one-sample 5", "paired 5", "welch 4 vs 6"].index(case) + 50)
    if case.startswith("welch"):
        sd_a, sd_b, n_a, n_b = 1.0, 1.5, 4, 6
        m = stats.mde(sd_a, n_a, n_b=n_b, sd_b=sd_b)
        a = rng.normal(m, sd_a, (POWER_REPS, n_a))
        b = rng.normal(0.0, sd_b, (POWER_REPS, n_b))
        p = scipy.stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
        tol = 0.015  # 5 SE: welch_power integrates over the estimated df (the noncentral t alone gave 0.775)
    else:
        n = int(case.split()[-1])
        sd = 1.3
        if case.startswith("paired"):
            m = stats.mde(sd, n, paired=True)  # sd of the per-seed differences
            shared = rng.normal(0.0, 3.0, (POWER_REPS, n))
            diff_noise = rng.normal(0.0, sd, (POWER_REPS, n))
            p = scipy.stats.ttest_rel(shared + m + diff_noise, shared, axis=1).pvalue
        else:
            m = stats.mde(sd, n)
            p = scipy.stats.ttest_1samp(rng.normal(m, sd, (POWER_REPS, n)), 0.0, axis=1).pvalue
        tol = 0.015  # 5 SE
        # the normal approximation (z_0.975 + z_0.8) sd / sqrt(n) is too small at few seeds
        z = (scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)) * sd / np.sqrt(n)
        assert m > 1.3 * z
    power = float(np.mean(p < 0.05))
    assert power == pytest.approx(0.8, abs=tol), (case, m, power)


def test_mde_edges_and_root():
    m = stats.mde(1.0, 5)
    # brentq's xtol 1e-10 on the noncentrality: the power at the MDE is 0.8 to ~1e-9
    assert stats.t_power(m, 1.0 / np.sqrt(5), 4) == pytest.approx(0.8, abs=1e-8)
    assert stats.mde(2.0, 5) == pytest.approx(2 * m, rel=1e-9)  # linear in sd
    assert stats.mde(1.0, 5, level=0.9) < m < stats.mde(1.0, 5, power=0.9)
    assert stats.mde(1.0, 1) is None and stats.mde(None, 5) is None and stats.mde(1.0, 5, n_b=1) is None
    assert stats.mde(0.0, 4) == 0.0
    # two independent sides: Welch's power at the MDE is 0.8 (brentq's xtol 1e-9 se), and above what the noncentral
    # t on the df of the true sds (2(n - 1) for equal sds) would promise, since Welch's test estimates its df
    m2 = stats.mde(1.0, 4, n_b=4)
    assert stats.welch_power(m2, 1.0, 4, 1.0, 4) == pytest.approx(0.8, abs=1e-8)
    assert m2 > stats._noncentrality(6.0, 0.95, 0.8) * np.sqrt(2 / 4)
    # with many seeds the df is known and the two agree (quadrature error ~1e-5 of power)
    assert stats.welch_power(0.6, 1.0, 50, 1.0, 50) == pytest.approx(stats.t_power(0.6, np.sqrt(2 / 50), 98), abs=1e-3)
    with pytest.raises(ValueError, match="paired"):
        stats.mde(1.0, 4, n_b=5, paired=True)


# ---------------------------------------------------------------- claims: kind, n, p, mde

def test_claims_carry_kind_n_p_and_mde():
    c = claims.compare("lower", LOW, HIGH, better="lower")
    assert c["difference"]["kind"] == "Welch t" and "Welch t over seeds (n = 5 vs 5" in c["method"]
    assert c["mde"] == pytest.approx(stats.mde(np.std(LOW, ddof=1), 5, n_b=5, sd_b=np.std(HIGH, ddof=1)))
    assert c["p"] < 0.05 and "MDE" in c["method"] and c["mde_relative"] == pytest.approx(c["mde"] / 2.0)
    rng = np.random.default_rng(3)
    a, b = list(rng.normal(1.0, 1.0, 4)), list(rng.normal(1.2, 1.0, 4))
    p = claims.compare("paired", a, b, better="lower", paired=True)
    assert p["difference"]["kind"] == "t paired" and "n = 4 pairs" in p["method"]
    assert p["mde"] == pytest.approx(stats.mde(np.std(np.subtract(a, b), ddof=1), 4, paired=True))
    single = claims.compare("one seed", LOW, [2.0], better="lower")
    assert single["mde"] is None and "single seed" in single["method"] and single["p"] is not None
    mover = claims.compare("FD", {"value": 10.0, "lo": 9.0, "hi": 11.5}, {"value": 14.0, "lo": 12.5, "hi": 15.0},
                           better="lower")
    assert mover["mde"] is None and mover["p"] is None and "no MDE" in mover["method"]
    named = claims.compare("FD", {"value": 10.0, "lo": 9.0, "hi": 11.5, "n": 500,
                                  "interval": "percentile bootstrap over samples"}, 12.0, better="lower")
    assert named["ours"]["kind"] == "percentile bootstrap over samples" and named["mde"] is None
    with pytest.raises(ValueError, match="paired=True needs per-seed values on both sides"):
        claims.compare("paired", LOW, 2.0, better="lower", paired=True)
    bare = claims.compare("bare", 1.0, 2.0, better="lower")
    assert bare["mde"] is None and "no MDE" in bare["method"]
    exact = claims.compare("exact", 1.0, 2.0, better="lower", exact=True)
    assert exact["mde"] is None and exact["p"] is None and exact["verdict"] == "holds"
    t = claims.threshold("ratio > 100", [150.0, 160.0, 155.0], 100.0, better="higher")
    assert t["verdict"] == "holds" and t["mde"] == pytest.approx(stats.mde(5.0, 3))
    assert "t one-sample over seeds (n = 3, df 2" in t["method"]
    rows = claims.table([c, t, exact])
    assert rows[0]["interval"] == "Welch t, n 5 vs 5, df 8" and rows[1]["interval"] == "t one-sample, n 3, df 2"
    assert rows[0]["mde"] and rows[2]["mde"] == "" and rows[2]["interval"] == "exact"


# ---------------------------------------------------------------- Holm

def test_holm_against_a_hand_worked_example():
    """p = 0.01, 0.04, 0.03, 0.005, 0.2 (m = 5) at alpha 0.05. Sorted: 0.005 x 5 = 0.025; 0.01 x 4 = 0.04;
    0.03 x 3 = 0.09; 0.04 x 2 = 0.08 -> 0.09 (running max); 0.2 x 1 = 0.2. Adjusted, in input order: 0.04, 0.09,
    0.09, 0.025, 0.2: the first and fourth keep "holds", the second and third become "inconclusive"."""
    base = claims.compare("x", LOW, HIGH, better="lower")
    assert base["verdict"] == "holds"
    raw = [dict(base, claim=f"c{i}", p=p) for i, p in enumerate([0.01, 0.04, 0.03, 0.005])]
    raw.append(dict(claims.compare("overlap", [1.0, 1.5, 0.8, 1.3], [1.1, 1.4, 0.9, 1.2], better="lower"), p=0.2))
    raw.append(claims.threshold("residual", 1e-16, 1e-10, better="lower", exact=True))
    out = claims.holm(raw)
    # the adjusted p-values are products and maxima of the given numbers: float64-exact to a few ulps
    assert [c["p_holm"] for c in out[:5]] == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2], rel=1e-12)
    assert [c["verdict_holm"] for c in out] == ["holds", "inconclusive", "inconclusive", "holds", "inconclusive",
                                                "holds"]
    assert [c["verdict"] for c in out] == ["holds"] * 4 + ["inconclusive", "holds"]  # the raw ones kept
    assert all(c["holm_m"] == 5 for c in out)
    assert out[5]["p_holm"] is None and "raw verdict kept" in out[5]["holm"]
    assert "p_holm" not in raw[0]  # the inputs are not modified
    rows = claims.table(out)
    assert [r["holm"] for r in rows] == [c["verdict_holm"] for c in out] and list(rows[0])[:3] == ["claim",
                                                                                                   "verdict", "holm"]
    assert "holm" not in claims.table(raw)[0]
    # one claim: Holm changes nothing; a claim judged at another level cannot join the family
    assert claims.holm([base])[0]["verdict_holm"] == "holds"
    with pytest.raises(ValueError, match="level"):
        claims.holm([claims.compare("x", LOW, HIGH, better="lower", level=0.9)])


# ---------------------------------------------------------------- direction checks

def test_direction_check_names_both_numbers():
    # notebook 03's case: the paper's discrete-target FID goes 15.08 -> 24.63 with alignment (worse), so "alignment
    # lowers gFD" tests the direction the paper's own numbers contradict
    with pytest.raises(ValueError, match=r"'alignment helps generation'.*24\.63.*15\.08.*beyond_paper=True"):
        claims.compare("alignment helps generation", LOW, HIGH, better="lower", paper_values=(24.63, 15.08))
    # notebook 02's case: W Table 1 has 100K iterations against the baseline's 50K
    with pytest.raises(ValueError, match=r"100000.*50000"):
        claims.compare("fewer iterations", LOW, HIGH, better="lower", paper_values=(100_000, 50_000))
    beyond = claims.compare("alignment helps generation", LOW, HIGH, better="lower", paper_values=(24.63, 15.08),
                            beyond_paper=True)
    assert beyond["beyond_paper"] and beyond["paper_direction"] == "contradicts" and "beyond the paper" in beyond["method"]
    ok = claims.compare("lower FID", LOW, HIGH, better="lower", paper_values=(11.4, 15.0))
    assert ok["paper_direction"] == "agrees" and ok["paper_relative"] == pytest.approx(-0.24)
    assert ok["relative_effect"] == f"paper -24%; detectable here >= {ok['mde'] / 2.0:.0%}"
    # non-inferiority (a negative margin): a paper slightly worse is consistent, one worse than the margin is not
    claims.compare("rFD not worse by > 25%", LOW, HIGH, better="lower", margin=-0.5, paper_values=(1.1, 1.0))
    with pytest.raises(ValueError, match=r"1\.5.*1\b.*margin"):
        claims.compare("rFD not worse by > 25%", LOW, HIGH, better="lower", margin=-0.5, paper_values=(1.5, 1.0))
    with pytest.raises(ValueError, match=r"paper's own number 90 .*> 100"):
        claims.threshold("ratio above 100", [150.0, 160.0, 155.0], 100.0, better="higher", paper_value=90.0)
    t = claims.threshold("ratio above 100", [150.0, 160.0, 155.0], 100.0, better="higher", paper_value=130.0)
    assert t["paper_relative"] == pytest.approx(0.3) and t["relative_effect"].startswith("paper +30%")


# ---------------------------------------------------------------- pFD-clf on a trained smoke tokenizer and AR

N_PFD = 1000  # test images per side: FD-clf's finite-N floor here is ~0.014, the effects below 2-5x that
SMOKE_LONGER = ["optim.steps=200", "stage2.optim.steps=200"]  # smoke shapes, trained long enough to use its codes


@pytest.fixture(scope="module")
def smoke_pair(tmp_path_factory):
    """A smoke-tier baseline_1d tokenizer and AR on Fashion-MNIST (about 10 s), a tiny FD-clf classifier and
    2 x N_PFD test images, on the offline FD-clf path (no Inception weights, a fresh classifier cache)."""
    from tvclab import classifier, evaluation, memo, train

    root = tmp_path_factory.mktemp("evidence")
    mp = pytest.MonkeyPatch()
    for k, v in {"TVCLAB_RUNS": root / "runs", "TVCLAB_CACHE": root / "cache", "TORCH_HOME": root / "torch",
                 "TVCLAB_OFFLINE": "1"}.items():
        mp.setenv(k, str(v))
    mp.delenv("TVCLAB_FID_FEATURES", raising=False)
    memo.clear("notices")
    try:
        s1 = train.run("stage1", "baseline_1d", "smoke", SMOKE_LONGER)
        s2 = train.run("stage2", "baseline_1d", "smoke", SMOKE_LONGER)
        clf = classifier.ClassifierConfig(dataset="fashion_mnist", width=8, feature_dim=16, steps=40, batch_size=64,
                                          lr=5e-3)
        real = evaluation.reference_images("fashion_mnist", "test", 2 * N_PFD)
        yield {"s1": s1, "s2": s2, "clf": clf, "a": real[:N_PFD], "b": real[N_PFD:]}
    finally:
        mp.undo()


def test_pfd_falls_to_the_real_floor_for_reconstructions_of_other_images(smoke_pair):
    """A perfect prior draws token sequences as the data does: its samples are reconstructions of other images.
    Their pFD-clf sits at (here: below) the real-vs-real floor at the same N, while their gFD against the real
    images keeps the decoder's error (about rFD): pFD sees the prior, not the decoder."""
    from tvclab import evaluation

    s, clf = smoke_pair, smoke_pair["clf"]
    ra = evaluation.reconstructions(s["s1"], s["a"])
    rb = evaluation.reconstructions(s["s1"], s["b"])
    floor = evaluation.frechet(s["a"], s["b"], "fashion_mnist", clf, 0)["value"]
    rfd = evaluation.rfid(s["s1"], s["a"], "fashion_mnist", classifier_config=clf, bootstrap=0, recon=ra)["value"]
    perfect = evaluation.pfd_clf(rb, ra, "fashion_mnist", clf, 0)
    assert perfect["metric"] == "fd_clf" and perfect["n"] == N_PFD
    assert perfect["value"] <= floor, (perfect["value"], floor)  # measured 0.003 against 0.014
    g_perfect = evaluation.frechet(s["a"], rb, "fashion_mnist", clf, 0)["value"]
    assert g_perfect > 100 * floor and g_perfect == pytest.approx(rfd, rel=0.2)  # measured 7.02 against rFD 7.16
    with pytest.raises(ValueError, match="equal N"):
        evaluation.pfd_clf(rb[:10], ra, "fashion_mnist", clf, 0)


def test_pfd_rises_with_sampling_temperature(smoke_pair):
    """The same AR sampled at temperature 0.7, 1 and 2 (two sample seeds each): pFD-clf rises with it. (The smoke
    AR is under-fit, flatter than the data's codes, so its best temperature is below 1; measured 0.011, 0.031,
    0.062 at N = 1000.)"""
    from tvclab import evaluation, train

    s, clf = smoke_pair, smoke_pair["clf"]
    ra = evaluation.reconstructions(s["s1"], s["a"])
    means = []
    for temp in (0.7, 1.0, 2.0):
        vals = [evaluation.pfd_clf(train.sample(s["s2"], N_PFD, seed=seed, temperature=temp, progress=False)["images"],
                                   ra, "fashion_mnist", clf, 0)["value"] for seed in (0, 1)]
        means.append(float(np.mean(vals)))
    assert means[0] < means[1] < means[2], means
    assert means[2] > 1.5 * means[0], means


def test_gfid_adds_pfd_with_reconstructions_and_keeps_its_keys(smoke_pair):
    from tvclab import evaluation

    s, clf = smoke_pair, smoke_pair["clf"]
    real = s["a"][:200]
    recon = evaluation.reconstructions(s["s1"], real, seed=1)
    plain, imgs = evaluation.gfid(s["s2"], real, "fashion_mnist", seed=1, classifier_config=clf, bootstrap=10)
    with_p, imgs2 = evaluation.gfid(s["s2"], real, "fashion_mnist", seed=1, classifier_config=clf, bootstrap=10,
                                    recon=recon)
    assert set(with_p) - set(plain) == {"pfd_clf", "pfd_clf_lo", "pfd_clf_hi", "pfd_n", "pfd_features"}
    # the same seeded samples and float32 features on both calls: equal up to float64 summation order
    for k, v in plain.items():
        assert with_p[k] == (pytest.approx(v, rel=1e-9) if isinstance(v, float) else v), k
    p = evaluation.pfd_clf(imgs2, recon, "fashion_mnist", clf, 10)
    assert with_p["pfd_clf"] == pytest.approx(p["value"], rel=1e-9) and with_p["pfd_n"] == 200
    assert with_p["pfd_clf_lo"] <= with_p["pfd_clf"] <= with_p["pfd_clf_hi"]
    assert with_p["pfd_clf"] < with_p["value"]  # the decoder's error is in gFD, not in pFD
    given = evaluation.rfid(s["s1"], real, "fashion_mnist", seed=1, classifier_config=clf, bootstrap=0, recon=recon)
    own = evaluation.rfid(s["s1"], real, "fashion_mnist", seed=1, classifier_config=clf, bootstrap=0)
    assert given["value"] == pytest.approx(own["value"], rel=1e-9) and given["psnr"] == pytest.approx(own["psnr"])


def test_prior_columns_are_pfd_and_the_same_seed_gap(smoke_pair):
    from tvclab import evaluation

    s, clf = smoke_pair, smoke_pair["clf"]
    real = s["a"][:200]
    recon = evaluation.reconstructions(s["s1"], real)
    gf, imgs = evaluation.gfid(s["s2"], real, "fashion_mnist", classifier_config=clf, bootstrap=0, recon=recon)
    rf = evaluation.rfid(s["s1"], real, "fashion_mnist", classifier_config=clf, bootstrap=0, recon=recon)
    cols = evaluation.prior_columns(imgs, recon, rf["value"], gf["value"], "fashion_mnist", clf, 0)
    assert cols["pfd"] == pytest.approx(gf["pfd_clf"], rel=1e-9) and cols["pfd_n"] == 200
    assert cols["gap"] == gf["value"] - rf["value"] and cols["pfd_lo"] is None  # bootstrap 0: no interval


def test_judge_applies_holm_and_keeps_every_number():
    from tvclab import claims

    rng = np.random.default_rng(3)
    results = [claims.compare(f"claim {k}", rng.normal(mu, 1.0, 5), rng.normal(0.0, 1.0, 5), better="higher")
               for k, mu in enumerate((4.0, 1.5, 0.0))]
    results.append(claims.threshold("an identity holds", 1e-14, 1e-10, better="lower", exact=True))
    j = claims.judge(results)
    assert j["n_claims"] == 4 and len(j["claims"]) == 4 and all("holm" in row for row in j["claims"])
    assert [c["verdict_holm"] for c in j["claim_results"]] == [c["verdict_holm"] for c in claims.holm(results)]
    assert all(c["holm_m"] == 3 for c in j["claim_results"])  # the exact claim has no p: it keeps its verdict
    assert all(isinstance(c["mde"], float) for c in j["claim_results"][:3])
    assert j["claim_results"][3]["verdict_holm"] == "holds"
