"""Yinyang K-means: exact Lloyd iterations with one lower bound per group of centres.

The centres are split once into groups. Each sample keeps, per group, a lower bound on its
distance to every centre of that group other than its own. After the centres move, a group's
bound drops by the largest move in the group. A sample keeps its label when its exact
distance to its own centre is below every group bound, or below half the gap to the nearest
other centre. Otherwise only the groups whose bound is below that distance are scanned.

Scanned distances are computed exactly as `lloyd.assign_dense` does (differences in
float64), and ties go to the lowest centre index, so the labels, sums and inertia equal
Lloyd's from the same centres, bit for bit.
"""

import numba
import numpy as np

from julei._kernels.hamerly import center_gaps


def group_centers(centers, n_center_groups, n_iter=5):
    """Split the centres into groups of nearby centres with a few Lloyd steps on the centres.

    Returns ``group_of`` (n_clusters,) and, for the kernels, ``members`` (n_clusters,), the
    centre indices sorted by group, with ``group_start`` (n_center_groups + 1,) offsets.
    Groups may be empty.
    """
    centers = np.asarray(centers, dtype=np.float64)
    n_clusters = centers.shape[0]
    # Evenly spaced centres seed the groups: deterministic, no random state needed.
    seeds = centers[np.linspace(0, n_clusters - 1, n_center_groups).astype(np.intp)].copy()
    group_of = np.zeros(n_clusters, dtype=np.intp)
    for _ in range(n_iter):
        dist = ((centers[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        group_of = dist.argmin(axis=1)
        for q in range(n_center_groups):
            mine = group_of == q
            if mine.any():
                seeds[q] = centers[mine].mean(axis=0)
    members = np.argsort(group_of, kind="stable").astype(np.int64)
    counts = np.bincount(group_of, minlength=n_center_groups)
    group_start = np.zeros(n_center_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=group_start[1:])
    return group_of.astype(np.int64), members, group_start


@numba.njit(cache=True)
def group_shifts(shifts, members, group_start):
    """Return the largest centre move within each centre group (float64)."""
    n_center_groups = group_start.shape[0] - 1
    out = np.zeros(n_center_groups)
    for q in range(n_center_groups):
        for p in range(group_start[q], group_start[q + 1]):
            out[q] = max(out[q], shifts[members[p]])
    return out


@numba.njit(parallel=True, cache=True)
def assign_yinyang(X, sample_weight, centers, labels, lower, group_of, members, group_start,
                   group_shift, margin, first, group_sums, group_weights, group_inertia,
                   group_changed):
    """Label every sample, scanning only the centre groups whose bound allows a nearer centre.

    On the first call (``first`` True) every centre is scanned and ``lower`` is set. Later
    calls lower each group's bound by ``group_shift`` first. Writes per-group float64 sums,
    weights and inertia as `lloyd.assign_dense` does, and per-group counts of changed labels.
    """
    # X (n_samples, n_features) IN | sample_weight (n_samples,) IN | centers (n_clusters, n_features) IN
    # labels (n_samples,) int32 INOUT | lower (n_samples, n_center_groups) dtype of X INOUT
    # group_of (n_clusters,), members (n_clusters,), group_start (n_center_groups + 1,) IN
    # group_shift (n_center_groups,) float64 IN
    # group_sums (n_groups, n_clusters, n_features), group_weights (n_groups, n_clusters) OUT
    # group_inertia (n_groups,) float64 OUT | group_changed (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_groups = group_changed.shape[0]
    n_center_groups = group_start.shape[0] - 1
    half_gap = center_gaps(centers)
    shrink = 1.0 - margin
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        group_sums[g, :, :] = 0.0
        group_weights[g, :] = 0.0
        bound = np.empty(n_center_groups)
        nearest = np.empty(n_center_groups)
        nearest_index = np.empty(n_center_groups, dtype=np.int64)
        second = np.empty(n_center_groups)
        scanned = np.empty(n_center_groups, dtype=np.bool_)
        changed = 0
        total = 0.0
        for i in range(start, stop):
            label = labels[i]
            if first:
                best = -1
                best_dist = np.inf
                own = np.inf
                for q in range(n_center_groups):
                    bound[q] = -np.inf
            else:
                best = label
                best_dist = 0.0
                for f in range(n_features):
                    diff = np.float64(X[i, f]) - centers[label, f]
                    best_dist += diff * diff
                smallest = np.inf
                for q in range(n_center_groups):
                    bound[q] = np.float64(lower[i, q]) - group_shift[q]
                    smallest = min(smallest, bound[q])
                threshold = max(smallest, half_gap[label] * shrink)
                if threshold > 0.0 and best_dist < threshold * threshold:
                    # No centre can be nearer: keep the label, store the moved bounds.
                    for q in range(n_center_groups):
                        lower[i, q] = bound[q] * shrink
                    weight = sample_weight[i]
                    total += weight * best_dist
                    group_weights[g, label] += weight
                    for f in range(n_features):
                        group_sums[g, label, f] += weight * X[i, f]
                    continue
                own = np.sqrt(best_dist)

            # Scan each group that may hold a centre at least as near as the current one.
            for q in range(n_center_groups):
                scanned[q] = bound[q] <= own
                if not scanned[q]:
                    continue
                nearest[q] = np.inf
                nearest_index[q] = -1
                second[q] = np.inf
                for p in range(group_start[q], group_start[q + 1]):
                    j = members[p]
                    dist = 0.0
                    for f in range(n_features):
                        diff = np.float64(X[i, f]) - centers[j, f]
                        dist += diff * diff
                    if dist < nearest[q] or (dist == nearest[q] and j < nearest_index[q]):
                        second[q] = nearest[q]
                        nearest[q] = dist
                        nearest_index[q] = j
                    elif dist < second[q]:
                        second[q] = dist
                    if dist < best_dist or (dist == best_dist and j < best):
                        best_dist = dist
                        best = j

            # A scanned group's new bound is its nearest centre other than the label. An
            # unscanned group keeps its moved bound, which must also cover the old centre.
            for q in range(n_center_groups):
                if scanned[q]:
                    value = second[q] if nearest_index[q] == best else nearest[q]
                    lower[i, q] = np.sqrt(value) * shrink
                else:
                    value = bound[q]
                    if label >= 0 and q == group_of[label] and best != label:
                        value = min(value, own)
                    lower[i, q] = value * shrink

            if best != label:
                changed += 1
                labels[i] = best
            weight = sample_weight[i]
            total += weight * best_dist
            group_weights[g, best] += weight
            for f in range(n_features):
                group_sums[g, best, f] += weight * X[i, f]
        group_changed[g] = changed
        group_inertia[g] = total
