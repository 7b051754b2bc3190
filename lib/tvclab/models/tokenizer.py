"""Image tokenizers: a ViT encoder, a quantiser, a ViT decoder (paper W §2.3, App. F.1; paper P §2, App. E).

- ``kind="1d"`` (TiTok-style, W §2.3 "1D Tokenization"): the encoder reads [n learnable latent queries, patch
  embeddings]; the n query outputs are the tokens. The decoder reads [patch queries, tokens] (``PatchDecoder``).
- ``kind="2d"`` (paper P's baseline): one token per patch, read at the patch positions.
- ``n_prologue`` > 0 (paper P §2): the encoder also carries ``n_prologue`` learnable prologue queries, quantised by
  their own codebook through Prob-STE (``ProbSTEQuantizer``, tau 0.1). They never reach the decoder (P §2: "Prologue
  tokens do not participate in reconstruction"); only an AR cross-entropy trains them.
- ``quantizer``: ``"vq"`` (L2-normalised VQ, W F.1 default) or ``"none"`` (continuous tokens, optional KL head,
  for paper F at autoencoder scale).
- ``decoder``: ``"det"`` or ``"fm"`` (flow matching, v-prediction, AdaRMSNorm timestep conditioning).

Images are [B, C, H, W] in [-1, 1]; patches are flattened (p, p, C) blocks in row-major patch order.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn

from tvclab.quantize import GaussianLatent, ProbSTEQuantizer, Quantized, VectorQuantizer

from .blocks import Transformer, count_params, init_weights
from .decoders import PatchDecoder, selftok_keep


class Encoded(NamedTuple):
    visual: Quantized            # the tokens the decoder reads
    prologue: Quantized | None   # prologue tokens (paper P), or None


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, (H/p)(W/p), p*p*C]."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(x: torch.Tensor, p: int, c: int, size: int) -> torch.Tensor:
    """[B, L, p*p*C] -> [B, C, size, size]."""
    b, g = x.shape[0], size // p
    return x.reshape(b, g, g, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, size, size)


class Encoder(nn.Module):
    """ViT encoder over [queries, patch embeddings] with learned absolute positions (authors' CIFAR code)."""

    def __init__(self, *, n_patches: int, patch_dim: int, n_queries: int, width: int, depth: int, heads: int,
                 mlp_ratio: float = 4.0):
        super().__init__()
        self.n_queries = n_queries
        self.patch_in = nn.Linear(patch_dim, width)
        self.queries = nn.Parameter(torch.zeros(1, n_queries, width)) if n_queries else None
        self.pos = nn.Parameter(torch.zeros(1, n_queries + n_patches, width))
        self.transformer = Transformer(width, depth, heads, mlp_ratio)
        init_weights(self, depth)
        for p in (self.pos, self.queries):
            if p is not None:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        h = self.patch_in(patches)
        if self.queries is not None:
            h = torch.cat([self.queries.expand(h.shape[0], -1, -1), h], dim=1)
        return self.transformer(h + self.pos)


class Tokenizer(nn.Module):
    """Encoder + quantiser(s) + decoder. Every option is a constructor argument with a sensible default."""

    def __init__(self, *, image_size: int = 28, channels: int = 1, patch_size: int = 7, width: int = 128,
                 enc_depth: int = 2, dec_depth: int = 2, heads: int = 4, mlp_ratio: float = 4.0, n_tokens: int = 8,
                 codebook_size: int = 256, code_dim: int = 12, kind: str = "1d", quantizer: str = "vq",
                 vq_beta: float = 0.25, wgf_tau: float = 1.0, kl: bool = False, decoder: str = "det",
                 tail_dropout: bool = False, tied_timesteps: bool = False, n_prologue: int = 0,
                 prologue_codebook_size: int = 1024, prologue_code_dim: int | None = None, prologue_tau: float = 0.1):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        if kind not in ("1d", "2d"):
            raise ValueError(f"kind must be '1d' or '2d', got {kind!r}")
        if quantizer not in ("vq", "none"):
            raise ValueError(f"quantizer must be 'vq' or 'none', got {quantizer!r}")
        if decoder not in ("det", "fm"):
            raise ValueError(f"decoder must be 'det' or 'fm', got {decoder!r}")
        if tied_timesteps and decoder != "fm":
            raise ValueError("tied timesteps need the flow-matching decoder (decoder='fm')")
        self.image_size, self.channels, self.patch_size = image_size, channels, patch_size
        self.n_patches = (image_size // patch_size) ** 2
        self.patch_dim = patch_size * patch_size * channels
        if kind == "2d":
            n_tokens = self.n_patches
        self.kind, self.n_tokens, self.code_dim, self.codebook_size = kind, n_tokens, code_dim, codebook_size
        self.decoder_kind, self.tail_dropout, self.tied_timesteps = decoder, tail_dropout, tied_timesteps
        self.n_prologue = n_prologue

        n_queries = n_prologue + (n_tokens if kind == "1d" else 0)
        self.encoder = Encoder(n_patches=self.n_patches, patch_dim=self.patch_dim, n_queries=n_queries, width=width,
                               depth=enc_depth, heads=heads, mlp_ratio=mlp_ratio)
        if quantizer == "vq":
            self.quantizer = VectorQuantizer(codebook_size, code_dim, beta=vq_beta, tau=wgf_tau)
            proj_dim = code_dim
        else:
            self.quantizer = GaussianLatent(code_dim, kl=kl)
            proj_dim = self.quantizer.in_dim
        self.to_code = nn.Linear(width, proj_dim)
        if n_prologue:
            pdim = prologue_code_dim or code_dim
            self.to_prologue = nn.Linear(width, pdim)
            self.prologue_quantizer = ProbSTEQuantizer(prologue_codebook_size, pdim, tau=prologue_tau)
        self.decoder = PatchDecoder(n_patches=self.n_patches, patch_dim=self.patch_dim, n_tokens=n_tokens,
                                    code_dim=code_dim, width=width, depth=dec_depth, heads=heads, mlp_ratio=mlp_ratio,
                                    queries=kind == "1d", flow=decoder == "fm",
                                    mask_token=tail_dropout or tied_timesteps)
        init_weights(self.to_code)
        if n_prologue:
            init_weights(self.to_prologue)

    @property
    def discrete(self) -> bool:
        return isinstance(self.quantizer, VectorQuantizer)

    def param_counts(self) -> dict[str, int]:
        """Encoder side (encoder, projections, codebooks) and decoder side, as W Table 5 / P Table A4 count them."""
        dec = count_params(self.decoder)
        return {"encoder": count_params(self) - dec, "decoder": dec}

    # ---------------------------------------------------------------- encode
    def encode(self, x: torch.Tensor, with_probs: bool = False, eps: torch.Tensor | None = None) -> Encoded:
        """Images -> tokens. ``with_probs``: also the prob_ste probabilities (WGF-DPD). ``eps``: VAE noise."""
        h = self.encoder(patchify(x, self.patch_size))
        p = self.n_prologue
        if self.kind == "1d":
            u = self.to_code(h[:, p : p + self.n_tokens])
        else:
            u = self.to_code(h[:, self.encoder.n_queries :])
        vis = self.quantizer(u, with_probs=with_probs) if self.discrete else self.quantizer(u, eps)
        pro = self.prologue_quantizer(self.to_prologue(h[:, :p])) if p else None
        return Encoded(vis, pro)

    def indices_to_z(self, index: torch.Tensor) -> torch.Tensor:
        """Code ids [B, n] (e.g. AR samples) -> decoder input vectors [B, n, code_dim]."""
        if not self.discrete:
            raise ValueError("continuous tokenizer (quantizer='none') has no code ids")
        return self.quantizer.lookup(index)

    # ---------------------------------------------------------------- decode
    def decode(self, z: torch.Tensor, keep: torch.Tensor | None = None, steps: int = 25,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Tokens -> images in [-1, 1] (clamped). Deterministic decoder: one pass. Flow-matching decoder: Euler from
        t = 1 (noise drawn with ``generator``) to t = 0 in ``steps`` steps; with tied timesteps the cut-off follows
        the timestep as in training."""
        if self.decoder_kind == "det":
            patches = self.decoder(z, keep)
        else:
            b = z.shape[0]
            xt = torch.randn(b, self.n_patches, self.patch_dim, generator=generator).to(z)
            ts = torch.linspace(1.0, 0.0, steps + 1)
            for i in range(steps):
                t = torch.full((b,), float(ts[i]), device=z.device)
                k = self.tied_keep(t) if self.tied_timesteps else keep
                xt = xt - (ts[i] - ts[i + 1]).item() * self.decoder(z, k, xt, t)
            patches = xt
        return unpatchify(patches, self.patch_size, self.channels, self.image_size).clamp(-1, 1)

    def tied_keep(self, t: torch.Tensor) -> torch.Tensor:
        """Tied timesteps (W §2.3, F.1): the cut-off is set by the diffusion timestep, fewer tokens when noisier
        (SelfTok: early, noisy steps are guided by the first tokens): keep = selftok_keep(1 - t)."""
        return selftok_keep(1.0 - t, self.n_tokens)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, steps: int = 25, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.encode(x).visual.z, steps=steps, generator=generator)
