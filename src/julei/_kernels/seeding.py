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
