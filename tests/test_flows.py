"""tvclab.flows: the velocity MLP, flow matching (paper F eq. 3), the alignment loss (eq. 5) and the ODE
log-likelihood (eq. 4)."""
import math

import pytest
import torch
import torch.nn as nn

from tvclab import flows, toy


def random_flow(dim=2, width=16, blocks=2, seed=0, dtype=torch.float64):
    """A small VelocityMLP with every weight random (the adaLN-Zero layers start at zero)."""
    torch.manual_seed(seed)
    model = flows.VelocityMLP(dim, width, blocks).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


class GaussianPathVelocity(nn.Module):
    """The exact marginal velocity of the rectified flow from N(0, I) to N(mu, s^2 I) (t = 1 is data):
    x_t = t mu + (1 - t + t s) z, so v(x, t) = mu + (s - 1)(x - t mu) / (1 - t + t s), div v = d (s - 1) / sigma_t
    and log p_1(y) = log N((y - mu) / s; 0, I) - d log s."""

    def __init__(self, mu, s):
        super().__init__()
        self.register_buffer("mu", mu)
        self.s = s

    def forward(self, x, t):
        sigma = (1 - t + t * self.s)[:, None]
        return self.mu + (self.s - 1) * (x - t[:, None] * self.mu) / sigma


def test_velocity_mlp_shapes_and_errors():
    model = flows.VelocityMLP(3, width=8, blocks=2)
    assert model(torch.randn(5, 3), torch.rand(5)).shape == (5, 3)
    assert model(torch.randn(5, 3), 0.5).shape == (5, 3)  # a scalar t is broadcast
    with pytest.raises(ValueError, match=r"x must be \[B, 3\]"):
        model(torch.randn(5, 2), torch.rand(5))
    with pytest.raises(ValueError, match="t must be"):
        model(torch.randn(5, 3), torch.rand(4))


def test_velocity_mlp_app_c1_size_and_zero_initial_velocity():
    model = flows.VelocityMLP(2)  # App. C.1: width 512, 4 residual blocks
    assert len(model.blocks) == 4 and model.width == 512
    assert 6e6 < flows.parameter_count(model) < 7e6
    assert torch.count_nonzero(model(torch.randn(4, 2), torch.rand(4))) == 0  # adaLN-Zero output


def test_flow_matching_loss_is_eq3():
    model = random_flow()
    x1, x0 = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    t = torch.rand(6, dtype=torch.float64)
    xt = t[:, None] * x1 + (1 - t[:, None]) * x0
    expected = ((model(xt, t) - (x1 - x0)) ** 2).mean()
    assert torch.allclose(flows.flow_matching_loss(model, x1, x0, t), expected)


@pytest.mark.parametrize("train_mode", [True, False])
def test_alignment_loss_gives_no_gradient_to_the_flow_and_keeps_its_mode(train_mode):
    model = random_flow()
    model.train(train_mode)
    y = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    flows.alignment_loss(model, y, n_t=4).backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())
    assert model.training is train_mode


def test_alignment_loss_gradient_matches_finite_differences():
    model = random_flow()
    y = torch.randn(4, 2, dtype=torch.float64)

    def loss(yy):  # the same x0 and t draws for every evaluation
        return flows.alignment_loss(model, yy, n_t=3, generator=torch.Generator().manual_seed(7))

    yy = y.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(yy), yy)
    eps = 1e-6
    fd = torch.zeros_like(y)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            e = torch.zeros_like(y)
            e[i, j] = eps
            fd[i, j] = (loss(y + e) - loss(y - e)) / (2 * eps)
    torch.testing.assert_close(grad, fd, rtol=1e-6, atol=1e-8)


def test_alignment_loss_reductions_and_errors():
    model = random_flow()
    y = torch.randn(5, 2, dtype=torch.float64)
    per_latent = flows.alignment_loss(model, y, n_t=3, reduction="none", generator=torch.Generator().manual_seed(0))
    mean = flows.alignment_loss(model, y, n_t=3, generator=torch.Generator().manual_seed(0))
    assert per_latent.shape == (5,)
    assert torch.allclose(per_latent.mean(), mean)
    with pytest.raises(ValueError, match="reduction"):
        flows.alignment_loss(model, y, reduction="sum")
    with pytest.raises(ValueError, match=r"\[B, d\]"):
        flows.alignment_loss(model, y[0])


