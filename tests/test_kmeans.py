"""Tests of julei.KMeans against hand-worked cases, NumPy references and scikit-learn."""

import logging
import warnings

import numba
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from julei import KMeans, _validation, kmeans_plusplus
from julei._kernels import lloyd
from julei._kernels._common import (
    SMALL_WORK, all_finite, column_mean_var, label_counts, n_groups_for, numba_threads, spaced_rows_mean,
)
from julei.exceptions import ConvergenceWarning

RTOL = {np.float32: 1e-4, np.float64: 1e-6}


def labels_match_up_to_ties(X, centers, labels_a, labels_b, rtol):
    """Return True when every label that differs belongs to a sample equidistant from both centres."""
    differ = np.flatnonzero(labels_a != labels_b)
    if differ.size == 0:
        return True
    x = X[differ].toarray() if sp.issparse(X) else X[differ]
    x = x.astype(np.float64)
    dist_a = ((x - centers[labels_a[differ]]) ** 2).sum(axis=1)
    dist_b = ((x - centers[labels_b[differ]]) ** 2).sum(axis=1)
    return bool(np.allclose(dist_a, dist_b, rtol=rtol, atol=rtol * (x**2).sum(axis=1).max()))


# ------------------------------------------------------------------ hand-worked cases


def test_readme_example_two_groups():
    X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]]
    model = KMeans(n_clusters=2, random_state=0).fit(X)
    labels = model.labels_
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    assert labels[0] != labels[3]
    assert_allclose(sorted(model.cluster_centers_[:, 0]), [1.0, 10.0])
    assert model.inertia_ == pytest.approx(16.0)


def test_four_points_exact_result():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]])
    init = np.array([[1.0, 1.0], [3.0, 1.0]])
    model = KMeans(n_clusters=2, init=init).fit(X)
    assert_array_equal(model.labels_, [0, 0, 1, 1])
    assert_allclose(model.cluster_centers_, [[0.0, 1.0], [4.0, 1.0]])
    assert model.inertia_ == pytest.approx(4.0)
    assert model.n_iter_ == 2


def test_weighted_mean_single_cluster(rng):
    X = rng.normal(size=(50, 3))
    weights = rng.uniform(0, 3, size=50)
    model = KMeans(n_clusters=1).fit(X, sample_weight=weights)
    expected = (X * weights[:, None]).sum(axis=0) / weights.sum()
    assert_allclose(model.cluster_centers_[0], expected, rtol=1e-12)
    assert model.inertia_ == pytest.approx((weights * ((X - expected) ** 2).sum(axis=1)).sum())


# ------------------------------------------------------------------ kernels against NumPy


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_assign_dense_matches_numpy(dtype, rng):
    X = rng.normal(size=(300, 5)).astype(dtype)
    weights = rng.uniform(0.5, 2.0, size=300).astype(dtype)
    centers = rng.normal(size=(4, 5)).astype(dtype)
    n_groups = n_groups_for(300)
    labels = np.empty(300, dtype=np.int32)
    sums = np.zeros((n_groups, 4, 5))
    group_weights = np.zeros((n_groups, 4))
    group_inertia = np.zeros(n_groups)

    lloyd.assign_dense(X, weights, centers, labels, sums, group_weights, group_inertia, True)

    d2 = ((X.astype(np.float64)[:, None, :] - centers.astype(np.float64)[None]) ** 2).sum(-1)
    assert_array_equal(labels, d2.argmin(axis=1))
    assert_allclose(group_inertia.sum(), (weights * d2.min(axis=1)).sum(), rtol=RTOL[dtype])
    total_sums, total_weights = lloyd.reduce_groups(sums, group_weights)
    for j in range(4):
        members = labels == j
        assert_allclose(total_weights[j], weights[members].sum(), rtol=RTOL[dtype])
        assert_allclose(total_sums[j], (weights[members, None] * X[members]).sum(axis=0), rtol=RTOL[dtype], atol=1e-4)


