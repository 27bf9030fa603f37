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
# |x - nearest|, so the candidate cannot lower x's closest distance and x's gain is exactly
# zero. The margin keeps the skipped distances strictly larger than the closest one despite
# rounding.
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


@numba.njit(parallel=True, cache=True, fastmath={"reassoc"})
def candidate_gains(X, sample_weight, candidates, closest_dist_sq, nearest, center_dist, n_groups):
    """Return, per candidate, how much it would lower the potential if it joined the chosen
    centres: ``sum_i w_i * max(0, closest_dist_sq[i] - |x_i - c_t|^2)``.

    The candidate's potential is the current one minus its gain. Only the samples that the
    candidate can move contribute, so the kernel skips every sample that the triangle
    inequality rules out for all candidates, and never adds up the terms of the others.
    ``nearest[i]`` is the chosen centre nearest to sample i and ``center_dist`` comes from
    `candidate_center_distances`. Partial sums per sample group are added in group order.
    """
    # nearest (n_samples,) int32 IN | center_dist (n_centers, n_trials) float64 IN
    # Reassociation lets each distance's sum over features run in SIMD lanes. The sums are
    # then grouped differently from `candidate_potentials`, which moves them by a few
    # units in the last place, but the same on any number of threads.
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
        gains = np.zeros(n_trials)
        row = np.empty(n_features)
        for i in range(start, stop):
            closest = closest_dist_sq[i]
            if nearest_candidate[nearest[i]] > 4.0 * closest * _PRUNE_MARGIN:
                continue
            weight = np.float64(sample_weight[i])
            for f in range(n_features):
                row[f] = X[i, f]
            for t in range(n_trials):
                dist = 0.0
                for f in range(n_features):
                    diff = row[f] - candidates[t, f]
                    dist += diff * diff
                gains[t] += weight * max(closest - dist, 0.0)
        partial[g, :] = gains
    total = np.zeros(n_trials)
    for g in range(n_groups):
        for t in range(n_trials):
            total[t] += partial[g, t]
    return total


@numba.njit(cache=True)
def draw_by_probability(probabilities, uniform):
    """Return the sample that ``numpy.random.RandomState.choice(n, p=probabilities)`` picks
    when its uniform draw is ``uniform``.

    choice builds the cumulative sum of the probabilities in float64, divides it by its last
    element and takes the first position above the draw. This does the same in two passes
    without the (n_samples,) cumulative array.
    """
    n_samples = probabilities.shape[0]
    total = 0.0
    for i in range(n_samples):
        total += np.float64(probabilities[i])
    running = 0.0
    for i in range(n_samples):
        running += np.float64(probabilities[i])
        if running / total > uniform:
            return i
    return n_samples - 1


@numba.njit(cache=True)
def draw_samples(sample_weight, closest_dist_sq, targets):
    """Return, per target, the first sample at which the running sum of
    ``sample_weight * closest_dist_sq`` reaches it.

    Equals ``np.searchsorted(np.cumsum(sample_weight * closest_dist_sq), targets)``, the
    running sum added in the same order, without the two temporary arrays, for every target
    up to the total. A target above the total, which rounding of the potential can cause,
    gets the last sample with a positive term, or sample 0 when there is none: a sample that
    could be drawn, where searchsorted would give ``n_samples``.
    """
    n_samples = closest_dist_sq.shape[0]
    # Insertion sort of the few targets: numba's argsort would add seconds of compilation.
    order = np.arange(targets.shape[0])
    for a in range(1, order.shape[0]):
        b = a
        while b > 0 and targets[order[b - 1]] > targets[order[b]]:
            order[b - 1], order[b] = order[b], order[b - 1]
            b -= 1
    out = np.zeros(targets.shape[0], dtype=np.int64)
    running = 0.0
    last_positive = 0
    next_target = 0
    for i in range(n_samples):
        term = np.float64(sample_weight[i]) * closest_dist_sq[i]
        running += term
        if term > 0:
            last_positive = i
        while next_target < order.shape[0] and running >= targets[order[next_target]]:
            out[order[next_target]] = i
            next_target += 1
        if next_target == order.shape[0]:
            break
    for p in range(next_target, order.shape[0]):
        out[order[p]] = last_positive
    return out


@numba.njit(parallel=True, cache=True, fastmath={"reassoc"})
def update_closest_pruned(X, center, center_index, closest_dist_sq, nearest, center_dist):
    """`update_closest` that also records the nearest centre and skips the samples that the
    triangle inequality proves are nearer to their current centre.

    ``center_dist[a]`` is the squared distance between chosen centre a and ``center``. As in
    `candidate_gains`, each distance's sum over features runs in SIMD lanes, so it may differ
    from `update_closest`'s in the last place.
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
