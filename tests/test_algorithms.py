"""Tests of the accelerated exact algorithms: each must reproduce plain Lloyd exactly."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from julei import KMeans
from julei import kmeans as kmeans_module
from julei._accelerated import choose_algorithm, run_gemm, run_hamerly, run_yinyang
from julei._kernels import dedup, dense_gemm, hamerly, yinyang

DRIVERS = {"hamerly": run_hamerly, "yinyang": run_yinyang, "gemm": run_gemm}

# (n_samples, n_features, n_clusters): low, middle and high dimension, one to many clusters.
SHAPES = [(1500, 2, 1), (2000, 3, 16), (2500, 8, 40), (1500, 32, 100), (800, 300, 10)]


def blobs(rng, n_samples, n_features, n_clusters, dtype, offset=0.0):
    """Return overlapping Gaussian blobs, shifted by ``offset`` from the origin."""
    n_centers = max(n_clusters, 2)
    centers = rng.normal(size=(n_centers, n_features)) * 3.0
    X = centers[rng.integers(0, n_centers, n_samples)] + rng.normal(size=(n_samples, n_features))
    return (X + offset).astype(dtype)


@pytest.mark.parametrize("name", sorted(DRIVERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "x".join(map(str, shape)))
def test_driver_equals_lloyd(name, dtype, shape, rng):
    n_samples, n_features, n_clusters = shape
    X = blobs(rng, n_samples, n_features, n_clusters, dtype, offset=50.0)
    sample_weight = rng.uniform(0.0, 2.0, n_samples).astype(dtype)
    sample_weight[::17] = 0.0
    centers_init = X[rng.choice(n_samples, n_clusters, replace=False)].copy()
    tol = 1e-4 * float(X.var(axis=0).mean())

    expected = kmeans_module._run_lloyd(X, sample_weight, centers_init, max_iter=300, tol=tol)
    result = DRIVERS[name](X, sample_weight, centers_init, max_iter=300, tol=tol)

    assert_array_equal(result.labels, expected.labels)
    assert result.centers.dtype == X.dtype
    assert_array_equal(result.centers, expected.centers)
    assert result.inertia == expected.inertia
    assert result.n_iter == expected.n_iter


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_driver_stops_at_max_iter(name, rng):
    X = blobs(rng, 1000, 4, 6, np.float64)
    weights = np.ones(1000)
    centers_init = X[:6].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=2, tol=0.0)
    result = DRIVERS[name](X, weights, centers_init, max_iter=2, tol=0.0)
    assert result.n_iter == 2
    assert_array_equal(result.labels, expected.labels)
    assert_array_equal(result.centers, expected.centers)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_driver_relocates_empty_cluster(name):
    # Two centres start on top of each other, so one of them gets no sample and must be
    # moved to the farthest sample, as Lloyd does.
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [9.0, 0.0]])
    weights = np.ones(5)
    centers_init = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=50, tol=0.0)
    result = DRIVERS[name](X, weights, centers_init, max_iter=50, tol=0.0)
    assert_array_equal(result.labels, expected.labels)
    assert_array_equal(result.centers, expected.centers)
    assert np.unique(result.labels).size == 3


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_estimator_algorithm_matches_lloyd(name, rng):
    X = blobs(rng, 1200, 5, 7, np.float32)
    lloyd_model = KMeans(7, algorithm="lloyd", random_state=3).fit(X)
    model = KMeans(7, algorithm=name, random_state=3).fit(X)
    assert model.algorithm_ == name
    assert_array_equal(model.labels_, lloyd_model.labels_)
    assert_array_equal(model.cluster_centers_, lloyd_model.cluster_centers_)
    assert model.inertia_ == lloyd_model.inertia_
    assert model.history_["inertia"].shape == (model.n_iter_,)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_sparse_input_runs_lloyd(name, rng):
    X = sp.random(300, 20, density=0.2, format="csr", random_state=1)
    lloyd_model = KMeans(4, algorithm="lloyd", random_state=0).fit(X)
    model = KMeans(4, algorithm=name, random_state=0).fit(X)
    assert_array_equal(model.labels_, lloyd_model.labels_)
    assert model.inertia_ == lloyd_model.inertia_


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_same_result_on_one_and_two_threads(name, rng):
    X = blobs(rng, 3000, 6, 25, np.float32)
    single = KMeans(25, algorithm=name, random_state=0, n_threads=1).fit(X)
    double = KMeans(25, algorithm=name, random_state=0, n_threads=2).fit(X)
    assert_array_equal(single.labels_, double.labels_)
    assert_array_equal(single.cluster_centers_, double.cluster_centers_)
    assert single.inertia_ == double.inertia_


def test_float32_far_from_origin_gemm(rng):
    # Without centring, |x|^2 - 2 x.c + |c|^2 in float32 would lose every digit here.
    X = blobs(rng, 1000, 200, 5, np.float32, offset=1e4)
    weights = np.ones(1000, dtype=np.float32)
    centers_init = X[:5].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    result = run_gemm(X, weights, centers_init, max_iter=100, tol=0.0)
    assert_array_equal(result.labels, expected.labels)


def test_center_gaps_match_numpy(rng):
    centers = rng.normal(size=(9, 4))
    distances = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(axis=2))
    np.fill_diagonal(distances, np.inf)
    assert np.allclose(hamerly.center_gaps(centers), 0.5 * distances.min(axis=1), rtol=1e-12)
    assert hamerly.center_gaps(centers[:1])[0] == np.inf


def test_center_shifts_largest_and_second(rng):
    old = rng.normal(size=(6, 3))
    new = old.copy()
    new[2] += [3.0, 0.0, 0.0]
    new[4] += [0.0, 1.0, 0.0]
    shifts, largest, second, largest_index = hamerly.center_shifts(old, new)
    assert np.allclose(shifts, [0, 0, 3, 0, 1, 0])
    assert largest == pytest.approx(3.0)
    assert second == pytest.approx(1.0)
    assert largest_index == 2


def test_group_centers_covers_every_centre(rng):
    centers = rng.normal(size=(23, 5))
    group_of, members, group_start = yinyang.group_centers(centers, 3)
    assert sorted(members) == list(range(23))
    assert group_start[0] == 0
    assert group_start[-1] == 23
    for q in range(3):
        assert (group_of[members[group_start[q] : group_start[q + 1]]] == q).all()


def test_recheck_tolerance_by_dtype():
    assert dense_gemm.recheck_tolerance(np.float32, 100) > dense_gemm.recheck_tolerance(np.float64, 100)
    assert dense_gemm.recheck_tolerance(np.float32, 400) > dense_gemm.recheck_tolerance(np.float32, 4)


@pytest.mark.parametrize(
    "shape, n_clusters, expected",
    [((100, 3), 16, "hamerly"), ((100, 32), 100, "hamerly"), ((100, 784), 10, "gemm")],
)
def test_choose_algorithm_by_shape(shape, n_clusters, expected):
    assert choose_algorithm(np.zeros(shape), n_clusters) == expected


def test_choose_algorithm_sparse_is_lloyd():
    assert choose_algorithm(sp.random(10, 3, format="csr"), 2) == "lloyd"


def test_unknown_algorithm_lists_choices(rng):
    with pytest.raises(ValueError, match="algorithm='elkan' is not supported.*'yinyang'"):
        KMeans(2, algorithm="elkan").fit(rng.normal(size=(20, 2)))


def test_merge_duplicates_counts_weights(rng):
    X = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [5.0, 6.0], [3.0, 4.0], [1.0, 2.0]])
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    inverse = np.empty(6, dtype=np.int32)
    n_unique, unique, merged = dedup.merge_duplicates(X.view(np.uint64), X, weights, 6, inverse)
    assert n_unique == 3
    assert_array_equal(unique[:3], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert_array_equal(merged[:3], [10.0, 7.0, 4.0])
    assert_array_equal(inverse, [0, 1, 0, 2, 1, 0])


def test_merge_duplicates_gives_up_past_cap():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    inverse = np.empty(10, dtype=np.int32)
    n_unique, _, _ = dedup.merge_duplicates(X.view(np.uint32), X, np.ones(10, dtype=np.float32), 4, inverse)
    assert n_unique == -1


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_hamerly_on_duplicates_matches_lloyd(dtype, rng):
    # Colour-like data: 60,000 samples over a few hundred distinct rows, so the driver
    # merges duplicates; the result must equal Lloyd's up to the rounding of the sums.
    palette = rng.integers(0, 8, size=(300, 3)) / 7.0
    X = palette[rng.integers(0, 300, 60_000)].astype(dtype)
    weights = np.ones(60_000, dtype=dtype)
    centers_init = palette[:6].astype(dtype)
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    result = run_hamerly(X, weights, centers_init, max_iter=100, tol=0.0)
    assert_array_equal(result.labels, expected.labels)
    np.testing.assert_allclose(result.centers, expected.centers, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert result.inertia == pytest.approx(expected.inertia, rel=1e-5 if dtype == np.float32 else 1e-12)
    assert result.n_iter == expected.n_iter