def test_assign_sparse_matches_dense(rng):
    dense = rng.normal(size=(200, 6)) * (rng.uniform(size=(200, 6)) < 0.4)
    X = sp.csr_matrix(dense)
    weights = np.ones(200)
    centers = rng.normal(size=(5, 6))
    n_groups = n_groups_for(200)
    outputs = []
    for data in (dense, X):
        labels = np.empty(200, dtype=np.int32)
        buffers = (np.zeros((n_groups, 5, 6)), np.zeros((n_groups, 5)), np.zeros(n_groups))
        if sp.issparse(data):
            x_sq = np.asarray(data.multiply(data).sum(axis=1)).ravel()
            lloyd.assign_sparse(data.data, data.indices, data.indptr, x_sq, weights, centers, labels, *buffers, True)
        else:
            lloyd.assign_dense(data, weights, centers, labels, *buffers, True)
        outputs.append((labels, buffers))
    assert_array_equal(outputs[0][0], outputs[1][0])
    assert_allclose(outputs[0][1][0], outputs[1][1][0], atol=1e-12)
    assert_allclose(outputs[0][1][2].sum(), outputs[1][1][2].sum(), rtol=1e-10)


# ------------------------------------------------------------------ against scikit-learn


@pytest.mark.parametrize("n_features", [2, 3, 8, 64, 300])
@pytest.mark.parametrize("n_clusters", [1, 2, 8, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_same_init_matches_sklearn_lloyd(n_features, n_clusters, dtype, weighted, sparse, rng):
    n_samples = 400
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    # A few well-separated groups so the runs take several iterations but stay stable.
    X += rng.integers(0, 5, size=(n_samples, 1)).astype(dtype) * 3.0
    if sparse:
        X[rng.uniform(size=X.shape) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    weights = rng.uniform(0.2, 3.0, size=n_samples).astype(dtype) if weighted else None
    init_rows = rng.choice(n_samples, size=n_clusters, replace=False)
    init = X[init_rows].toarray() if sparse else X[init_rows]

    ours = KMeans(n_clusters=n_clusters, init=init, n_init=1, max_iter=50).fit(X, sample_weight=weights)
    reference = SklearnKMeans(n_clusters=n_clusters, init=init, n_init=1, max_iter=50, algorithm="lloyd").fit(
        X, sample_weight=weights
    )

    assert ours.cluster_centers_.dtype == dtype
    assert labels_match_up_to_ties(X, reference.cluster_centers_, ours.labels_, reference.labels_, RTOL[dtype])
    assert_allclose(ours.inertia_, reference.inertia_, rtol=RTOL[dtype])
    assert_allclose(ours.cluster_centers_, reference.cluster_centers_, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("init, n_init", [("k-means++", "auto"), ("k-means++", 3), ("random", "auto")])
def test_seeded_runs_match_sklearn(init, n_init, rng):
    X = rng.normal(size=(2000, 4)) + rng.integers(0, 6, size=(2000, 1)) * 2.5
    # Without refinement julei runs exactly scikit-learn's seeding and Lloyd iterations.
    ours = KMeans(n_clusters=6, init=init, n_init=n_init, random_state=7, refine=None).fit(X)
    reference = SklearnKMeans(n_clusters=6, init=init, n_init=n_init, random_state=7).fit(X)
    assert_array_equal(ours.labels_, reference.labels_)
    assert_allclose(ours.inertia_, reference.inertia_, rtol=1e-9)
    assert ours.n_iter_ == reference.n_iter_


def test_kmeans_plusplus_same_seeds_as_sklearn(rng):
    from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

    X = rng.normal(size=(3000, 5))
    weights = rng.uniform(0.1, 2.0, size=3000)
    centers, indices = kmeans_plusplus(X, 20, sample_weight=weights, random_state=3)
    ref_centers, ref_indices = sklearn_kmeans_plusplus(X, 20, sample_weight=weights, random_state=3)
    assert_array_equal(indices, ref_indices)
    assert_array_equal(centers, ref_centers)


def test_sparse_seeding_same_seeds_as_dense(rng):
    dense = rng.normal(size=(500, 7)) * (rng.uniform(size=(500, 7)) < 0.5)
    _, dense_indices = kmeans_plusplus(dense, 10, random_state=1)
    _, sparse_indices = kmeans_plusplus(sp.csr_matrix(dense), 10, random_state=1)
    assert_array_equal(dense_indices, sparse_indices)


def test_weights_equal_repeated_rows(rng):
    X = rng.normal(size=(60, 3))
    counts = rng.integers(0, 4, size=60)
    init = X[np.flatnonzero(counts)[:4]]
    weighted = KMeans(n_clusters=4, init=init).fit(X, sample_weight=counts)
    repeated = KMeans(n_clusters=4, init=init).fit(np.repeat(X, counts, axis=0))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)


# ------------------------------------------------------------------ invariants


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_samples=st.integers(5, 60),
    n_features=st.integers(1, 4),
    n_clusters=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_fit_invariants(n_samples, n_features, n_clusters, seed):
    generator = np.random.default_rng(seed)
    X = generator.normal(size=(n_samples, n_features))
    weights = generator.uniform(0.1, 2.0, size=n_samples)
    n_clusters = min(n_clusters, n_samples)
    model = KMeans(n_clusters=n_clusters, random_state=seed, tol=0).fit(X, sample_weight=weights)

    d2 = ((X[:, None, :] - model.cluster_centers_[None]) ** 2).sum(-1)
    # Labels are the nearest centre, up to exact ties.
    assert np.allclose(d2[np.arange(n_samples), model.labels_], d2.min(axis=1))
    # Centres are the weighted means of their members (tol=0 runs to unchanged labels).
    for j in np.unique(model.labels_):
        members = model.labels_ == j
        mean = (X[members] * weights[members, None]).sum(axis=0) / weights[members].sum()
        assert_allclose(model.cluster_centers_[j], mean, rtol=1e-9, atol=1e-12)
    # The assignment-step inertia never rises from one iteration to the next.
    history = model.history_["inertia"]
    assert np.all(np.diff(history) <= 1e-9 * history[0] + 1e-12)
    assert model.inertia_ <= history[-1] * (1 + 1e-9) + 1e-12


def test_same_result_on_one_and_two_threads(rng):
    X = rng.normal(size=(5000, 3)).astype(np.float32)
    one = KMeans(n_clusters=7, random_state=0, n_threads=1).fit(X)
    two = KMeans(n_clusters=7, random_state=0, n_threads=2).fit(X)
    assert_array_equal(one.labels_, two.labels_)
    assert_array_equal(one.cluster_centers_, two.cluster_centers_)
    assert one.inertia_ == two.inertia_


# ------------------------------------------------------------------ inputs and dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept(dtype, rng):
    X = rng.normal(size=(100, 3)).astype(dtype)
    model = KMeans(n_clusters=3, random_state=0).fit(X)
    assert model.cluster_centers_.dtype == dtype
    assert model.transform(X).dtype == dtype
    assert model.labels_.dtype == np.int32


def test_integers_become_float64():
    X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]], dtype=np.int64)
    model = KMeans(n_clusters=2, random_state=0).fit(X)
    assert model.cluster_centers_.dtype == np.float64


