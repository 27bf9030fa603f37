"""Drivers of the accelerated exact K-means algorithms registered in `julei.kmeans`.

Each driver takes validated dense input and runs the same iterations as
`julei.kmeans._run_lloyd`: the same stopping rule, the same centre update (with the same
relocation of empty clusters) and the same final re-assignment. Only the assignment step
differs, and every assignment kernel returns the labels Lloyd's kernel would return from the
same centres, so the results match Lloyd's.
"""

import logging

import numpy as np
from threadpoolctl import threadpool_limits

import scipy.sparse as sp

from julei._kernels import dedup as _dedup
from julei._kernels import dense_gemm as _gemm
from julei._kernels import hamerly as _hamerly
from julei._kernels import yinyang as _yinyang
from julei._kernels._common import column_mean_var, n_groups_for

logger = logging.getLogger(__name__)

# Centres per group of the Yinyang bounds: more groups prune more but cost more bound
# updates per sample.
CENTERS_PER_GROUP = 10


def _iterate(X, sample_weight, centers_init, max_iter, tol, assign, on_move):
    """Run Lloyd iterations with ``assign`` as the assignment step.

    ``assign(centers, labels, buffers, changed, first)`` writes labels and the buffers'
    partial sums and inertia, and per-group counts of changed labels into ``changed``.
    ``on_move(old_centers, new_centers)`` is called after each centre update so that the
    kernel can move its bounds.
    """
    # Imported here because julei.kmeans imports this module to register the drivers.
    from julei import kmeans as _kmeans

    n_samples = X.shape[0]
    n_clusters = centers_init.shape[0]
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = np.full(n_samples, -1, dtype=np.int32)
    buffers = _kmeans._make_buffers(X, n_clusters)
    changed = np.zeros(n_groups_for(n_samples), dtype=np.int64)
    inertia_history, shift_history = [], []
    strict_convergence = False

    for iteration in range(max_iter):
        assign(centers, labels, buffers, changed, iteration == 0)
        inertia = float(buffers.group_inertia.sum())
        centers_new, shift = _kmeans._update_centers(X, sample_weight, centers, labels, buffers)
        inertia_history.append(inertia)
        shift_history.append(shift)
        logger.info("Iteration %d: inertia %.6g, centre shift %.3g.", iteration, inertia, shift)
        on_move(centers, centers_new)
        centers = centers_new

        # The first step starts from labels of -1, so it always counts every label as changed.
        if changed.sum() == 0:
            strict_convergence = True
            logger.info("Converged at iteration %d: labels unchanged.", iteration)
            break
        if shift <= tol:
            logger.info("Converged at iteration %d: centre shift %.3g within tolerance %.3g.", iteration, shift, tol)
            break

    if not strict_convergence:
        # One more step with the final centres, so the labels match them.
        assign(centers, labels, buffers, changed, False)

    inertia = _kmeans._inertia(X, sample_weight, centers, labels)
    history = {"inertia": np.array(inertia_history), "center_shift": np.array(shift_history)}
    return _kmeans._Run(centers, labels, inertia, iteration + 1, history)


