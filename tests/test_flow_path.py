"""tvclab.flow.path and tvclab.flow.solver: the suite's one time convention (t = 0 noise, t = 1 data), the
conversions between velocity, noise and data predictions, and the ODE solver (sampling, paper F eq. 4)."""
import math

import pytest
import torch

from tvclab.flow import PATH, ODESolver

f64 = dict(dtype=torch.float64)


def draws(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0, x1 = torch.randn(shape, generator=g, **f64), torch.randn(shape, generator=g, **f64)
    t = 0.05 + 0.9 * torch.rand(shape[0], generator=g, **f64)  # away from the ends, where 1 / t or 1 / (1 - t)
    return x0, x1, t


def test_time_convention_t0_is_noise_t1_is_data_target_is_x1_minus_x0():
    # the one place the suite checks its convention
    x0, x1, _ = draws((5, 3))
    assert torch.equal(PATH.interpolate(x0, x1, 0.0), x0)
    assert torch.equal(PATH.interpolate(x0, x1, 1.0), x1)
    assert torch.equal(PATH.interpolate(x0, x1, torch.zeros(5, **f64)), x0)
    assert torch.equal(PATH.interpolate(x0, x1, torch.ones(5, **f64)), x1)
    s = PATH.sample(x0, x1, torch.full((5,), 0.25, **f64))
    torch.testing.assert_close(s.x_t, 0.25 * x1 + 0.75 * x0)
    torch.testing.assert_close(s.dx_t, x1 - x0)
    assert s.x0 is x0 and s.x1 is x1 and s.t.shape == (5,)


def test_path_velocity_is_the_time_derivative_of_x_t():
    x0, x1, t = draws((4, 2))
    h = 1e-6
    fd = (PATH.interpolate(x0, x1, t + h) - PATH.interpolate(x0, x1, t - h)) / (2 * h)
    torch.testing.assert_close(fd, PATH.target(x0, x1), rtol=0, atol=1e-8)


@pytest.mark.parametrize("shape", [(64, 2), (8, 3, 4, 4)])  # points, and images (t broadcast over C, H, W)
def test_all_six_conversions_round_trip(shape):
    x0, x1, t = draws(shape, seed=1)
    x_t = PATH.interpolate(x0, x1, t)
    v = PATH.target(x0, x1)
    checks = {
        "velocity_to_data": (PATH.velocity_to_data(v, x_t, t), x1),
        "velocity_to_noise": (PATH.velocity_to_noise(v, x_t, t), x0),
        "data_to_velocity": (PATH.data_to_velocity(x1, x_t, t), v),
        "noise_to_velocity": (PATH.noise_to_velocity(x0, x_t, t), v),
        "data_to_noise": (PATH.data_to_noise(x1, x_t, t), x0),
        "noise_to_data": (PATH.noise_to_data(x0, x_t, t), x1),
    }
    for name, (got, want) in checks.items():
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")


def test_path_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        PATH.sample(torch.zeros(3, 2), torch.zeros(3, 3), 0.5)
    with pytest.raises(ValueError, match=r"t must be a scalar or \[B\]"):
        PATH.interpolate(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(4))


# ------------------------------------------------------------------------------------------------- sampling
METHODS = ("euler", "midpoint", "rk4")


@pytest.mark.parametrize("method", METHODS)
def test_sample_of_a_constant_velocity_is_x0_plus_c(method):
    c = torch.tensor([0.5, -2.0], **f64)
    x0 = torch.randn(6, 2, **f64)
    x1 = ODESolver(lambda x, t: c.expand_as(x)).sample(x0, steps=7, method=method)
    torch.testing.assert_close(x1, x0 + c, rtol=0, atol=1e-12)
    back = ODESolver(lambda x, t: c.expand_as(x)).sample(x1, steps=3, method=method, t0=1.0, t1=0.0)
    torch.testing.assert_close(back, x0, rtol=0, atol=1e-12)


# one step of each method on dx/dt = a x + b multiplies (x + b / a) by a polynomial in z = a h: its Taylor series
# of exp(z) to order 1, 2 and 4
GROWTH = {"euler": lambda z: 1 + z, "midpoint": lambda z: 1 + z + z**2 / 2,
          "rk4": lambda z: 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24}


@pytest.mark.parametrize("method", METHODS)
def test_sample_of_an_affine_velocity_matches_the_closed_form(method):
    a, b, steps = -1.3, torch.tensor([0.4, 1.0], **f64), 10
    x0 = torch.randn(5, 2, **f64)
    solver = ODESolver(lambda x, t: a * x + b)
    got = solver.sample(x0, steps=steps, method=method)
    # the method's own closed form, exactly
    want = GROWTH[method](a / steps) ** steps * (x0 + b / a) - b / a
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    # and the ODE's closed form x(1) = e^a (x0 + b / a) - b / a, to the method's order
    exact = math.exp(a) * (x0 + b / a) - b / a
    tol = {"euler": 0.1, "midpoint": 5e-3, "rk4": 1e-5}[method]
    assert (got - exact).abs().max() < tol


@pytest.mark.parametrize("method", ("midpoint", "rk4"))
def test_sample_of_a_velocity_linear_in_t_is_exact(method):
    # dx/dt = p + q t integrates to x0 + p + q / 2; midpoint and RK4 are exact for it, Euler is not
    p, q = torch.tensor([1.0, -1.0], **f64), torch.tensor([2.0, 0.5], **f64)
    x0 = torch.randn(3, 2, **f64)
    got = ODESolver(lambda x, t: p + q * t[:, None]).sample(x0, steps=4, method=method)
    torch.testing.assert_close(got, x0 + p + q / 2, rtol=0, atol=1e-12)


def test_sample_errors_name_the_valid_choices():
    solver = ODESolver(lambda x, t: x)
    with pytest.raises(ValueError, match="euler"):
        solver.sample(torch.zeros(2, 2), steps=3, method="heun")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        solver.sample(torch.zeros(2, 2), steps=0)


# ------------------------------------------------------------------------------------------------- likelihood
class GaussianPath:
    """The exact marginal velocity of the linear path from N(0, I) to N(mu, A A^T), A = Q diag(lam) Q^T symmetric
    positive definite: x_t = t mu + M_t x0 with M_t = (1 - t) I + t A = Q diag(1 - t + t lam) Q^T, so
    v(x, t) = mu + (A - I) M_t^{-1} (x - t mu), the flow maps x0 to mu + A x0, and
    log p_1(y) = log N(A^{-1} (y - mu); 0, I) - log det A."""

    def __init__(self, mu: torch.Tensor, q: torch.Tensor, lam: torch.Tensor):
        self.mu, self.q, self.lam = mu, q, lam
        self.a = q @ torch.diag(lam) @ q.T

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        z = (x - t[:, None] * self.mu) @ self.q  # in A's eigenbasis
        return self.mu + (z * (self.lam - 1) / (1 - t[:, None] + t[:, None] * self.lam)) @ self.q.T

    def log_prob(self, y: torch.Tensor) -> torch.Tensor:
        z = ((y - self.mu) @ self.q) / self.lam
        return -0.5 * (z**2).sum(1) - 0.5 * len(self.mu) * math.log(2 * math.pi) - self.lam.log().sum()


def gaussian_path(isotropic: bool) -> GaussianPath:
    mu = torch.tensor([1.0, -0.5, 0.25], **f64)
    if isotropic:  # N(0, I) -> N(mu, s^2 I), s = 0.5
        return GaussianPath(mu, torch.eye(3, **f64), torch.full((3,), 0.5, **f64))
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(5), **f64))
    return GaussianPath(mu, q, torch.tensor([0.4, 1.0, 2.0], **f64))  # a Jacobian with off-diagonal terms


