"""Decoder variants for paper W's baselines (W §2.3, App. F.1), all one architecture:

- deterministic: learnable patch queries (1D) or the tokens themselves (2D) -> patches; l1/l2/LPIPS loss;
- flow-matching (FlowMo-style, W F.1): the queries are the noisy patches x_t, the timestep enters every block
  through AdaRMSNorm, the output is the velocity of the suite's one path (``tvclab.flow.path``: t = 0 noise,
  t = 1 data, v = x - eps; the authors' code runs time the other way); decoding integrates it from noise with
  ``tvclab.flow.ODESolver`` (``Tokenizer.decode``).

"We keep diffusion and deterministic decoders architecturally identical except for input format and timestep
conditioning through AdaRMSNorm" (W F.1): ``PatchDecoder(flow=False|True)``.

Tail dropout (W §2.3, F.1): the tokens after a cut-off are replaced by a learned [MASK] vector; the cut-off follows a
SelfTok-like schedule that favours late positions (``selftok_keep``). The first token is never dropped.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from tvclab.flow.time import TimestepEmbedding

from .blocks import Transformer, init_weights

# SelfTok's stage table (authors' code for W: timesteps 200,400,600,800,1000 with 192,184,72,48,16 tokens per stage
# out of 512): equal fifths of u in [0, 1] cover these shares of the token positions.
SELFTOK_STAGE_TOKENS = (192, 184, 72, 48, 16)


def selftok_keep(u: torch.Tensor, n: int, stage_tokens=SELFTOK_STAGE_TOKENS) -> torch.Tensor:
    """Number of leading tokens kept, in [1, n], for u in [0, 1] (paper W F.1, "SelfTok-like scheduler").

    keep = 1 + floor(n F(u)) clamped to n, with F piecewise linear through (i/S, cumulative share of the first i
    stages). F rises fast at first (the first fifth of u covers 37.5% of positions, the last fifth 3%), so for
    u ~ U(0, 1) each late cut-off is more likely than each early one. keep >= 1: the first token always stays.
    The SelfTok table is scaled to ``n`` through the shares (instead of rounding per-stage counts), so the schedule
    is the same shape for 8 tokens as for 512.
    """
    shares = torch.tensor([0.0, *stage_tokens], dtype=torch.float64).cumsum(0)
    shares = (shares / shares[-1]).to(u.device)
    s = len(stage_tokens)
    pos = u.double().clamp(0, 1) * s
    i = pos.floor().clamp(max=s - 1).long()
    frac = shares[i] + (pos - i) * (shares[i + 1] - shares[i])
    return (1 + (n * frac).floor().long()).clamp(1, n)


class PatchDecoder(nn.Module):
    """Latent tokens [B, n, code_dim] -> patches [B, P, patch_dim].

    ``queries`` (1D tokenizers): the sequence is [P patch queries, n tokens] and the patches are read at the query
    positions. Without queries (2D deterministic), the tokens sit at their patch positions and are read directly.
    ``flow``: the queries are the embedded noisy patches and the timestep conditions every norm (AdaRMSNorm).
    """

    def __init__(self, *, n_patches: int, patch_dim: int, n_tokens: int, code_dim: int, width: int, depth: int,
                 heads: int, mlp_ratio: float = 4.0, queries: bool = True, flow: bool = False, mask_token: bool = False):
        super().__init__()
        if not queries and n_tokens != n_patches:
            raise ValueError("a decoder without patch queries needs one token per patch (2D tokenizer)")
        self.n_patches, self.patch_dim, self.flow = n_patches, patch_dim, flow
        self.queries = queries or flow
        self.from_code = nn.Linear(code_dim, width)
        if flow:
            self.noise_in = nn.Linear(patch_dim, width)
            self.time = TimestepEmbedding(width, frequencies=width)
        elif self.queries:
            self.patch_queries = nn.Parameter(torch.zeros(1, n_patches, width))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width)) if mask_token else None
        seq = n_patches + n_tokens if self.queries else n_tokens
        self.pos = nn.Parameter(torch.zeros(1, seq, width))
        self.transformer = Transformer(width, depth, heads, mlp_ratio, cond_dim=width if flow else 0)
        self.to_patch = nn.Linear(width, patch_dim)
        init_weights(self, depth)
        for p in (self.pos, getattr(self, "patch_queries", None), self.mask_token):
            if p is not None:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, z: torch.Tensor, keep: torch.Tensor | None = None, x_t: torch.Tensor | None = None,
                t: torch.Tensor | None = None) -> torch.Tensor:
        """z [B,n,d] tokens; keep [B] number of leading tokens kept (tail dropout) or None; for ``flow``: x_t
        [B,P,patch_dim] noisy patches and t [B] in [0, 1]. Returns [B,P,patch_dim] (pixels, or velocity for flow)."""
        tok = self.from_code(z)
        if keep is not None:
            if self.mask_token is None:
                raise ValueError("this decoder was built without tail dropout (no [MASK] token)")
            kept = torch.arange(tok.shape[1], device=tok.device)[None, :] < keep[:, None]
            tok = torch.where(kept[..., None], tok, self.mask_token.to(tok.dtype))
        elif self.mask_token is not None:
            tok = tok + 0.0 * self.mask_token  # keeps the [MASK] token in the graph (DDP sees every parameter used)
        cond = None
        if self.flow:
            if x_t is None or t is None:
                raise ValueError("the flow-matching decoder needs x_t and t")
            q = self.noise_in(x_t)
            cond = self.time(t).to(tok.dtype)
        elif self.queries:
            q = self.patch_queries.expand(tok.shape[0], -1, -1)
        seq = torch.cat([q, tok], dim=1) if self.queries else tok
        h = self.transformer(seq + self.pos, cond)
        return self.to_patch(h[:, : self.n_patches])
