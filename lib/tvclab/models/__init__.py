"""Models: transformer blocks, tokenizers (1D / 2D, deterministic or flow-matching decoder), AR priors."""
from .ar import ARPrior, TokenLayout
from .blocks import (AdaRMSNorm, Attention, Block, GEGLU, KVCache, RMSNorm, Transformer,
                     count_params)
from .decoders import PatchDecoder, selftok_keep
from .tokenizer import Encoded, Encoder, Tokenizer, patchify, unpatchify

__all__ = ["ARPrior", "TokenLayout", "AdaRMSNorm", "Attention", "Block", "GEGLU", "KVCache", "RMSNorm", "Transformer",
           "count_params", "PatchDecoder", "selftok_keep", "Encoded", "Encoder", "Tokenizer", "patchify", "unpatchify"]
