"""Drivers of the accelerated exact K-means algorithms registered in `julei.kmeans`.

Each driver takes validated dense input and runs the same iterations as
`julei.kmeans._run_lloyd`: the same stopping rule, the same centre update (with the same
relocation of empty clusters) and the same final re-assignment. Only the assignment step
differs, and every assignment kernel returns the labels Lloyd's kernel would return from the
same centres, so the results match Lloyd's.
"""

import contextlib
import contextvars
import logging

import numpy as np
from threadpoolctl import threadpool_limits

import scipy.sparse as sp

from julei._kernels import dedup as _dedup
from julei._kernels import dense_gemm as _gemm
from julei._kernels import hamerly as _hamerly
from julei._kernels import simd as _simd
from julei._kernels import yinyang as _yinyang
from julei._kernels._common import column_mean_var, n_groups_for, spaced_rows_mean

logger = logging.getLogger(__name__)

# Centres per group of the Yinyang bounds: more groups prune more but cost more bound
# updates per sample.
CENTERS_PER_GROUP = 10


def _lloyd_loop(X, sample_weight, centers_init, max_iter, tol, step, assign_final):
    """Run Lloyd iterations from ``centers_init`` with the stopping rule of `_run_lloyd`.

    ``step(iteration, centers, labels)`` assigns ``labels`` from ``centers`` and returns the
    step's inertia, the new centres, the squared centre shift, how many labels changed and
    whether an empty cluster was relocated.
    ``assign_final(centers, labels)`` assigns the labels once more after a stop on ``tol``,
    so that they match the final centres.
    """
    # Imported here because julei.kmeans imports this module to register the drivers.
    from julei import kmeans as _kmeans

    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = np.full(X.shape[0], -1, dtype=np.int32)
    inertia_history, shift_history = [], []
    strict_convergence = False
    n_relocations = 0

    for iteration in range(max_iter):
        inertia, centers, shift, n_changed, relocated = step(iteration, centers, labels)
        n_relocations += relocated
        inertia_history.append(inertia)
        shift_history.append(shift)
        logger.info("Iteration %d: inertia %.6g, centre shift %.3g.", iteration, inertia, shift)

        # The first step starts from labels of -1, so it always counts every label as changed.
        if n_changed == 0:
            strict_convergence = True
            logger.info("Converged at iteration %d: labels unchanged.", iteration)
            break
        if shift <= tol:
            logger.info("Converged at iteration %d: centre shift %.3g within tolerance %.3g.", iteration, shift, tol)
            break

    if not strict_convergence:
        assign_final(centers, labels)

    inertia = _kmeans._inertia(X, sample_weight, centers, labels)
    history = {"inertia": np.array(inertia_history), "center_shift": np.array(shift_history)}
    return _kmeans._Run(centers, labels, inertia, iteration + 1, history, n_relocations)


def _iterate(X, sample_weight, centers_init, max_iter, tol, assign, on_move):
    """Run Lloyd iterations with ``assign`` as the assignment step.

    ``assign(centers, labels, buffers, changed, first)`` writes labels and the buffers'
    partial sums and inertia, and per-group counts of changed labels into ``changed``.
    ``on_move(old_centers, new_centers)`` is called after each centre update so that the
    kernel can move its bounds.
    """
    from julei import kmeans as _kmeans

    buffers = _kmeans._make_buffers(X, centers_init.shape[0])
    changed = np.zeros(n_groups_for(X.shape[0]), dtype=np.int64)

    def step(iteration, centers, labels):
        assign(centers, labels, buffers, changed, iteration == 0)
        inertia = float(buffers.group_inertia.sum())
        # A cluster is empty exactly when its weights sum to zero, in any order.
        relocated = bool((buffers.group_weights.sum(axis=0) == 0).any())
        centers_new, shift = _kmeans._update_centers(X, sample_weight, centers, labels, buffers)
        on_move(centers, centers_new)
        return inertia, centers_new, shift, int(changed.sum()), relocated

    def assign_final(centers, labels):
        assign(centers, labels, buffers, changed, False)

    return _lloyd_loop(X, sample_weight, centers_init, max_iter, tol, step, assign_final)


# Share of the total sample weight below which a cluster's incrementally kept weight is
# summed again from scratch.
LIGHT_WEIGHT_SHARE = 1e-9


