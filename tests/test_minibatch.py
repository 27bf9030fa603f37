"""Tests of julei.MiniBatchKMeans: scikit-learn's contract, streaming, weights and dtypes."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.utils.estimator_checks import parametrize_with_checks

from julei import KMeans, MiniBatchKMeans
from julei._kernels import minibatch as kernels


def blobs(rng, n_samples=3000, n_features=3, n_clusters=4, dtype=np.float64):
    centers = rng.normal(size=(n_clusters, n_features)) * 10.0
    labels = rng.integers(0, n_clusters, n_samples)
    return (centers[labels] + rng.normal(size=(n_samples, n_features))).astype(dtype), labels


# The same exemption as scikit-learn's own MiniBatchKMeans: random batches drawn by weight
# are not the batches of the repeated-samples data, so the two fits differ.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": "random batches differ from those of repeated samples",
}


@parametrize_with_checks(
    [MiniBatchKMeans(n_clusters=3, batch_size=16, random_state=0, n_init=1)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_fit_keeps_dtype(dtype, rng):
    X, _ = blobs(rng, dtype=dtype)
    model = MiniBatchKMeans(4, random_state=0).fit(X)
    assert model.cluster_centers_.dtype == dtype
    assert model.transform(X).dtype == dtype
    assert model.labels_.shape == (X.shape[0],)


def test_inertia_close_to_sklearn(rng):
    X, _ = blobs(rng, n_samples=20000, n_features=4, n_clusters=6)
    ours = MiniBatchKMeans(6, random_state=0).fit(X)
    theirs = SklearnMiniBatchKMeans(6, random_state=0).fit(X)
    exact = KMeans(6, random_state=0).fit(X)
    assert ours.inertia_ <= theirs.inertia_ * 1.01
    assert ours.inertia_ <= exact.inertia_ * 1.05


def test_finds_separated_blobs(rng):
    X, truth = blobs(rng, n_samples=4000, n_clusters=5)
    model = MiniBatchKMeans(5, random_state=1, batch_size=256).fit(X)
    # Every true blob maps to exactly one cluster.
    for blob in range(5):
        assert np.unique(model.labels_[truth == blob]).size == 1
    assert np.unique(model.labels_).size == 5


def test_labels_and_inertia_match_predict_and_score(rng):
    X, _ = blobs(rng)
    model = MiniBatchKMeans(4, random_state=0).fit(X)
    assert_array_equal(model.labels_, model.predict(X))
    assert model.inertia_ == pytest.approx(-model.score(X), rel=1e-9)


def test_same_seed_same_result(rng):
    X, _ = blobs(rng)
    first = MiniBatchKMeans(4, random_state=7).fit(X)
    second = MiniBatchKMeans(4, random_state=7).fit(X)
    assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    assert first.n_steps_ == second.n_steps_


def test_stops_early_without_improvement(rng):
    X, _ = blobs(rng, n_samples=20000)
    model = MiniBatchKMeans(4, random_state=0, max_iter=100).fit(X)
    assert model.n_steps_ < (100 * 20000) // 1024
    assert model.n_iter_ == int(np.ceil(model.n_steps_ * 1024 / 20000))


def test_max_no_improvement_none_runs_every_step(rng):
    X, _ = blobs(rng, n_samples=2000)
    model = MiniBatchKMeans(4, random_state=0, max_iter=3, max_no_improvement=None, batch_size=100).fit(X)
    assert model.n_steps_ == (3 * 2000) // 100


def test_integer_weights_equal_repeats(rng):
    # Batches are drawn with probability proportional to the weights, so weight 2 on every
    # sample draws the same batches as unit weights.
    X, _ = blobs(rng, n_samples=2000)
    unit = MiniBatchKMeans(4, random_state=0).fit(X)
    doubled = MiniBatchKMeans(4, random_state=0).fit(X, sample_weight=np.full(2000, 2.0))
    assert_allclose(unit.cluster_centers_, doubled.cluster_centers_, rtol=1e-12)
    assert doubled.inertia_ == pytest.approx(2 * unit.inertia_, rel=1e-12)


def test_zero_weight_samples_never_drawn(rng):
    X, _ = blobs(rng, n_samples=2000, n_clusters=2)
    far = np.full((50, 3), 1e6)
    weights = np.concatenate([np.ones(2000), np.zeros(50)])
    model = MiniBatchKMeans(2, random_state=0, init="random", n_init=1).fit(np.vstack([X, far]), sample_weight=weights)
    assert np.abs(model.cluster_centers_).max() < 1e3


def test_partial_fit_streams_batches(rng):
    X, truth = blobs(rng, n_samples=6000, n_clusters=3)
    model = MiniBatchKMeans(3, random_state=0)
    for batch in np.array_split(X, 30):
        model.partial_fit(batch)
    assert model.n_steps_ == 30
    assert model.cluster_centers_.shape == (3, 3)
    labels = model.predict(X)
    for blob in range(3):
        assert np.unique(labels[truth == blob]).size == 1
    full = KMeans(3, random_state=0).fit(X)
    assert -model.score(X) <= full.inertia_ * 1.05


def test_partial_fit_keeps_float32(rng):
    X, _ = blobs(rng, n_samples=600, dtype=np.float32)
    model = MiniBatchKMeans(3, random_state=0).partial_fit(X[:300]).partial_fit(X[300:])
    assert model.cluster_centers_.dtype == np.float32
    assert model.labels_.shape == (300,)


def test_partial_fit_rejects_new_feature_count(rng):
    model = MiniBatchKMeans(2, random_state=0).partial_fit(rng.normal(size=(50, 3)))
    with pytest.raises(ValueError, match="3 features"):
        model.partial_fit(rng.normal(size=(50, 4)))


def test_sparse_input_rejected(rng):
    X = sp.random(100, 5, density=0.3, format="csr", random_state=0)
    with pytest.raises(TypeError, match="does not accept sparse input"):
        MiniBatchKMeans(2).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"max_iter": -1}, "max_iter must be an integer >= 1"),
        ({"reassignment_ratio": -0.1}, "reassignment_ratio must be a number >= 0"),
        ({"max_no_improvement": -2}, "max_no_improvement must be None or an integer >= 0"),
        ({"init_size": 0}, "init_size must be None or an integer >= 1"),
        ({"init": "farthest"}, "init='farthest' is not supported"),
    ],
)
def test_invalid_parameters_rejected(params, match, rng):
    with pytest.raises(ValueError, match=match):
        MiniBatchKMeans(2, **params).fit(rng.normal(size=(30, 2)))


def test_small_init_size_warns(rng):
    with pytest.warns(RuntimeWarning, match="init_size=2 should be larger than n_clusters=3"):
        MiniBatchKMeans(3, init_size=2, random_state=0).fit(rng.normal(size=(100, 2)))


def test_starved_centre_reassigned(rng):
    # One initial centre far from all data never wins a sample; the reassignment rule
    # must move it onto the data.
    X, _ = blobs(rng, n_samples=3000, n_clusters=3)
    init = np.vstack([X[:2], [[1e4, 1e4, 1e4]]])
    model = MiniBatchKMeans(3, init=init, random_state=0, batch_size=100).fit(X)
    assert np.abs(model.cluster_centers_).max() < 1e3


def test_batch_step_matches_numpy(rng):
    X = rng.normal(size=(200, 3))
    centers = X[:4].copy()
    counts = np.array([5.0, 0.0, 2.0, 1.0])
    indices = np.arange(50, 150, dtype=np.int64)
    weights = rng.uniform(0.5, 1.5, 100)
    expected_centers = centers.copy()
    batch = X[indices]
    labels = ((batch[:, None] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
    for j in range(4):
        mine = labels == j
        if mine.any():
            total = counts[j] + weights[mine].sum()
            expected_centers[j] = (centers[j] * counts[j] + (weights[mine, None] * batch[mine]).sum(axis=0)) / total
    expected_inertia = (weights * ((batch - centers[labels]) ** 2).sum(axis=1)).sum()

    new_counts = counts.copy()
    inertia, moved = kernels.batch_step(
        X, indices, weights, centers, new_counts, np.empty((4, 3)), np.empty(100, dtype=np.int32)
    )
    assert_allclose(centers, expected_centers, rtol=1e-12)
    assert inertia == pytest.approx(expected_inertia, rel=1e-12)
    assert new_counts.sum() == pytest.approx(counts.sum() + weights.sum())
    assert moved > 0


def test_convergence_ignores_first_step():
    state = np.array([np.nan, np.nan, 0.0, 0.0])
    assert not kernels.check_convergence(state, 0, 10.0, 10, 100, 0.0, 1.0, 10)
    assert np.isnan(state[kernels.EWA_INERTIA])
    # A move within tol stops from the second step on.
    assert kernels.check_convergence(state, 1, 10.0, 10, 100, 0.5, 1.0, 10)
