"""Tests of the pruned k-means++ kernels: the same numbers, so the same draws, as the plain ones."""

import numpy as np
from numpy.testing import assert_array_equal
from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

from julei import kmeans_plusplus
from julei._kernels import seeding


def chosen_state(rng, n_samples=3000, n_features=6, n_chosen=40):
    """Return data, chosen centres, and each sample's closest squared distance and centre."""
    X = (rng.normal(size=(n_samples, n_features)) + rng.integers(0, 5, (n_samples, 1)) * 4.0).astype(np.float32)
    centers = X[rng.choice(n_samples, n_chosen, replace=False)].copy()
    distances = ((X[:, None, :].astype(np.float64) - centers[None].astype(np.float64)) ** 2).sum(axis=2)
    nearest = distances.argmin(axis=1).astype(np.int32)
    closest = distances.min(axis=1)
    return X, centers, closest, nearest


def test_pruned_potentials_bit_identical(rng):
    X, centers, closest, nearest = chosen_state(rng)
    weights = rng.uniform(0.5, 2.0, X.shape[0]).astype(np.float32)
    candidates = X[rng.choice(X.shape[0], 7, replace=False)].astype(np.float64)
    center_dist = seeding.candidate_center_distances(centers, centers.shape[0], candidates)

    expected = seeding.candidate_potentials(X, weights, candidates, closest, 8)
    result = seeding.candidate_potentials_pruned(X, weights, candidates, closest, nearest, center_dist, 8)
    assert_array_equal(result, expected)


def test_pruned_update_matches_plain(rng):
    X, centers, closest, nearest = chosen_state(rng)
    new_center = X[17].astype(np.float64)
    center_dist = seeding.candidate_center_distances(centers, centers.shape[0], new_center[None])[:, 0].copy()

    expected = closest.copy()
    seeding.update_closest(X, new_center, expected)
    result = closest.copy()
    result_nearest = nearest.copy()
    seeding.update_closest_pruned(X, new_center, 99, result, result_nearest, center_dist)

    assert_array_equal(result, expected)
    moved = expected < closest
    assert moved.any()
    assert (result_nearest[moved] == 99).all()
    assert_array_equal(result_nearest[~moved], nearest[~moved])


def test_candidate_center_distances_match_numpy(rng):
    centers = rng.normal(size=(10, 4)).astype(np.float32)
    candidates = rng.normal(size=(3, 4))
    expected = ((centers[:6, None, :].astype(np.float64) - candidates[None]) ** 2).sum(axis=2)
    assert np.allclose(seeding.candidate_center_distances(centers, 6, candidates), expected, rtol=1e-14)


def test_seeds_equal_sklearn_float64(rng):
    X = rng.normal(size=(4000, 8)) + rng.integers(0, 20, (4000, 1)) * 3.0
    ours = kmeans_plusplus(X, 60, random_state=5)[1]
    theirs = sklearn_kmeans_plusplus(X, 60, random_state=5)[1]
    assert_array_equal(ours, theirs)
