"""TVC identities on random tables (paper W Theorem 3.1, Cor. 3.2, App. D) and input validation."""
import numpy as np
import pytest

from tvclab import tvc

SHAPES = [(1, 1), (2, 3), (5, 2), (7, 7), (20, 9), (3, 40)]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("conc", [1.0, 0.05])
def test_theorem_3_1_identity(shape, conc, rng):
    for _ in range(5):
        terms = tvc.tvc_terms(*tvc.random_problem(*shape, rng, conc))
        assert terms["support"].any()
        assert tvc.tvc_residual(terms) < 1e-10


def test_terms_match_definitions(rng):
    p_z, p_xz, p_data, q_zx = tvc.random_problem(4, 3, rng)
    t = tvc.tvc_terms(p_z, p_xz, p_data, q_zx)
    q_joint = p_data[:, None] * q_zx
    q_z = q_joint.sum(0)
    p_x = (p_z[:, None] * p_xz).sum(0)
    x, z = 2, 1
    assert t["prior"][x, z] == pytest.approx(np.log(p_z[z] / q_z[z]), abs=1e-12)
    assert t["likelihood"][x, z] == pytest.approx(np.log(p_xz[z, x] / (q_joint[x, z] / q_z[z])), abs=1e-12)
    assert t["posterior"][x, z] == pytest.approx(np.log(p_z[z] * p_xz[z, x] / p_x[x] / q_zx[x, z]), abs=1e-12)
    assert t["log_model"][x, z] == pytest.approx(np.log(p_x[x]), abs=1e-12)
    assert t["log_data"][x, z] == pytest.approx(np.log(p_data[x]), abs=1e-12)


def test_identity_holds_only_on_support():
    """Zero-probability encoder entries leave the ratios undefined; the residual ignores them."""
    p_z = np.array([0.5, 0.5])
    p_xz = np.array([[0.3, 0.7], [0.6, 0.4]])
    p_data = np.array([0.4, 0.6])
    q_zx = np.array([[1.0, 0.0], [0.2, 0.8]])
    t = tvc.tvc_terms(p_z, p_xz, p_data, q_zx)
    assert not t["support"][0, 1]
    assert tvc.tvc_residual(t) < 1e-12


@pytest.mark.parametrize("shape", SHAPES)
def test_elbo_plus_gap_and_kl_decomposition(shape, rng):
    p_z, p_xz, p_data, q_zx = tvc.random_problem(*shape, rng)
    e = tvc.elbo_decomposition(p_z, p_xz, p_data, q_zx)
    assert e["log_likelihood"] == pytest.approx(e["elbo"] + e["posterior_gap"], abs=1e-10)
    assert e["posterior_gap"] >= -1e-12
    d = tvc.kl_decomposition(p_z, p_data, q_zx)
    assert d["instance_kl"] == pytest.approx(d["mutual_information"] + d["marginal_kl"], abs=1e-10)
    assert d["mutual_information"] == pytest.approx(tvc.mutual_information(p_data, q_zx), abs=1e-12)


def test_surrogate_decomposition(rng):
    for k in (2, 9, 50):
        q_phi, q_psi, p = (rng.dirichlet(np.ones(k)) for _ in range(3))
        s = tvc.surrogate_decomposition(q_phi, q_psi, p)
        assert s["surrogate"] == pytest.approx(s["kl_q_p"] - s["kl_q_proxy"], abs=1e-10)


def test_categorical_score_check_passes_for_log_p_and_fails_for_wrong_scores(rng):
    """Notebook 00 §6: the score against finite differences of the log-density on the simplex. The right score
    passes; p itself, log of a perturbed p, and the score of another distribution fail; a constant shift is
    invisible on the simplex and passes, as it should."""
    p = rng.dirichlet(np.ones(6))
    z = np.eye(6)[2]
    density = lambda v: tvc.categorical_log_density(v, p)  # noqa: E731
    assert tvc.tangent_score_residual(density, z, tvc.categorical_score(p)) < 1e-8
    assert tvc.tangent_score_residual(density, z, tvc.categorical_score(p) + 3.0) < 1e-8
    perturbed = p * np.exp(0.05 * rng.standard_normal(6))
    for wrong in (p, np.log(perturbed / perturbed.sum()), tvc.categorical_score(rng.dirichlet(np.ones(6)))):
        assert tvc.tangent_score_residual(density, z, wrong) > 1e-3


def test_particle_gradient_check_fails_for_a_wrong_sign_or_wrong_loss(rng):
    """Notebook 00 §6: FD of KL(q||p) - KL(q||q_psi) at an interior q, and of ``wgf_dpd_loss`` at a one-hot,
    against log q_psi - log p; a swapped sign and a loss that forgets the proxy both fail."""
    import torch

    from tvclab.losses import wgf_dpd_loss

    q, q_psi, p = (rng.dirichlet(np.ones(5)) for _ in range(3))
    grad = tvc.categorical_score(q_psi) - tvc.categorical_score(p)
    kl_difference = lambda v: float(tvc.kl(v, p) - tvc.kl(v, q_psi))  # noqa: E731
    assert tvc.tangent_score_residual(kl_difference, q, grad, h=0.5 * q.min()) < 1e-8
    assert tvc.tangent_score_residual(kl_difference, q, -grad, h=0.5 * q.min()) > 1e-3

    def loss_of(v, log_q):
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)[None, None]  # noqa: E731
        return float(wgf_dpd_loss(t(v), t(log_q), t(np.log(p))))

    z = np.eye(5)[1]
    assert tvc.tangent_score_residual(lambda v: loss_of(v, np.log(q_psi)), z, grad) < 1e-8
    assert tvc.tangent_score_residual(lambda v: loss_of(v, np.zeros(5)), z, grad) > 1e-3  # proxy ignored