def _lloyd_if_sparse(run):
    """Wrap a dense-only driver so that sparse input runs plain Lloyd instead."""

    def driver(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
        if sp.issparse(X):
            from julei import kmeans as _kmeans

            return _kmeans._run_lloyd(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        return run(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)

    driver.__name__ = run.__name__
    driver.__doc__ = run.__doc__
    return driver


# Duplicate merging is tried for data of at most this many features (colours, a few rounded
# measurements) and this many samples, and kept when it at least halves the samples. The
# unique rows are capped so that the merge's table and rows take at most about 60 MB.
MERGE_MAX_FEATURES = 4
MERGE_MIN_SAMPLES = 50_000
MERGE_MAX_UNIQUE = 1 << 21


def _merge_duplicates_first(run):
    """Wrap a dense driver so that it runs on weighted unique rows when X has many duplicates.

    The result is mapped back to every sample: labels through the inverse index and the
    inertia recomputed over all samples. Centres equal those of the full data up to the
    rounding of the sums.
    """

    def driver(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
        n_samples, n_features = X.shape
        if sp.issparse(X) or n_features > MERGE_MAX_FEATURES or n_samples < MERGE_MIN_SAMPLES:
            return run(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        bits = X.view(np.uint32 if X.dtype == np.float32 else np.uint64)
        inverse = np.empty(n_samples, dtype=np.int32)
        max_unique = min(n_samples // 2, MERGE_MAX_UNIQUE)
        n_unique, unique, weights = _dedup.merge_duplicates(bits, X, sample_weight, max_unique, inverse)
        if n_unique < 0:
            return run(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        logger.info("Merged %d samples into %d weighted unique rows.", n_samples, n_unique)
        merged = run(unique[:n_unique], weights[:n_unique], centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        # The labels of all samples overwrite the inverse index: no second (n_samples,) array.
        labels = np.take(merged.labels, inverse, out=inverse)
        from julei import kmeans as _kmeans

        inertia = _kmeans._inertia(X, sample_weight, merged.centers, labels)
        return merged._replace(labels=labels, inertia=inertia)

    driver.__name__ = run.__name__
    driver.__doc__ = run.__doc__
    return driver


@_merge_duplicates_first
@_lloyd_if_sparse
def run_hamerly(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run K-means with Hamerly's bounds from ``centers_init`` on validated dense input."""
    lower = np.empty(X.shape[0], dtype=X.dtype)
    margin = _hamerly.bound_margin(X.dtype)
    moves = [0.0, 0.0, 0]

    def assign(centers, labels, buffers, changed, first):
        _hamerly.assign_hamerly(
            X, sample_weight, centers, labels, lower, moves[0], moves[1], moves[2], margin, first,
            buffers.group_sums, buffers.group_weights, buffers.group_inertia, changed,
        )

    def on_move(old_centers, new_centers):
        _, largest, second, largest_index = _hamerly.center_shifts(old_centers, new_centers)
        moves[:] = [largest, second, largest_index]

    return _iterate(X, sample_weight, centers_init, max_iter, tol, assign, on_move)


@_lloyd_if_sparse
def run_yinyang(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run Yinyang K-means from ``centers_init`` on validated dense input."""
    n_clusters = centers_init.shape[0]
    n_center_groups = max(1, n_clusters // CENTERS_PER_GROUP)
    group_of, members, group_start = _yinyang.group_centers(centers_init, n_center_groups)
    lower = np.empty((X.shape[0], n_center_groups), dtype=X.dtype)
    margin = _hamerly.bound_margin(X.dtype)
    moves = [np.zeros(n_center_groups)]

    def assign(centers, labels, buffers, changed, first):
        _yinyang.assign_yinyang(
            X, sample_weight, centers, labels, lower, group_of, members, group_start, moves[0],
            margin, first, buffers.group_sums, buffers.group_weights, buffers.group_inertia, changed,
        )

    def on_move(old_centers, new_centers):
        shifts = _hamerly.center_shifts(old_centers, new_centers)[0]
        moves[0] = _yinyang.group_shifts(shifts, members, group_start)

    return _iterate(X, sample_weight, centers_init, max_iter, tol, assign, on_move)


@_lloyd_if_sparse
def run_gemm(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run Lloyd's algorithm with chunked matrix products from ``centers_init`` on validated
    dense input."""
    mean = column_mean_var(X, n_groups_for(X.shape[0]))[0]
    tolerance = _gemm.recheck_tolerance(X.dtype, X.shape[1])

    def assign(centers, labels, buffers, changed, first):
        _gemm.assign_gemm(
            X, sample_weight, centers, mean, labels, tolerance,
            buffers.group_sums, buffers.group_weights, buffers.group_inertia, changed,
        )

    # Each numba thread calls BLAS on its own chunk; BLAS threads would only compete.
    with threadpool_limits(limits=1, user_api="blas"):
        return _iterate(X, sample_weight, centers_init, max_iter, tol, assign, lambda old, new: None)


# Threshold of `choose_algorithm`, from CPU times measured on 2 cores (AMD EPYC, AVX-512)
# with benchmarks/compare.py's data: the matrix product wins once a scan of all centres
# costs more than BLAS reading the same numbers (gemm 119 ms per iteration against Hamerly's
# 151 ms at 70,000 x 784, k = 10). Below it Hamerly beat Yinyang's group bounds, even at
# 200,000 x 32, k = 100 (36 against 47 ms per iteration), so 'auto' does not pick Yinyang.
GEMM_MIN_FEATURES = 128


def choose_algorithm(X, n_clusters):
    """Return the name of the fastest exact algorithm for data of this shape."""
    if sp.issparse(X):
        return "lloyd"
    if X.shape[1] >= GEMM_MIN_FEATURES:
        return "gemm"
    return "hamerly"
