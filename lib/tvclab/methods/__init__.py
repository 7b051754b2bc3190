"""The methods, one torch-free module each (``configs.MethodSpec``): a method's config section, field rules, the
stage it joins, cross-checks, presets and cross-paper row, registered on import. ``configs.Config``,
``FIELD_RULES``, ``STAGE_SECTIONS``, ``PRESETS`` and ``crosspaper.methods()`` are derived from them.

- ``wgf_dpd``: paper W's WGF-DPD (§4.5-4.7), section ``wgf``
- ``prologue``: paper P's prologue tokens (§2), section ``prologue``
- ``alignment``: paper F's flow-prior alignment (§4, §5.2), section ``align``
- ``vapi``: paper V's post-training, section ``posttrain`` (its own stage)

A new method is a new module that calls ``configs.register_method`` (and, for a stage-1 term, an objective
registered with ``tvclab.objectives.register``); importing it is enough (``load``).
"""
from __future__ import annotations

import importlib

from tvclab.configs import METHODS, CrossPaperRow, MethodSpec, register_method

from . import wgf_dpd, prologue, alignment, vapi  # noqa: E402,F401  (registration order = section order)


def load(module: str):
    """Import the method module ``module`` (a dotted name on ``sys.path``): its spec registers itself."""
    return importlib.import_module(module)


__all__ = ["METHODS", "CrossPaperRow", "MethodSpec", "load", "register_method"]
