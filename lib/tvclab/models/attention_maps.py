"""Attention maps of any suite transformer, recomputed from its ``attn.qkv`` outputs (paper P Fig. 6).

``Attention`` runs ``F.scaled_dot_product_attention``, which returns no weights (and its fused kernels never form
them). ``record_attention(model)`` registers a forward hook on every ``Attention.qkv`` and recomputes, from the
queries and keys that layer produced, ``softmax(q k^T / sqrt(d_head))`` with the layer's causal mask: the weights
SDPA applied, [B, heads, n, n] per layer and forward. Only full forwards (training or teacher-forced) are
recorded; a forward that reads a key/value cache (sampling) sees only its new positions and is refused.

    with record_attention(ar) as maps:
        ar(tokens)
    mean = mean_attention(maps)  # [layers, n, n], averaged over images and heads
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch

from .blocks import Attention


def attention_weights(qkv: torch.Tensor, heads: int, causal: bool) -> torch.Tensor:
    """softmax(q k^T / sqrt(d_head)) [B, heads, n, n] from a layer's ``qkv`` output [B, n, 3 d] (SDPA's weights)."""
    b, n, three_d = qkv.shape
    d = three_d // 3
    q, k, _ = qkv.view(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    scores = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(d // heads)
    if causal:
        scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool, device=qkv.device).triu(1), float("-inf"))
    return scores.softmax(dim=-1)


@contextmanager
def record_attention(model: torch.nn.Module):
    """Yield ``{layer name: [weights per forward]}`` for every ``Attention`` in ``model`` while the block runs."""
    maps: dict[str, list[torch.Tensor]] = {}
    handles = []
    for name, mod in model.named_modules():
        if isinstance(mod, Attention):
            maps[name] = []

            def hook(qkv_layer, inputs, output, name=name, attn=mod):
                maps[name].append(attention_weights(output.detach(), attn.heads, attn.causal))

            handles.append(mod.qkv.register_forward_hook(hook))
            handles.append(mod.register_forward_pre_hook(_refuse_cache, with_kwargs=True))
    if not maps:
        raise ValueError(f"{type(model).__name__} has no tvclab Attention layers to record")
    try:
        yield maps
    finally:
        for h in handles:
            h.remove()


def _refuse_cache(module, args, kwargs):
    cache = kwargs.get("cache", args[1] if len(args) > 1 else None)
    if cache is not None:
        raise RuntimeError("record_attention: a forward with a key/value cache (sampling) sees only its new "
                           "positions; record a full teacher-forced forward instead")


def mean_attention(maps: dict[str, list[torch.Tensor]]) -> torch.Tensor:
    """[layers, n, n]: each layer's weights averaged over every recorded image and head."""
    out = []
    for name, per_forward in maps.items():
        if not per_forward:
            raise ValueError(f"no forward was recorded for {name}")
        out.append(torch.cat(per_forward).mean(dim=(0, 1)))
    return torch.stack(out)
