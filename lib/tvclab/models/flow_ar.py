"""Causal transformer with a per-token flow head over continuous tokens: the stage-2 generator of paper F's
autoencoders (paper F App. C.4: MAR-B whose diffusion head is replaced by a flow head of AdaLN MLP layers, sampled
with Euler steps). The suite's version is causal (one token at a time, no masked-order generation) so it shares
the layout, the key/value-cache sampling and the stage-2 machinery of ``ARPrior``.

Sequence layout (as ``ARPrior``): input [s, z_1, ..., z_{n-1}] -> conditions [h_1, ..., h_n], so h_i depends on
z_<i only; ``s`` is a learned BOS vector or the class embedding (``num_classes`` > 0; class id ``num_classes`` is
the null class of classifier-free guidance). Token z_i is modelled by the flow head ``VelocityMLP(x, t, h_i)``
trained by flow matching on ``tvclab.flow.PATH`` (t = 0 noise, t = 1 data), each token repeated ``n_t`` times
with its own (x0, t) (MAR's diffusion batch multiplier, 4), and drawn by Euler integration from t = 0 to 1.

``scale`` (a buffer, saved with the model): latents are multiplied by it before modelling and divided by it after
sampling (paper F App. C.4: "input normalization with scaling factor ... estimated from sample batches", MAR's VAE
scaling factor; stage 2 sets it to 1 / std of the training latents). Every method takes and returns latents in
the tokenizer's units.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tvclab.configs import ARConfig, FlowHeadConfig
from tvclab.flow import ODESolver, VelocityMLP, flat_token_draws, flow_matching_loss, token_path_noise

from .ar import StartTokens
from .blocks import KVCache, Transformer, init_weights


class FlowARPrior(StartTokens, nn.Module):
    def __init__(self, *, token_dim: int, n_tokens: int, width: int = 128, depth: int = 2, heads: int = 4,
                 mlp_ratio: float = 4.0, num_classes: int = 0, head_width: int = 256, head_blocks: int = 3,
                 n_t: int = 4, sample_steps: int = 25, dropout: float = 0.0):
        super().__init__()
        if n_t < 1 or sample_steps < 1:
            raise ValueError(f"FlowARPrior: n_t and sample_steps must be >= 1, got {n_t}, {sample_steps}")
        self.token_dim, self.n_tokens, self.num_classes = token_dim, n_tokens, num_classes
        self.n_t, self.sample_steps = n_t, sample_steps
        self.tok_in = nn.Linear(token_dim, width)
        self._add_start(width, n_tokens, num_classes)
        self.drop = nn.Dropout(dropout)
        self.transformer = Transformer(width, depth, heads, mlp_ratio, causal=True)  # initialises itself
        # paper F App. C.4: the flow head, AdaLN-conditioned on h_i (keeps its own adaLN-Zero initialisation)
        self.head = VelocityMLP(token_dim, head_width, head_blocks, cond_dim=width)
        self.register_buffer("scale", torch.ones(()))
        init_weights(self.tok_in)
        if num_classes:
            init_weights(self.cls_emb)
        for p in (self.pos, getattr(self, "bos", None)):
            if p is not None:
                nn.init.normal_(p, 0.0, 0.02)

    @classmethod
    def from_config(cls, ar_cfg: ARConfig, head_cfg: FlowHeadConfig, token_dim: int, n_tokens: int,
                    num_classes: int = 0) -> "FlowARPrior":
        """Transformer shape from ``ar_cfg`` (``stage2.ar``), flow head from ``head_cfg`` (``stage2.flow_head``)."""
        return cls(token_dim=token_dim, n_tokens=n_tokens, width=ar_cfg.width, depth=ar_cfg.depth,
                   heads=ar_cfg.heads, mlp_ratio=ar_cfg.mlp_ratio, num_classes=num_classes,
                   head_width=head_cfg.width, head_blocks=head_cfg.blocks, n_t=head_cfg.n_t,
                   sample_steps=head_cfg.sample_steps, dropout=ar_cfg.dropout)

    def _check(self, z: torch.Tensor) -> None:
        if z.dim() != 3 or z.shape[1:] != (self.n_tokens, self.token_dim):
            raise ValueError(f"FlowARPrior: latents must be [B, {self.n_tokens}, {self.token_dim}] (the tokenizer's "
                             f"enc.visual.z), got shape {tuple(z.shape)}")

    def conditions(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The flow head's conditions h [B, n, width] for latents ``z`` [B, n, d]: h_i depends on z_<i only."""
        self._check(z)
        e = self.tok_in(z * self.scale)
        b, n = e.shape[:2]
        x = torch.cat([self._start(b, labels, e.device), e[:, : n - 1]], dim=1) + self.pos[:, :n]
        return self.transformer(self.drop(x))

    def draw_path_noise(self, batch: int, generator: torch.Generator | None = None):
        """x0 [batch, n_t, n, d] and t [batch, n_t, n] for this model's tokens (``flow.token_path_noise``)."""
        return token_path_noise(batch, self.n_t, self.n_tokens, self.token_dim, generator)

    flat_path_noise = staticmethod(flat_token_draws)  # -> ``loss``'s layout (``flow.flat_token_draws``)

    def loss(self, z: torch.Tensor, labels: torch.Tensor | None = None, x0: torch.Tensor | None = None,
             t: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-token flow-matching loss (paper F App. C.4 with eq. 3), per-coordinate MSE: every (scaled) token
        z_i repeated ``n_t`` times, regressed by the head conditioned on h_i. ``x0`` [n_t B n, d] and ``t``
        [n_t B n] in ``flat_path_noise``'s layout (stage 2 draws them for the global batch); drawn from
        ``generator`` when not given."""
        self._check(z)
        b = z.shape[0]
        if x0 is None or t is None:
            x0, t = self.flat_path_noise(*self.draw_path_noise(b, generator))
        h = self.conditions(z, labels).flatten(0, 1).repeat(self.n_t, 1)  # [n_t B n, width]
        x1 = (z * self.scale).flatten(0, 1).repeat(self.n_t, 1)            # [n_t B n, d]
        x0, t = x0.to(x1), t.to(x1)
        return flow_matching_loss(lambda x, s: self.head(x, s, h), x1, x0, t)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, x0: torch.Tensor | None = None,
                t: torch.Tensor | None = None) -> torch.Tensor:
        """The training loss (``loss``), as ``forward`` so that DDP and ``compile`` see it."""
        return self.loss(z, labels, x0, t)

    @torch.no_grad()
    def sample(self, batch: int, labels: torch.Tensor | None = None, cfg_scale: float = 1.0,
               steps: int | None = None, generator: torch.Generator | None = None, temperature: float = 1.0,
               return_conditions: bool = False):
        """Draw ``batch`` latent sequences [batch, n, d] (tokenizer units) token by token with a key/value cache;
        token i by ``steps`` Euler steps (default ``sample_steps``; paper F App. C.4: 100) of the head conditioned
        on h_i, from x0 ~ N(0, temperature^2 I) drawn on the CPU from ``generator``. ``cfg_scale`` != 1:
        classifier-free guidance v = v_u + s (v_c - v_u) with the null class (needs ``labels``).
        ``return_conditions``: also the conditional h [batch, n, width] the head read."""
        if isinstance(cfg_scale, (list, tuple)) or isinstance(temperature, (list, tuple)):
            raise ValueError("FlowARPrior.sample: cfg_scale and temperature are single numbers (one token group)")
        steps = steps or self.sample_steps
        guided = cfg_scale != 1.0
        if guided and (labels is None or not self.num_classes):
            raise ValueError("classifier-free guidance needs a class-conditional model and labels")
        was_training = self.training
        self.eval()
        device, dtype = self.pos.device, self.pos.dtype
        x = self._start(batch, labels, device)
        if guided:
            x = torch.cat([x, self._start(batch, None, device)], dim=0)
        x = x + self.pos[:, :1]
        caches = [KVCache() for _ in self.transformer.blocks]
        out = torch.empty(batch, self.n_tokens, self.token_dim, dtype=dtype, device=device)
        conds = []
        for i in range(self.n_tokens):
            h = self.transformer(x, caches=caches)[:, -1]  # [batch (x2 guided), width]
            if guided:
                def velocity(xt, t, h=h):  # conditional and null-class halves in one pass
                    v_c, v_u = self.head(torch.cat([xt, xt]), torch.cat([t, t]), h).chunk(2)
                    return v_u + cfg_scale * (v_c - v_u)
            else:
                def velocity(xt, t, h=h):
                    return self.head(xt, t, h)
            x0 = (temperature * torch.randn(batch, self.token_dim, generator=generator)).to(device, dtype)
            zi = ODESolver(velocity).sample(x0, steps, "euler")
            out[:, i] = zi
            conds.append(h[:batch])
            if i + 1 < self.n_tokens:
                e = self.tok_in(zi).unsqueeze(1)
                x = (torch.cat([e, e]) if guided else e) + self.pos[:, i + 1 : i + 2]
        self.train(was_training)
        z = out / self.scale
        return (z, torch.stack(conds, dim=1)) if return_conditions else z
