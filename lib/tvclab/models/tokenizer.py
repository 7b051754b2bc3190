"""Image tokenizers: a ViT encoder, a quantiser, a ViT decoder (paper W §2.3, App. F.1; paper P §2, App. E).

- ``kind="1d"`` (TiTok-style, W §2.3 "1D Tokenization"): the encoder reads [n learnable latent queries, patch
  embeddings]; the n query outputs are the tokens. The decoder reads [patch queries, tokens] (``PatchDecoder``).
- ``kind="2d"`` (paper P's baseline): one token per patch, read at the patch positions.
- ``n_prologue`` > 0 (paper P §2): the encoder also carries ``n_prologue`` learnable prologue queries, quantised by
  their own codebook through Prob-STE (``ProbSTEQuantizer``, tau 0.1). They never reach the decoder (P §2: "Prologue
  tokens do not participate in reconstruction"); only an AR cross-entropy trains them.
- ``quantizer.kind``: ``"vq"`` (L2-normalised VQ, W F.1 default) or ``"none"`` (continuous tokens, optional KL
  head, for paper F at autoencoder scale).
- ``decoder.kind``: ``"det"`` or ``"fm"`` (flow matching, v-prediction, AdaRMSNorm timestep conditioning).

Built from its config sections (``tvclab.configs``: ``TokenizerConfig``, ``QuantizerConfig``, ``DecoderConfig``,
the prefix ``TokenGroup``), nanoGPT style; ``Tokenizer.from_config(cfg, channels)`` takes a whole ``Config``.

Images are [B, C, H, W] in [-1, 1]; patches are flattened (p, p, C) blocks in row-major patch order.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn

from tvclab.configs import Config, DecoderConfig, QuantizerConfig, TokenGroup, TokenizerConfig, frozen, token_groups
from tvclab.flow.solver import ODESolver
from tvclab.quantize import GaussianLatent, ProbSTEQuantizer, Quantized, VectorQuantizer

from .blocks import Transformer, count_params, init_weights
from .decoders import PatchDecoder, selftok_keep


class Encoded(NamedTuple):
    visual: Quantized            # the tokens the decoder reads
    prologue: Quantized | None   # prologue tokens (paper P), or None

    @property
    def segments(self) -> tuple[Quantized, ...]:
        """The groups in the AR's order (``TokenLayout.for_config``): the prefix group, if any, then the visual."""
        return (self.visual,) if self.prologue is None else (self.prologue, self.visual)


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
    """Encoder + quantiser(s) + decoder, each sized by its own config section."""

    def __init__(self, tokenizer: TokenizerConfig, quantizer: QuantizerConfig, decoder: DecoderConfig, *,
                 image_size: int, channels: int, prefix: TokenGroup | None = None):
        super().__init__()
        t, q, d = tokenizer, quantizer, decoder
        prefix = prefix or TokenGroup("prologue", 0, 2)
        if image_size % t.patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of tokenizer.patch_size {t.patch_size}")
        if t.kind not in ("1d", "2d"):
            raise ValueError(f"tokenizer.kind must be '1d' or '2d', got {t.kind!r}")
        if q.kind not in ("vq", "none"):
            raise ValueError(f"quantizer.kind must be 'vq' or 'none', got {q.kind!r}")
        if d.kind not in ("det", "fm"):
            raise ValueError(f"decoder.kind must be 'det' or 'fm', got {d.kind!r}")
        if d.tied_timesteps and d.kind != "fm":
            raise ValueError("tied timesteps need the flow-matching decoder (decoder.kind='fm')")
        self.image_size, self.channels, self.patch_size = image_size, channels, t.patch_size
        self.n_patches = (image_size // t.patch_size) ** 2
        self.patch_dim = t.patch_size * t.patch_size * channels
        n_tokens = self.n_patches if t.kind == "2d" else t.n_tokens
        self.kind, self.n_tokens, self.code_dim, self.codebook_size = t.kind, n_tokens, q.code_dim, q.codebook_size
        self.decoder_kind, self.tied_timesteps = d.kind, d.tied_timesteps
        self.tail_dropout = d.tail_dropout_p > 0
        self.n_prologue = prefix.n

        n_queries = prefix.n + (n_tokens if t.kind == "1d" else 0)
        self.encoder = Encoder(n_patches=self.n_patches, patch_dim=self.patch_dim, n_queries=n_queries,
                               width=t.width, depth=t.enc_depth, heads=t.heads, mlp_ratio=t.mlp_ratio)
        if q.kind == "vq":
            self.quantizer = VectorQuantizer(q.codebook_size, q.code_dim, beta=q.beta)
            proj_dim = q.code_dim
        else:
            self.quantizer = GaussianLatent(q.code_dim, kl=q.kl_weight > 0)
            proj_dim = self.quantizer.in_dim
        self.to_code = nn.Linear(t.width, proj_dim)
        if prefix.n:
            pdim = prefix.dim or q.code_dim
            self.to_prologue = nn.Linear(t.width, pdim)
            self.prologue_quantizer = ProbSTEQuantizer(prefix.vocab, pdim, tau=prefix.tau)
        self.decoder = PatchDecoder(n_patches=self.n_patches, patch_dim=self.patch_dim, n_tokens=n_tokens,
                                    code_dim=q.code_dim, width=t.width, depth=t.dec_depth, heads=t.heads,
                                    mlp_ratio=t.mlp_ratio, queries=t.kind == "1d", flow=d.kind == "fm",
                                    mask_token=self.tail_dropout or d.tied_timesteps)
        init_weights(self.to_code)
        if prefix.n:
            init_weights(self.to_prologue)

    @classmethod
    def from_config(cls, cfg: Config, channels: int) -> "Tokenizer":
        """The tokenizer a config describes: this class, or ``PostTokenizer`` when a method freezes the visual
        tokenizer (``configs.frozen``: paper P's Prologue-Post). The prefix tokens are the config's token group
        before the visual ones (``configs.token_groups``; at most one: paper P's prologue)."""
        prefix = token_groups(cfg, 0)[:-1]
        if len(prefix) > 1:
            raise ValueError(f"a tokenizer carries one group of tokens before the visual ones, got "
                             f"{', '.join(g.name for g in prefix)}")
        group = prefix[0] if prefix else None
        if {"encoder", "decoder"} <= frozen(cfg):
            return PostTokenizer(cfg.tokenizer, cfg.quantizer, cfg.decoder, image_size=cfg.data.image_size,
                                 channels=channels, prefix=group)
        return cls(cfg.tokenizer, cfg.quantizer, cfg.decoder, image_size=cfg.data.image_size, channels=channels,
                   prefix=group)

    @property
    def discrete(self) -> bool:
        return isinstance(self.quantizer, VectorQuantizer)

    @property
    def needs_noise(self) -> bool:
        """Whether encoding in training draws reparameterisation noise (Gaussian latents with a KL head)."""
        return not self.discrete and self.quantizer.kl

    def param_counts(self) -> dict[str, int]:
        """Encoder side (encoder, projections, codebooks) and decoder side, as W Table 5 / P Table A4 count them."""
        dec = count_params(self.decoder)
        return {"encoder": count_params(self) - dec, "decoder": dec}

    # ---------------------------------------------------------------- encode
    def encode(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> Encoded:
        """Images -> tokens. ``eps``: reparameterisation noise of Gaussian latents (training)."""
        if x.dim() != 4 or x.shape[1:] != (self.channels, self.image_size, self.image_size):
            raise ValueError(f"this tokenizer takes images [B, {self.channels}, {self.image_size}, {self.image_size}]"
                             f" in [-1, 1], got shape {tuple(x.shape)}; load the data with image_size="
                             f"{self.image_size} (tvclab.data.load) or use a tokenizer built for this size")
        h = self.encoder(patchify(x, self.patch_size))
        p = self.n_prologue
        if self.kind == "1d":
            u = self.to_code(h[:, p : p + self.n_tokens])
        else:
            u = self.to_code(h[:, self.encoder.n_queries :])
        vis = self.quantizer(u) if self.discrete else self.quantizer(u, eps)
        pro = self.prologue_quantizer(self.to_prologue(h[:, :p])) if p else None
        return Encoded(vis, pro)

    def indices_to_z(self, index: torch.Tensor) -> torch.Tensor:
        """Code ids [B, n] (e.g. AR samples) -> decoder input vectors [B, n, code_dim]."""
        if not self.discrete:
            raise ValueError("continuous tokenizer (quantizer.kind='none') has no code ids")
        return self.quantizer.lookup(index)

    # ---------------------------------------------------------------- decode
    def velocity(self, z: torch.Tensor, keep: torch.Tensor | None = None):
        """The flow-matching decoder as a velocity field ``v(x_t, t)`` on patches (t = 1 is data,
        ``tvclab.flow.path``); with tied timesteps the cut-off follows t as in training."""
        return lambda x_t, t: self.decoder(z, self.tied_keep(t) if self.tied_timesteps else keep, x_t, t)

    def decode(self, z: torch.Tensor, keep: torch.Tensor | None = None, steps: int = 25,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Tokens -> images in [-1, 1] (clamped). Deterministic decoder: one pass. Flow-matching decoder: ``steps``
        Euler steps of ``tvclab.flow.ODESolver`` from noise (drawn with ``generator``) at t = 0 to t = 1."""
        if self.decoder_kind == "det":
            patches = self.decoder(z, keep)
        else:
            x0 = torch.randn(z.shape[0], self.n_patches, self.patch_dim, generator=generator).to(z)
            patches = ODESolver(self.velocity(z, keep)).sample(x0, steps, method="euler")
        return unpatchify(patches, self.patch_size, self.channels, self.image_size).clamp(-1, 1)

    def tied_keep(self, t: torch.Tensor) -> torch.Tensor:
        """Tied timesteps (W §2.3, F.1): the cut-off is set by the diffusion timestep, fewer tokens when noisier
        (SelfTok: early, noisy steps are guided by the first tokens): keep = selftok_keep(t), t = 1 data."""
        return selftok_keep(t, self.n_tokens)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, steps: int = 25, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.encode(x).visual.z, steps=steps, generator=generator)


class PostTokenizer(nn.Module):
    """Paper P's Prologue-Post (§2.1, Sec. 4.3, App. D): an existing visual tokenizer, frozen (``base``: P's 2D
    baseline, trained alone and loaded from its run directory), and beside it a prologue tokenizer of its own: an
    ``Encoder`` over the same patches with ``n`` prologue queries and its own Prob-STE codebook. Only the prologue
    side (and the joint AR of the prologue objective) trains; the visual tokens, the codebook and the decoder stay
    bit-identical. The interface is ``Tokenizer``'s, so run directories, ``encode_dataset``, ``reconstruct`` and
    ``sample`` read it as they read any tokenizer."""

    def __init__(self, tokenizer: TokenizerConfig, quantizer: QuantizerConfig, decoder: DecoderConfig, *,
                 image_size: int, channels: int, prefix: TokenGroup | None):
        super().__init__()
        if prefix is None or not prefix.n:
            raise ValueError("Prologue-Post needs prologue tokens (a prefix group of n > 0)")
        t = tokenizer
        self.base = Tokenizer(t, quantizer, decoder, image_size=image_size, channels=channels)
        self.base.requires_grad_(False)
        self.n_prologue = prefix.n
        self.prologue_encoder = Encoder(n_patches=self.base.n_patches, patch_dim=self.base.patch_dim,
                                        n_queries=prefix.n, width=t.width, depth=t.enc_depth, heads=t.heads,
                                        mlp_ratio=t.mlp_ratio)
        pdim = prefix.dim or quantizer.code_dim
        self.to_prologue = nn.Linear(t.width, pdim)
        self.prologue_quantizer = ProbSTEQuantizer(prefix.vocab, pdim, tau=prefix.tau)
        init_weights(self.to_prologue)

    # the frozen tokenizer's attributes, read through
    image_size = property(lambda self: self.base.image_size)
    channels = property(lambda self: self.base.channels)
    patch_size = property(lambda self: self.base.patch_size)
    n_patches = property(lambda self: self.base.n_patches)
    patch_dim = property(lambda self: self.base.patch_dim)
    kind = property(lambda self: self.base.kind)
    n_tokens = property(lambda self: self.base.n_tokens)
    code_dim = property(lambda self: self.base.code_dim)
    codebook_size = property(lambda self: self.base.codebook_size)
    decoder_kind = property(lambda self: self.base.decoder_kind)
    tied_timesteps = property(lambda self: self.base.tied_timesteps)
    tail_dropout = property(lambda self: self.base.tail_dropout)
    quantizer = property(lambda self: self.base.quantizer)
    decoder = property(lambda self: self.base.decoder)
    discrete = property(lambda self: self.base.discrete)
    needs_noise = property(lambda self: False)

    def param_counts(self) -> dict[str, int]:
        """The prologue tokenizer (trained) and the frozen tokenizer's encoder and decoder."""
        return {"prologue_encoder": count_params(self) - count_params(self.base), **self.base.param_counts()}

    def encode(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> Encoded:
        with torch.no_grad():  # the frozen visual tokens: no graph
            vis = self.base.encode(x).visual
        h = self.prologue_encoder(patchify(x, self.patch_size))
        return Encoded(vis, self.prologue_quantizer(self.to_prologue(h[:, : self.n_prologue])))

    def indices_to_z(self, index: torch.Tensor) -> torch.Tensor:
        return self.base.indices_to_z(index)

    def velocity(self, z: torch.Tensor, keep: torch.Tensor | None = None):
        return self.base.velocity(z, keep)

    def decode(self, z: torch.Tensor, keep: torch.Tensor | None = None, steps: int = 25,
               generator: torch.Generator | None = None) -> torch.Tensor:
        return self.base.decode(z, keep, steps, generator)

    def tied_keep(self, t: torch.Tensor) -> torch.Tensor:
        return self.base.tied_keep(t)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, steps: int = 25, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.base.reconstruct(x, steps, generator)