def test_input_not_modified(rng):
    X = rng.normal(size=(200, 3)) + 100.0
    before = X.copy()
    KMeans(n_clusters=3, random_state=0, copy_x=False).fit(X)
    assert_array_equal(X, before)


def test_dataframe_feature_names(rng):
    frame = pd.DataFrame(rng.normal(size=(50, 2)), columns=["income", "spending"])
    model = KMeans(n_clusters=2, random_state=0).fit(frame)
    assert_array_equal(model.feature_names_in_, ["income", "spending"])
    assert_array_equal(model.get_feature_names_out(), ["kmeans0", "kmeans1"])


def test_works_in_pipeline(rng):
    X = rng.normal(size=(120, 3)) * [1.0, 100.0, 0.01]
    pipeline = make_pipeline(StandardScaler(), KMeans(n_clusters=3, random_state=0))
    labels = pipeline.fit_predict(X)
    assert_array_equal(labels, pipeline.predict(X))
    assert pipeline.transform(X).shape == (120, 3)


def test_predict_transform_score_consistent(rng):
    X = rng.normal(size=(300, 4))
    model = KMeans(n_clusters=5, random_state=0).fit(X)
    assert_array_equal(model.predict(X), model.labels_)
    distances = model.transform(X)
    assert_array_equal(distances.argmin(axis=1), model.labels_)
    assert model.score(X) == pytest.approx(-model.inertia_)
    assert_allclose(model.fit_transform(X), distances)


# ------------------------------------------------------------------ edge cases


def test_more_clusters_than_samples_rejected():
    with pytest.raises(ValueError, match=r"n_clusters=5 is larger than the number of samples \(3\)"):
        KMeans(n_clusters=5).fit([[0.0], [1.0], [2.0]])


def test_fewer_distinct_points_warns():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(2\) found smaller than n_clusters \(3\)"):
        model = KMeans(n_clusters=3, random_state=0).fit(X)
    assert model.inertia_ == pytest.approx(0.0)
    assert np.unique(model.labels_).size == 2


