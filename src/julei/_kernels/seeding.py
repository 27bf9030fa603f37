"""Kernels for greedy k-means++ seeding on dense data."""

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def squared_distances_to_point(X, point, out):
    """Write each sample's squared distance to ``point`` into ``out`` (float64)."""
    # X (n_samples, n_features) IN | point (n_features,) IN | out (n_samples,) OUT
    n_samples, n_features = X.shape
    for i in numba.prange(n_samples):
        dist = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - point[f]
            dist += diff * diff
        out[i] = dist


@numba.njit(parallel=True, cache=True)
def candidate_potentials(X, sample_weight, candidates, closest_dist_sq, n_groups):
    """Return, per candidate, the weighted potential if it joined the chosen centres.

    The potential of candidate t is ``sum_i w_i * min(closest_dist_sq[i], |x_i - c_t|^2)``.
    Partial sums per sample group are added in group order.
    """
    # candidates (n_trials, n_features) IN | closest_dist_sq (n_samples,) float64 IN
    n_samples, n_features = X.shape
    n_trials = candidates.shape[0]
    partial = np.zeros((n_groups, n_trials))
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        for i in range(start, stop):
            closest = closest_dist_sq[i]
            weight = sample_weight[i]
            for t in range(n_trials):
                dist = 0.0
                for f in range(n_features):
                    diff = np.float64(X[i, f]) - candidates[t, f]
                    dist += diff * diff
                partial[g, t] += weight * min(closest, dist)
    potentials = np.zeros(n_trials)
    for g in range(n_groups):
        for t in range(n_trials):
            potentials[t] += partial[g, t]
    return potentials


@numba.njit(parallel=True, cache=True)
def update_closest(X, center, closest_dist_sq):
    """Lower ``closest_dist_sq`` in place where ``center`` is nearer than every earlier centre."""
    n_samples, n_features = X.shape
    for i in numba.prange(n_samples):
        dist = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - center[f]
            dist += diff * diff
        if dist < closest_dist_sq[i]:
            closest_dist_sq[i] = dist


# Pruning by the triangle inequality. When the chosen centre nearest to x is at distance
# D from a candidate and D >= 2 |x - nearest|, then |x - candidate| >= D - |x - nearest| >=
# |x - nearest|, so the candidate cannot lower x's closest distance and x's term of the
# potential is its current closest distance, bit for bit. The margin keeps the skipped
# distances strictly larger than the closest one despite rounding.
_PRUNE_MARGIN = 1.0 + 1e-9


@numba.njit(cache=True)
def candidate_center_distances(centers, n_centers, candidates):
    """Return the (n_centers, n_trials) squared distances between the first ``n_centers``
    chosen centres and the candidates, in float64."""
    # centers (n_clusters, n_features) IN | candidates (n_trials, n_features) float64 IN
    n_trials, n_features = candidates.shape
    out = np.empty((n_centers, n_trials))
    for a in range(n_centers):
        for t in range(n_trials):
            dist = 0.0
            for f in range(n_features):
                diff = np.float64(centers[a, f]) - candidates[t, f]
                dist += diff * diff
            out[a, t] = dist
    return out


# Samples per block of `candidate_potentials_pruned`: their distances are computed together,
# with the samples in the innermost loop so that it vectorizes without reordering any sum.
_BLOCK = 64


@numba.njit(parallel=True, cache=True)
def candidate_potentials_pruned(X, sample_weight, candidates, closest_dist_sq, nearest,
                                center_dist, n_groups):
    """Return the same potentials as `candidate_potentials`, skipping distances that the
    triangle inequality proves cannot lower a sample's closest distance.

    ``nearest[i]`` is the chosen centre nearest to sample i and ``center_dist`` comes from
    `candidate_center_distances`. Each sample's term, each distance's sum over features and
    the order of the sums over samples are those of `candidate_potentials`, so the
    potentials are bit-identical.
    """
    # nearest (n_samples,) int32 IN | center_dist (n_centers, n_trials) float64 IN
    n_samples, n_features = X.shape
    n_trials = candidates.shape[0]
    # Per chosen centre, the squared distance to its nearest candidate: one comparison
    # then rules out every candidate for most samples.
    nearest_candidate = np.empty(center_dist.shape[0])
    for a in range(center_dist.shape[0]):
        nearest_candidate[a] = center_dist[a].min()
    partial = np.zeros((n_groups, n_trials))
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        rows_t = np.empty((n_features, _BLOCK))
        dist = np.empty((n_trials, _BLOCK))
        slot = np.empty(_BLOCK, dtype=np.int64)
        for block_start in range(start, stop, _BLOCK):
            block_stop = min(block_start + _BLOCK, stop)
            # Gather the samples that need their distances, transposed.
            n_needed = 0
            for i in range(block_start, block_stop):
                limit = 4.0 * closest_dist_sq[i] * _PRUNE_MARGIN
                if nearest_candidate[nearest[i]] > limit:
                    slot[i - block_start] = -1
                    continue
                slot[i - block_start] = n_needed
                for f in range(n_features):
                    rows_t[f, n_needed] = X[i, f]
                n_needed += 1
            if n_needed:
                for t in range(n_trials):
                    for p in range(n_needed):
                        dist[t, p] = 0.0
                    for f in range(n_features):
                        value = candidates[t, f]
                        for p in range(n_needed):
                            diff = rows_t[f, p] - value
                            dist[t, p] += diff * diff
            # Add the terms in sample order, as `candidate_potentials` does.
            for i in range(block_start, block_stop):
                closest = closest_dist_sq[i]
                weight = sample_weight[i]
                p = slot[i - block_start]
                for t in range(n_trials):
                    if p < 0:
                        partial[g, t] += weight * closest
                    else:
                        partial[g, t] += weight * min(closest, dist[t, p])
    potentials = np.zeros(n_trials)
    for g in range(n_groups):
        for t in range(n_trials):
            potentials[t] += partial[g, t]
    return potentials


@numba.njit(parallel=True, cache=True)
def update_closest_pruned(X, center, center_index, closest_dist_sq, nearest, center_dist):
    """`update_closest` that also records the nearest centre and skips the samples that the
    triangle inequality proves are nearer to their current centre.

    ``center_dist[a]`` is the squared distance between chosen centre a and ``center``.
    """
    # center (n_features,) float64 IN | closest_dist_sq, nearest (n_samples,) INOUT
    n_samples, n_features = X.shape
    for i in numba.prange(n_samples):
        if center_dist[nearest[i]] > 4.0 * closest_dist_sq[i] * _PRUNE_MARGIN:
            continue
        dist = 0.0
        for f in range(n_features):
            diff = np.float64(X[i, f]) - center[f]
            dist += diff * diff
        if dist < closest_dist_sq[i]:
            closest_dist_sq[i] = dist
            nearest[i] = center_index
