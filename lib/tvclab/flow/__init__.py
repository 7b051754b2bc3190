"""One flow-matching core: the path (t = 0 noise, t = 1 data), the ODE solver, the losses, velocity models.

- ``path``: ``PATH`` / ``LinearPath`` / ``PathSample`` (x_t = t x1 + (1 - t) x0 and the conversions);
- ``solver``: ``ODESolver(velocity).sample(x0, ...)`` and ``.log_likelihood(x1, ...)`` (paper F eq. 4);
- ``velocity``: ``VelocityMLP`` (F App. C.1), ``AdaLNBlock``, ``EmpiricalVelocity``, ``frozen``;
- ``losses``: ``flow_matching_loss`` (F eq. 3), ``alignment_loss`` (eq. 5), ``alignment_landscape``, the per-token
  draws ``token_path_noise`` / ``flat_token_draws`` (global batch, sliced per rank);
- ``time``: ``TimestepEmbedding``, the one timestep embedding of every velocity model.

The core imports nothing else of the suite; notebook 01's toy experiment built on it is ``tvclab.toyflows``.
"""
from .path import PATH, LinearPath, PathSample
from .solver import ODESolver
from .velocity import AdaLNBlock, EmpiricalVelocity, VelocityMLP, frozen
from .losses import alignment_landscape, alignment_loss, flat_token_draws, flow_matching_loss, token_path_noise
from .time import TimestepEmbedding

__all__ = ["PATH", "LinearPath", "PathSample", "ODESolver", "AdaLNBlock", "EmpiricalVelocity", "VelocityMLP",
           "frozen", "alignment_landscape", "alignment_loss", "flat_token_draws", "flow_matching_loss", "token_path_noise",
           "TimestepEmbedding"]
