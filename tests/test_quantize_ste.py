"""prob_ste (paper W §4.5 / F.1, paper P §2.2) and wgf_dpd_loss (paper W eq. 4, Algorithm 1)."""
import pytest
import torch

from tvclab.losses import wgf_dpd_loss
from tvclab.quantize import prob_ste


@pytest.mark.parametrize("tau", [1.0, 0.1, 3.0])
def test_prob_ste_forward_is_hard_onehot(tau):
    logits = torch.randn(4, 5, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = prob_ste(logits, tau)
    assert torch.equal(out.index, logits.argmax(-1))
    assert torch.allclose(out.onehot, torch.nn.functional.one_hot(out.index, 7).double(), atol=1e-12)
    assert torch.allclose(out.probs, torch.softmax(logits / tau, -1), atol=1e-12)


@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_prob_ste_backward_equals_softmax_backward(tau):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 6, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(3, 6, generator=g, dtype=torch.float64)
    (prob_ste(logits, tau).onehot * upstream).sum().backward()
    grad_ste = logits.grad.clone()
    logits.grad = None
    (torch.softmax(logits / tau, -1) * upstream).sum().backward()
    assert torch.allclose(grad_ste, logits.grad, atol=1e-12)


def test_prob_ste_rejects_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        prob_ste(torch.zeros(2, 3), 0.0)


def test_wgf_dpd_loss_gradient():
    g = torch.Generator().manual_seed(2)
    b, n, k = 3, 4, 5
    probs = torch.softmax(torch.randn(b, n, k, generator=g, dtype=torch.float64), -1).requires_grad_()
    log_q = torch.log_softmax(torch.randn(b, n, k, generator=g, dtype=torch.float64), -1).requires_grad_()
    log_p = torch.log_softmax(torch.randn(b, n, k, generator=g, dtype=torch.float64), -1).requires_grad_()
    loss = wgf_dpd_loss(probs, log_q, log_p)
    loss.backward()
    assert torch.allclose(probs.grad, (log_q - log_p).detach() / (b * n), atol=1e-12)
    assert log_q.grad is None and log_p.grad is None  # no gradient into either AR (paper W §4.5)


def test_wgf_dpd_loss_value_is_surrogate_on_hard_codes():
    """Fed prob_ste's one-hot, the value is the mean of log q(z_t) - log p(z_t) over chosen tokens (§4.7)."""
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    log_q = torch.log_softmax(torch.randn(2, 3, 4, generator=g, dtype=torch.float64), -1)
    log_p = torch.log_softmax(torch.randn(2, 3, 4, generator=g, dtype=torch.float64), -1)
    z = prob_ste(logits)
    chosen = (log_q - log_p).gather(-1, z.index[..., None]).mean()
    assert wgf_dpd_loss(z.onehot, log_q, log_p).item() == pytest.approx(chosen.item(), abs=1e-12)


def test_wgf_dpd_loss_shape_errors():
    with pytest.raises(ValueError, match="log_q"):
        wgf_dpd_loss(torch.zeros(2, 3, 4), torch.zeros(2, 3, 5), torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"\[B, n, K\]"):
        wgf_dpd_loss(torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, 4))
