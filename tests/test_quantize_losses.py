"""Quantisers and the losses added for training: L2-VQ, the prologue Prob-STE codebook, the Gaussian head, the
reconstruction / flow-matching losses with the LPIPS fallback, and WGF-DPD's gradient routing (paper W §4.5,
Algorithm 1) checked against a hand computation."""
import pytest
import torch
import torch.nn.functional as F

from tvclab import configs, losses, memo
from tvclab.flow import PATH
from tvclab.losses import reconstruction_loss, wgf_dpd_loss
from tvclab.quantize import GaussianLatent, ProbSTEQuantizer, VectorQuantizer, prob_ste
from tvclab.fit import build_optimizer
from tvclab.train.stage1 import Stage1Model

from conftest import assert_f32_close


def test_vq_is_nearest_unit_code_with_straight_through():
    torch.manual_seed(0)
    vq = VectorQuantizer(16, 5)
    u = torch.randn(2, 3, 5, requires_grad=True)
    q = vq(u)
    ste = prob_ste(vq.distance_logits(q.latent), 0.5)
    codes = vq.codes()
    assert torch.allclose(codes.norm(dim=-1), torch.ones(16))
    un = F.normalize(u, dim=-1)
    dist = ((un[..., None, :] - codes) ** 2).sum(-1)                      # ||u - c_k||^2 on the sphere
    assert torch.equal(q.index, dist.argmin(-1))
    # ||u||^2 - 2 u.c + ||c||^2 (or 2 - 2 cos) against the sum of squared differences: 5-dim sums and a normalisation
    assert_f32_close(vq.distance_logits(u), -dist, ops=4 * 5)
    assert torch.allclose(q.z, codes[q.index], atol=1e-6)
    assert torch.equal(ste.index, q.index)  # the prob-STE code of WGF-DPD is the nearest code
    assert torch.allclose(ste.probs, F.softmax(-dist / 0.5, -1), atol=1e-5)
    assert torch.allclose(ste.onehot.detach(), F.one_hot(q.index, 16).float(), atol=1e-6)
    # straight-through: dz/du equals d(normalize(u))/du
    g = torch.randn_like(q.z)
    (gz,) = torch.autograd.grad(q.z, u, g, retain_graph=True)
    (gn,) = torch.autograd.grad(F.normalize(u, dim=-1), u, g)
    assert torch.allclose(gz, gn, atol=1e-6)
    expected = 0.25 * F.mse_loss(un, codes[q.index]) + F.mse_loss(codes[q.index], un)
    assert torch.allclose(q.loss, expected)


def test_prologue_quantizer_routes_gradient_through_probabilities():
    torch.manual_seed(0)
    pq = ProbSTEQuantizer(10, 4, tau=0.1)
    u = torch.randn(2, 3, 4, requires_grad=True)
    q = pq(u)
    cos = F.normalize(u, dim=-1) @ pq.codes().t()
    assert torch.equal(q.index, cos.argmax(-1))
    assert torch.allclose(q.probs, F.softmax(cos / 0.1, -1), atol=1e-6)
    assert torch.allclose(q.z, pq.codes()[q.index], atol=1e-6)
    q.z.sum().backward()
    assert u.grad is not None and u.grad.abs().sum() > 0


def test_gaussian_latent_kl():
    g = GaussianLatent(3, kl=True)
    mean, logvar = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    q = g(torch.cat([mean, logvar], -1), eps=torch.zeros(2, 4, 3))
    assert torch.allclose(q.z, mean)
    assert torch.allclose(q.loss, 0.5 * (mean**2 + logvar.exp() - 1 - logvar).mean())
    assert GaussianLatent(3)(mean).loss == 0


def test_lpips_term_is_dropped_with_one_notice(monkeypatch, capsys):
    from tvclab import metrics

    def unavailable(a, b):
        raise metrics.LPIPSUnavailableError("no vgg16 weights here")

    memo.clear("lpips_loss")
    monkeypatch.setattr(metrics, "lpips_distance", unavailable, raising=False)
    x, y = torch.zeros(2, 1, 8, 8), torch.ones(2, 1, 8, 8) * 0.5
    total, parts = reconstruction_loss(y, x, l1=0.1, l2=1.0, lpips=0.1)
    reconstruction_loss(y, x)
    assert "lpips" not in parts and torch.allclose(total, torch.tensor(0.1 * 0.5 + 0.25))
    assert capsys.readouterr().out.count("LPIPS term dropped") == 1

    memo.clear("lpips_loss")
    monkeypatch.setattr(metrics, "lpips_distance", lambda a, b: torch.full((a.shape[0],), 2.0), raising=False)
    total, parts = reconstruction_loss(y, x, l1=0.1, l2=1.0, lpips=0.1)
    assert torch.allclose(total, torch.tensor(0.05 + 0.25 + 0.2)) and parts["lpips"] == 2.0


