"""The stage-1 objectives, one module per method (see ``base``): reconstruction (paper W's baselines), WGF-DPD
(paper W), prologue (paper P), flow-prior alignment (paper F). ``Stage1Model`` composes the ones a config enables.
Each method's torch-free record (config section, rules, presets, cross-paper row) is its ``tvclab.methods`` module."""
from .base import OBJECTIVES, Objective, enabled_objectives, provide, register, service
from . import reconstruction, wgf_dpd, prologue, alignment  # noqa: E402,F401  (registration order = composition order)
from .prologue import sequence_layout

__all__ = ["OBJECTIVES", "Objective", "enabled_objectives", "provide", "register", "sequence_layout", "service"]
