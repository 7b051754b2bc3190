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


def test_surrogate_and_categorical_score(rng):
    for k in (2, 9, 50):
        q_phi, q_psi, p = (rng.dirichlet(np.ones(k)) for _ in range(3))
        s = tvc.surrogate_decomposition(q_phi, q_psi, p)
        assert s["surrogate"] == pytest.approx(s["kl_q_p"] - s["kl_q_proxy"], abs=1e-10)
        np.testing.assert_allclose(tvc.categorical_score(p), np.log(p), atol=1e-12)


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
