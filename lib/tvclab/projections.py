"""Fixed (non-learnable) linear projections of target features to the latent width (paper F §4.2, App. C.2;
Table 2(b) (a) ablates them).

When the target features live in R^D and the latents in R^d, paper F maps the target features through a fixed
linear projection before the flow prior is trained on them, and keeps it frozen. Three operators:

- ``random`` (F's default): y = x W, W in R^{D x d} with entries N(0, 1/D) (authors' code: "fixed projection
  N(0, 1/d_target)", d_target = D, the target features' width). F §4.2: with this scaling the components of y
  have about unit variance when those of x are uncorrelated with unit variance; by the Johnson-Lindenstrauss lemma
  pairwise distances are kept up to the common factor sqrt(d / D) and a small distortion.
- ``avgpool``: the mean of each run of D / d consecutive features (D a multiple of d).
- ``pca``: y = (x - mean) V_d, V_d the top-d principal directions of a sample of target features.

Everything is a buffer, never a parameter: an optimiser over ``module.parameters()`` cannot touch it, and it is
saved and loaded with the module's state. torch has no fixed random-projection layer (scikit-learn's
``GaussianRandomProjection`` scales by 1/d, keeps distances rather than variances, and is not a torch module), so
it is written here; the PCA directions come from ``torch.linalg.svd``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

KINDS = ("random", "avgpool", "pca")


class FixedProjection(nn.Module):
    """y = (x - offset) @ matrix, both buffers: [..., D] -> [..., d]."""

    def __init__(self, matrix: torch.Tensor, offset: torch.Tensor | None = None, kind: str = "random"):
        super().__init__()
        if matrix.dim() != 2:
            raise ValueError(f"a projection matrix is [D, d], got shape {tuple(matrix.shape)}")
        self.kind = kind
        self.register_buffer("matrix", matrix.detach().clone())
        self.register_buffer("offset", torch.zeros(matrix.shape[0]) if offset is None else offset.detach().clone())

    @property
    def in_dim(self) -> int:
        return self.matrix.shape[0]

    @property
    def out_dim(self) -> int:
        return self.matrix.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_dim:
            raise ValueError(f"this {self.kind} projection takes features of width {self.in_dim}, got {x.shape[-1]}")
        return (x - self.offset.to(x.dtype)) @ self.matrix.to(x.dtype)


def random_projection(in_dim: int, out_dim: int, generator: torch.Generator | None = None) -> FixedProjection:
    """Entries N(0, 1/in_dim) (paper F §4.2 default)."""
    w = torch.randn(in_dim, out_dim, generator=generator) / in_dim ** 0.5
    return FixedProjection(w, kind="random")


def avgpool_projection(in_dim: int, out_dim: int) -> FixedProjection:
    """The mean of each of ``out_dim`` runs of ``in_dim / out_dim`` consecutive features."""
    if in_dim % out_dim:
        raise ValueError(f"average pooling needs the feature width {in_dim} to be a multiple of the latent width "
                         f"{out_dim}; use the random or PCA projection instead")
    k = in_dim // out_dim
    w = torch.zeros(in_dim, out_dim)
    for j in range(out_dim):
        w[j * k : (j + 1) * k, j] = 1.0 / k
    return FixedProjection(w, kind="avgpool")


def pca_projection(features: torch.Tensor, out_dim: int) -> FixedProjection:
    """Centre on the sample mean and keep the top ``out_dim`` principal directions of ``features`` [N, D]."""
    if features.dim() != 2 or features.shape[1] < out_dim or features.shape[0] < 2:
        raise ValueError(f"PCA to width {out_dim} needs a sample of features [N >= 2, D >= {out_dim}], got shape "
                         f"{tuple(features.shape)}")
    x = features.double()
    mean = x.mean(0)
    _, _, vh = torch.linalg.svd(x - mean, full_matrices=False)
    return FixedProjection(vh[:out_dim].t().float(), mean.float(), kind="pca")


def make_projection(kind: str, in_dim: int, out_dim: int, *, features: torch.Tensor | None = None,
                    generator: torch.Generator | None = None) -> FixedProjection:
    """The projection ``kind`` ("random", "avgpool", "pca"; PCA is fitted on ``features``)."""
    if kind == "random":
        return random_projection(in_dim, out_dim, generator)
    if kind == "avgpool":
        return avgpool_projection(in_dim, out_dim)
    if kind == "pca":
        if features is None:
            raise ValueError("the PCA projection needs a sample of target features (features=[N, D])")
        if features.shape[-1] != in_dim:
            raise ValueError(f"features have width {features.shape[-1]}, the projection takes {in_dim}")
        return pca_projection(features, out_dim)
    raise ValueError(f"unknown projection {kind!r}; choose one of {', '.join(KINDS)}")