def test_flow_matching_decoder_objective_recovers_data_from_the_exact_velocity(monkeypatch):
    """W F.1: LPIPS is taken on the data predicted from v; with the path's exact velocity the prediction is x."""
    from tvclab.objectives.reconstruction import FlowMatchingReconstruction

    cfg = configs.apply_overrides(configs.get("fm_decoder", "smoke"), ["reconstruction.lpips_weight=0"])
    model = Stage1Model(cfg, channels=1)
    obj = model.objectives["reconstruction"]
    assert isinstance(obj, FlowMatchingReconstruction)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    rnd = obj.draw(2, 0)
    from tvclab.models import patchify

    s = PATH.sample(rnd["x0"], patchify(x, 7), rnd["t"])
    model.tokenizer.decoder.forward = lambda z, keep, x_t, t: s.dx_t  # an oracle decoder
    out = obj(x, model.tokenizer.encode(x), rnd, model.tokenizer)
    assert out["fm"] == 0 and out["l2"] < 1e-10


def _wgf_hand_gradient(x, W, b, vq, s, weight):
    """d/dW of weight * sum_k softmax(l/tau)_k s_k / (B n), l_k = -||u_hat - c_k||^2, u = x W^T + b, by hand."""
    B, n, _ = x.shape
    u = x @ W.t() + b
    norm = u.norm(dim=-1, keepdim=True)
    uh = u / norm
    c = vq.codes().detach()
    h = F.softmax((2 * uh @ c.t() - 2) / vq.tau, -1)
    g = weight * s / (B * n)                                 # dL/dh: the particle gradient log Q - log P (eq. 4)
    dl = h * (g - (h * g).sum(-1, keepdim=True)) / vq.tau    # through the softmax (STE: dz/dh = I)
    duh = 2 * dl @ c                                         # dl_k/du_hat = 2 c_k
    du = (duh - (duh * uh).sum(-1, keepdim=True) * uh) / norm  # through the L2 normalisation
    return torch.einsum("bnd,bni->di", du, x)


def test_wgf_dpd_encoder_gradient_is_reconstruction_plus_ste_term():
    """W Algorithm 1 lines 5-6: the encoder gradient equals the reconstruction(+commitment) gradient plus the
    STE-routed log Q - log P term, computed here by hand for a linear encoder."""
    torch.manual_seed(0)
    B, n, din, d, K, weight = 3, 4, 6, 5, 7, 0.7
    enc = torch.nn.Linear(din, d)
    dec = torch.nn.Linear(d, din)
    vq = VectorQuantizer(K, d)
    vq.tau = 0.5  # the WGF prob-STE temperature (quantizer.prob_tau), read by _wgf_hand_gradient
    x = torch.randn(B, n, din)
    log_q = F.log_softmax(torch.randn(B, n, K), -1)
    log_p = F.log_softmax(torch.randn(B, n, K), -1)

    def grads(with_wgf):
        enc.zero_grad()
        q = vq(enc(x))
        loss = F.mse_loss(dec(q.z), x) + q.loss
        if with_wgf:
            probs = vq.soft_codes(q.latent, vq.tau).probs
            loss = loss + weight * wgf_dpd_loss(probs, log_q, log_p)
        loss.backward()
        return enc.weight.grad.clone()

    full, rec = grads(True), grads(False)
    hand = _wgf_hand_gradient(x, enc.weight.detach(), enc.bias.detach(), vq, log_q - log_p, weight)
    assert hand.abs().max() > 1e-4
    assert torch.allclose(full, rec + hand, atol=1e-6, rtol=1e-4)


def test_target_gets_no_gradient_nor_optimizer_state_and_proxy_learns_only_ce():
    cfg = configs.apply_overrides(configs.get("wartok", "smoke"), ["reconstruction.lpips_weight=0"])
    torch.manual_seed(0)
    model = Stage1Model(cfg, channels=1)
    wgf = model.objectives["wgf"]
    opt = build_optimizer(model.parameters(), cfg.optim)
    target_ids = {id(p) for p in wgf.target.parameters()}
    assert all(not p.requires_grad for p in wgf.target.parameters())
    assert not any(id(p) in target_ids for g in opt.param_groups for p in g["params"])
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    out = model(x, {})
    out["loss"].backward()
    assert all(p.grad is None for p in wgf.target.parameters())
    # the proxy's gradient is exactly that of its cross-entropy on the detached tokens (Algorithm 1 line 7)
    g_total = [p.grad.clone() for p in wgf.proxy.parameters()]
    model.zero_grad()
    model(x, {})["proxy_ce"].backward()
    for a, p in zip(g_total, wgf.proxy.parameters()):
        assert torch.allclose(a, p.grad, atol=1e-7)
    opt.step()
    assert not any(id(p) in target_ids for p in opt.state)
    # and the WGF term builds no graph through either AR
    out = model(x, {})
    enc_params = list(model.tokenizer.parameters())
    grads = torch.autograd.grad(out["wgf"], enc_params + list(wgf.proxy.parameters()), allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in grads[len(enc_params):])
    assert any(g is not None and g.abs().sum() > 0 for g in grads[: len(enc_params)])