@pytest.mark.parametrize("isotropic", [True, False])
def test_sample_maps_noise_to_the_target_gaussian(isotropic):
    flow = gaussian_path(isotropic)
    x0 = torch.randn(8, 3, **f64)
    torch.testing.assert_close(ODESolver(flow).sample(x0, steps=50, method="rk4"), flow.mu + x0 @ flow.a.T,
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("isotropic", [True, False])
def test_log_likelihood_exact_divergence_matches_the_gaussian_closed_form(isotropic):
    flow = gaussian_path(isotropic)
    y = flow.mu + torch.randn(16, 3, generator=torch.Generator().manual_seed(0), **f64)
    ll = ODESolver(flow).log_likelihood(y, steps=100, divergence="exact")
    torch.testing.assert_close(ll, flow.log_prob(y), rtol=0, atol=1e-3)
    assert ll.shape == (16,) and not ll.requires_grad


def test_log_likelihood_hutchinson_is_exact_for_an_isotropic_jacobian():
    flow = gaussian_path(isotropic=True)  # J = c_t I, so eps^T J eps = tr J for Rademacher eps
    y = flow.mu + torch.randn(16, 3, generator=torch.Generator().manual_seed(0), **f64)
    ll = ODESolver(flow).log_likelihood(y, steps=100, divergence="hutchinson",
                                        generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(ll, flow.log_prob(y), rtol=0, atol=1e-3)


def test_log_likelihood_hutchinson_is_unbiased():
    flow = gaussian_path(isotropic=False)
    n = 2000
    y = flow.mu + torch.randn(n, 3, generator=torch.Generator().manual_seed(2), **f64)
    err = ODESolver(flow).log_likelihood(y, steps=20, divergence="hutchinson",
                                         generator=torch.Generator().manual_seed(3)) - flow.log_prob(y)
    assert err.std() > 0.05  # the estimate is noisy per point here ...
    assert err.mean().abs() < 4 * err.std() / math.sqrt(n) + 1e-3  # ... and right in expectation


def test_log_likelihood_seeds_and_errors():
    flow = gaussian_path(isotropic=False)
    y = torch.randn(4, 3, **f64)
    solver = ODESolver(flow)
    a, b = (solver.log_likelihood(y, steps=5, divergence="hutchinson", generator=torch.Generator().manual_seed(9))
            for _ in range(2))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="divergence"):
        solver.log_likelihood(y, divergence="trace")
    with pytest.raises(ValueError, match=r"\[B, d\]"):
        solver.log_likelihood(y[0])