@pytest.mark.parametrize("value, kind", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_input_names_row_and_column(value, kind):
    X = np.ones((10, 3))
    X[7, 2] = value
    with pytest.raises(ValueError, match=rf"contains {kind} at row 7, column 2"):
        KMeans(n_clusters=2).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value, kind", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_large_input_names_row_and_column(value, kind, dtype):
    # Large enough for the parallel check, with values near the dtype's limit that a
    # plain sum would overflow.
    n_rows = _validation.PARALLEL_CHECK_SIZE // 4 + 5
    X = np.full((n_rows, 4), np.finfo(dtype).max / 2, dtype=dtype)
    X[::2] *= -1
    assert _validation.check_finite(X) is None
    X[n_rows - 3, 1] = value
    with pytest.raises(ValueError, match=rf"contains {kind} at row {n_rows - 3}, column 1"):
        _validation.check_finite(X)


@pytest.mark.parametrize("shape", [(1000, 7), (1, 1), (3, 5), (1001, 1), (999, 64), (130, 65), (40, 784)])
def test_all_finite_kernel(shape, rng):
    # Widths around the 64-value spans, and rows left over after the last whole span.
    X = rng.normal(size=shape).astype(np.float32)
    assert all_finite(X, 32)
    n_rows, n_columns = shape
    for row, column, value in [(0, 0, np.nan), (n_rows - 1, n_columns - 1, np.inf), (n_rows // 2, n_columns // 2, -np.inf)]:
        bad = X.copy()
        bad[row, column] = value
        assert not all_finite(bad, 32)
        assert not all_finite(bad, 1)


@pytest.mark.parametrize("shape", [(1000, 1), (1001, 3), (997, 4), (500, 17), (130, 65), (40, 784), (1, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_column_mean_var_matches_numpy(shape, dtype, rng):
    X = (rng.normal(size=shape) * rng.uniform(0.5, 3.0, shape[1]) + 1e3).astype(dtype)
    mean, var = column_mean_var(X, n_groups_for(shape[0]))
    reference = X.astype(np.float64)
    assert_allclose(mean, reference.mean(axis=0), rtol=1e-13)
    assert_allclose(var, reference.var(axis=0), rtol=1e-9, atol=1e-12)


def test_label_counts_match_bincount(rng):
    labels = rng.integers(0, 7, 10_001).astype(np.int32)
    assert_array_equal(label_counts(labels, 9), np.bincount(labels, minlength=9))


def test_spaced_rows_mean(rng):
    X = rng.normal(size=(1003, 3)).astype(np.float32)
    assert_allclose(spaced_rows_mean(X, 7), X[::7].astype(np.float64).mean(axis=0), rtol=1e-12)
    assert_allclose(spaced_rows_mean(X, 5000), X[0], rtol=0)


def test_non_finite_sparse_input_names_row_and_column():
    X = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0], [0.0, np.nan]]))
    with pytest.raises(ValueError, match=r"contains NaN at row 2, column 1"):
        KMeans(n_clusters=2).fit(X)


def test_empty_cluster_relocated_like_sklearn(rng):
    X = rng.normal(size=(100, 2))
    # The third centre is far from every sample, so its cluster starts empty.
    init = np.array([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0]])
    ours = KMeans(n_clusters=3, init=init).fit(X)
    reference = SklearnKMeans(n_clusters=3, init=init, n_init=1, algorithm="lloyd").fit(X)
    assert np.unique(ours.labels_).size == 3
    assert np.abs(ours.cluster_centers_).max() < 10
    assert_array_equal(ours.labels_, reference.labels_)
    assert_allclose(ours.inertia_, reference.inertia_, rtol=1e-9)


def test_constant_data():
    X = np.full((20, 3), 4.5)
    with pytest.warns(ConvergenceWarning):
        model = KMeans(n_clusters=2, random_state=0).fit(X)
    assert model.inertia_ == 0.0
    assert_allclose(model.cluster_centers_[model.labels_[0]], [4.5, 4.5, 4.5])


def test_single_feature(rng):
    X = np.concatenate([rng.normal(0, 0.1, 30), rng.normal(5, 0.1, 30)])[:, None]
    model = KMeans(n_clusters=2, random_state=0).fit(X)
    assert_allclose(sorted(model.cluster_centers_[:, 0]), [0.0, 5.0], atol=0.1)


def test_large_float32_values_do_not_overflow(rng):
    X = (rng.normal(size=(200, 2)) * 1e19 + 1e20).astype(np.float32)
    model = KMeans(n_clusters=3, random_state=0).fit(X)
    assert np.isfinite(model.inertia_)
    assert np.all(np.isfinite(model.cluster_centers_))
    assert np.all(np.isfinite(model.transform(X)))
    assert np.unique(model.labels_).size == 3


@pytest.mark.parametrize(
    "weights, match",
    [
        (np.zeros(6), "zero for every sample"),
        (np.array([1, 1, -1, 1, 1, 1.0]), r"negative value \(-1.0\) at index 2"),
        (np.array([1, 1, 1, np.nan, 1, 1.0]), "contains nan at index 3"),
        (np.ones(5), "has 5 entries but X has 6 samples"),
    ],
    ids=["all-zero", "negative", "nan", "wrong-length"],
)
def test_bad_sample_weight_rejected(weights, match):
    X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]]
    with pytest.raises(ValueError, match=match):
        KMeans(n_clusters=2).fit(X, sample_weight=weights)


