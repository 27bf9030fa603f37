"""Tests of the swap refinement: its kernels against NumPy, its guarantees, and KMeans's refine options."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.utils import check_random_state

from julei import KMeans
from julei._kernels import swap
from julei._kernels._common import n_groups_for
from julei._refine import swap_refine
from julei.kmeans import _run_lloyd
from julei.metrics import centroid_index

# Four tight blobs on a line. TRAP_INIT puts two centres in the first blob and one between
# the last two. Lloyd's iterations keep that state, and only a jump of one centre fixes it.
BLOB_CENTERS = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
TRAP_INIT = np.array([[-0.5, 0.0], [0.5, 0.0], [10.0, 0.0], [25.0, 0.0]])


def blobs(rng, centers=BLOB_CENTERS, per_blob=50, scale=0.5):
    return np.vstack([center + scale * rng.standard_normal((per_blob, centers.shape[1])) for center in centers])


def squared_distances(X, centers):
    return ((X[:, None, :].astype(np.float64) - centers[None, :, :].astype(np.float64)) ** 2).sum(axis=2)


def neighbours(X, centers, kernel=swap.two_nearest):
    n_samples = X.shape[0]
    labels = np.empty(n_samples, dtype=np.int32)
    second = np.empty(n_samples, dtype=np.int32)
    d1 = np.empty(n_samples)
    d2 = np.empty(n_samples)
    kernel(X, centers.astype(np.float64), labels, second, d1, d2, n_groups_for(n_samples))
    return labels, second, d1, d2


def lloyd_for(X, sample_weight):
    return lambda centers, max_iter: _run_lloyd(X, sample_weight, centers, max_iter=max_iter, tol=0.0)


# ------------------------------------------------------------------ kernels against NumPy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", [swap.two_nearest, swap.two_nearest_serial], ids=["parallel", "serial"])
def test_two_nearest_matches_numpy(rng, dtype, kernel):
    X = rng.normal(size=(300, 3)).astype(dtype)
    centers = rng.normal(size=(7, 3))
    labels, second, d1, d2 = neighbours(X, centers, kernel)
    distances = squared_distances(X, centers)
    order = np.argsort(distances, axis=1, kind="stable")
    assert_array_equal(labels, order[:, 0])
    assert_array_equal(second, order[:, 1])
    assert_allclose(d1, distances[np.arange(300), order[:, 0]], rtol=1e-12)
    assert_allclose(d2, distances[np.arange(300), order[:, 1]], rtol=1e-12)


def test_two_nearest_with_one_centre(rng):
    X = rng.normal(size=(20, 2))
    labels, second, d1, d2 = neighbours(X, np.zeros((1, 2)))
    assert_array_equal(labels, 0)
    assert_array_equal(second, -1)
    assert np.all(np.isinf(d2))


@pytest.mark.parametrize("kernel", [swap.swap_deltas, swap.swap_deltas_serial], ids=["parallel", "serial"])
def test_swap_deltas_match_brute_force(rng, kernel):
    X = blobs(rng, per_blob=30)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    centers = TRAP_INIT.copy()
    labels, second, d1, d2 = neighbours(X, centers)
    candidates = np.array([5, 70, 100, 119])
    n_groups = n_groups_for(X.shape[0])
    removal = np.empty((n_groups, candidates.size, centers.shape[0]))
    addition = np.empty((n_groups, candidates.size))
    kernel(X, weights, labels, d1, d2, candidates, removal, addition)
    deltas = removal.sum(axis=0) + addition.sum(axis=0)[:, None]

    inertia = weights @ squared_distances(X, centers).min(axis=1)
    for c, point in enumerate(candidates):
        for removed in range(centers.shape[0]):
            swapped = centers.copy()
            swapped[removed] = X[point]
            expected = weights @ squared_distances(X, swapped).min(axis=1) - inertia
            assert deltas[c, removed] == pytest.approx(expected, rel=1e-9, abs=1e-9 * inertia)


@pytest.mark.parametrize("kernel", [swap.swap_mstep_inertia, swap.swap_mstep_inertia_serial], ids=["parallel", "serial"])
@pytest.mark.parametrize("point, removed", [(170, 0), (120, 1), (3, 3), (60, 2)])
def test_swap_mstep_inertia_matches_brute_force(rng, kernel, point, removed):
    X = blobs(rng)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    centers = TRAP_INIT.copy()
    labels, second, d1, d2 = neighbours(X, centers)
    n_groups = n_groups_for(X.shape[0])
    k, n_features = centers.shape
    result = kernel(
        X, weights, centers, labels, second, d1, d2, point, removed,
        np.empty((n_groups, k, n_features)), np.empty((n_groups, k)), np.empty(n_groups),
    )

    swapped = centers.copy()
    swapped[removed] = X[point]
    assignment = squared_distances(X, swapped).argmin(axis=1)
    expected = 0.0
    for cluster in range(k):
        members = assignment == cluster
        if members.any():
            mean = np.average(X[members], axis=0, weights=weights[members])
            expected += weights[members] @ ((X[members] - mean) ** 2).sum(axis=1)
    assert result == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------------ the refinement


def test_trap_is_a_lloyd_fixed_point(rng):
    X = blobs(rng)
    ours = KMeans(4, init=TRAP_INIT, refine=None).fit(X)
    reference = SklearnKMeans(4, init=TRAP_INIT, n_init=1).fit(X)
    assert centroid_index(ours.cluster_centers_, BLOB_CENTERS) == 1
    assert_array_equal(ours.labels_, reference.labels_)
    assert ours.inertia_ == pytest.approx(reference.inertia_, rel=1e-9)


def test_refinement_fixes_trap(rng):
    X = blobs(rng)
    model = KMeans(4, init=TRAP_INIT, refine="swap", random_state=0).fit(X)
    plain = KMeans(4, init=TRAP_INIT, refine=None).fit(X)
    assert centroid_index(model.cluster_centers_, BLOB_CENTERS) == 0
    assert model.n_swaps_ >= 1
    assert model.inertia_ < 0.1 * plain.inertia_


def test_explicit_init_stays_plain_lloyd_by_default(rng):
    X = blobs(rng)
    model = KMeans(4, init=TRAP_INIT).fit(X)
    reference = SklearnKMeans(4, init=TRAP_INIT, n_init=1).fit(X)
    assert model.n_swaps_ == 0
    assert_array_equal(model.labels_, reference.labels_)
    assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_never_worse_than_start(seed):
    rng = np.random.default_rng(seed)
    # Overlapping blobs and uniform noise: swaps that pay only after Lloyd steps, and many
    # near-equal local optima.
    X = np.vstack([blobs(rng, rng.uniform(0, 12, size=(6, 3)), per_blob=40, scale=1.5), rng.uniform(0, 12, (60, 3))])
    weights = rng.uniform(0.1, 3.0, size=X.shape[0])
    start = KMeans(7, refine=None, random_state=seed).fit(X, sample_weight=weights)
    result = swap_refine(
        X, weights, start.cluster_centers_, lloyd=lloyd_for(X, weights), random_state=check_random_state(seed),
        max_failures=20, max_iter=300,
    )
    if result is None:
        return
    assert result.run.inertia <= start.inertia_
    assert result.n_swaps >= 1
    # The result is a consistent Lloyd state: labels are nearest centres, inertia matches.
    distances = squared_distances(X, result.run.centers)
    assert_array_equal(result.run.labels, distances.argmin(axis=1))
    assert result.run.inertia == pytest.approx(weights @ distances.min(axis=1), rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_estimator_never_worse_than_plain(seed):
    rng = np.random.default_rng(100 + seed)
    X = np.vstack([blobs(rng, rng.uniform(0, 20, size=(10, 2)), per_blob=30, scale=1.0), rng.uniform(0, 20, (50, 2))])
    refined = KMeans(10, random_state=seed).fit(X)
    plain = KMeans(10, random_state=seed, refine=None).fit(X)
    assert refined.inertia_ <= plain.inertia_
    assert (refined.n_swaps_ == 0) == (refined.inertia_ == plain.inertia_)


def test_same_seed_same_result(rng):
    X = blobs(rng, rng.uniform(0, 30, size=(12, 2)), per_blob=20)
    first = KMeans(12, random_state=3).fit(X)
    second = KMeans(12, random_state=3).fit(X)
    assert_array_equal(first.labels_, second.labels_)
    assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    assert first.n_swaps_ == second.n_swaps_


def test_thread_count_does_not_change_result(rng):
    # Large enough for the parallel swap kernels.
    X = blobs(rng, rng.uniform(0, 30, size=(12, 2)), per_blob=1200)
    single = KMeans(12, random_state=3, n_threads=1).fit(X)
    double = KMeans(12, random_state=3, n_threads=2).fit(X)
    assert_array_equal(single.labels_, double.labels_)
    assert single.inertia_ == double.inertia_


def test_zero_weight_samples_never_become_centres(rng):
    X = np.vstack([blobs(rng), [[500.0, 500.0], [-500.0, 40.0]]])
    weights = np.ones(X.shape[0])
    weights[-2:] = 0.0
    model = KMeans(4, init=TRAP_INIT, refine="swap", random_state=0).fit(X, sample_weight=weights)
    assert centroid_index(model.cluster_centers_, BLOB_CENTERS) == 0
    assert np.abs(model.cluster_centers_).max() < 40.0


def test_float32_input(rng):
    X = blobs(rng).astype(np.float32)
    model = KMeans(4, init=TRAP_INIT.astype(np.float32), refine="swap", random_state=0).fit(X)
    assert model.cluster_centers_.dtype == np.float32
    assert centroid_index(model.cluster_centers_, BLOB_CENTERS) == 0


def test_nothing_to_swap_for_one_cluster(rng):
    X = blobs(rng)
    model = KMeans(1, refine="swap", random_state=0).fit(X)
    assert model.n_swaps_ == 0
    assert_allclose(model.cluster_centers_[0], X.mean(axis=0))


def test_duplicate_points_stop_refinement():
    # Every sample sits on a centre, so no swap can lower the inertia of 0.
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 10, axis=0)
    model = KMeans(3, refine="swap", random_state=0).fit(X)
    assert model.n_swaps_ == 0
    assert model.inertia_ == 0.0


def test_sparse_input_skips_auto_refinement(rng):
    X = sp.csr_matrix(blobs(rng))
    model = KMeans(4, random_state=0).fit(X)
    assert model.n_swaps_ == 0


@pytest.mark.parametrize(
    "params, X_is_sparse, match",
    [
        ({"refine": "greedy"}, False, r"refine must be 'auto', 'swap' or None, got 'greedy'"),
        ({"refine_trials": 0}, False, r"refine_trials must be 'auto' or an integer >= 1, got 0"),
        ({"refine_trials": 2.5}, False, r"refine_trials must be 'auto' or an integer >= 1, got 2.5"),
        ({"refine_trials": True}, False, r"refine_trials must be 'auto' or an integer >= 1, got True"),
        ({"refine": "swap"}, True, r"refine='swap' works on dense X only.*refine=None"),
    ],
)
def test_invalid_refine_params_raise(rng, params, X_is_sparse, match):
    X = blobs(rng)
    if X_is_sparse:
        X = sp.csr_matrix(X)
    with pytest.raises(ValueError, match=match):
        KMeans(4, **params).fit(X)


def test_refine_params_are_stored_unchanged():
    model = KMeans(5, refine=None, refine_trials=7)
    assert model.get_params()["refine"] is None
    assert model.get_params()["refine_trials"] == 7
    assert KMeans().get_params()["refine"] == "auto"


# ------------------------------------------------------------------ real benchmark sets


@pytest.mark.slow
@pytest.mark.parametrize("name, seeds", [("s1", range(3)), ("a1", range(6))])
def test_defaults_find_benchmark_structure(shared_data, name, seeds):
    folder = shared_data / "franti"
    if not (folder / f"{name}.txt.gz").is_file():
        pytest.skip(f"benchmark set {name} is absent from {folder}")
    X = np.loadtxt(folder / f"{name}.txt.gz")
    truth = np.loadtxt(folder / f"{name}-centroids.txt")
    plain_indices = []
    for seed in seeds:
        model = KMeans(truth.shape[0], random_state=seed).fit(X)
        assert centroid_index(model.cluster_centers_, truth) == 0, f"seed {seed}"
        plain = KMeans(truth.shape[0], random_state=seed, refine=None).fit(X)
        plain_indices.append(centroid_index(plain.cluster_centers_, truth))
    if name == "a1":
        # Without refinement some of these seeds miss a cluster, so the check above has teeth.
        assert max(plain_indices) >= 1
