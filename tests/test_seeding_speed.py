"""Tests of the pruned k-means++ kernels: the same numbers as the plain ones, up to rounding."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
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


def test_pruned_gains_match_plain_potentials(rng):
    X, centers, closest, nearest = chosen_state(rng)
    weights = rng.uniform(0.5, 2.0, X.shape[0]).astype(np.float32)
    candidates = X[rng.choice(X.shape[0], 7, replace=False)].astype(np.float64)
    center_dist = seeding.candidate_center_distances(centers, centers.shape[0], candidates)

    expected = seeding.candidate_potentials(X, weights, candidates, closest, 8)
    current = float(closest @ weights.astype(np.float64))
    gains = seeding.candidate_gains(X, weights, candidates, closest, nearest, center_dist, 8)
    assert (gains > 0).all()
    assert_allclose(current - gains, expected, rtol=1e-12)
    # One group or eight: the partial sums differ, the totals agree up to rounding.
    assert_allclose(seeding.candidate_gains(X, weights, candidates, closest, nearest, center_dist, 1), gains, rtol=1e-12)


def test_draw_samples_equals_searchsorted(rng):
    weights = rng.uniform(0.0, 2.0, 5000).astype(np.float32)
    weights[::7] = 0.0
    closest = rng.exponential(size=5000)
    closest[-3:] = 0.0
    total = float(np.cumsum(weights.astype(np.float64) * closest)[-1])
    targets = np.concatenate([rng.uniform(size=9) * total, [0.0, total]])
    expected = np.searchsorted(np.cumsum(weights.astype(np.float64) * closest), targets)
    assert_array_equal(seeding.draw_samples(weights, closest, targets), expected)


def test_draw_above_total_takes_last_positive_term(rng):
    weights = np.ones(100, dtype=np.float32)
    closest = rng.exponential(size=100)
    closest[90:] = 0.0
    total = float(closest.sum())
    assert_array_equal(seeding.draw_samples(weights, closest, np.array([total * 1.5])), [89])
    # Every term zero, as when every distinct point is already a centre: sample 0, as
    # scikit-learn's searchsorted of a zero target gives.
    assert_array_equal(seeding.draw_samples(weights, np.zeros(100), np.array([1e-300])), [0])


def test_seeds_past_distinct_points_avoid_zero_weight(rng):
    X = rng.normal(size=(500, 4)).astype(np.float32)
    weights = np.zeros(500)
    weights[:7] = 1.0
    indices = kmeans_plusplus(X, 10, sample_weight=weights, random_state=0)[1]
    assert (weights[indices] > 0).all()


def test_pruned_update_matches_plain(rng):
    X, centers, closest, nearest = chosen_state(rng)
    new_center = X[17].astype(np.float64)
    center_dist = seeding.candidate_center_distances(centers, centers.shape[0], new_center[None])[:, 0].copy()

    expected = closest.copy()
    seeding.update_closest(X, new_center, expected)
    result = closest.copy()
    result_nearest = nearest.copy()
    seeding.update_closest_pruned(X, new_center, 99, result, result_nearest, center_dist)

    # The pruned kernel sums each distance in SIMD lanes, which may round differently.
    assert_allclose(result, expected, rtol=1e-12)
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_draw_equals_random_state_choice(rng, dtype):
    for seed in range(40):
        weights = rng.uniform(0.0, 3.0, int(rng.integers(1, 2000))).astype(dtype)
        weights[rng.integers(0, weights.size, weights.size // 3)] = 0.0
        weights[0] += 1.0
        probabilities = weights / weights.sum()
        reference = np.random.RandomState(seed)
        ours = np.random.RandomState(seed)
        assert seeding.draw_by_probability(probabilities, ours.random_sample()) == reference.choice(
            weights.size, p=probabilities
        )
        # Both consumed one number from the stream.
        assert ours.random_sample() == reference.random_sample()