class _Totals:
    """Per-cluster float64 totals kept across the steps of an incremental driver, with the
    per-group buffers that each assignment step fills."""

    def __init__(self, n_samples, n_clusters, n_features):
        n_groups = n_groups_for(n_samples)
        self.group_sums = np.zeros((n_groups, n_clusters, n_features))
        self.group_weights = np.zeros((n_groups, n_clusters))
        self.group_sq = np.zeros((n_groups, n_clusters))
        self.group_counts = np.zeros((n_groups, n_clusters), dtype=np.int64)
        self.sums = np.zeros((n_clusters, n_features))
        self.weights = np.zeros(n_clusters)
        self.sq = np.zeros(n_clusters)
        self.counts = np.zeros(n_clusters, dtype=np.int64)

    def collect(self, add):
        """Fold the group buffers into the totals (``add``) or replace the totals by them."""
        _hamerly.reduce_groups(
            self.group_sums, self.group_weights, self.group_sq, self.group_counts,
            self.sums, self.weights, self.sq, self.counts, add,
        )
        # A cluster with no member of positive weight has exactly zero weight and sums; the
        # additions and removals may have left rounding residue there.
        empty = self.counts == 0
        self.sums[empty] = 0.0
        self.weights[empty] = 0.0
        self.sq[empty] = 0.0

    def inertia(self, centers, mean):
        """Return the inertia of the current labels around ``centers`` from the totals.

        Uses ``sum w |x - c|^2 = sum w |x - m|^2 - 2 (c - m).(S - W m) + W |c - m|^2`` per
        cluster, with ``m`` a point near the data that keeps the terms small. It is a
        progress figure: the final inertia is computed from X.
        """
        centered = centers.astype(np.float64) - mean
        member_offsets = self.sums - self.weights[:, None] * mean
        per_cluster = (
            self.sq
            - 2.0 * np.einsum("jf,jf->j", centered, member_offsets)
            + self.weights * np.einsum("jf,jf->j", centered, centered)
        )
        return float(max(per_cluster.sum(), 0.0))


def _iterate_incremental(X, sample_weight, centers_init, max_iter, tol, assign, on_move):
    """Run Lloyd iterations with an assignment step that updates the sums incrementally.

    ``assign(centers, labels, totals, changed, mode, mean)`` runs one step in one of
    `hamerly`'s modes (FIRST, FULL_SUMS or DELTAS) and fills ``totals``' group buffers and
    the per-group counts of changed labels. The first step writes whole sums, and later
    steps only the changes. The step after an empty cluster was relocated writes whole sums
    again, because the relocation takes a sample out of its cluster's sums while the sample
    keeps its label.
    ``on_move(old_centers, new_centers)`` is called after each centre update.
    """
    from julei import kmeans as _kmeans

    n_samples, n_features = X.shape
    # The inertia estimate uses the initial centres' mean in place of the data's mean.
    mean = np.asarray(centers_init, dtype=np.float64).mean(axis=0)
    totals = _Totals(n_samples, centers_init.shape[0], n_features)
    changed = np.zeros(n_groups_for(n_samples), dtype=np.int64)
    mode = [_hamerly.FIRST]
    # A cluster weight this small against the total may be what float64 cancellation left
    # after heavy samples were removed, because each addition rounds by up to about 1e-16 of
    # the total and millions of additions add up.
    light_weight = LIGHT_WEIGHT_SHARE * float(np.sum(sample_weight, dtype=np.float64))

    def step(iteration, centers, labels):
        assign(centers, labels, totals, changed, mode[0], mean)
        n_changed = int(changed.sum())
        totals.collect(add=mode[0] == _hamerly.DELTAS)
        if mode[0] == _hamerly.DELTAS and ((totals.counts > 0) & (totals.weights <= light_weight)).any():
            # Removing heavy samples from a cluster can cancel the light ones that remain
            # (weights 1e20 and 1 leave 0). Such sums are formed again from the labels. A
            # second Hamerly step moves its bounds once more, which only loosens them.
            logger.debug("A cluster's kept weight is too light to trust; summing all samples again.")
            assign(centers, labels, totals, changed, _hamerly.FULL_SUMS, mean)
            totals.collect(add=False)
        inertia = totals.inertia(centers, mean)
        relocated = bool((totals.weights == 0).any())
        centers_new, shift = _kmeans._centers_from_sums(
            X, sample_weight, centers, labels, totals.sums.copy(), totals.weights.copy()
        )
        mode[0] = _hamerly.FULL_SUMS if relocated else _hamerly.DELTAS
        on_move(centers, centers_new)
        return inertia, centers_new, shift, n_changed, relocated

    def assign_final(centers, labels):
        assign(centers, labels, totals, changed, mode[0], mean)

    return _lloyd_loop(X, sample_weight, centers_init, max_iter, tol, step, assign_final)


