"""Tests of the duplicate-merging kernel used before K-means on low-dimensional data."""

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from julei._kernels import dedup


def merged(X, weights, max_unique):
    inverse = np.empty(X.shape[0], dtype=np.int32)
    bits = X.view(np.uint64 if X.dtype == np.float64 else np.uint32)
    n_unique, unique, unique_weights = dedup.merge_duplicates(bits, X, weights, max_unique, inverse)
    return n_unique, unique[: max(n_unique, 0)], unique_weights[: max(n_unique, 0)], inverse


def test_merge_matches_numpy_unique(rng):
    X = rng.integers(0, 6, size=(5000, 3)).astype(np.float64)
    weights = rng.uniform(0.5, 2.0, size=5000)
    n_unique, unique, unique_weights, inverse = merged(X, weights, 5000)

    expected, expected_inverse = np.unique(X, axis=0, return_inverse=True)
    assert n_unique == expected.shape[0]
    assert_array_equal(unique[inverse], X)
    order = np.lexsort(unique.T[::-1])
    assert_array_equal(unique[order], expected)
    expected_weights = np.bincount(expected_inverse.ravel(), weights=weights)
    assert_allclose(unique_weights[order], expected_weights)


def test_merge_gives_up_past_limit(rng):
    X = rng.normal(size=(1000, 2))
    n_unique, *_ = merged(X, np.ones(1000), 100)
    assert n_unique == -1


def test_hash_spreads_integer_valued_floats():
    # Floats that hold small integers have long runs of zero bits. A weak hash put them into
    # a handful of slots, which made the merge quadratic.
    values = np.arange(64, dtype=np.float64)
    X = np.stack(np.meshgrid(values, values, values[:16], indexing="ij"), axis=-1).reshape(-1, 3)
    bits = X.view(np.uint64)
    mask = np.uint64((1 << 17) - 1)
    slots = np.array([dedup._row_hash(bits, i) & mask for i in range(X.shape[0])])
    assert np.unique(slots).size > 0.6 * X.shape[0]


def test_merge_stops_early_without_duplicates(rng):
    X = rng.normal(size=(dedup.EARLY_CHECK_ROWS + 10, 2))
    n_unique, *_ = merged(X, np.ones(X.shape[0]), X.shape[0])
    assert n_unique == -1
