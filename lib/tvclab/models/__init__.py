"""Models: transformer blocks, tokenizers (1D / 2D, deterministic or flow-matching decoder), AR priors (over token
ids, ``ARPrior``; over continuous tokens with a per-token flow head, ``FlowARPrior``, paper F App. C.4)."""
from .ar import ARPrior, TokenLayout
from .flow_ar import FlowARPrior
from .blocks import (AdaRMSNorm, Attention, Block, GEGLU, KVCache, RMSNorm, Transformer,
                     count_params)
from .decoders import PatchDecoder, selftok_keep
from .tokenizer import Encoded, Encoder, Tokenizer, patchify, unpatchify

__all__ = ["ARPrior", "TokenLayout", "FlowARPrior", "AdaRMSNorm", "Attention", "Block", "GEGLU", "KVCache", "RMSNorm",
           "Transformer", "count_params", "PatchDecoder", "selftok_keep", "Encoded", "Encoder", "Tokenizer", "patchify",
           "unpatchify"]
