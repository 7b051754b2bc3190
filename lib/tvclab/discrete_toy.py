"""WGF-DPD against instance-wise ELBO matching on a categorical toy (paper W §4.1–4.7, Algorithm 1).

The toy has N data points x (uniform p_data), K codes, a fixed target prior p(z) over the codes, a learnable
decoder table p(x|z) (logits [K, N]) and an encoder given by per-x logits [N, K].

- **WGF-DPD** (Algorithm 1 in miniature): hard codes z_x = onehot(argmax softmax(logits_x / tau)) through
  ``prob_ste``; reconstruction -log p(x | z_x); prior matching through ``wgf_dpd_loss`` with the proxy
  q_psi (a learnable categorical over codes, trained by cross-entropy on the detached codes, so it tracks the
  aggregate posterior) and the fixed target p; one Adam step over encoder, decoder and proxy together.
- **Instance-wise ELBO matching** (§4.1): soft q(z|x) = softmax(logits_x), exact expected reconstruction plus
  ``weight * E_x KL(q(z|x) || p(z))``, the prior term of the (beta-)ELBO.

Both record KL(q(z) || p(z)) and I(X; Z) of the encoder every step (exact, float64, via ``tvclab.tvc``), each for
two readouts of the same logits: the hard codes (argmax) and the soft posterior, so that the two methods are
measured alike from the same start.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import tvc
from .losses import wgf_dpd_loss
from .quantize import prob_ste


@dataclass
class CategoricalToy:
    n_data: int = 64        # N points x, uniform p_data
    n_codes: int = 16       # K codes
    prior_decay: float = 0.25  # target p(z) proportional to exp(-decay * k): a skewed prior, like an AR's marginal
    weight: float = 3.0     # weight of the prior-matching term (both methods)
    tau: float = 1.0        # softmax temperature of prob_ste
    lr: float = 0.05
    steps: int = 1000
    init_scale: float = 2.0  # encoder logits ~ N(0, scale^2): confident codes, so both methods start informative
    seed: int = 0

    def target_prior(self) -> torch.Tensor:
        logits = -self.prior_decay * torch.arange(self.n_codes, dtype=torch.float64)
        return torch.softmax(logits, 0)

    def init(self):
        g = torch.Generator().manual_seed(self.seed)
        enc = self.init_scale * torch.randn(self.n_data, self.n_codes, generator=g, dtype=torch.float64)
        dec = torch.zeros(self.n_codes, self.n_data, dtype=torch.float64)
        return enc.requires_grad_(), dec.requires_grad_()


READOUTS = ("hard", "soft")  # the two readouts of one encoder (logits [N, K]) that both methods are measured on


def _record(hist: dict, logits: torch.Tensor, tau: float, p_z: np.ndarray) -> None:
    """KL(q(z) || p(z)) and I(X; Z) of the encoder ``logits`` read two ways, the same for both methods: ``hard``
    codes z_x = argmax (what a tokenizer emits; I = H(q(z)) since H(Z|X) = 0) and the ``soft`` posterior
    softmax(logits / tau). Both methods start from the same logits, so from the same values. Recorded before the
    first step and after every step (``steps + 1`` values; ``loss`` has one value per step)."""
    p_data = np.full(logits.shape[0], 1.0 / logits.shape[0])
    logits = logits.detach()
    tables = {"hard": F.one_hot(logits.argmax(1), logits.shape[1]).double().numpy(),
              "soft": torch.softmax(logits / tau, 1).numpy()}
    for readout, q_z_given_x in tables.items():
        hist[f"marginal_kl_{readout}"].append(float(tvc.kl(tvc.aggregate_posterior(p_data, q_z_given_x), p_z)))
        hist[f"mutual_information_{readout}"].append(tvc.mutual_information(p_data, q_z_given_x))


def _history() -> dict[str, list[float]]:
    return {f"{m}_{r}": [] for m in ("marginal_kl", "mutual_information") for r in READOUTS} | {"loss": []}


def run_wgf_dpd(cfg: CategoricalToy) -> dict[str, list[float]]:
    """Particle flow of hard codes toward p(z) by WGF-DPD. Returns per-step histories."""
    p = cfg.target_prior()
    log_p = torch.log(p)
    enc, dec = cfg.init()
    proxy = torch.zeros(cfg.n_codes, dtype=torch.float64, requires_grad=True)  # q_psi logits
    opt = torch.optim.Adam([enc, dec, proxy], lr=cfg.lr)
    x = torch.arange(cfg.n_data)
    hist = _history()
    _record(hist, enc, cfg.tau, p.numpy())
    for _ in range(cfg.steps):
        z = prob_ste(enc, cfg.tau)                          # paper W Alg. 1 line 2
        rec = -(z.onehot * F.log_softmax(dec, dim=1)[:, x].T).sum(1).mean()  # -log p(x | z_x), line 3
        log_q = F.log_softmax(proxy, 0).detach()            # line 4: proxy forward, no backprop
        prior = wgf_dpd_loss(z.onehot[None], log_q.expand_as(z.onehot)[None], log_p.expand_as(z.onehot)[None])
        proxy_ce = F.cross_entropy(proxy.expand(cfg.n_data, -1), z.index)  # line 7: proxy tracks q(z)
        loss = rec + cfg.weight * prior + proxy_ce
        opt.zero_grad()
        loss.backward()
        opt.step()                                          # line 8: one joint step
        hist["loss"].append(float((rec + cfg.weight * prior).detach()))
        _record(hist, enc, cfg.tau, p.numpy())
    return hist


def run_instance_elbo(cfg: CategoricalToy) -> dict[str, list[float]]:
    """Instance-wise prior matching: reconstruction + weight * E_x KL(q(z|x) || p(z)) (paper W §4.1)."""
    p = cfg.target_prior()
    enc, dec = cfg.init()
    opt = torch.optim.Adam([enc, dec], lr=cfg.lr)
    x = torch.arange(cfg.n_data)
    hist = _history()
    _record(hist, enc, cfg.tau, p.numpy())
    for _ in range(cfg.steps):
        q = torch.softmax(enc / cfg.tau, 1)  # the same encoder family as WGF-DPD's prob_ste
        rec = -(q * F.log_softmax(dec, dim=1)[:, x].T).sum(1).mean()  # E_{q(z|x)} -log p(x|z)
        inst_kl = (q * (torch.log(q) - torch.log(p))).sum(1).mean()
        loss = rec + cfg.weight * inst_kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist["loss"].append(float(loss.detach()))
        _record(hist, enc, cfg.tau, p.numpy())
    return hist


def run_two_stage(p_data: np.ndarray, q_z_given_x: np.ndarray, steps: tuple[int, int] = (300, 300),
                  lr: float = 0.1, seed: int = 0) -> dict[str, list[float]]:
    """Two-stage training as an instance of TVC (paper W App. D.4), by gradient descent on exact tables.

    The encoder q(z|x) is given and fixed. Stage 1 fits the decoder table p(x|z) by maximising
    E_{q(x,z)} log p(x|z) (its optimum is Likelihood Consistency p(x|z) = q(x|z)); stage 2 freezes it and fits
    the prior table p(z) by maximising E_{q(z)} log p(z), i.e. minimising KL(q(z) || p(z)) (Prior Consistency).
    Records, every step, the likelihood gap E_{q(z)} KL(q(x|z) || p(x|z)), the prior gap KL(q(z) || p(z)), the
    posterior gap E_x KL(q(z|x) || p(z|x)) and KL(p_data || p_theta).
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    q_joint = torch.as_tensor(tvc.data_joint(p_data, q_z_given_x))          # [X, Z]
    q_z_np, q_x_given_z = tvc.consistent_model(p_data, q_z_given_x)
    g = torch.Generator().manual_seed(seed)
    n_x, n_z = q_joint.shape
    dec = torch.randn(n_z, n_x, generator=g, dtype=torch.float64).requires_grad_()
    prior = torch.randn(n_z, generator=g, dtype=torch.float64).requires_grad_()
    hist = {k: [] for k in ("stage", "likelihood_gap", "prior_gap", "posterior_gap", "data_kl")}
    for stage, (param, n) in enumerate(((dec, steps[0]), (prior, steps[1])), start=1):
        opt = torch.optim.Adam([param], lr=lr)
        for _ in range(n):
            if stage == 1:
                loss = -(q_joint * F.log_softmax(dec, 1).T).sum()          # -E_q log p(x|z)
            else:
                loss = -(q_joint.sum(0) * F.log_softmax(prior, 0)).sum()   # -E_q(z) log p(z)
            opt.zero_grad()
            loss.backward()
            opt.step()
            p_z = torch.softmax(prior, 0).detach().numpy()
            p_x_given_z = torch.softmax(dec, 1).detach().numpy()
            hist["stage"].append(stage)
            hist["likelihood_gap"].append(float(np.sum(q_z_np * tvc.kl(q_x_given_z, p_x_given_z))))
            hist["prior_gap"].append(float(tvc.kl(q_z_np, p_z)))
            hist["posterior_gap"].append(float(np.sum(p_data * tvc.kl(q_z_given_x, tvc.model_posterior(p_z, p_x_given_z)))))
            hist["data_kl"].append(float(tvc.kl(p_data, tvc.model_marginal(p_z, p_x_given_z))))
    return hist