def test_case2_identity_holds_and_a_wrong_posterior_breaks_it(rng, monkeypatch):
    """posterior gap = prior gap - KL(p_data || p_theta) for a likelihood-consistent model; all three > 0 off
    p = q(z). Replacing the Bayes posterior by the prior (a classic bug) breaks the identity."""
    _, _, p_data, q_zx = tvc.random_problem(6, 4, rng)
    p_z = 0.5 * tvc.aggregate_posterior(p_data, q_zx) + 0.5 * rng.dirichlet(np.ones(4))
    g = tvc.case2_gaps(p_data, q_zx, p_z)
    assert min(g.values()) > 1e-4
    assert abs(g["posterior_gap"] - (g["prior_gap"] - g["data_kl"])) < 1e-12
    monkeypatch.setattr(tvc, "model_posterior", lambda pz, pxz: np.broadcast_to(pz, (pxz.shape[1], len(pz))))
    bad = tvc.case2_gaps(p_data, q_zx, p_z)
    assert abs(bad["posterior_gap"] - (bad["prior_gap"] - bad["data_kl"])) > 1e-3


def test_case3_fit_closes_the_likelihood_gap_only_for_a_complete_family(rng):
    """Cor. 3.2 case 3 by optimisation: the complete-family check passes for |Z| >= |X| and fails when handed an
    incomplete family (|Z| < |X|), where the posterior gap still closes."""
    _, _, p_data, q_zx = tvc.random_problem(4, 6, rng)
    ok = tvc.fit_posterior_consistency(p_data, q_zx, seed=0)
    assert ok["posterior_gap_start"] > 1e-2
    assert max(ok["posterior_gap"], ok["likelihood_gap"], ok["data_kl"]) < 1e-8
    _, _, p_data, q_zx = tvc.random_problem(6, 3, rng)
    broken = tvc.fit_posterior_consistency(p_data, q_zx, seed=0)
    assert broken["posterior_gap"] < 1e-8
    assert broken["likelihood_gap"] > 1e-3 and broken["data_kl"] > 1e-3


def test_corollary_case1_consistent_model_reproduces_data(rng):
    _, _, p_data, q_zx = tvc.random_problem(6, 4, rng)
    p_z, p_xz = tvc.consistent_model(p_data, q_zx)
    t = tvc.tvc_terms(p_z, p_xz, p_data, q_zx)
    for k in ("likelihood", "prior", "posterior"):
        assert np.abs(t[k][t["support"]]).max() < 1e-10
    np.testing.assert_allclose(tvc.model_marginal(p_z, p_xz), p_data, atol=1e-12)


def test_corollary_case3_completeness_matters(rng):
    # incomplete family (|Z| < |X|): prior and posterior exact, likelihood and marginal not
    _, _, p_data, q_zx = tvc.random_problem(6, 3, rng)
    p_z, p_xz, r = tvc.case3_counterexample(p_data, q_zx)
    np.testing.assert_allclose(p_xz.sum(1), 1.0, atol=1e-12)
    assert (p_xz >= 0).all()
    t = tvc.tvc_terms(p_z, p_xz, p_data, q_zx)
    s = t["support"]
    assert np.abs(t["prior"][s]).max() < 1e-10 and np.abs(t["posterior"][s]).max() < 1e-10
    assert np.abs(t["likelihood"][s]).max() > 1e-3
    assert tvc.kl(p_data, tvc.model_marginal(p_z, p_xz)) > 1e-4
    # complete family: no counterexample exists
    _, _, p_data, q_zx = tvc.random_problem(3, 6, rng)
    with pytest.raises(ValueError, match="complete"):
        tvc.case3_counterexample(p_data, q_zx)


@pytest.mark.parametrize(
    "which, bad, match",
    [
        (0, np.array([0.5, 0.6]), "p_z"),
        (0, np.array([-0.1, 1.1]), "p_z"),
        (1, np.array([[0.5, 0.4, 0.0], [1.0, 0.0, 0.0]]), "p_x_given_z"),
        (1, np.full((3, 3), 1 / 3), "p_x_given_z"),
        (2, np.array([0.2, 0.2, 0.2]), "p_data"),
        (3, np.full((3, 3), 1 / 3), "q_z_given_x"),
        (3, np.array([[1.0, 0.0], [0.5, 0.5], [np.nan, 1.0]]), "q_z_given_x"),
    ],
)
def test_invalid_input_names_the_argument(which, bad, match):
    args = [np.array([0.5, 0.5]), np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]), np.array([0.3, 0.3, 0.4]),
            np.array([[0.5, 0.5], [0.1, 0.9], [1.0, 0.0]])]
    args[which] = bad
    with pytest.raises(ValueError, match=match):
        tvc.tvc_terms(*args)
