"""tvclab.toy: the 2D targets of paper F (App. B, C.1), their exact densities and the KDE NLL of App. B eq. 27."""
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from tvclab import toy


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
