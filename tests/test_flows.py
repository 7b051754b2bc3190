"""tvclab.flow beyond the path and the solver (tests/test_flow_path.py): the velocity MLP, flow matching (paper F
eq. 3), the alignment loss (eq. 5), the ODE log-likelihood of a model (eq. 4) and the toy flows of notebook 01."""
import pytest
import torch
import torch.nn as nn

from tvclab import flow, toy, toyflows
from tvclab.flow import ODESolver, frozen
from tvclab.models.blocks import count_params


def random_flow(dim=2, width=16, blocks=2, seed=0, dtype=torch.float64):
    """A small VelocityMLP with every weight random (the adaLN-Zero layers start at zero)."""
    torch.manual_seed(seed)
    model = flow.VelocityMLP(dim, width, blocks).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


class GaussianPathVelocity(nn.Module):
    """The exact marginal velocity of the linear path from N(0, I) to N(mu, s^2 I):
    x_t = t mu + (1 - t + t s) x0, so v(x, t) = mu + (s - 1)(x - t mu) / (1 - t + t s) (s = 0: a point mass)."""

    def __init__(self, mu, s):
        super().__init__()
        self.register_buffer("mu", mu)
        self.s = s

    def forward(self, x, t):
        sigma = (1 - t + t * self.s)[:, None]
        return self.mu + (self.s - 1) * (x - t[:, None] * self.mu) / sigma


def test_velocity_mlp_shapes_and_errors():
    model = flow.VelocityMLP(3, width=8, blocks=2)
    assert model(torch.randn(5, 3), torch.rand(5)).shape == (5, 3)
    assert model(torch.randn(5, 3), 0.5).shape == (5, 3)  # a scalar t is broadcast
    with pytest.raises(ValueError, match=r"x must be \[B, 3\]"):
        model(torch.randn(5, 2), torch.rand(5))
    with pytest.raises(ValueError, match="t must be"):
        model(torch.randn(5, 3), torch.rand(4))


def test_velocity_mlp_uses_the_suite_timestep_embedding():
    from tvclab.flow.time import TimestepEmbedding

    assert isinstance(flow.VelocityMLP(2, width=8, blocks=1).time, TimestepEmbedding)


def test_velocity_mlp_app_c1_size_and_zero_initial_velocity():
    model = flow.VelocityMLP(2)  # App. C.1: width 512, 4 residual blocks
    assert len(model.blocks) == 4 and model.width == 512
    assert 6e6 < count_params(model) < 7e6
    assert torch.count_nonzero(model(torch.randn(4, 2), torch.rand(4))) == 0  # adaLN-Zero output


def test_flow_matching_loss_is_eq3():
    model = random_flow()
    x1, x0 = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    t = torch.rand(6, dtype=torch.float64)
    xt = t[:, None] * x1 + (1 - t[:, None]) * x0
    expected = ((model(xt, t) - (x1 - x0)) ** 2).mean()
    assert torch.allclose(flow.flow_matching_loss(model, x1, x0, t), expected)


@pytest.mark.parametrize("train_mode", [True, False])
def test_alignment_loss_gives_no_gradient_to_the_flow_and_keeps_its_mode(train_mode):
    model = random_flow()
    model.train(train_mode)
    y = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    flow.alignment_loss(model, y, n_t=4).backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())
    assert model.training is train_mode


def test_alignment_loss_gradient_matches_finite_differences():
    model = random_flow()
    y = torch.randn(4, 2, dtype=torch.float64)

    def loss(yy):  # the same x0 and t draws for every evaluation
        return flow.alignment_loss(model, yy, n_t=3, generator=torch.Generator().manual_seed(7))

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


