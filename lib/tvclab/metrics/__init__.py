"""tvclab.metrics: the numbers every table stands on (README, "Metrics without network").

- ``generation_metrics``, ``fid``: FID / IS / KID / precision-recall through torch-fidelity (Inception), or, without
  Inception weights, the labelled substitute in the suite classifier's features (``fd_clf``, ``kd_clf_*``, ...).
  ``fd_clf_floor``: the real-vs-real FD-clf at a given N.
- ``frechet_distance``: the one Fréchet distance both paths use; ``frechet_bootstrap``: it with an interval over
  samples (``bootstrap=B`` in ``generation_metrics`` / ``fid`` adds ``<metric>_lo`` / ``<metric>_hi``).
- ``lpips_distance`` (raises ``LPIPSUnavailableError`` without backbone weights), ``psnr``.
- ``KNNIndex``, ``knn_nll``: paper F §5.2's kNN NLL proxy on an exact faiss index.
- ``linear_probe``: paper P Table 4's logistic-regression probe (top-1 / top-5).

Submodules are imported on first use, so ``import tvclab.metrics`` loads neither faiss nor torch-fidelity.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "frechet_distance": "frechet", "feature_statistics": "frechet", "frechet_distance_features": "frechet",
    "frechet_bootstrap": "frechet",
    "generation_metrics": "fidelity", "fid": "fidelity", "fd_clf_floor": "fidelity",
    "InceptionUnavailableError": "fidelity", "inception_weights_path": "fidelity", "hub_checkpoints": "fidelity",
    "register_classifier_extractor": "fidelity", "METRIC_LABELS": "fidelity", "INCEPTION_WEIGHTS": "fidelity", "VGG16_WEIGHTS": "fidelity",
    "lpips_distance": "perceptual", "LPIPSUnavailableError": "perceptual", "lpips_weights_path": "perceptual",
    "psnr": "image",
    "KNNIndex": "knn", "knn_nll": "knn",
    "linear_probe": "probe",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
