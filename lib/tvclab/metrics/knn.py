"""k-nearest-neighbour NLL proxy of paper F §5.2, on an exact faiss index of the target samples.

Paper F §5.2: the density at x is inversely proportional to the volume of the ball reaching its k-th nearest
neighbour among target samples, so NLL(x) ~ d * log r_k(x) (+ a constant), r_k the Euclidean distance to that
neighbour and d the dimension. The target set is indexed once (faiss ``IndexFlatL2``: exact, brute force) and reused
across calls, as the paper does when it samples 10k latents during training.
"""
from __future__ import annotations

import numpy as np

from tvclab import timing

FAISS_THREADS = 2  # the machines this suite targets have 2 cores; more threads only contend


def _as_float32(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"{name} must be [N, d] (flatten latents first), got shape {x.shape}")
    return x


class KNNIndex:
    """An exact L2 index of target samples [N, d], built once; ``search`` and ``nll`` query it."""

    def __init__(self, target, threads: int = FAISS_THREADS):
        import faiss

        faiss.omp_set_num_threads(threads)
        t = _as_float32(target, "target")
        self.dim, self.size = t.shape[1], t.shape[0]
        self.index = faiss.IndexFlatL2(self.dim)
        self.index.add(t)

    @timing.timed("metrics")
    def search(self, queries, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """(Euclidean distances [Q, k], indices [Q, k]) of the k nearest targets, nearest first.
        faiss returns squared distances; they are square-rooted here."""
        q = _as_float32(queries, "queries")
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have dimension {q.shape[1]}, the index {self.dim}")
        if not 1 <= k <= self.size:
            raise ValueError(f"k must be in [1, {self.size}] (the number of targets), got {k}")
        sq, idx = self.index.search(q, k)
        return np.sqrt(np.maximum(sq, 0.0)), idx

    def nll(self, queries, k: int = 5) -> np.ndarray:
        """Per-query NLL proxy d * log r_k (paper F §5.2) [Q]; r_k is floored at 1e-12 (a query on a target)."""
        dist, _ = self.search(queries, k)
        return self.dim * np.log(np.maximum(dist[:, k - 1], 1e-12))


def knn_nll(target_or_index, queries, k: int = 5) -> np.ndarray:
    """Per-query d * log r_k (paper F §5.2). Pass a ``KNNIndex`` to reuse one index across calls."""
    index = target_or_index if isinstance(target_or_index, KNNIndex) else KNNIndex(target_or_index)
    return index.nll(queries, k)
