"""faiss IndexFlatL2 against scikit-learn brute-force nearest neighbours for the kNN NLL proxy (paper F §5.2).

50k x 64 targets, 10k queries, k = 5, 2 threads each; checks both return the same neighbours, prints the speed
ratio (goal >= 5x) on its last line. Beside faiss's time it prints its floor: a bare float32 matrix multiply of the
same shape (queries x targets^T, in blocks of 1024 queries as a flat search computes it, numpy's BLAS), and the
thread counts both actually ran with (faiss's OpenMP and the BLAS pool, read back, not assumed).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tvclab.bench knn", description=__doc__)
    p.add_argument("--targets", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3, help="median (and min) of this many timed runs")
    p.add_argument("--threads", type=int, default=None, help="threads for both (default: tvclab's FAISS_THREADS, 2)")
    args = p.parse_args(argv)

    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    from tvclab.metrics.knn import FAISS_THREADS, KNNIndex

    rng = np.random.default_rng(0)
    target = rng.standard_normal((args.targets, args.dim)).astype(np.float32)
    queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)

    threads = args.threads or FAISS_THREADS

    def timed(fn):
        times, out = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return float(np.median(times)), float(np.min(times)), out

    index = KNNIndex(target, threads=threads)  # built once, as in training; the build is not part of the query time
    t_faiss, min_faiss, (d_faiss, i_faiss) = timed(lambda: index.search(queries, args.k))
    nn = NearestNeighbors(n_neighbors=args.k, algorithm="brute", metric="euclidean", n_jobs=threads).fit(target)
    with threadpool_limits(threads):  # scikit-learn's OpenMP / BLAS pools, the same thread count as faiss
        t_sk, min_sk, (d_sk, i_sk) = timed(lambda: nn.kneighbors(queries))

    import faiss
    from threadpoolctl import threadpool_info

    def bare_gemm():
        for i in range(0, len(queries), 1024):
            queries[i : i + 1024] @ target.T

    with threadpool_limits(threads):
        t_gemm, min_gemm, _ = timed(bare_gemm)
        blas = sorted({f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info() if p["user_api"] == "blas"})
    faiss_threads = faiss.omp_get_max_threads()

    same_idx = float((i_faiss == i_sk).mean())
    max_dd = float(np.abs(d_faiss - d_sk).max())
    nll_f = args.dim * np.log(d_faiss[:, -1])
    nll_s = args.dim * np.log(d_sk[:, -1])
    print(f"targets {args.targets} x {args.dim}, queries {args.queries}, k {args.k}, {threads} threads, "
          f"median (min) of {args.repeats} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(OpenMP threads degrade sharply when the cores are shared)")
    print(f"faiss IndexFlatL2       : {t_faiss:.3f} s ({min_faiss:.3f})")
    print(f"sklearn brute (n_jobs={threads}) : {t_sk:.3f} s ({min_sk:.3f})")
    print(f"bare GEMM of the same shape: {t_gemm:.3f} s ({min_gemm:.3f}) = "
          f"{2 * args.queries * args.targets * args.dim / t_gemm / 1e9:.1f} GFLOP/s; faiss takes "
          f"{t_faiss / t_gemm:.2f}x its floor")
    print(f"threads: faiss OpenMP {faiss_threads}; BLAS {', '.join(blas) or 'none found'}")
    print(f"same neighbour indices : {same_idx:.4%}; max |distance diff| {max_dd:.2e}; "
          f"max |NLL diff| {np.abs(nll_f - nll_s).max():.2e}")
    ok = same_idx > 0.999 and max_dd < 1e-3
    if not ok:
        print("MISMATCH: faiss and scikit-learn disagree")
    print(f"{t_sk / t_faiss:.1f}x")  # medians
    return 0 if ok else 1
