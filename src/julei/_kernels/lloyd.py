"""Lloyd's algorithm: assign each sample to its nearest centre, then move centres to the means.

Distances are computed from differences ``x - c`` in float64, so they need no centring of
X and cannot overflow for float32 data near its range limit.
"""

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def assign_dense(X, sample_weight, centers, labels, group_sums, group_weights, group_inertia, update_centers):
    """Label every sample with its nearest centre and accumulate per-group weighted sums.

    Ties go to the lowest centre index, as ``np.argmin`` does. When ``update_centers`` is
    False only ``labels`` and ``group_inertia`` are written.
    """
    # X (n_samples, n_features) IN | sample_weight (n_samples,) IN | centers (n_clusters, n_features) IN
    # labels (n_samples,) int32 OUT | group_sums (n_groups, n_clusters, n_features) float64 OUT
    # group_weights (n_groups, n_clusters) float64 OUT | group_inertia (n_groups,) float64 OUT
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_groups = group_inertia.shape[0]
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        if update_centers:
            group_sums[g, :, :] = 0.0
            group_weights[g, :] = 0.0
        total = 0.0
        for i in range(start, stop):
            best = 0
            best_dist = np.inf
            for j in range(n_clusters):
                dist = 0.0
                for f in range(n_features):
                    diff = np.float64(X[i, f]) - centers[j, f]
                    dist += diff * diff
                if dist < best_dist:
                    best_dist = dist
                    best = j
            labels[i] = best
            weight = sample_weight[i]
            total += weight * best_dist
            if update_centers:
                group_weights[g, best] += weight
                for f in range(n_features):
                    group_sums[g, best, f] += weight * X[i, f]
        group_inertia[g] = total


@numba.njit(parallel=True, cache=True)
def assign_sparse(data, indices, indptr, x_sq_norms, sample_weight, centers, labels,
                  group_sums, group_weights, group_inertia, update_centers):
    """`assign_dense` for a CSR matrix given by ``data, indices, indptr``.

    Uses ``|x|^2 - 2 x.c + |c|^2`` because only the stored entries of x are visited.
    """
    n_samples = indptr.shape[0] - 1
    n_clusters, n_features = centers.shape
    n_groups = group_inertia.shape[0]
    centers_sq = np.zeros(n_clusters)
    for j in range(n_clusters):
        for f in range(n_features):
            centers_sq[j] += np.float64(centers[j, f]) * centers[j, f]
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        if update_centers:
            group_sums[g, :, :] = 0.0
            group_weights[g, :] = 0.0
        total = 0.0
        for i in range(start, stop):
            best = 0
            best_dist = np.inf
            for j in range(n_clusters):
                dot = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    dot += np.float64(data[p]) * centers[j, indices[p]]
                dist = x_sq_norms[i] - 2.0 * dot + centers_sq[j]
                if dist < best_dist:
                    best_dist = dist
                    best = j
            labels[i] = best
            weight = sample_weight[i]
            # Rounding can leave a tiny negative distance when x equals its centre.
            total += weight * max(best_dist, 0.0)
            if update_centers:
                group_weights[g, best] += weight
                for p in range(indptr[i], indptr[i + 1]):
                    group_sums[g, best, indices[p]] += weight * data[p]
        group_inertia[g] = total


@numba.njit(cache=True)
def reduce_groups(group_sums, group_weights):
    """Add the groups' partial sums and weights in group order.

    Returns the (n_clusters, n_features) weighted sums and the (n_clusters,) weights, both
    float64.
    """
    n_groups, n_clusters, n_features = group_sums.shape
    sums = np.zeros((n_clusters, n_features))
    weights = np.zeros(n_clusters)
    for g in range(n_groups):
        for j in range(n_clusters):
            weights[j] += group_weights[g, j]
            for f in range(n_features):
                sums[j, f] += group_sums[g, j, f]
    return sums, weights
