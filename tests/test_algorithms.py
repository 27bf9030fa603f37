"""Tests of the accelerated exact algorithms: each must reproduce plain Lloyd's labels.

Yinyang and gemm also reproduce Lloyd's centres bit for bit. Hamerly and simd keep their
centre sums up to date by adding and removing moved samples, so their centres may differ
from Lloyd's in the last bits.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from julei import KMeans
from julei import kmeans as kmeans_module
from julei._accelerated import (
    MERGE_MIN_SAMPLES, choose_algorithm, run_gemm, run_hamerly, run_simd, run_yinyang,
)
from julei._kernels import dedup, dense_gemm, hamerly, simd, yinyang

DRIVERS = {"hamerly": run_hamerly, "yinyang": run_yinyang, "gemm": run_gemm, "simd": run_simd}

# Drivers whose centre sums are kept by adding and removing the samples that move.
INCREMENTAL = {"hamerly", "simd"}

# Relative rounding allowed between incrementally kept sums and Lloyd's.
INCREMENTAL_RTOL = {np.dtype(np.float32): 2e-7, np.dtype(np.float64): 1e-12}


def assert_same_fit(name, result, expected):
    """Assert that a driver's run equals Lloyd's: labels exactly, centres and inertia
    exactly or, for the incremental drivers, up to the rounding of their sums."""
    assert_array_equal(result.labels, expected.labels)
    assert result.centers.dtype == expected.centers.dtype
    assert result.n_iter == expected.n_iter
    if name in INCREMENTAL:
        rtol = INCREMENTAL_RTOL[result.centers.dtype]
        assert_allclose(result.centers, expected.centers, rtol=rtol, atol=rtol * np.abs(expected.centers).max())
        assert result.inertia == pytest.approx(expected.inertia, rel=10 * rtol)
        # The per-step inertia comes from the clusters' totals instead of a pass over X. For
        # float32 data the sums contain float32 products, which leaves it about 1e-7 off.
        history_rtol = 1e-6 if result.centers.dtype == np.float32 else 1e-9
        assert_allclose(result.history["inertia"], expected.history["inertia"], rtol=history_rtol)
    else:
        assert_array_equal(result.centers, expected.centers)
        assert result.inertia == expected.inertia


# (n_samples, n_features, n_clusters): low, middle and high dimension, one to many clusters,
# and widths and cluster counts that the simd kernel pads (5 features, 7 clusters).
SHAPES = [(1500, 2, 1), (2000, 3, 16), (1800, 5, 7), (2500, 8, 40), (1500, 32, 100), (800, 300, 10)]


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

    assert result.centers.dtype == X.dtype
    assert_same_fit(name, result, expected)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_driver_stops_at_max_iter(name, rng):
    X = blobs(rng, 1000, 4, 6, np.float64)
    weights = np.ones(1000)
    centers_init = X[:6].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=2, tol=0.0)
    result = DRIVERS[name](X, weights, centers_init, max_iter=2, tol=0.0)
    assert result.n_iter == 2
    assert_same_fit(name, result, expected)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_driver_relocates_empty_cluster(name):
    # Two centres start on top of each other, so one of them gets no sample and must be
    # moved to the farthest sample, as Lloyd does.
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [9.0, 0.0]])
    weights = np.ones(5)
    centers_init = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=50, tol=0.0)
    result = DRIVERS[name](X, weights, centers_init, max_iter=50, tol=0.0)
    assert_same_fit(name, result, expected)
    assert np.unique(result.labels).size == 3


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_estimator_algorithm_matches_lloyd(name, rng):
    X = blobs(rng, 1200, 5, 7, np.float32)
    lloyd_model = KMeans(7, algorithm="lloyd", random_state=3).fit(X)
    model = KMeans(7, algorithm=name, random_state=3).fit(X)
    assert model.algorithm_ == name
    assert model.history_["inertia"].shape == (model.n_iter_,)

    def as_run(fitted):
        return kmeans_module._Run(
            fitted.cluster_centers_, fitted.labels_, fitted.inertia_, fitted.n_iter_, fitted.history_
        )

    assert_same_fit(name, as_run(model), as_run(lloyd_model))


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


def test_gemm_products_of_raw_rows_match_lloyd(rng):
    # Data near the origin: the kernel multiplies X's rows as they are, without a copy.
    X = blobs(rng, 1500, 150, 12, np.float32)
    X_mean = X.mean(axis=0, dtype=np.float64)
    assert not dense_gemm.copies_chunks(X_mean, X.var(axis=0, dtype=np.float64))
    weights = rng.uniform(0.5, 1.5, 1500).astype(np.float32)
    centers_init = X[:12].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    result = run_gemm(X, weights, centers_init, max_iter=100, tol=0.0)
    assert_same_fit("gemm", result, expected)


def test_gemm_copies_chunks_only_far_from_origin(rng):
    X = rng.normal(size=(500, 20))
    var = X.var(axis=0)
    assert not dense_gemm.copies_chunks(X.mean(axis=0), var)
    assert dense_gemm.copies_chunks(X.mean(axis=0) + 10.0, var)


def test_gemm_chunk_rows_shrink_with_row_size():
    assert dense_gemm.chunk_rows_for(784, 4) > dense_gemm.chunk_rows_for(784, 8)
    assert dense_gemm.chunk_rows_for(128, 4) > dense_gemm.chunk_rows_for(784, 4)
    assert dense_gemm.chunk_rows_for(100_000, 8) >= 8


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
    [((100, 3), 16, "simd"), ((100, 4), 6, "simd"), ((100, 32), 100, "hamerly"), ((100, 784), 10, "gemm")],
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


def test_merged_rows_relocate_like_lloyd(rng):
    # Many repeated rows and two equal initial centres: an empty cluster must take one
    # sample, as in Lloyd, not every copy of a merged row.
    X = np.round(rng.normal(size=(MERGE_MIN_SAMPLES + 10_000, 2)) * 4)
    X[:100] = [50.0, 50.0]
    weights = np.ones(X.shape[0])
    centers_init = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [-5.0, -5.0]])
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=300, tol=0.0)
    result = run_hamerly(X, weights, centers_init, max_iter=300, tol=0.0)
    assert_same_fit("hamerly", result, expected)


def near_bisectors(rng, centers, n_samples, scale, dtype):
    """Return samples within ``scale`` (relative) of the bisecting planes of centre pairs,
    where float32 distances cannot tell the two centres apart."""
    n_clusters, n_features = centers.shape
    a = rng.integers(0, n_clusters, n_samples)
    b = (a + rng.integers(1, n_clusters, n_samples)) % n_clusters
    midpoints = 0.5 * (centers[a] + centers[b])
    return (midpoints * (1.0 + scale * rng.normal(size=(n_samples, n_features)))).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("offset", [0.0, 1e3], ids=["origin", "offset"])
def test_simd_close_calls_match_lloyd(dtype, offset, rng):
    # Samples on or slightly off the planes halfway between centres, at every scale from
    # exact ties to 1e-3: the float32 lanes must hand each close call to the exact check.
    centers = (rng.normal(size=(5, 4)) + offset).astype(dtype)
    X = np.concatenate([
        near_bisectors(rng, centers, 400, scale, dtype) for scale in (0.0, 1e-9, 1e-7, 1e-5, 1e-3)
    ])
    weights = np.ones(X.shape[0], dtype=dtype)
    expected = kmeans_module._run_lloyd(X, weights, centers, max_iter=1, tol=0.0)
    result = run_simd(X, weights, centers, max_iter=1, tol=0.0)
    assert_same_fit("simd", result, expected)


def run_kernel(X, centers, mode=hamerly.FIRST, shift=None):
    """Run `simd.assign_simd` once on unit weights; return the labels and close calls."""
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_groups = 4
    totals = [np.zeros((n_groups, n_clusters, n_features)), np.zeros((n_groups, n_clusters)),
              np.zeros((n_groups, n_clusters)), np.zeros((n_groups, n_clusters), dtype=np.int64)]
    changed = np.zeros(n_groups, dtype=np.int64)
    exact = np.zeros(n_groups, dtype=np.int64)
    shift = X.mean(axis=0) if shift is None else shift
    factor = simd.error_factor(n_features)
    coefs, offsets, penalties, _ = simd.padded_centers(centers, shift, factor)
    labels = np.full(n_samples, -1, dtype=np.int32)
    simd.assign_simd(
        X, np.ones(n_samples, dtype=X.dtype), centers, shift, coefs, offsets, penalties, 2 * factor,
        np.zeros(n_features), labels, mode, *totals, changed, exact,
    )
    return labels, int(exact.sum())


def test_simd_counts_close_calls(rng):
    centers = rng.normal(size=(3, 2)).astype(np.float32)
    X = near_bisectors(rng, centers, 300, 0.0, np.float32)
    labels, n_exact = run_kernel(X, centers)
    distances = ((X.astype(np.float64)[:, None, :] - centers.astype(np.float64)) ** 2).sum(axis=2)
    assert_array_equal(labels, distances.argmin(axis=1))
    # Midpoints are ties up to the rounding of X, so most of them need the exact check.
    assert n_exact > 150


def test_simd_far_centre_rare_close_calls(rng):
    # An outlier that is a centre must not raise the other samples' thresholds: each
    # centre's error is bounded by its own norm.
    X = rng.normal(size=(20_000, 2)) + rng.normal(size=(8, 2))[rng.integers(0, 8, 20_000)] * 4
    X[0] = [1e4, 1e4]
    centers = X[:8].copy()
    labels, n_exact = run_kernel(X, centers)
    distances = ((X[:, None, :] - centers) ** 2).sum(axis=2)
    assert_array_equal(labels, distances.argmin(axis=1))
    assert n_exact < 0.01 * X.shape[0]


def test_simd_tiny_values_stay_in_lanes(rng):
    # float32 data at 1e-18: squared distances near 1e-36 are still normal numbers, and the
    # underflow slack must be far below them.
    X = (rng.normal(size=(5000, 3)) * 1e-18).astype(np.float32)
    centers = X[:5].copy()
    labels, n_exact = run_kernel(X, centers)
    distances = ((X.astype(np.float64)[:, None, :] - centers.astype(np.float64)) ** 2).sum(axis=2)
    assert_array_equal(labels, distances.argmin(axis=1))
    assert n_exact < 0.01 * X.shape[0]


def test_simd_padding_matches_centres(rng):
    centers = rng.normal(size=(5, 6))
    shift = rng.normal(size=6)
    coefs, offsets, penalties, centers_sq_max = simd.padded_centers(centers, shift, 1e-6)
    squares = ((centers - shift) ** 2).sum(axis=1)
    assert coefs.shape == (6, 8)
    assert_allclose(coefs[:5, :6], -2.0 * (centers - shift), rtol=1e-6)
    assert (coefs[5] == 0).all()
    assert (coefs[:, 6:] == 0).all()
    assert offsets[5] == np.inf
    assert_allclose(offsets[:5], squares, rtol=1e-6)
    assert_allclose(penalties[:5], 1e-6 * squares, rtol=1e-6)
    assert penalties[5] == 0
    assert centers_sq_max == pytest.approx(squares.max(), rel=1e-6)


@pytest.mark.parametrize("name", sorted(INCREMENTAL))
def test_extreme_weight_ratio_matches_lloyd(name):
    # Two samples of weight 1e20 leave cluster 0 in the second step. Removing them from
    # the kept sums cancels the light sample that stays, so the sums must be formed again.
    X = np.array([[-1.0], [1.0], [0.0], [-1.2], [-2.0], [1.2], [2.0]])
    weights = np.array([1e20, 1e20, 1.0, 1.0, 1.0, 1.0, 1.0])
    centers_init = np.array([[0.0], [-2.2], [2.2]])
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=10, tol=0.0)
    result = DRIVERS[name](X, weights, centers_init, max_iter=10, tol=0.0)
    assert_array_equal(result.labels, expected.labels)
    assert result.n_iter == expected.n_iter


@pytest.mark.parametrize("scale", [1e17, 1e40], ids=["beyond-lanes", "beyond-float32"])
def test_simd_huge_values_match_lloyd(scale, rng):
    # Squared norms above MAX_SQ make every sample a close call, computed in float64.
    X = blobs(rng, 600, 3, 4, np.float64) * scale
    weights = np.ones(600)
    centers_init = X[:4].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    result = run_simd(X, weights, centers_init, max_iter=100, tol=0.0)
    assert_same_fit("simd", result, expected)


def test_simd_wide_data_runs_hamerly(rng, caplog):
    X = blobs(rng, 300, simd.MAX_FEATURES + 1, 3, np.float32)
    weights = np.ones(300, dtype=np.float32)
    centers_init = X[:3].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    with caplog.at_level("INFO", logger="julei._accelerated"):
        result = run_simd(X, weights, centers_init, max_iter=100, tol=0.0)
    assert "Hamerly" in caplog.text
    assert_same_fit("simd", result, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_simd_far_from_origin_matches_lloyd(dtype, rng):
    # Data at 1e4 with unit spread, where float32 keeps few digits of x itself: the shift
    # to the data's mean must keep the labels Lloyd's.
    X = blobs(rng, 3000, 4, 6, dtype, offset=1e4)
    weights = np.ones(3000, dtype=dtype)
    centers_init = X[:6].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=300, tol=0.0)
    result = run_simd(X, weights, centers_init, max_iter=300, tol=0.0)
    assert_same_fit("simd", result, expected)


def test_simd_on_duplicates_matches_lloyd(rng):
    palette = rng.integers(0, 8, size=(300, 3)) / 7.0
    X = palette[rng.integers(0, 300, 60_000)].astype(np.float32)
    weights = np.ones(60_000, dtype=np.float32)
    centers_init = palette[:6].astype(np.float32)
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    result = run_simd(X, weights, centers_init, max_iter=100, tol=0.0)
    assert_array_equal(result.labels, expected.labels)
    assert_allclose(result.centers, expected.centers, rtol=1e-5)
    assert result.n_iter == expected.n_iter


def test_merge_probe_skips_distinct_rows(rng):
    # Continuous data: the probe of the first rows finds no duplicates and the merge is
    # not attempted on the whole data.
    from julei._accelerated import merge_rows

    X = rng.normal(size=(3 * dedup.EARLY_CHECK_ROWS, 3))
    assert merge_rows(X, np.ones(X.shape[0])) is None
    repeated = np.round(X, 0)
    merged = merge_rows(repeated, np.ones(X.shape[0]))
    assert merged is not None
    unique, weights, inverse = merged
    assert_array_equal(unique[inverse], repeated)
    assert weights.sum() == X.shape[0]


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 6, 17])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_simd_every_width_matches_lloyd(n_features, dtype, rng):
    # Widths 1 to 4 are copied into the lanes with constant strides, the others feature by
    # feature. 1,100 samples leave a partial last block.
    X = blobs(rng, 1100, n_features, 5, dtype, offset=3.0)
    weights = np.ones(1100, dtype=dtype)
    centers_init = X[:5].copy()
    expected = kmeans_module._run_lloyd(X, weights, centers_init, max_iter=100, tol=0.0)
    result = run_simd(X, weights, centers_init, max_iter=100, tol=0.0)
    assert_same_fit("simd", result, expected)


def test_equal_weights_become_one():
    from julei._accelerated import kernel_weights

    equal = np.full(1000, 2.5)
    single = kernel_weights(equal)
    assert single.shape == (1,)
    assert single[0] == 2.5
    varied = equal.copy()
    varied[999] = 2.0
    assert kernel_weights(varied) is varied
    single_entry = np.array([3.0])
    assert kernel_weights(single_entry) is single_entry


@pytest.mark.parametrize("kernel", ["simd", "hamerly"])
def test_single_weight_same_sums(kernel, rng):
    # An array of one weight gives it to every sample. The first step's whole sums and a
    # later step's changes must equal those from the full array, bit for bit.
    X = blobs(rng, 3000, 3, 6, np.float32)
    centers = X[:6].copy()
    moved = X[6:12].copy()
    n_groups = 4
    outputs = []
    for weights in (np.full(3000, 1.5), np.full(1, 1.5)):
        labels = np.full(3000, -1, dtype=np.int32)
        totals = [np.zeros((n_groups, 6, 3)), np.zeros((n_groups, 6)), np.zeros((n_groups, 6)),
                  np.zeros((n_groups, 6), dtype=np.int64)]
        changed = np.zeros(n_groups, dtype=np.int64)
        steps = []
        for mode, step_centers in ((hamerly.FIRST, centers), (hamerly.DELTAS, moved)):
            if kernel == "simd":
                shift = X.mean(axis=0)
                factor = simd.error_factor(3)
                coefs, offsets, penalties, _ = simd.padded_centers(step_centers, shift, factor)
                simd.assign_simd(
                    X, weights, step_centers, shift, coefs, offsets, penalties, 2 * factor, np.zeros(3), labels,
                    mode, *totals, changed, np.zeros(n_groups, dtype=np.int64),
                )
            else:
                upper = np.zeros(3000, dtype=np.float32)
                lower = np.zeros(3000, dtype=np.float32)
                hamerly.assign_hamerly(
                    X, weights, step_centers, np.zeros(3), labels, upper, lower, np.full(6, np.inf), np.inf,
                    np.inf, 0, 1e-6, mode, False, *totals, changed,
                )
            steps.append([labels.copy(), changed.copy()] + [total.copy() for total in totals])
        outputs.append(steps)
    assert outputs[0][1][1].sum() > 0
    for full, single in zip(outputs[0], outputs[1]):
        for a, b in zip(full, single):
            assert_array_equal(a, b)


def test_trailing_zeros_counts_low_zero_bits():
    import numba

    from julei._kernels._common import trailing_zeros

    @numba.njit
    def count(value):
        return trailing_zeros(value)

    for bit in (0, 1, 7, 8, 31, 32, 63):
        assert count(np.uint64(1) << np.uint64(bit)) == bit
        assert count((np.uint64(1) << np.uint64(bit)) | (np.uint64(1) << np.uint64(63))) == bit
    assert count(np.uint64(0)) == 64


def test_merges_reused_inside_block(rng, monkeypatch):
    from julei import _accelerated

    X = np.round(rng.normal(size=(MERGE_MIN_SAMPLES, 2)), 1)
    weights = np.ones(X.shape[0])
    calls = []
    merge = dedup.merge_duplicates
    monkeypatch.setattr(dedup, "merge_duplicates", lambda *args: calls.append(args[0].shape[0]) or merge(*args))
    first = _accelerated.merge_rows(X, weights)
    per_merge = len(calls)
    assert _accelerated.merge_rows(X, weights) is not first
    with _accelerated.merges_reused():
        inside = _accelerated.merge_rows(X, weights)
        assert _accelerated.merge_rows(X, weights) is inside
        assert _accelerated.merge_rows(X.copy(), weights) is not inside
    # Two merges outside the block, and inside one for X and one for its copy.
    assert len(calls) == 4 * per_merge
    assert_array_equal(inside[0], first[0])


def test_fit_merges_duplicates_once(rng, monkeypatch):
    # Seeding, the iterations and the refinement share one merge of the photo-like data.
    palette = rng.uniform(size=(400, 3))
    X = palette[rng.integers(0, 400, MERGE_MIN_SAMPLES)].astype(np.float32)
    full_merges = []
    merge = dedup.merge_duplicates
    monkeypatch.setattr(
        dedup, "merge_duplicates",
        lambda *args: (full_merges.append(1) if args[0].shape[0] == X.shape[0] else None) or merge(*args),
    )
    model = KMeans(5, random_state=0).fit(X)
    assert len(full_merges) == 1
    distances = ((X[:, None, :].astype(np.float64) - model.cluster_centers_) ** 2).sum(axis=2)
    assert_array_equal(model.labels_, distances.argmin(axis=1))
    assert model.inertia_ == pytest.approx(distances.min(axis=1).sum(), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_probe_counts_distinct_rows_exactly(seed):
    # 400,000 draws from 100,000 values: about 98 % of the first 4,096 rows are distinct,
    # under the first probe's 99 %, so the data must be merged whatever the hash split.
    from julei._accelerated import merge_rows

    rng = np.random.default_rng(seed)
    values = rng.normal(size=(100_000, 3))
    X = values[rng.integers(0, 100_000, 400_000)]
    merged = merge_rows(X, np.ones(X.shape[0]))
    assert merged is not None
    unique, weights, inverse = merged
    assert_array_equal(unique[inverse], X)
    assert unique.shape[0] == np.unique(X, axis=0).shape[0]


def test_merge_probe_counts_both_hash_parts():
    # 2,101 distinct rows in 100,000 rows. The first 4,096 rows are 51 % distinct, and all
    # of their distinct rows fall into the same part of the merge's hash split.
    from julei._accelerated import merge_rows

    rng = np.random.default_rng(0)
    candidates = rng.normal(size=(20_000, 2))
    bits = candidates.view(np.uint64)
    first_part = [i for i in range(len(candidates)) if int(dedup._row_hash(bits, i)) >> 63 == 0]
    rows = candidates[first_part[:2101]]
    head = np.vstack([rows[:2100], np.repeat(rows[2100:], 4096 - 2100, axis=0)])
    X = np.vstack([head, rows[rng.integers(0, 2101, 100_000 - 4096)]])
    merged = merge_rows(X, np.ones(X.shape[0]))
    assert merged is not None
    assert merged[0].shape[0] == 2101



def test_merged_runs_repeat_inside_block(rng):
    # Runs inside one block share the merge, so expanding the first run's labels must leave
    # the merge's inverse index intact for the second.
    from julei import _accelerated

    palette = rng.uniform(size=(300, 3))
    X = palette[rng.integers(0, 300, MERGE_MIN_SAMPLES)].astype(np.float32)
    weights = np.ones(X.shape[0], dtype=np.float32)
    centers_init = palette[:4].astype(np.float32)
    with _accelerated.merges_reused():
        first = run_simd(X, weights, centers_init, max_iter=100, tol=0.0)
        second = run_simd(X, weights, centers_init, max_iter=100, tol=0.0)
    distances = ((X[:, None, :].astype(np.float64) - first.centers) ** 2).sum(axis=2)
    assert_array_equal(first.labels, distances.argmin(axis=1))
    assert_array_equal(second.labels, first.labels)
    assert second.inertia == first.inertia


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_on_duplicates_labels_nearest(seed, rng):
    # Several runs and the refinement all expand through the same merge.
    palette = rng.uniform(size=(500, 3))
    X = palette[rng.integers(0, 500, MERGE_MIN_SAMPLES)].astype(np.float32)
    model = KMeans(6, n_init=3, random_state=seed).fit(X)
    distances = ((X[:, None, :].astype(np.float64) - model.cluster_centers_) ** 2).sum(axis=2)
    assert_array_equal(model.labels_, distances.argmin(axis=1))
    assert model.inertia_ == pytest.approx(distances.min(axis=1).sum(), rel=1e-6)
