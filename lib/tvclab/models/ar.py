"""Causal AR transformer over token ids: the stage-2 prior, WGF-DPD's proxy q_psi and target p_theta (paper W §4.5,
Algorithm 1, App. F.1 Table 5), and paper P's joint AR that reads soft prologue embeddings (P §2.2).

Sequence layout (nanoGPT-style, one start token): input [s, z_1, ..., z_{n-1}] -> logits for [z_1, ..., z_n], so
the logits at position t depend only on z_{<t}. ``s`` is a learned BOS vector, or the class embedding when the
model is class-conditional (``num_classes`` > 0; class id ``num_classes`` is the null class used for
classifier-free guidance, P App. E: labels dropped with probability 0.1 in training).

``segments`` (paper P): the sequence may be several groups with their own vocabularies laid end to end in one
embedding table, e.g. ``[(16, 1024), (256, 16384)]`` for 16 prologue tokens then 256 visual tokens; the ids of group
g are offset by the sizes of the earlier vocabularies, and each position can only predict ids of its own group.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from typing import NamedTuple

from tvclab.configs import ARConfig, token_groups

from .blocks import KVCache, Transformer, init_weights

_MASKED = -1e9  # logit of ids outside a position's group (finite, so log-prob differences stay finite)


class TokenLayout(NamedTuple):
    """The AR sequence as groups laid end to end: ``segments`` [(tokens, vocabulary), ...], e.g. paper P's
    [(16 prologue, 1024), (256 visual, 16384)]; one group for a plain tokenizer."""

    segments: tuple[tuple[int, int], ...]
    names: tuple[str, ...] = ()   # each segment's name ("prologue", "visual"), when built from a config

    @classmethod
    def for_config(cls, cfg, n_visual: int) -> "TokenLayout":
        """The AR sequence of ``cfg``'s tokenizer with ``n_visual`` visual tokens: the registered methods' token
        groups, then the visual ids (``configs.token_groups``; paper P: [prologue ids, visual ids offset by the
        prologue vocabulary])."""
        groups = token_groups(cfg, n_visual)
        return cls(tuple((g.n, g.vocab) for g in groups), tuple(g.name for g in groups))

    @property
    def visual(self) -> int:
        """The index of the visual segment (the last)."""
        return len(self.segments) - 1

    @property
    def length(self) -> int:
        return sum(n for n, _ in self.segments)

    @property
    def vocab(self) -> int:
        return sum(v for _, v in self.segments)

    def offset(self, group: int) -> int:
        """First id of ``group`` in the shared vocabulary."""
        return sum(v for _, v in self.segments[:group])


class StartTokens:
    """The sequence start shared by the causal priors (``ARPrior``, ``FlowARPrior``): a learned BOS vector, or the
    class embedding with one extra row for the null class of classifier-free guidance; and learned positions."""

    def _add_start(self, width: int, n_tokens: int, num_classes: int) -> None:
        if num_classes:
            self.cls_emb = nn.Embedding(num_classes + 1, width)  # last row: the null class (CFG)
        else:
            self.bos = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.zeros(1, n_tokens, width))

    @property
    def null_class(self) -> int:
        return self.num_classes

    def _start(self, b: int, labels: torch.Tensor | None, device) -> torch.Tensor:
        if self.num_classes:
            if labels is None:
                labels = torch.full((b,), self.null_class, dtype=torch.long, device=device)
            return self.cls_emb(labels).unsqueeze(1)
        return self.bos.expand(b, -1, -1)


class ARPrior(StartTokens, nn.Module):
    def __init__(self, *, vocab_size: int, n_tokens: int, width: int = 128, depth: int = 2, heads: int = 4,
                 mlp_ratio: float = 4.0, num_classes: int = 0, temperature: float = 1.0,
                 segments: list[tuple[int, int]] | None = None, dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.n_tokens, self.num_classes = vocab_size, n_tokens, num_classes
        self.temperature = temperature  # W F.1: the fixed target prior is sharpened by a low temperature
        self.tok_emb = nn.Embedding(vocab_size, width)
        self._add_start(width, n_tokens, num_classes)
        self.drop = nn.Dropout(dropout)
        self.transformer = Transformer(width, depth, heads, mlp_ratio, causal=True)
        self.head = nn.Linear(width, vocab_size, bias=False)
        init_weights(self, depth)
        for p in (self.pos, getattr(self, "bos", None)):
            if p is not None:
                nn.init.normal_(p, 0.0, 0.02)
        self.segments = list(segments) if segments else None
        if self.segments:
            if sum(n for n, _ in self.segments) != n_tokens or sum(v for _, v in self.segments) != vocab_size:
                raise ValueError(f"segments {self.segments} do not add up to {n_tokens} tokens / {vocab_size} ids")
            allowed = torch.zeros(n_tokens, vocab_size, dtype=torch.bool)
            pos = off = 0
            for n, v in self.segments:
                allowed[pos : pos + n, off : off + v] = True
                pos, off = pos + n, off + v
            self.register_buffer("allowed", allowed, persistent=False)
        else:
            self.allowed = None

    @classmethod
    def from_config(cls, cfg: ARConfig, layout: TokenLayout, num_classes: int = 0,
                    temperature: float = 1.0) -> "ARPrior":
        """The one way every AR of the suite is built: shape from ``cfg``, sequence from ``layout``."""
        ar = cls(vocab_size=layout.vocab, n_tokens=layout.length, width=cfg.width, depth=cfg.depth,
                 heads=cfg.heads, mlp_ratio=cfg.mlp_ratio, num_classes=num_classes, temperature=temperature,
                 segments=list(layout.segments) if len(layout.segments) > 1 else None, dropout=cfg.dropout)
        ar.segment_names = tuple(layout.names) or tuple(f"segment{i}" for i in range(len(layout.segments)))
        return ar

    def soft_embed(self, weights: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Probability-weighted embeddings (paper P §2.2: the prologue input embedding is ``onehot @ E``, so the AR
        loss reaches the encoder through Prob-STE). weights [B, m, K] over ids offset..offset+K-1 -> [B, m, width]."""
        return weights @ self.tok_emb.weight[offset : offset + weights.shape[-1]]

    def forward(self, idx: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                input_emb: torch.Tensor | None = None, temperature: float | None = None) -> torch.Tensor:
        """Next-token logits [B, n, V] for tokens ``idx`` [B, n] (or their embeddings ``input_emb`` [B, n, width]),
        divided by ``temperature`` (default: the model's own). ``labels`` [B] class ids (null class = unconditional)."""
        emb = self.tok_emb(idx) if input_emb is None else input_emb
        b, n = emb.shape[:2]
        x = torch.cat([self._start(b, labels, emb.device), emb[:, : n - 1]], dim=1) + self.pos[:, :n]
        logits = self.head(self.transformer(self.drop(x)))
        if self.allowed is not None:
            logits = logits.masked_fill(~self.allowed[:n], _MASKED)
        return logits / (self.temperature if temperature is None else temperature)

    def log_probs(self, idx: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """log p(. | z_<t) [B, n, V] at the model's temperature (paper W eq. 4: log P / log Q vectors)."""
        return F.log_softmax(self(idx, labels).float(), dim=-1)

    def per_position(self, value, what: str) -> list[float]:
        """A number, or one per segment (paper P §2.2, Tab. A5: prologue and visual tokens sampled with their own
        CFG scale and temperature), as one value per position."""
        segs = self.segments or [(self.n_tokens, self.vocab_size)]
        if isinstance(value, (int, float)):
            return [float(value)] * self.n_tokens
        value = [float(v) for v in value]
        if len(value) != len(segs):
            raise ValueError(f"{what}: {len(value)} values for {len(segs)} segments {segs}; give one number or one "
                             "per segment")
        return [v for v, (n, _) in zip(value, segs) for _ in range(n)]

    @torch.no_grad()
    def sample(self, batch: int, labels: torch.Tensor | None = None, temperature=1.0, top_k: int = 0,
               cfg_scale=1.0, generator: torch.Generator | None = None,
               prefix: torch.Tensor | None = None) -> torch.Tensor:
        """Draw ``batch`` sequences [batch, n] with a key/value cache.

        ``temperature`` divides the logits; ``top_k`` > 0 keeps the k most likely ids; ``cfg_scale`` != 1 mixes
        conditional and null-class logits as ``u + s (c - u)`` (classifier-free guidance; needs ``labels``); both
        are one number or one per segment (paper P Tab. A5). ``prefix`` [batch, m] fixes the first m tokens (e.g.
        prologue tokens held fixed, paper P Fig. 1). ``generator`` (CPU) makes the draw reproducible.
        """
        was_training = self.training
        self.eval()
        device = self.pos.device
        temps, scales = self.per_position(temperature, "temperature"), self.per_position(cfg_scale, "cfg_scale")
        guided = any(s != 1.0 for s in scales)
        if guided and (labels is None or not self.num_classes):
            raise ValueError("classifier-free guidance needs a class-conditional model and labels")
        start = self._start(batch, labels, device)
        if guided:
            start = torch.cat([start, self._start(batch, None, device)], dim=0)
        caches = [KVCache() for _ in self.transformer.blocks]
        x = start + self.pos[:, :1]
        out = torch.empty(batch, self.n_tokens, dtype=torch.long, device=device)
        for t in range(self.n_tokens):
            logits = self.head(self.transformer(x, caches=caches))[:, -1].float()
            if guided:
                cond, uncond = logits.chunk(2)
                logits = cond if scales[t] == 1.0 else uncond + scales[t] * (cond - uncond)
            if self.allowed is not None:
                logits = logits.masked_fill(~self.allowed[t], float("-inf"))
            if prefix is not None and t < prefix.shape[1]:
                nxt = prefix[:, t].to(device)
            else:
                logits = logits / max(temps[t], 1e-6)
                if top_k and top_k < logits.shape[-1]:
                    kth = logits.topk(top_k, dim=-1).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits, dim=-1)
                nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(device)
            out[:, t] = nxt
            if t + 1 < self.n_tokens:
                e = self.tok_emb(nxt).unsqueeze(1)
                x = (torch.cat([e, e]) if guided else e) + self.pos[:, t + 1 : t + 2]
        self.train(was_training)
        return out