def test_alignment_loss_is_zero_on_the_data_of_an_exact_point_mass_flow():
    # a flow onto the single point mu (s = 0): y = mu is perfectly consistent, so eq. 5 vanishes there
    mu = torch.tensor([0.7, -0.3], dtype=torch.float64)
    model = GaussianPathVelocity(mu, 0.0)
    assert flows.alignment_loss(model, mu[None].repeat(3, 1), n_t=8).item() < 1e-20
    assert flows.alignment_loss(model, mu[None] + 1.0, n_t=8).item() > 0.1


def test_empirical_velocity_is_the_posterior_mean_velocity():
    samples = torch.tensor([[1.0, 0.0], [-1.0, 0.5]], dtype=torch.float64)
    ideal = flows.EmpiricalVelocity(samples)
    x, t = torch.tensor([[0.3, -0.2]], dtype=torch.float64), torch.tensor([0.4], dtype=torch.float64)
    logw = -((x - t * samples) ** 2).sum(1) / (2 * (1 - t) ** 2)  # x_t | x1 ~ N(t x1, (1 - t)^2 I)
    expected = (torch.softmax(logw, 0) @ samples - x[0]) / (1 - t)
    torch.testing.assert_close(ideal(x, t)[0], expected)


@pytest.mark.parametrize("divergence", ["exact", "hutchinson"])
def test_ode_log_likelihood_matches_the_gaussian_closed_form(divergence):
    d, s = 3, 0.5
    mu = torch.tensor([1.0, -0.5, 0.25], dtype=torch.float64)
    model = GaussianPathVelocity(mu, s)
    y = mu + torch.randn(16, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = (y - mu) / s
    analytic = -0.5 * (z**2).sum(1) - 0.5 * d * math.log(2 * math.pi) - d * math.log(s)
    # the Jacobian is (s - 1) / sigma_t I, so Rademacher Hutchinson is exact here as well
    ll = flows.ode_log_likelihood(model, y, steps=100, divergence=divergence,
                                  generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(ll, analytic, rtol=0, atol=1e-3)
    assert not ll.requires_grad


def test_ode_log_likelihood_of_a_trained_toy_flow_has_no_side_effects():
    model = random_flow(width=8, dtype=torch.float32)
    y = torch.randn(4, 2)
    ll = flows.ode_log_likelihood(model, y, steps=2)
    assert ll.shape == (4,) and torch.isfinite(ll).all()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="divergence"):
        flows.ode_log_likelihood(model, y, divergence="trace")


def test_train_flow_then_align_latents_lowers_the_true_mog5_nll():
    torch.manual_seed(0)
    model = flows.VelocityMLP(2, width=32, blocks=2)
    data_g, noise_g = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    losses = flows.train_flow(model, lambda n: toy.sample("mog5", n, data_g), steps=300, batch_size=128, lr=2e-3,
                              generator=noise_g, progress=False)
    assert len(losses) == 300 and sum(losses[-50:]) < sum(losses[:50])
    model.eval()

    def true_nll(p):
        return -toy.log_prob("mog5", p).mean().item()

    y0 = torch.randn(300, 2, generator=torch.Generator().manual_seed(3))
    keep = y0.clone()
    y, history = flows.align_latents(model, y0, steps=150, lr=1e-2, n_t=2, track=true_nll, track_every=10,
                                     snapshot_steps=(0, 150), generator=torch.Generator().manual_seed(4),
                                     progress=False)
    assert torch.equal(y0, keep) and y is not y0 and not y.requires_grad
    assert len(history["alignment_loss"]) == 150
    assert history["track_steps"] == list(range(0, 150, 10)) and len(history["track"]) == 15
    assert history["track"][0] == pytest.approx(true_nll(y0))
    assert torch.equal(history["snapshots"][0], y0) and torch.equal(history["snapshots"][150], y)
    assert true_nll(y) < true_nll(y0) - 1.0
    assert all(p.grad is None for p in model.parameters()) and not model.training


def test_toy_config_tiers():
    paper = flows.ToyConfig.for_tier("paper")  # App. C.1
    assert (paper.width, paper.blocks, paper.flow_steps, paper.flow_batch) == (512, 4, 100_000, 256)
    assert (paper.n_latents, paper.align_steps) == (1000, 5000)
    for tier in ("smoke", "cpu"):
        c = flows.ToyConfig.for_tier(tier)
        assert c.tier == tier and set(c.distributions) == set(toy.NAMES)
        steps = c.snapshot_steps()
        assert steps[0] == 0 and steps[-1] == c.align_steps and steps == sorted(set(steps))
    with pytest.raises(ValueError, match="smoke, cpu, paper"):
        flows.ToyConfig.for_tier("gpu")
