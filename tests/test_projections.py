"""tvclab.projections: paper F's fixed projections of target features (§4.2, Table 2(b)(a))."""
import pytest
import torch

from tvclab.fit import build_optimizer
from tvclab.configs import OptimConfig
from tvclab.projections import KINDS, make_projection


def _features(n=2000, dim=64, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind", KINDS)
def test_projection_has_no_parameter_and_survives_an_adamw_step(kind):
    proj = make_projection(kind, 64, 16, features=_features(), generator=torch.Generator().manual_seed(1))
    assert list(proj.parameters()) == [] and {n for n, _ in proj.named_buffers()} == {"matrix", "offset"}
    model = torch.nn.ModuleDict({"enc": torch.nn.Linear(64, 64), "proj": proj})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = build_optimizer(model.parameters(), OptimConfig(lr=1e-2, weight_decay=0.1))
    loss = model["proj"](model["enc"](_features(32))).pow(2).mean()
    loss.backward()
    opt.step()
    after = model.state_dict()
    assert torch.equal(after["proj.matrix"], before["proj.matrix"])
    assert torch.equal(after["proj.offset"], before["proj.offset"])
    assert not torch.equal(after["enc.weight"], before["enc.weight"])  # the step did happen
    clone = make_projection(kind, 64, 16, features=_features(seed=5), generator=torch.Generator().manual_seed(9))
    clone.load_state_dict(proj.state_dict())  # saved and restored with the module
    x = _features(8, seed=3)
    assert torch.equal(clone(x), proj(x))


def test_random_projection_keeps_unit_variance_and_pairwise_distances():
    D, d = 512, 128
    proj = make_projection("random", D, d, generator=torch.Generator().manual_seed(0))
    y = proj(_features(20000, D))
    var = y.var(0)
    # F §4.2: N(0, 1/D) keeps unit variance: component j's is sum_i W_ij^2, mean 1 and std sqrt(2 / D) over W
    assert abs(float(var.mean()) - 1) < 0.03 and (var - 1).abs().max() < 4 * (2 / D) ** 0.5
    x = _features(40, D, seed=1)
    dx, dy = torch.pdist(x), torch.pdist(proj(x))
    ratio = dy / (dx * (d / D) ** 0.5)  # distances up to the common factor sqrt(d / D) (Johnson-Lindenstrauss)
    assert (ratio - 1).abs().max() < 0.3, float((ratio - 1).abs().max())


def test_avgpool_averages_runs_of_features():
    proj = make_projection("avgpool", 6, 2)
    x = torch.tensor([[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]])
    assert torch.allclose(proj(x), torch.tensor([[2.0, 20.0]]), atol=1e-6)
    with pytest.raises(ValueError, match="multiple of the latent width"):
        make_projection("avgpool", 7, 2)


def test_pca_projection_finds_the_principal_axes():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    scales = torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1, 0.05, 0.01], dtype=torch.float64)
    x = (torch.randn(20000, 8, generator=g, dtype=torch.float64) * scales) @ q.t() + 7.0
    proj = make_projection("pca", 8, 2, features=x.float())
    y = proj(x.float()).double()
    assert y.mean(0).abs().max() < 1e-3  # centred on the sample mean
    assert torch.allclose(y.var(0), scales[:2] ** 2, rtol=0.05)  # the two largest variances, in order
    # its directions span the two leading axes
    assert torch.allclose((q[:, :2].t() @ proj.matrix.double()).abs().sum(0), torch.ones(2, dtype=torch.float64),
                          atol=0.02)


def test_bad_input_names_the_fix():
    with pytest.raises(ValueError, match="random, avgpool, pca"):
        make_projection("svd", 4, 2)
    with pytest.raises(ValueError, match="needs a sample of target features"):
        make_projection("pca", 4, 2)
    with pytest.raises(ValueError, match="takes features of width 4"):
        make_projection("random", 4, 2)(torch.zeros(3, 5))
