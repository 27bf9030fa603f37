"""Kernels shared by every algorithm: grouping, column statistics, inertia, distances."""

import contextlib

import numba
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

# Samples are split into this many contiguous groups for parallel loops. The number is fixed,
# not taken from the thread count, so partial sums are added in the same order on any
# machine. 32 groups keep two to sixteen threads busy while the per-group buffers of
# (n_clusters, n_features) float64 sums stay small.
N_GROUPS = 32


def n_groups_for(n_samples):
    """Return how many sample groups to use: `N_GROUPS`, or fewer for tiny inputs."""
    return max(1, min(N_GROUPS, n_samples))


@intrinsic
def trailing_zeros(typingctx, value):
    """Return the number of zero bits below the lowest set bit of a uint64 (64 for zero),
    in one instruction (LLVM's ``cttz``)."""
    if value != numba.types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return numba.types.uint64(numba.types.uint64), codegen


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


# Values of the flat X added entry by entry into as many accumulators by the column
# kernels below. The span is rounded to whole rows, so entry t of every span belongs to
# column t % n_features. Entry-by-entry sums run in SIMD lanes whatever the width, where a
# loop over the few features of one row does not. Their indices are unsigned: numba's test
# for negative signed indices alone kept these loops out of SIMD lanes. At 1,000,000 x 4
# float32 the column statistics took 0.5 ms this way against 2.9 ms row by row. The
# finiteness check took 0.25 ms against 1.9 ms. At 70,000 x 784 the times were equal.
SPAN_VALUES = 64


@numba.njit(parallel=True, cache=True)
def column_mean_var(X, n_groups):
    """Return the unweighted mean and variance of each column of the C-contiguous X, in
    float64, in two passes.

    Equal to ``X.mean(axis=0)`` and ``X.var(axis=0)`` up to the order of the float64
    additions, without numpy's temporary (n_samples, n_features) copy.
    """
    # X (n_samples, n_features) C-contiguous IN
    n_samples, n_features = X.shape
    flat = X.reshape(-1)
    rows_per_span = max(1, SPAN_VALUES // n_features)
    span = rows_per_span * n_features
    n_spans = n_samples // rows_per_span
    partial = np.zeros((n_groups, span))
    for g in numba.prange(n_groups):
        for c in range(g * n_spans // n_groups, (g + 1) * n_spans // n_groups):
            base = c * span
            for t in range(span):
                partial[g, t] += flat[np.uint64(base + t)]
    mean = _fold_columns(partial, n_features)
    for i in range(n_spans * rows_per_span, n_samples):
        for f in range(n_features):
            mean[f] += X[i, f]
    mean /= n_samples

    # Second pass on deviations from the mean: exact where one pass of sum of squares
    # would cancel catastrophically for data far from the origin.
    centre = np.empty(span)
    for t in range(span):
        centre[t] = mean[t % n_features]
    partial[:] = 0.0
    for g in numba.prange(n_groups):
        for c in range(g * n_spans // n_groups, (g + 1) * n_spans // n_groups):
            base = c * span
            for t in range(span):
                deviation = flat[np.uint64(base + t)] - centre[t]
                partial[g, t] += deviation * deviation
    var = _fold_columns(partial, n_features)
    for i in range(n_spans * rows_per_span, n_samples):
        for f in range(n_features):
            deviation = X[i, f] - mean[f]
            var[f] += deviation * deviation
    var /= n_samples
    return mean, var


@numba.njit(inline="always")
def _fold_columns(partial, n_features):
    """Add the (n_groups, span) accumulators of `column_mean_var` into their columns."""
    totals = np.zeros(n_features)
    for g in range(partial.shape[0]):
        for t in range(partial.shape[1]):
            totals[t % n_features] += partial[g, t]
    return totals


@numba.njit(parallel=True, cache=True)
def all_finite(X, n_groups):
    """Return whether every entry of the C-contiguous X is finite, reading X once on all
    threads."""
    # x * 0 is 0 for every finite x and NaN for NaN and inf, so the sums are 0 exactly when
    # X is finite, and they cannot overflow.
    flat = X.reshape(-1)
    n_values = flat.shape[0]
    n_spans = n_values // SPAN_VALUES
    finite = np.ones(n_groups, dtype=np.bool_)
    for g in numba.prange(n_groups):
        sums = np.zeros(SPAN_VALUES, dtype=X.dtype)
        for c in range(g * n_spans // n_groups, (g + 1) * n_spans // n_groups):
            base = c * SPAN_VALUES
            for t in range(SPAN_VALUES):
                sums[t] += flat[np.uint64(base + t)] * 0
        finite[g] = (sums == 0).all()
    tail = np.zeros(1, dtype=X.dtype)[0]
    for t in range(n_spans * SPAN_VALUES, n_values):
        tail += flat[t] * 0
    return finite.all() and tail == 0


@numba.njit(cache=True)
def label_counts(labels, n_clusters):
    """Return how many samples carry each label in ``0 .. n_clusters - 1``.

    Same as ``np.bincount(labels, minlength=n_clusters)`` for such labels, which took 1.2 to
    3 ms for 1,000,000 int32 labels because it first copies them to int64. This loop takes
    0.4 ms on one thread. A parallel loop took 0.3 ms on an idle machine but 16 ms while
    another process kept the second core busy.
    """
    counts = np.zeros(n_clusters, dtype=np.int64)
    for i in range(labels.shape[0]):
        counts[labels[i]] += 1
    return counts


@numba.njit(cache=True)
def spaced_rows_mean(X, step):
    """Return the float64 mean of rows ``0, step, 2 step, ...`` of X.

    numpy took 0.9 ms for 65,536 rows of 4 float32 features, converting the strided view.
    """
    n_features = X.shape[1]
    total = np.zeros(n_features)
    count = 0
    for i in range(0, X.shape[0], step):
        for f in range(n_features):
            total[f] += X[i, f]
        count += 1
    return total / count


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