def test_zero_weights_ignored_in_means():
    X = np.array([[0.0], [1.0], [1000.0], [10.0], [11.0]])
    weights = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    model = KMeans(n_clusters=2, init=np.array([[0.0], [10.0]])).fit(X, sample_weight=weights)
    assert_allclose(sorted(model.cluster_centers_[:, 0]), [0.5, 10.5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"init": "kmeans"}, "init='kmeans' is not supported"),
        ({"n_init": 0}, "n_init must be 'auto' or an integer >= 1"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1"),
        ({"tol": -1.0}, "tol must be a number >= 0"),
        ({"algorithm": "fast"}, "algorithm='fast' is not supported"),
        ({"init": np.zeros((3, 2))}, r"initial centers \(3, 2\) does not match"),
    ],
)
def test_bad_parameters_rejected(params, match):
    X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]]
    with pytest.raises(ValueError, match=match):
        KMeans(n_clusters=2, **params).fit(X)


def test_explicit_init_with_n_init_warns():
    X = np.array([[0.0], [1.0], [5.0], [6.0]])
    with pytest.warns(RuntimeWarning, match="running one init instead of n_init=4"):
        KMeans(n_clusters=2, init=np.array([[0.0], [5.0]]), n_init=4).fit(X)


def test_verbose_logs_iterations(caplog, rng):
    X = rng.normal(size=(100, 2))
    with caplog.at_level(logging.INFO, logger="julei"):
        KMeans(n_clusters=3, random_state=0, verbose=1).fit(X)
    assert any("Iteration 0: inertia" in record.getMessage() for record in caplog.records)
    assert any("Converged at iteration" in record.getMessage() for record in caplog.records)


def test_quiet_by_default(caplog, rng):
    X = rng.normal(size=(100, 2))
    with caplog.at_level(logging.INFO, logger="julei"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            KMeans(n_clusters=3, random_state=0).fit(X)
    assert not [r for r in caplog.records if r.name.startswith("julei.kmeans") and r.levelno >= logging.WARNING]


# ------------------------------------------------------------------ scikit-learn's contract

# Weighted and repeated samples give different random seeding draws, so these two checks fail
# for any randomly seeded K-means (scikit-learn marks them as expected failures for its own
# KMeans). test_weights_equal_repeated_rows checks the equivalence from fixed centres instead.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": "random seeding draws differ for weights and repeats",
    "check_sample_weight_equivalence_on_sparse_data": "random seeding draws differ for weights and repeats",
}


@parametrize_with_checks(
    [KMeans(n_clusters=3, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # Some checks skip themselves with a SkipTestWarning (array API without SCIPY_ARRAY_API).
        warnings.simplefilter("ignore", category=UserWarning)
        check(estimator)


def test_small_work_runs_on_one_thread():
    with numba_threads(None, work=SMALL_WORK - 1) as count:
        assert count == 1
    with numba_threads(None, work=SMALL_WORK) as count:
        assert count == numba.config.NUMBA_NUM_THREADS
    with numba_threads(2, work=10) as count:
        assert count == min(2, numba.config.NUMBA_NUM_THREADS)


def test_unrefined_fit_on_duplicates_matches_sklearn(rng):
    # Without refinement the seeds come from every row, not from the merged distinct rows,
    # so that the draws stay scikit-learn's on photo-like data too.
    from julei._accelerated import MERGE_MIN_SAMPLES

    palette = rng.uniform(size=(500, 3))
    X = palette[rng.integers(0, 500, MERGE_MIN_SAMPLES)]
    ours = KMeans(6, random_state=7, refine=None, algorithm="lloyd").fit(X)
    reference = SklearnKMeans(6, random_state=7).fit(X)
    assert_array_equal(ours.labels_, reference.labels_)
    assert ours.n_iter_ == reference.n_iter_
