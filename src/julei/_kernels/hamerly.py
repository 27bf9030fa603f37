"""Hamerly's exact K-means: one lower distance bound per sample.

Each sample keeps a lower bound on its distance to every centre other than its own. The
distance to its own centre is computed exactly each iteration, because the inertia and the
centre sums read the sample anyway. When that distance is below the larger of the lower bound
and half the distance from its centre to the nearest other centre, no other centre can be
nearer, and the sample keeps its label without scanning the centres. Otherwise the kernel
scans every centre exactly as `lloyd.assign_dense` does (differences in float64, ties to the
lowest index), so the labels equal Lloyd's from the same centres.

Centre sums are accumulated per sample group in the same order as `lloyd.assign_dense`, so
given the same labels the new centres are bit-identical to Lloyd's. Bounds are stored in the
dtype of X and shrunk by `bound_margin` on each store, so float32 rounding never makes a
bound wrong.
"""

import numba
import numpy as np


def bound_margin(dtype):
    """Return the relative amount by which stored bounds are shrunk for ``dtype``."""
    # A float32 store rounds by at most 6e-8 relative; float64 arithmetic on the bounds
    # drifts by a few 1e-16 per iteration. Both margins are far larger than that.
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12


@numba.njit(cache=True)
def center_gaps(centers):
    """Return, per centre, half the distance to its nearest other centre (float64).

    With one centre the gap is infinite, because no other centre can take a sample away.
    """
    # centers (n_clusters, n_features) IN
    n_clusters, n_features = centers.shape
    half_gap = np.full(n_clusters, np.inf)
    for a in range(n_clusters):
        for b in range(a + 1, n_clusters):
            dist = 0.0
            for f in range(n_features):
                diff = np.float64(centers[a, f]) - centers[b, f]
                dist += diff * diff
            dist = 0.5 * np.sqrt(dist)
            if dist < half_gap[a]:
                half_gap[a] = dist
            if dist < half_gap[b]:
                half_gap[b] = dist
    return half_gap


@numba.njit(cache=True)
def center_shifts(old_centers, new_centers):
    """Return each centre's Euclidean move (float64), the largest and second-largest move
    and the index of the largest."""
    n_clusters, n_features = old_centers.shape
    shifts = np.empty(n_clusters)
    largest = 0.0
    second = 0.0
    largest_index = 0
    for j in range(n_clusters):
        dist = 0.0
        for f in range(n_features):
            diff = np.float64(new_centers[j, f]) - old_centers[j, f]
            dist += diff * diff
        shifts[j] = np.sqrt(dist)
        if shifts[j] > largest:
            second = largest
            largest = shifts[j]
            largest_index = j
        elif shifts[j] > second:
            second = shifts[j]
    return shifts, largest, second, largest_index


@numba.njit(inline="always")
def _scan_all(X, i, centers):
    """Return the nearest centre of sample i, its squared distance and the second-nearest
    squared distance.

    Each distance is the sum over features, in feature order, of ``(x - c)^2`` in float64:
    the same numbers as `lloyd.assign_dense`, and ties go to the lowest index as there.
    """
    n_clusters, n_features = centers.shape
    best = 0
    best_dist = np.inf
    second_dist = np.inf
    for j in range(n_clusters):
        d = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - centers[j, f]
            d += diff * diff
        # Branch-free update of the two smallest: data-dependent branches would mispredict.
        second_dist = min(second_dist, max(best_dist, d))
        if d < best_dist:
            best = j
        best_dist = min(best_dist, d)
    return best, best_dist, second_dist


@numba.njit(inline="always")
def _update_sample(X, i, centers, label, lower_i, half_gap, largest_shift, second_shift,
                   largest_index, first):
    """Return the label of sample i, its squared distance and its new lower bound."""
    if first:
        best, best_dist, second_dist = _scan_all(X, i, centers)
        return best, best_dist, np.sqrt(second_dist)
    if label == largest_index:
        bound = lower_i - second_shift
    else:
        bound = lower_i - largest_shift
    threshold = max(bound, half_gap[label])
    own = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - centers[label, f]
        own += diff * diff
    # Squared distances are compared: no square root for the samples that stay.
    if threshold > 0.0 and own < threshold * threshold:
        return label, own, bound
    best, best_dist, second_dist = _scan_all(X, i, centers)
    return best, best_dist, np.sqrt(second_dist)


@numba.njit(parallel=True, cache=True)
def assign_hamerly(X, sample_weight, centers, labels, lower, largest_shift, second_shift,
                   largest_index, margin, first, group_sums, group_weights, group_inertia,
                   group_changed):
    """Label every sample, skipping the full scan where the bounds prove the label unchanged.

    The distance to the sample's own centre is computed exactly every time: it is needed
    for the inertia and costs one centre's worth of work, so only the lower bound is
    stored. On the first call (``first`` True) every sample is scanned and ``lower`` is
    set. Later calls first lower the bounds by the largest centre shift since the previous
    call (``largest_shift``, or ``second_shift`` for samples of centre ``largest_index``).
    Writes per-group float64 sums, weights and inertia as `lloyd.assign_dense` does, and
    per-group counts of changed labels.
    """
    # X (n_samples, n_features) IN | sample_weight (n_samples,) IN | centers (n_clusters, n_features) IN
    # labels (n_samples,) int32 INOUT | lower (n_samples,) dtype of X INOUT
    # group_sums (n_groups, n_clusters, n_features), group_weights (n_groups, n_clusters) OUT
    # group_inertia (n_groups,) float64 OUT | group_changed (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_groups = group_changed.shape[0]
    shrink = 1.0 - margin
    half_gap = center_gaps(centers) * shrink
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        group_sums[g, :, :] = 0.0
        group_weights[g, :] = 0.0
        changed = 0
        total = 0.0
        for i in range(start, stop):
            old = labels[i]
            label, own, bound = _update_sample(
                X, i, centers, old, np.float64(lower[i]), half_gap, largest_shift, second_shift,
                largest_index, first,
            )
            if label != old:
                changed += 1
                labels[i] = label
            lower[i] = bound * shrink
            weight = sample_weight[i]
            total += weight * own
            group_weights[g, label] += weight
            for f in range(n_features):
                group_sums[g, label, f] += weight * X[i, f]
        group_changed[g] = changed
        group_inertia[g] = total
