"""Benchmark: `julei.selection.choose_k` over k = 2..10 on 1,000,000 x 4 data.

The data are a seeded mixture of 6 Gaussian blobs (unit variance, centres drawn uniformly
in [-10, 10]^4) as float32, so the recommended k is known. All six criteria are computed
with their defaults. That means nine K-means fits of 3 starts each on all rows, and CH and
DB on all rows.
The silhouette comes from 5 samples of 3,000 rows per k, and the gap statistic from 10
references of 5,000 rows. Stability uses 5 subsample pairs of a 5,000-row sample. Wall time
is taken once, after a warm-up run on small data that compiles numba's kernels (cached on
disk afterwards). Thread counts are capped at ``--threads`` for numba and for BLAS and
OpenMP (through threadpoolctl).

Run from the repository root::

    .venv/bin/python benchmarks/choose_k.py [--n-samples 1000000] [--threads 2] [--json out.json]
"""

import argparse
import json
import os
import platform
import time

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from julei.selection import choose_k


def make_data(n_samples, n_features, n_clusters, seed):
    """Return float32 blobs of unit variance and the number of blobs."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10.0, 10.0, size=(n_clusters, n_features))
    labels = rng.integers(n_clusters, size=n_samples)
    X = centers[labels] + rng.standard_normal((n_samples, n_features))
    return X.astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=4)
    parser.add_argument("--n-clusters", type=int, default=6, help="blobs in the generated data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    X = make_data(args.n_samples, args.n_features, args.n_clusters, args.seed)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    with threadpool_limits(limits=args.threads):
        choose_k(X[:2000], range(2, 4), random_state=0)  # compile numba kernels

        started = time.perf_counter()
        result = choose_k(X, range(2, 11), random_state=args.seed)
        seconds = time.perf_counter() - started

    record = {
        "n_samples": args.n_samples,
        "n_features": args.n_features,
        "true_k": args.n_clusters,
        "recommended_k": result.k,
        "reason": result.reason,
        "threads": args.threads,
        "seconds_total": round(seconds, 2),
        "seconds_by_step": {step: round(value, 2) for step, value in result.notes["seconds"].items()},
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
    }
    print(result.table.to_string(float_format=lambda value: f"{value:.4g}"))
    print(json.dumps(record, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)


if __name__ == "__main__":
    main()
