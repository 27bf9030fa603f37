"""Kernels shared by every algorithm: grouping, column statistics, inertia, distances."""

import contextlib

import numba
import numpy as np

# Samples are split into this many contiguous groups for parallel loops. The number is fixed,
# not taken from the thread count, so partial sums are added in the same order on any
# machine. 32 groups keep two to sixteen threads busy while the per-group buffers of
# (n_clusters, n_features) float64 sums stay small.
N_GROUPS = 32


def n_groups_for(n_samples):
    """Return how many sample groups to use: `N_GROUPS`, or fewer for tiny inputs."""
    return max(1, min(N_GROUPS, n_samples))


# Work (samples x features x clusters) below which ``n_threads=None`` means one thread. A
# pass over that much takes under a millisecond on one core, while starting a parallel
# region on cores that other processes keep busy took 5 to 20 ms here. On 600 x 5 data with
# four busy processes on 2 cores, choose_k for k = 2..10 took 11.2 s on two threads and
# 2.2 s on one.
SMALL_WORK = 2_000_000


@contextlib.contextmanager
def numba_threads(n_threads, work=None):
    """Run the enclosed kernels on ``n_threads`` threads, restoring the old count afterwards.

    ``n_threads=None`` means every thread numba has, or one thread when ``work`` (samples x
    features x clusters) is below `SMALL_WORK`. Results do not depend on the count.
    """
    previous = numba.get_num_threads()
    limit = numba.config.NUMBA_NUM_THREADS
    if n_threads is None:
        count = 1 if work is not None and work < SMALL_WORK else limit
    else:
        count = max(1, min(int(n_threads), limit))
    numba.set_num_threads(count)
    try:
        yield count
    finally:
        numba.set_num_threads(previous)


@numba.njit(parallel=True, cache=True)
def column_mean_var(X, n_groups):
    """Return the unweighted mean and variance of each column, in float64, in two passes.

    Same values as ``X.mean(axis=0)`` and ``X.var(axis=0)`` without numpy's temporary
    (n_samples, n_features) copy.
    """
    # X (n_samples, n_features) IN
    n_samples, n_features = X.shape
    partial = np.zeros((n_groups, n_features))
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        for i in range(start, stop):
            for f in range(n_features):
                partial[g, f] += X[i, f]
    mean = np.zeros(n_features)
    for g in range(n_groups):
        for f in range(n_features):
            mean[f] += partial[g, f]
    mean /= n_samples

    # Second pass on deviations from the mean: exact where one pass of sum of squares
    # would cancel catastrophically for data far from the origin.
    partial[:] = 0.0
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        for i in range(start, stop):
            for f in range(n_features):
                deviation = X[i, f] - mean[f]
                partial[g, f] += deviation * deviation
    var = np.zeros(n_features)
    for g in range(n_groups):
        for f in range(n_features):
            var[f] += partial[g, f]
    var /= n_samples
    return mean, var


@numba.njit(parallel=True, cache=True, fastmath={"reassoc"})
def all_finite(X, n_groups):
    """Return whether every entry of X is finite, reading X once on all threads."""
    # x * 0 is 0 for every finite x and NaN for NaN and inf, so the sums are 0 exactly when
    # X is finite, and they cannot overflow. Reassociation lets the sums use SIMD lanes. The
    # flags that would assume finite values stay off.
    n_samples, n_features = X.shape
    finite = np.ones(n_groups, dtype=np.bool_)
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        total = np.zeros(1, dtype=X.dtype)[0]
        for i in range(start, stop):
            for f in range(n_features):
                total += X[i, f] * 0
        finite[g] = total == 0
    return finite.all()


@numba.njit(parallel=True, cache=True)
def first_non_finite(X, n_groups):
    """Return the (row, column) of the first NaN or infinite entry of X, or (-1, -1)."""
    n_samples, n_features = X.shape
    found = np.full(n_groups, -1, dtype=np.int64)
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        for i in range(start, stop):
            bad = False
            for f in range(n_features):
                if not np.isfinite(X[i, f]):
                    bad = True
                    break
            if bad:
                found[g] = i
                break
    for g in range(n_groups):
        if found[g] >= 0:
            row = found[g]
            for f in range(n_features):
                if not np.isfinite(X[row, f]):
                    return row, f
    return -1, -1


@numba.njit(parallel=True, cache=True)
def inertia_dense(X, sample_weight, centers, labels, n_groups):
    """Return the weighted sum of squared distances of each sample to its labelled centre.

    Accumulates in float64 whatever the dtype of X.
    """
    n_samples, n_features = X.shape
    partial = np.zeros(n_groups)
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        total = 0.0
        for i in range(start, stop):
            j = labels[i]
            dist = 0.0
            for f in range(n_features):
                diff = np.float64(X[i, f]) - centers[j, f]
                dist += diff * diff
            total += sample_weight[i] * dist
        partial[g] = total
    result = 0.0
    for g in range(n_groups):
        result += partial[g]
    return result


@numba.njit(parallel=True, cache=True)
def squared_distances_to_labelled(X, centers, labels):
    """Return each sample's squared distance to its labelled centre, in float64."""
    n_samples, n_features = X.shape
    out = np.empty(n_samples)
    for i in numba.prange(n_samples):
        j = labels[i]
        dist = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - centers[j, f]
            dist += diff * diff
        out[i] = dist
    return out


@numba.njit(parallel=True, cache=True)
def pairwise_squared_dense(X, centers):
    """Return the (n_samples, n_clusters) squared distances, in float64.

    Only for outputs that are this matrix by definition (``transform``); fitting never
    builds it.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    out = np.empty((n_samples, n_clusters))
    for i in numba.prange(n_samples):
        for j in range(n_clusters):
            dist = 0.0
            for f in range(n_features):
                diff = np.float64(X[i, f]) - centers[j, f]
                dist += diff * diff
            out[i, j] = dist
    return out
