"""tvclab.toy: the 2D targets of paper F (App. B, C.1), their exact densities and the KDE NLL of App. B eq. 27."""
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from tvclab import toy, toyflows


@pytest.mark.parametrize("name", toy.NAMES)
def test_sample_shape_dtype_seed_and_normalisation(name):
    a = toy.sample(name, 4000, torch.Generator().manual_seed(0))
    b = toy.sample(name, 4000, torch.Generator().manual_seed(0))
    assert a.shape == (4000, 2) and a.dtype == torch.float32
    assert torch.equal(a, b)  # an explicit generator makes draws reproducible
    assert abs(a.std().item() - 1.0) < 0.05  # App. C.1: divided by the pooled std of 10M samples


def test_mog5_normalisation_matches_closed_form():
    # pooled variance of the 5-component mixture: std^2 + radius^2 / 2 (the means average to 0 on each axis)
    assert toy.normalisation_std("mog5") == pytest.approx(math.sqrt(0.3**2 + 3.0**2 / 2), abs=2e-3)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="mog5, grid, moons, rings, spiral, swissroll"):
        toy.sample("checkerboard", 10)
    with pytest.raises(ValueError, match="no closed-form density"):
        toy.log_prob("moons", torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        toy.log_prob("mog5", torch.zeros(3))


@pytest.mark.parametrize("name", toy.ANALYTIC)
def test_log_prob_integrates_to_one(name):
    h = 0.01
    axis = torch.arange(-3.0, 3.0, h, dtype=torch.float64) + h / 2  # midpoint rule on [-3, 3]^2
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    lp = toy.log_prob(name, torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1))
    assert lp.exp().sum().item() * h * h == pytest.approx(1.0, abs=2e-3)


def test_log_prob_is_the_mixture_density_of_the_samples():
    # mean log-likelihood of the samples equals minus the cross-entropy; a wrong scale shifts it by 2 log s
    x = toy.sample("mog5", 20000, torch.Generator().manual_seed(1))
    s = toy.normalisation_std("mog5")
    entropy_raw = math.log(5) + 1 + math.log(2 * math.pi * 0.3**2)  # well-separated components
    assert -toy.log_prob("mog5", x).mean().item() == pytest.approx(entropy_raw - 2 * math.log(s), abs=0.03)


def test_kde_nll_matches_direct_computation():
    g = torch.Generator().manual_seed(2)
    ref = toy.sample("moons", 500, g).double().numpy()
    x = toy.sample("moons", 40, g).double().numpy() + 0.05
    h = 0.1
    sq = ((x[:, None, :] - ref[None]) ** 2).sum(-1)
    direct = -(logsumexp(-sq / (2 * h * h), axis=1) - math.log(len(ref)) - math.log(2 * math.pi * h * h))  # eq. 27
    np.testing.assert_allclose(toy.kde_nll(ref, x, bandwidth=h), direct, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(toy.kde_nll(torch.tensor(ref), torch.tensor(x)), direct, rtol=1e-5, atol=1e-5)


def test_nll_function_kinds():
    x = torch.zeros(3, 2)
    exact, kind = toy.nll_function("grid")
    assert kind == "exact"
    np.testing.assert_allclose(exact(x), -toy.log_prob("grid", x.double()).numpy())
    kde, kind = toy.nll_function("spiral", n_reference=300, generator=torch.Generator().manual_seed(0))
    assert kind == "kde" and kde(x).shape == (3,) and np.isfinite(kde(x)).all()


# --- notebook 01's precision / coverage / landscape tests: a failed alignment fails them -----------------------
def _mog5_nll():
    return toy.nll_function("mog5")[0]


def test_collapsed_latents_pass_precision_but_fail_coverage():
    """Latents piled onto two of the five mixture means are all 'on support' (precision 1), but a KDE on them
    explains the target badly (reverse NLL far above an equal-size target sample's) and 3 of 5 modes are
    missed; a fresh target sample passes both."""
    g = torch.Generator().manual_seed(0)
    target, probe, fair = toy.sample("mog5", 2000, g), toy.sample("mog5", 2000, g), toy.sample("mog5", 1000, g)
    means = (toy.mixture_means("mog5") / toy.normalisation_std("mog5")).float()
    collapsed = means[torch.arange(1000) % 2] + 0.01 * torch.randn(1000, 2, generator=g)
    nll = _mog5_nll()
    assert toy.on_support_share(nll, collapsed, target) == 1.0
    assert 0.9 <= toy.on_support_share(nll, fair, target) <= 1.0  # a target sample: about 95% by construction
    assert toy.reverse_kde_nll(collapsed, probe) - toy.reverse_kde_nll(fair, probe) > toyflows.COVERAGE_GAP
    another = toy.sample("mog5", 1000, g)
    assert abs(toy.reverse_kde_nll(another, probe) - toy.reverse_kde_nll(fair, probe)) < 0.2
    assert toy.modes_reached("mog5", fair) == 1.0
    assert toy.modes_reached("mog5", collapsed) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="mixtures"):
        toy.modes_reached("rings", fair)


def test_minima_on_support_fails_a_landscape_with_its_minimum_off_support():
    """A landscape that ranks the far field like the NLL (high Spearman) but has its minimum in an empty centre,
    the rings failure, scores low; the NLL itself scores 1."""
    from scipy.stats import spearmanr

    axis = np.linspace(-3, 3, 60)
    gx, gy = np.meshgrid(axis, axis)
    radius = np.hypot(gx, gy)
    nll_grid = (radius - 2.0) ** 2 * 10  # a ring of radius 2 is the support
    threshold = 1.0
    assert toy.minima_on_support(nll_grid, nll_grid, threshold) == 1.0
    centre_pit = nll_grid - 60 * np.exp(-radius**2 / 0.5)  # the same far field, a deep pit at the empty centre
    assert spearmanr(centre_pit.ravel(), nll_grid.ravel())[0] > 0.5
    assert toy.minima_on_support(centre_pit, nll_grid, threshold) < 0.5
    with pytest.raises(ValueError, match="landscape"):
        toy.minima_on_support(nll_grid, nll_grid[:10], threshold)


def test_claim_checks_fail_for_each_kind_of_failed_alignment():
    good = {"nll_before": 10.0, "nll_after": 1.0, "on_support": 0.95, "coverage_gap": 0.1, "modes_reached": 1.0,
            "minima_on_support": 0.95, "landscape_spearman": 0.9, "pearson": 0.95, "pearson_late": 0.8,
            "loss_before": 2.0, "loss_after": 1.0}
    assert all(toyflows.claim_checks(good).values())
    for change, failed in ((dict(on_support=0.5), "a"), (dict(nll_after=11.0), "a"), (dict(coverage_gap=2.0), "coverage"),
                           (dict(modes_reached=0.8), "coverage"), (dict(minima_on_support=0.1), "b"),
                           (dict(landscape_spearman=0.2), "b"), (dict(pearson_late=0.1), "c"),
                           (dict(loss_after=3.0), "c")):
        checks = toyflows.claim_checks(good | change)
        assert not checks[failed] and all(v for k, v in checks.items() if k != failed), change
    assert toyflows.claim_checks(good | {"modes_reached": None})["coverage"]  # non-mixtures: no modes to count