def test_flow_matching_loss_draws_x0_then_t_from_the_generator():
    model = random_flow()
    x1 = torch.randn(6, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    x0, t = torch.randn(6, 2, generator=g, dtype=torch.float64), torch.rand(6, generator=g, dtype=torch.float64)
    drawn = flow.flow_matching_loss(model, x1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(drawn, flow.flow_matching_loss(model, x1, x0, t))


def test_alignment_loss_with_passed_draws_equals_the_generator_draws():
    model = random_flow()
    y, n_t = torch.randn(5, 2, dtype=torch.float64), 3
    g = torch.Generator().manual_seed(11)  # the draws made elsewhere: x0 [n_t B, d] first, then t [n_t B]
    x0 = torch.randn(n_t * 5, 2, generator=g, dtype=torch.float64)
    t = torch.rand(n_t * 5, generator=g, dtype=torch.float64)
    for reduction in ("mean", "none"):
        passed = flow.alignment_loss(model, y, n_t=n_t, reduction=reduction, x0=x0, t=t)
        drawn = flow.alignment_loss(model, y, n_t=n_t, reduction=reduction, generator=torch.Generator().manual_seed(11))
        assert torch.equal(passed, drawn)
    with pytest.raises(ValueError, match=r"x0 must be \(15, 2\) and t \[15\]"):
        flow.alignment_loss(model, y, n_t=n_t, x0=x0[:5], t=t[:5])


def test_alignment_loss_reductions_and_errors():
    model = random_flow()
    y = torch.randn(5, 2, dtype=torch.float64)
    per_latent = flow.alignment_loss(model, y, n_t=3, reduction="none", generator=torch.Generator().manual_seed(0))
    mean = flow.alignment_loss(model, y, n_t=3, generator=torch.Generator().manual_seed(0))
    assert per_latent.shape == (5,)
    assert torch.allclose(per_latent.mean(), mean)
    with pytest.raises(ValueError, match="reduction"):
        flow.alignment_loss(model, y, reduction="sum")
    with pytest.raises(ValueError, match=r"\[B, d\]"):
        flow.alignment_loss(model, y[0])


def test_alignment_loss_is_zero_on_the_data_of_an_exact_point_mass_flow():
    # a flow onto the single point mu (s = 0): y = mu is perfectly consistent, so eq. 5 vanishes there
    mu = torch.tensor([0.7, -0.3], dtype=torch.float64)
    model = GaussianPathVelocity(mu, 0.0)
    assert flow.alignment_loss(model, mu[None].repeat(3, 1), n_t=8).item() < 1e-20
    assert flow.alignment_loss(model, mu[None] + 1.0, n_t=8).item() > 0.1


def test_empirical_velocity_is_the_posterior_mean_velocity():
    samples = torch.tensor([[1.0, 0.0], [-1.0, 0.5]], dtype=torch.float64)
    ideal = flow.EmpiricalVelocity(samples)
    x, t = torch.tensor([[0.3, -0.2]], dtype=torch.float64), torch.tensor([0.4], dtype=torch.float64)
    logw = -((x - t * samples) ** 2).sum(1) / (2 * (1 - t) ** 2)  # x_t | x1 ~ N(t x1, (1 - t)^2 I)
    expected = (torch.softmax(logw, 0) @ samples - x[0]) / (1 - t)
    torch.testing.assert_close(ideal(x, t)[0], expected)


def test_log_likelihood_of_a_frozen_model_has_no_side_effects():
    model = random_flow(width=8, dtype=torch.float32)
    model.train()
    y = torch.randn(4, 2)
    ll = ODESolver(frozen(model)).log_likelihood(y, steps=2)
    assert ll.shape == (4,) and torch.isfinite(ll).all() and not ll.requires_grad
    assert all(p.grad is None for p in model.parameters()) and model.training


def test_train_flow_then_align_latents_lowers_the_true_mog5_nll():
    torch.manual_seed(0)
    model = flow.VelocityMLP(2, width=32, blocks=2)
    data_g, noise_g = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    losses = toyflows.train_flow(model, lambda n: toy.sample("mog5", n, data_g), steps=300, batch_size=128, lr=2e-3,
                              generator=noise_g, progress=False)
    assert len(losses) == 300 and sum(losses[-50:]) < sum(losses[:50])
    model.eval()

    def true_nll(p):
        return -toy.log_prob("mog5", p).mean().item()

    y0 = torch.randn(300, 2, generator=torch.Generator().manual_seed(3))
    keep = y0.clone()
    y, history = toyflows.align_latents(model, y0, steps=150, lr=1e-2, n_t=2, track=true_nll, track_every=10,
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
    paper = toyflows.ToyConfig.for_tier("paper")  # App. C.1
    assert (paper.width, paper.blocks, paper.flow_steps, paper.flow_batch) == (512, 4, 100_000, 256)
    assert (paper.n_latents, paper.align_steps) == (1000, 5000)
    for tier in ("smoke", "cpu"):
        c = toyflows.ToyConfig.for_tier(tier)
        assert c.tier == tier and set(c.distributions) == set(toy.NAMES)
        steps = c.snapshot_steps()
        assert steps[0] == 0 and steps[-1] == c.align_steps and steps == sorted(set(steps))
    with pytest.raises(ValueError, match="smoke, cpu, paper"):
        toyflows.ToyConfig.for_tier("gpu")


def tiny_config(**kw):
    kw = {"max_flow_steps": 6, "kde_reference": 200, "support_check_samples": 50, "support_check_ode_steps": 4} | kw
    return toyflows.ToyConfig(tier="smoke", width=8, blocks=1, flow_steps=6, flow_batch=16, **kw)


def test_toy_flow_trains_once_into_its_run_directory_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path))
    config = tiny_config()
    rng = torch.get_rng_state()
    model, losses, checks = toyflows.toy_flow(config, "moons", seed=3, progress=False)
    assert torch.equal(torch.get_rng_state(), rng)  # seeded by named streams, the global RNG untouched
    path = toyflows.toy_flow_dir(config, "moons", 3) / "flow.pt"
    assert path.exists() and path.parent.is_relative_to(tmp_path) and len(losses) == config.flow_steps
    again, losses_again, checks_again = toyflows.toy_flow(config, "moons", seed=3, train_if_missing=False)
    assert losses_again == pytest.approx(losses) and checks_again == checks
    assert [c["steps"] for c in checks] == [6] and 0.0 <= checks[0]["on_support"] <= 1.0
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
    path.unlink()  # retrained from the same seed: the same flow
    retrained, _, _ = toyflows.toy_flow(config, "moons", seed=3, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), retrained.state_dict().values()))


