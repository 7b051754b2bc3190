"""Transformer parts shared by every model in the suite (paper W App. F.1: "GEGLU, RMSNorm, and AdaRMSNorm").

One module per concept, nanoGPT style: ``RMSNorm``, ``AdaRMSNorm`` (timestep conditioning of the flow-matching
decoder), ``GEGLU`` (the MLP), ``Attention`` (bidirectional or causal, with an optional key/value cache for
sampling), ``Block`` and ``Transformer`` (a stack of blocks with a final norm).

Parameter count of one block of width d with MLP ratio r (GEGLU hidden h = r d, value and gate each h wide):
attention 4 d^2 (+ d bias) and MLP 3 r d^2 (+ biases), i.e. 16 d^2 at r = 4 (W Table 5: 4 x 512 -> ~17M) and
12 d^2 at r = 8/3 (P Table A4: 12 x 768 -> ~86M).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    """x / rms(x) * w (Zhang & Sennrich 2019), no mean subtraction, no bias."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


class AdaRMSNorm(nn.Module):
    """RMSNorm whose scale comes from a conditioning vector: x / rms(x) * (1 + W c) (paper W F.1, FlowMo-style).

    ``W`` starts at zero, so at initialisation the block is an ordinary RMSNorm and the timestep enters gradually.
    ``cond`` is [B, cond_dim] (one vector per sample) or [B, L, cond_dim] (one per position).
    """

    def __init__(self, dim: int, cond_dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.scale = nn.Linear(cond_dim, dim)
        nn.init.zeros_(self.scale.weight)
        nn.init.zeros_(self.scale.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None:
            raise ValueError("AdaRMSNorm needs a conditioning vector (e.g. the flow-matching timestep embedding)")
        s = self.scale(cond)
        if s.dim() == 2:
            s = s.unsqueeze(1)
        return F.rms_norm(x, (x.shape[-1],), None, self.eps) * (1.0 + s)


class GEGLU(nn.Module):
    """Gated MLP: fc2(gelu(x W_v) * (x W_g)) (Shazeer 2020), hidden width ``hidden`` for value and gate each."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, 2 * hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(gelu_gate(self.fc1(x)))


def gelu_gate(h: torch.Tensor) -> torch.Tensor:
    """gelu(value) * gate for ``h`` = [value | gate] on the last dimension (GEGLU's activation, tanh GELU).

    The same values as ``value, gate = h.chunk(2, -1); F.gelu(value, approximate="tanh") * gate``, but its backward
    writes the two halves of the gradient straight into one [.., 2h] tensor instead of autograd's ``cat`` of the
    two (one copy of the widest activation per MLP and step, docs/throughput.md). Under ``torch.compile`` it is the
    plain form (inductor fuses the whole activation and its backward, the ``cat`` included); under ``create_graph``
    (a gradient of the gradient) its backward is the plain one."""
    if torch.is_grad_enabled() and h.requires_grad and not torch.compiler.is_compiling():
        return _GeluGate.apply(h)
    value, gate = h.chunk(2, dim=-1)
    return F.gelu(value, approximate="tanh") * gate


class _GeluGate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor) -> torch.Tensor:
        value, gate = h.chunk(2, dim=-1)
        act = F.gelu(value, approximate="tanh")
        ctx.save_for_backward(h, act)
        return act * gate

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        h, act = ctx.saved_tensors
        value, gate = h.chunk(2, dim=-1)
        if torch.is_grad_enabled():  # create_graph: differentiable ops only, act recomputed from the saved input
            return torch.cat([torch.ops.aten.gelu_backward(grad * gate, value, approximate="tanh"),
                              grad * F.gelu(value, approximate="tanh")], -1)
        out = torch.empty_like(h, memory_format=torch.contiguous_format)
        d_value, d_gate = out.chunk(2, dim=-1)
        torch.mul(grad, act, out=d_gate)
        torch.ops.aten.gelu_backward.grad_input(grad * gate, value, approximate="tanh", grad_input=d_value)
        return out


class KVCache:
    """Keys and values of the positions seen so far, one per attention layer (autoregressive sampling)."""

    def __init__(self):
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.k is None else self.k.shape[2]


class Attention(nn.Module):
    """Multi-head self-attention; ``causal`` masks the future (AR priors), otherwise bidirectional (tokenizers)."""

    def __init__(self, dim: int, heads: int, causal: bool = False):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by heads {heads}")
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        past = 0
        if cache is not None:
            past = cache.length
            if past:
                k, v = torch.cat([cache.k, k], dim=2), torch.cat([cache.v, v], dim=2)
            cache.k, cache.v = k, v
        mask, is_causal = None, False
        if self.causal and n > 1:
            if past == 0:
                is_causal = True
            else:  # n new queries at positions past..past+n-1 attend to keys 0..past+i
                mask = torch.ones(n, past + n, dtype=torch.bool, device=x.device).tril(diagonal=past)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)); AdaRMSNorm when ``cond_dim`` > 0."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, causal: bool = False, cond_dim: int = 0):
        super().__init__()
        norm = (lambda: AdaRMSNorm(dim, cond_dim)) if cond_dim else (lambda: RMSNorm(dim))
        self.norm1, self.norm2 = norm(), norm()
        self.attn = Attention(dim, heads, causal)
        self.mlp = GEGLU(dim, int(round(dim * mlp_ratio)))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, cache: KVCache | None = None):
        x = x + self.attn(self.norm1(x, cond), cache)
        return x + self.mlp(self.norm2(x, cond))


class Transformer(nn.Module):
    """``depth`` blocks and a final (Ada)RMSNorm. Inputs are already embedded: [B, L, dim] -> [B, L, dim]."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, causal: bool = False,
                 cond_dim: int = 0):
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, causal, cond_dim) for _ in range(depth))
        self.norm = AdaRMSNorm(dim, cond_dim) if cond_dim else RMSNorm(dim)
        init_weights(self, depth)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None,
                caches: list[KVCache] | None = None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, cond, None if caches is None else caches[i])
        return self.norm(x, cond)


def init_weights(module: nn.Module, depth: int = 1, std: float = 0.02) -> None:
    """GPT-2 initialisation: N(0, 0.02) weights, zero biases, residual projections scaled by 1/sqrt(2 depth).

    AdaRMSNorm's conditioning layers stay at zero (identity norm at the start).
    """
    for name, m in module.named_modules():
        if isinstance(m, AdaRMSNorm):
            continue
        if isinstance(m, nn.Linear) and not name.endswith(".scale"):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, std)
    for name, p in module.named_parameters():
        if name.endswith("attn.proj.weight") or name.endswith("mlp.fc2.weight"):
            nn.init.normal_(p, 0.0, std / math.sqrt(2 * max(depth, 1)))


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