def test_wgf_surrogate_on_hard_tokens_is_mean_log_ratio():
    """W §4.7: on the one-hot tokens the loss value is the per-token mean of log q - log p at the chosen ids."""
    log_q = F.log_softmax(torch.randn(2, 3, 5), -1)
    log_p = F.log_softmax(torch.randn(2, 3, 5), -1)
    idx = torch.randint(0, 5, (2, 3))
    hard = F.one_hot(idx, 5).float()
    ref = (log_q.gather(-1, idx[..., None]) - log_p.gather(-1, idx[..., None])).mean()
    assert torch.allclose(wgf_dpd_loss(hard, log_q, log_p), ref)
    with pytest.raises(ValueError):
        wgf_dpd_loss(hard[0], log_q, log_p)


def test_prologue_ce_reaches_prologue_tokens_only():
    """Paper P §2: Prob-STE routes the joint AR's CE to the prologue tokens; the visual tokens get none directly."""
    cfg = configs.apply_overrides(configs.get("baseline_2d", "smoke"), ["prologue.n=3", "prologue.codebook_size=8",
                                                                        "reconstruction.lpips_weight=0"])
    torch.manual_seed(0)
    model = Stage1Model(cfg, channels=1)
    out = model(torch.rand(4, 1, 28, 28) * 2 - 1, {"prologue": {"vis_drop": torch.tensor([True, False, True, False])}})
    tok = model.tokenizer
    g_vis, g_pro, g_cb = torch.autograd.grad(out["prologue_ce"], [tok.to_code.weight, tok.to_prologue.weight,
                                                                  tok.quantizer.codebook], allow_unused=True)
    assert g_vis is None or g_vis.abs().sum() == 0
    assert g_cb is None or g_cb.abs().sum() == 0
    assert g_pro.abs().sum() > 0
    g_dec = torch.autograd.grad(out["prologue_ce"], list(tok.decoder.parameters()), allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in g_dec)  # prologue tokens never reach the decoder


def test_visual_routing_sends_the_ar_loss_into_the_visual_tokens():
    """P Fig. 5's baselines (prologue.routing=visual): the joint AR's CE reaches to_code and the visual codebook
    through the VQ's Prob-STE; never the decoder; the AR keeps its own AdamW group (authors' code)."""
    cfg = configs.apply_overrides(configs.get("baseline_2d", "smoke"), ["prologue.routing=visual",
                                                                        "prologue.ar_weight=0.5",
                                                                        "reconstruction.lpips_weight=0"])
    torch.manual_seed(0)
    model = Stage1Model(cfg, channels=1)
    assert set(model.objectives) == {"reconstruction", "quantizer", "prologue"}
    out = model(torch.rand(4, 1, 28, 28) * 2 - 1, model.draw(4, step=0))
    tok = model.tokenizer
    dec = [p for p in tok.decoder.parameters()]
    g_code, g_cb, *g_dec = torch.autograd.grad(out["prologue_ce"], [tok.to_code.weight, tok.quantizer.codebook, *dec],
                                               allow_unused=True)
    assert g_code.abs().sum() > 0 and g_cb.abs().sum() > 0
    assert all(g is None or g.abs().sum() == 0 for g in g_dec)
    groups = build_optimizer(model.param_groups(), cfg.optim).param_groups
    joint = {id(p) for p in model.objectives["prologue"].parameters()}
    for g in groups:
        ids = {id(p) for p in g["params"]}
        assert ids <= joint or not ids & joint
        if ids and ids <= joint:
            assert g["betas"] == (0.9, 0.99) and g["weight_decay"] in (0.03, 0.0)
        elif ids:
            assert g["betas"] == (cfg.optim.beta1, cfg.optim.beta2)
    with pytest.raises(configs.ConfigError, match="prologue.n=0"):
        configs.apply_overrides(cfg, ["prologue.n=2"])