def kernel_weights(sample_weight):
    """Return ``sample_weight`` for the incremental kernels: its first entry alone when every
    sample weighs the same (no weights given), which spares them reading the whole array.

    Samples that change cluster are spread over X, so each read of their weights tends to
    miss the cache: at 1,000,000 x 4, 13,000 changes a step took 0.64 ms with the array and
    0.29 ms without it.
    """
    if sample_weight.shape[0] > 1 and (sample_weight == sample_weight[0]).all():
        return sample_weight[:1]
    return sample_weight


def _lloyd_if_sparse(run):
    """Wrap a dense-only driver so that sparse input runs plain Lloyd instead."""

    def driver(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
        if sp.issparse(X):
            from julei import kmeans as _kmeans

            return _kmeans._run_lloyd(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        return run(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)

    driver.__name__ = run.__name__
    driver.__doc__ = run.__doc__
    return driver


# Duplicate merging is tried for data of at most this many features (colours, a few rounded
# measurements) and this many samples, and kept when it at least halves the samples. The
# unique rows are capped so that the merge's table and rows take at most about 60 MB.
MERGE_MAX_FEATURES = 4
MERGE_MIN_SAMPLES = 50_000
MERGE_MAX_UNIQUE = 1 << 21
# Leading rows probed before the full merge, and the share of them that may be distinct.
# Drawing 4,096 rows from U equally common values leaves about 4,096 / (2 U) of them as
# repeats, so the first probe gives up only where U exceeds about 200,000. The second probe
# gives up above about 330,000 for 65,536 rows.
PROBES = ((1 << 12, 0.99), (_dedup.EARLY_CHECK_ROWS, _dedup.EARLY_UNIQUE_SHARE))


# Merges already made inside `merges_reused`, by the identity of X and of its weights. Each
# entry keeps both arrays alive, so that no other array can take their ids meanwhile.
_merges = contextvars.ContextVar("julei_merges", default=None)


@contextlib.contextmanager
def merges_reused():
    """Let `merge_rows` reuse its result for the same X and weights inside the block.

    The caller must leave X and the weights unchanged inside the block. A fit does: its
    seeding, iterations and refinement each merge the same data, and on the photo
    (12,000,000 pixels) one merge takes about 0.3 s.
    """
    token = _merges.set({})
    try:
        yield
    finally:
        _merges.reset(token)


def merge_rows(X, sample_weight):
    """Return ``(unique, weights, inverse)`` when X has many duplicate rows, else None.

    ``unique`` are X's distinct rows, each weighted by the summed weight of its copies, and
    ``unique[inverse]`` equals X. Only tried for dense data of at most `MERGE_MAX_FEATURES`
    features and at least `MERGE_MIN_SAMPLES` samples, and kept when it at least halves the
    samples. Inside `merges_reused` a repeated call returns the first call's result.
    """
    earlier = _merges.get()
    if earlier is None:
        return _merge_rows(X, sample_weight)
    key = (id(X), id(sample_weight))
    if key not in earlier:
        earlier[key] = (X, sample_weight, _merge_rows(X, sample_weight))
    return earlier[key][2]


def _merge_rows(X, sample_weight):
    n_samples, n_features = X.shape
    if sp.issparse(X) or n_features > MERGE_MAX_FEATURES or n_samples < MERGE_MIN_SAMPLES:
        return None
    bits = X.view(np.uint32 if X.dtype == np.float32 else np.uint64)
    inverse = np.empty(n_samples, dtype=np.int32)
    # Data with almost no duplicates (continuous measurements) shows it in its first rows.
    # Probing them alone spares the full-size tables, which took 25 ms to set up at
    # 1,000,000 x 4 only to be given up. A small probe comes first: at 1,000,000 x 4 the
    # probe of 65,536 rows took 2 ms, that of 4,096 rows 0.1 ms.
    for probe, unique_share in PROBES:
        if n_samples <= 2 * probe:
            break
        # A cap of twice the rows lets no part of the merge give up, so the count of distinct
        # rows is exact. Capped at the share itself, each of the merge's two parts gave up on
        # its own half of the cap, and the hash splits rows unevenly: the first probe then
        # gave up on half the draws from 100,000 values.
        n_probed, _, _ = _dedup.merge_duplicates(
            bits[:probe], X[:probe], sample_weight[:probe], 2 * probe, inverse[:probe]
        )
        if n_probed > unique_share * probe:
            return None
    max_unique = min(n_samples // 2, MERGE_MAX_UNIQUE)
    n_unique, unique, weights = _dedup.merge_duplicates(bits, X, sample_weight, max_unique, inverse)
    if n_unique < 0:
        return None
    logger.info("Merged %d samples into %d weighted unique rows.", n_samples, n_unique)
    # The summed weights stay float64, as the sums of the full data's weights would be.
    return unique, weights, inverse


def expand_run(run, X, sample_weight, inverse):
    """Map a run on merged rows back to every sample: labels through ``inverse`` and the
    inertia recomputed over all samples.

    ``inverse`` stays as it is: inside `merges_reused` later runs expand through it again.
    """
    from julei import kmeans as _kmeans

    labels = _dedup.expand_labels(run.labels, inverse)
    inertia = _kmeans._inertia(X, sample_weight, run.centers, labels)
    return run._replace(labels=labels, inertia=inertia)


def _merge_duplicates_first(run):
    """Wrap a dense driver so that it runs on weighted unique rows when X has many duplicates.

    The result is mapped back to every sample: labels through the inverse index and the
    inertia recomputed over all samples. Centres equal those of the full data up to the
    rounding of the sums.
    """

    def driver(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
        merged_rows = merge_rows(X, sample_weight)
        if merged_rows is None:
            return run(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        unique, weights, inverse = merged_rows
        merged = run(unique, weights, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        if merged.n_relocations:
            # Lloyd moves one sample into an empty cluster, but a merged row carries every
            # copy, so from there on the runs would differ. Run on all samples instead.
            logger.info("An empty cluster was relocated on the merged rows; running on all samples instead.")
            return run(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
        return expand_run(merged, X, sample_weight, inverse)

    driver.__name__ = run.__name__
    driver.__doc__ = run.__doc__
    return driver


@_merge_duplicates_first
@_lloyd_if_sparse
def run_hamerly(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run K-means with Hamerly's bounds from ``centers_init`` on validated dense input."""
    upper = np.empty(X.shape[0], dtype=X.dtype)
    lower = np.empty(X.shape[0], dtype=X.dtype)
    margin = _hamerly.bound_margin(X.dtype)
    tighten = _hamerly.tightens(centers_init.shape[0])
    moves = [np.zeros(centers_init.shape[0]), 0.0, 0.0, 0]
    weights = kernel_weights(sample_weight)

    def assign(centers, labels, totals, changed, mode, mean):
        _hamerly.assign_hamerly(
            X, weights, centers, mean, labels, upper, lower, *moves, margin, mode, tighten,
            totals.group_sums, totals.group_weights, totals.group_sq, totals.group_counts, changed,
        )

    def on_move(old_centers, new_centers):
        moves[:] = _hamerly.center_shifts(old_centers, new_centers)

    return _iterate_incremental(X, sample_weight, centers_init, max_iter, tol, assign, on_move)


# Rows whose mean `run_simd` measures distances from.
SHIFT_SAMPLES = 1 << 16


@_merge_duplicates_first
@_lloyd_if_sparse
def run_simd(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run Lloyd's algorithm with float32 SIMD distances and exact close calls from
    ``centers_init`` on validated dense input."""
    if X.shape[1] > _simd.MAX_FEATURES:
        logger.info("More than %d features do not fit the float32 lanes; using Hamerly's bounds.", _simd.MAX_FEATURES)
        return run_hamerly(X, sample_weight, centers_init, max_iter=max_iter, tol=tol, n_threads=n_threads)
    factor = _simd.error_factor(X.shape[1])
    exact = np.zeros(n_groups_for(X.shape[0]), dtype=np.int64)
    # Distances are taken from a point amid the data, whatever the initial centres, so that
    # float32 keeps their precision there: the mean of at most about 65,536 evenly spaced rows.
    stride = max(1, X.shape[0] // SHIFT_SAMPLES)
    shift = spaced_rows_mean(X, stride).astype(X.dtype)
    weights = kernel_weights(sample_weight)

    def assign(centers, labels, totals, changed, mode, mean):
        coefs, offsets, penalties, centers_sq_max = _simd.padded_centers(centers, shift, factor)
        # Centres too far out for float32: every sample is checked in float64.
        sample_scale = 2.0 * factor if centers_sq_max <= _simd.MAX_SQ else np.inf
        _simd.assign_simd(
            X, weights, centers, shift, coefs, offsets, penalties, sample_scale, mean, labels, mode,
            totals.group_sums, totals.group_weights, totals.group_sq, totals.group_counts, changed, exact,
        )
        logger.debug("%d close calls computed in float64.", int(exact.sum()))

    return _iterate_incremental(X, sample_weight, centers_init, max_iter, tol, assign, lambda old, new: None)


@_lloyd_if_sparse
def run_yinyang(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run Yinyang K-means from ``centers_init`` on validated dense input."""
    n_clusters = centers_init.shape[0]
    n_center_groups = max(1, n_clusters // CENTERS_PER_GROUP)
    group_of, members, group_start = _yinyang.group_centers(centers_init, n_center_groups)
    lower = np.empty((X.shape[0], n_center_groups), dtype=X.dtype)
    margin = _hamerly.bound_margin(X.dtype)
    moves = [np.zeros(n_center_groups)]

    def assign(centers, labels, buffers, changed, first):
        _yinyang.assign_yinyang(
            X, sample_weight, centers, labels, lower, group_of, members, group_start, moves[0],
            margin, first, buffers.group_sums, buffers.group_weights, buffers.group_inertia, changed,
        )

    def on_move(old_centers, new_centers):
        shifts = _hamerly.center_shifts(old_centers, new_centers)[0]
        moves[0] = _yinyang.group_shifts(shifts, members, group_start)

    return _iterate(X, sample_weight, centers_init, max_iter, tol, assign, on_move)


@_lloyd_if_sparse
def run_gemm(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run Lloyd's algorithm with chunked matrix products from ``centers_init`` on validated
    dense input."""
    n_groups = n_groups_for(X.shape[0])
    mean, var = column_mean_var(X, n_groups)
    centered_sq = np.empty(X.shape[0])
    copy_chunks = _gemm.copies_chunks(mean, var)
    chunk_rows = _gemm.chunk_rows_for(X.shape[1], X.itemsize)
    tolerance = _gemm.recheck_tolerance(X.dtype, X.shape[1])

    def assign(centers, labels, buffers, changed, first):
        _gemm.assign_gemm(
            X, sample_weight, centers, mean, centered_sq, first, copy_chunks, chunk_rows, labels, tolerance,
            buffers.group_sums, buffers.group_weights, buffers.group_inertia, changed,
        )

    # Each numba thread calls BLAS on its own chunk; BLAS threads would only compete.
    with threadpool_limits(limits=1, user_api="blas"):
        return _iterate(X, sample_weight, centers_init, max_iter, tol, assign, lambda old, new: None)


# Thresholds of `choose_algorithm`, from times measured on 2 cores (AMD EPYC, AVX-512) with
# benchmarks/compare.py's data. At 70,000 x 784, k = 10 the matrix product and Hamerly's
# bounds take the same time (273 and 281 ms a fit), and the product's time does not depend
# on how the clusters overlap. Below it Hamerly's bounds with incrementally kept sums win:
# 7.4 ms per iteration at 200,000 x 32, k = 100, where a Lloyd pass takes 20 ms.
GEMM_MIN_FEATURES = 128
# Up to 16 features and 128 clusters, on 200,000 samples of Gaussian blobs, Hamerly's time
# over that of `run_simd` ranged from 0.75 to 2.4 (median about 1.5). simd lost only on
# well-separated clusters that converged in a few steps, where bounds settle almost every
# sample. At 1,000,000 x 4, k = 6 a step took about 2 ms against Hamerly's 5 ms. At 32
# features Hamerly was faster in 5 cases of 6.
SIMD_MAX_FEATURES = 16
SIMD_MAX_CLUSTERS = 128


def choose_algorithm(X, n_clusters):
    """Return the name of the fastest exact algorithm for data of this shape."""
    if sp.issparse(X):
        return "lloyd"
    if X.shape[1] >= GEMM_MIN_FEATURES:
        return "gemm"
    if X.shape[1] <= SIMD_MAX_FEATURES and n_clusters <= SIMD_MAX_CLUSTERS:
        return "simd"
    return "hamerly"
