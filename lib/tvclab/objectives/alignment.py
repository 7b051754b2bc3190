"""Paper F's alignment of continuous latents to a frozen flow prior (§4, eq. 5; §5.2 "token-level alignment").

Each token latent z_i in R^d (``quantizer.kind = "none"``) is one point y of eq. 5: the objective adds
``align.weight * alignment_loss(flow, z.flatten(0, 1))`` with each latent repeated ``align.n_t`` times (authors'
code: 4). The flow is the frozen prior of ``tvclab.flowprior`` (trained on the target features first, by
``tvclab.train.targets``, then
``requires_grad_(False)``): the gradient reaches the encoder through the target (y - x0) and through x_t, the flow
gets none, as the WGF target prior of paper W gets none.

The path noise x0 and times t are drawn for the *global* batch from the "align" stream ([B, n_t, n, d] and
[B, n_t, n], sliced per rank by ``Stage1Model.draw``), so 1 and 2 processes and a resumed run agree.

Validation (``evaluate``, logged to metrics.jsonl at every evaluation step, read by notebook 03's Fig. 4): the
alignment loss of the held-out latents with fixed draws ("align_eval" stream), and their kNN NLL proxy d log r_k
(F §5.2) against the flow's target samples, over at most ``align.eval_latents`` held-out token latents.

Its config section, field rules, presets and cross-paper row: ``tvclab.methods.alignment`` (``MethodSpec``).
"""
from __future__ import annotations

import math

import torch

from tvclab.configs import Config
from tvclab.flow import alignment_loss, flat_token_draws, token_path_noise

from .base import Objective, register, service


@register
class FlowAlignment(Objective):
    name = "align"
    section = "align"
    streams = ("align", "align_eval")

    @staticmethod
    def enabled(cfg: Config) -> bool:
        return cfg.align.weight > 0

    @classmethod
    def prepare(cls, ctx) -> None:
        """The flow prior first (F §4.2: it is trained, then frozen): one process trains it, the others wait and
        read it (the run machinery's "flow_prior" service, ``tvclab.train.targets.ensure_flow_prior``)."""
        service("flow_prior")(ctx.cfg, progress=ctx.dist.master)

    def __init__(self, cfg: Config, tok):
        super().__init__(cfg, tok)
        from tvclab.flowprior import load_flow_prior

        prior = load_flow_prior(cfg)  # trained before stage 1 builds its model (tvclab.train.targets)
        self.flow = prior.velocity.requires_grad_(False)   # frozen: the optimiser never sees it
        self.projection = prior.projection                  # buffers only, kept with the run's state
        self.targets = prior.samples                        # CPU, not a buffer: DDP need not broadcast it
        self.n_tokens, self.dim = tok.n_tokens, cfg.quantizer.code_dim
        self._index = None

    def draw(self, batch: int, step: int) -> dict[str, torch.Tensor]:
        x0, t = token_path_noise(batch, self.cfg.align.n_t, self.n_tokens, self.dim, self.stream("align", step))
        return {"x0": x0, "t": t}

    def forward(self, x, enc, rnd, tok):
        y = enc.visual.z.flatten(0, 1)                      # token-level (F §5.2): [b n, d]
        x0, t = flat_token_draws(rnd["x0"].to(y.dtype), rnd["t"].to(y.dtype))
        loss = alignment_loss(self.flow, y, n_t=self.cfg.align.n_t, x0=x0, t=t)
        return {"align": loss.detach(), "loss": self.cfg.align.weight * loss}

    def index(self):
        if self._index is None:
            from tvclab.metrics import KNNIndex

            self._index = KNNIndex(self.targets)
        return self._index

    @torch.no_grad()
    def evaluate(self, enc, tok) -> dict[str, float]:
        """Alignment loss (fixed draws) and kNN NLL d log r_k (F §5.2) of held-out token latents."""
        a, ev = self.cfg.align, self.cfg.evaluation
        y = enc.visual.z.flatten(0, 1)
        g = self.stream("align_eval", 0)
        x0 = torch.randn(a.n_t * len(y), self.dim, generator=g).to(y)
        t = torch.rand(a.n_t * len(y), generator=g).to(y)
        share = min(1.0, a.eval_latents / (ev.code_eval_images * self.n_tokens))
        m = max(1, math.ceil(share * len(y)))               # the same share of every chunk's latents
        return {"align_eval": float(alignment_loss(self.flow, y, n_t=a.n_t, x0=x0, t=t)),
                "knn_nll": float(self.index().nll(y[:m].cpu(), a.knn_k).mean())}