def test_toy_flow_missing_at_paper_tier_says_how_to_train_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="python -m tvclab.toyflows train-toy --tier smoke --seed 0 --only mog5"):
        toyflows.toy_flow(tiny_config(), "mog5", seed=0, train_if_missing=False)


def test_train_toy_cli_writes_the_flow(tmp_path, monkeypatch, capsys):
    from tvclab.toyflows import main

    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path))
    assert main(["train-toy", "--tier", "smoke", "--only", "mog5", "--device", "cpu"]) == 0
    config = toyflows.ToyConfig.for_tier("smoke")
    assert (toyflows.toy_flow_dir(config, "mog5", 0) / "flow.pt").exists()
    assert "mog5:" in capsys.readouterr().out


def test_toy_flow_trains_in_chunks_until_the_support_check_passes_and_resumes(tmp_path, monkeypatch):
    """A flow is trained chunk by chunk until its own samples pass the support check (here: never, so up to
    max_flow_steps); a killed run resumes at its last finished chunk and ends where an uninterrupted one ends."""
    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path))
    config = tiny_config(max_flow_steps=18, flow_support_bar=1.01)  # an unreachable bar: every chunk runs
    model, losses, checks = toyflows.toy_flow(config, "mog5", seed=1, progress=False)
    assert len(losses) == 18 and [c["steps"] for c in checks] == [6, 12, 18]
    path = toyflows.toy_flow_dir(config, "mog5", 1) / "flow.pt"
    path.unlink()
    short = tiny_config(max_flow_steps=12, flow_support_bar=1.01)  # "killed" after two chunks
    toyflows.toy_flow(short, "mog5", seed=1, progress=False)
    resumed, losses2, checks2 = toyflows.toy_flow(config, "mog5", seed=1, progress=False)
    assert losses2 == pytest.approx(losses) and [c["steps"] for c in checks2] == [6, 12, 18]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), resumed.state_dict().values()))
    passing = tiny_config(max_flow_steps=18, flow_support_bar=0.0)  # passes at once: one chunk
    _, losses3, checks3 = toyflows.toy_flow(passing, "grid", seed=1, progress=False)
    assert len(losses3) == 6 and len(checks3) == 1


def test_toy_flow_second_writer_waits_for_the_first_then_loads(tmp_path, monkeypatch):
    """The toy-flow cache has one writer: while its directory is locked, a second caller waits, and once the
    holder is done it loads what the holder wrote instead of training again."""
    import threading
    import time

    from tvclab.locks import dir_lock

    monkeypatch.setenv("TVCLAB_RUNS", str(tmp_path))
    config = tiny_config()
    directory = toyflows.toy_flow_dir(config, "moons", 4)
    out = {}
    with dir_lock(directory, what="test holder", quiet=True):
        first = toyflows.toy_flow(config, "moons", seed=4, progress=False)  # re-entrant: the holder trains
        waiter = threading.Thread(target=lambda: out.setdefault("flow", toyflows.toy_flow(config, "moons", seed=4)))
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive()  # blocked on the lock
    waiter.join(timeout=30)
    assert not waiter.is_alive() and out["flow"][1] == pytest.approx(first[1])
