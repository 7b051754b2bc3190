"""One flow-matching core: the path (t = 0 noise, t = 1 data), the ODE solver, the losses, velocity models.

- ``path``: ``PATH`` / ``LinearPath`` / ``PathSample`` (x_t = t x1 + (1 - t) x0 and the conversions);
- ``solver``: ``ODESolver(velocity).sample(x0, ...)`` and ``.log_likelihood(x1, ...)`` (paper F eq. 4);
- ``velocity``: ``VelocityMLP`` (F App. C.1), ``AdaLNBlock``, ``EmpiricalVelocity``, ``frozen``;
- ``losses``: ``flow_matching_loss`` (F eq. 3), ``alignment_loss`` (eq. 5), ``alignment_landscape``;
- ``toyflows``: notebook 01's ``ToyConfig``, ``train_flow``, ``toy_flow``, ``toy_flow_dir``, ``align_latents``
  (and the CLI ``python -m tvclab.flow train-toy``). It builds on ``tvclab.train`` (the fit loop, the random
  streams), a layer above this core, so its names are loaded on first use: importing the core never imports
  ``tvclab.train``.
"""
from .path import PATH, LinearPath, PathSample
from .solver import ODESolver
from .velocity import AdaLNBlock, EmpiricalVelocity, VelocityMLP, frozen
from .losses import alignment_landscape, alignment_loss, flow_matching_loss

_TOY_NAMES = ("ToyConfig", "align_latents", "toy_flow", "toy_flow_dir", "train_flow")

__all__ = ["PATH", "LinearPath", "PathSample", "ODESolver", "AdaLNBlock", "EmpiricalVelocity", "VelocityMLP",
           "frozen", "alignment_landscape", "alignment_loss", "flow_matching_loss", *_TOY_NAMES]


def __getattr__(name: str):
    if name in _TOY_NAMES:  # PEP 562: tvclab.flow.toyflows imports tvclab.train, which imports this core
        from . import toyflows

        return getattr(toyflows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
