"""K-means clustering with scikit-learn's estimator contract and numba kernels."""

import logging
import numbers
import time
import warnings
from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_is_fitted

from julei import _accelerated, _refine, _validation
from julei._kernels import lloyd as _lloyd
from julei._kernels import seeding as _seeding
from julei._kernels._common import (
    column_mean_var,
    inertia_dense,
    label_counts,
    n_groups_for,
    numba_threads,
    pairwise_squared_dense,
    squared_distances_to_labelled,
)
from julei.exceptions import ConvergenceWarning

__all__ = ["KMeans", "kmeans_plusplus"]

logger = logging.getLogger(__name__)

# The result of one run of a full-batch algorithm from one set of initial centres.
# history: dict of per-iteration arrays ("inertia" of the assignment step, "center_shift").
# ``n_relocations`` counts the steps that moved an empty cluster (drivers that track it).
_Run = namedtuple("_Run", ["centers", "labels", "inertia", "n_iter", "history", "n_relocations"], defaults=[0])


###############################################################################
# Seeding


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None, n_local_trials=None):
    """Choose initial centres with greedy k-means++.

    Each new centre is the best, by the resulting potential, of ``n_local_trials``
    candidates drawn with probability proportional to their weighted squared distance to
    the nearest centre chosen so far (Arthur and Vassilvitskii, "k-means++: the advantages
    of careful seeding", SODA 2007). The random draws follow scikit-learn's
    ``kmeans_plusplus`` call for call, so one ``random_state`` picks the same seeds in both.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data to pick seeds from.
    n_clusters : int
        Number of centres to choose.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each sample; None gives every sample weight one.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws.
    n_local_trials : int, default=None
        Candidates per new centre; None means ``2 + int(log(n_clusters))``.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    indices : ndarray of shape (n_clusters,)
        Row of X that became each centre.

    Examples
    --------
    >>> import numpy as np
    >>> from julei import kmeans_plusplus
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> centers.shape
    (2, 2)
    """
    estimator = KMeans(n_clusters=n_clusters)
    X = _validation.check_X(estimator, X, reset=True)
    _validation.check_n_clusters(n_clusters, X.shape[0])
    sample_weight = _validation.check_sample_weight(sample_weight, X)
    random_state = check_random_state(random_state)
    return _kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_local_trials)


def _kmeans_plusplus(X, n_clusters, sample_weight, random_state, n_local_trials=None):
    """Greedy k-means++ on validated input; see `kmeans_plusplus`."""
    n_samples, n_features = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    is_sparse = sp.issparse(X)
    weights64 = sample_weight.astype(np.float64)
    if is_sparse:
        x_sq_norms = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()

    def rows(index):
        return X[index].toarray() if is_sparse else X[index]

    def distances_to(points):
        # (n_points, n_samples) squared distances; only used for sparse X, where n_points
        # is at most n_local_trials.
        points = np.asarray(points, dtype=np.float64)
        dist = x_sq_norms[None, :] - 2.0 * (X @ points.T).T + (points**2).sum(axis=1)[:, None]
        return np.maximum(dist, 0.0)

    centers = np.empty((n_clusters, n_features), dtype=X.dtype)
    indices = np.full(n_clusters, -1, dtype=np.intp)

    # The first centre: one sample drawn with probability proportional to its weight. It is
    # the sample that scikit-learn's ``random_state.choice(n_samples, p=...)`` draws, without
    # that call's checks and copies, which took 1.8 s on 12 million samples.
    first = _seeding.draw_by_probability(sample_weight / sample_weight.sum(), random_state.random_sample())
    centers[0] = rows([first])[0]
    indices[0] = first
    if is_sparse:
        closest_dist_sq = distances_to(centers[:1])[0]
    else:
        closest_dist_sq = np.empty(n_samples)
        _seeding.squared_distances_to_point(X, centers[0].astype(np.float64), closest_dist_sq)
        # The chosen centre nearest to each sample, for the kernels' triangle-inequality pruning.
        nearest = np.zeros(n_samples, dtype=np.int32)
    current_pot = closest_dist_sq @ weights64

    n_groups = n_groups_for(n_samples)
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        if is_sparse:
            candidate_ids = np.searchsorted(np.cumsum(weights64 * closest_dist_sq), rand_vals)
        else:
            candidate_ids = _seeding.draw_samples(sample_weight, closest_dist_sq, rand_vals)
        # Rounding in the cumulative sum can put a draw past the last sample.
        np.clip(candidate_ids, None, n_samples - 1, out=candidate_ids)
        candidates = rows(candidate_ids)

        if is_sparse:
            trial_dist = np.minimum(closest_dist_sq, distances_to(candidates))
            potentials = trial_dist @ weights64
        else:
            candidates64 = candidates.astype(np.float64)
            center_dist = _seeding.candidate_center_distances(centers, c, candidates64)
            potentials = current_pot - _seeding.candidate_gains(
                X, sample_weight, candidates64, closest_dist_sq, nearest, center_dist, n_groups
            )
        best = int(np.argmin(potentials))
        current_pot = potentials[best]
        centers[c] = candidates[best]
        indices[c] = candidate_ids[best]
        if is_sparse:
            closest_dist_sq = trial_dist[best]
        else:
            _seeding.update_closest_pruned(
                X, centers[c].astype(np.float64), c, closest_dist_sq, nearest, center_dist[:, best].copy()
            )
    return centers, indices


###############################################################################
# Lloyd's algorithm


def _assign(X, sample_weight, centers, labels, buffers, update_centers):
    """Run one assignment step into ``labels`` and ``buffers``; return its inertia."""
    group_sums, group_weights, group_inertia = buffers
    if sp.issparse(X):
        _lloyd.assign_sparse(
            X.data, X.indices, X.indptr, buffers.x_sq_norms, sample_weight, centers, labels,
            group_sums, group_weights, group_inertia, update_centers,
        )
    else:
        _lloyd.assign_dense(
            X, sample_weight, centers, labels, group_sums, group_weights, group_inertia, update_centers
        )
    return float(group_inertia.sum())


class _Buffers(namedtuple("_Buffers", ["group_sums", "group_weights", "group_inertia"])):
    """Per-group partial sums reused across iterations; ``x_sq_norms`` is set for sparse X."""

    x_sq_norms = None


def _make_buffers(X, n_clusters):
    n_groups = n_groups_for(X.shape[0])
    buffers = _Buffers(
        np.zeros((n_groups, n_clusters, X.shape[1])),
        np.zeros((n_groups, n_clusters)),
        np.zeros(n_groups),
    )
    if sp.issparse(X):
        buffers.x_sq_norms = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    return buffers


def _relocate_empty_clusters(X, sample_weight, centers_old, labels, sums, weights):
    """Move each empty cluster to one of the samples farthest from their centres.

    Works on the weighted sums before division, as scikit-learn does: the farthest sample
    is taken out of its cluster's sum and becomes the empty cluster's only member. The
    labels are left unchanged; the next assignment step updates them.
    """
    empty = np.flatnonzero(weights == 0)
    centers64 = centers_old.astype(np.float64)
    if sp.issparse(X):
        own = centers64[labels]
        x_sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
        dots = np.asarray(X.multiply(own).sum(axis=1)).ravel()
        distances = np.maximum(x_sq - 2.0 * dots + (own**2).sum(axis=1), 0.0)
    else:
        distances = squared_distances_to_labelled(X, centers64, labels)
    n_empty = min(empty.size, X.shape[0])
    farthest = np.argpartition(distances, -n_empty)[: -n_empty - 1 : -1]
    for cluster, sample in zip(empty[:n_empty], farthest):
        point = X[sample].toarray().ravel() if sp.issparse(X) else X[sample]
        weight = float(sample_weight[sample])
        old = labels[sample]
        sums[old] -= point * weight
        weights[old] -= weight
        sums[cluster] = point * weight
        weights[cluster] = weight


def _update_centers(X, sample_weight, centers_old, labels, buffers):
    """Turn the partial sums of the last assignment into new centres; return them and the shift."""
    sums, weights = _lloyd.reduce_groups(buffers.group_sums, buffers.group_weights)
    return _centers_from_sums(X, sample_weight, centers_old, labels, sums, weights)


def _centers_from_sums(X, sample_weight, centers_old, labels, sums, weights):
    """Return the means of the clusters' weighted sums, with empty clusters relocated, and
    the squared centre shift. ``sums`` and ``weights`` are changed by a relocation."""
    if (weights == 0).any():
        _relocate_empty_clusters(X, sample_weight, centers_old, labels, sums, weights)
    centers_new = np.where(
        weights[:, None] > 0, sums / np.where(weights > 0, weights, 1.0)[:, None], centers_old
    ).astype(X.dtype)
    shift = ((centers_new.astype(np.float64) - centers_old) ** 2).sum()
    return centers_new, float(shift)


def _run_lloyd(X, sample_weight, centers_init, *, max_iter, tol, n_threads=None):
    """Run Lloyd's algorithm from ``centers_init`` on validated input.

    Stops, as scikit-learn does, when an assignment step leaves every label unchanged, or
    when the summed squared centre shift is at most ``tol`` (already scaled by the data's
    mean feature variance). After a stop on ``tol`` the samples are assigned once more, so
    the labels match the final centres.
    """
    n_samples = X.shape[0]
    n_clusters = centers_init.shape[0]
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = np.full(n_samples, -1, dtype=np.int32)
    labels_old = labels.copy()
    buffers = _make_buffers(X, n_clusters)
    inertia_history, shift_history = [], []
    strict_convergence = False

    for iteration in range(max_iter):
        inertia = _assign(X, sample_weight, centers, labels, buffers, update_centers=True)
        centers_new, shift = _update_centers(X, sample_weight, centers, labels, buffers)
        inertia_history.append(inertia)
        shift_history.append(shift)
        logger.info("Iteration %d: inertia %.6g, centre shift %.3g.", iteration, inertia, shift)
        centers = centers_new

        if np.array_equal(labels, labels_old):
            strict_convergence = True
            logger.info("Converged at iteration %d: labels unchanged.", iteration)
            break
        if shift <= tol:
            logger.info("Converged at iteration %d: centre shift %.3g within tolerance %.3g.", iteration, shift, tol)
            break
        labels_old[:] = labels

    if not strict_convergence:
        _assign(X, sample_weight, centers, labels, buffers, update_centers=False)

    inertia = _inertia(X, sample_weight, centers, labels)
    history = {"inertia": np.array(inertia_history), "center_shift": np.array(shift_history)}
    return _Run(centers, labels, inertia, iteration + 1, history)


def _inertia(X, sample_weight, centers, labels):
    """Return the weighted sum of squared distances of samples to their labelled centres."""
    if sp.issparse(X):
        buffers = _make_buffers(X, centers.shape[0])
        scratch = np.empty_like(labels)
        _assign(X, sample_weight, centers, scratch, buffers, update_centers=False)
        if np.array_equal(scratch, labels):
            return float(buffers.group_inertia.sum())
        diff = X - centers[labels]
        return float(np.asarray(diff.multiply(diff).sum(axis=1)).ravel() @ sample_weight)
    return float(inertia_dense(X, sample_weight, centers.astype(np.float64), labels, n_groups_for(X.shape[0])))


# Full-batch algorithms by name. Each takes validated (X, sample_weight, centers_init) and
# keywords max_iter, tol (already scaled) and n_threads, and returns a `_Run`.
_ALGORITHMS = {
    "lloyd": _run_lloyd,
    "hamerly": _accelerated.run_hamerly,
    "yinyang": _accelerated.run_yinyang,
    "gemm": _accelerated.run_gemm,
    "simd": _accelerated.run_simd,
}


def _choose_algorithm(X, n_clusters):
    """Return the name of the fastest exact algorithm for data of this shape."""
    return _accelerated.choose_algorithm(X, n_clusters)


def _is_same_clustering(labels_a, labels_b, n_clusters):
    """Return True when two labellings are equal up to a permutation of cluster ids."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    first = np.unique(labels_a, return_index=True)[1]
    mapping[labels_a[first]] = labels_b[first]
    return bool(np.array_equal(mapping[labels_a], labels_b))


###############################################################################
# The estimator


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering.

    Splits samples into ``n_clusters`` groups by minimising the inertia, the weighted sum
    of squared distances of samples to their cluster centre. Parameters, attributes and
    results follow ``sklearn.cluster.KMeans``: from the same initial centres, plain Lloyd
    gives the same labels and inertia. The loops run in parallel numba kernels, in the
    input's own dtype (float32 or float64) without copying it.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), default='k-means++'
        How to choose initial centres: greedy k-means++ (the same draws as scikit-learn's),
        ``n_clusters`` distinct samples drawn by weight, ``init(X, n_clusters,
        random_state=...)``, or explicit centres.
    n_init : 'auto' or int, default='auto'
        Number of runs from different initial centres; the one with the lowest inertia is
        kept. 'auto' means 1 for 'k-means++' or explicit centres and 10 otherwise.
    max_iter : int, default=300
        Maximum number of iterations of one run.
    tol : float, default=1e-4
        Convergence tolerance: a run stops when the summed squared centre shift falls to
        ``tol`` times the mean variance of the features, or when no label changes.
    algorithm : {'auto', 'lloyd', 'simd', 'hamerly', 'yinyang', 'gemm'}, default='auto'
        Algorithm of one run. Every choice gives the same result from the same initial
        centres; 'auto' picks the fastest for the data's shape. 'simd' (picked for up to 16
        features and 128 clusters; above 64 features it runs 'hamerly') computes every
        distance in float32 SIMD lanes and re-checks in float64 the samples whose two
        nearest centres are too close to call. 'hamerly' (one
        distance bound per sample, for few clusters) and 'yinyang' (one bound per group of
        about ten centres) skip distances that cannot change a label; 'gemm' computes
        distances by chunked matrix products, for many features. Sparse input always runs
        'lloyd'. 'simd' and 'hamerly' keep the centre sums by adding and removing the
        samples that move, so their centres equal Lloyd's up to rounding. On data with at
        most 4 features and many repeated rows (photo colours), both first merge the
        repeats into weighted rows, which also changes results only by rounding.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial centres.
    copy_x : bool, default=True
        Kept for compatibility with scikit-learn. julei never modifies X, so no copy is
        made either way.
    verbose : int, default=0
        Log each iteration's inertia at INFO level through the ``julei`` logger (to stderr
        when logging is not configured).
    n_threads : int or None, default=None
        Number of threads of the kernels. None uses all cores, or one thread for small
        inputs (samples x features x clusters below two million), where starting threads
        costs more than it saves. The result is the same on any number of threads.
    refine : {'auto', 'swap'} or None, default='auto'
        Search beyond the local optimum of the best run. 'swap' moves one centre at a time
        to a sample where a centre is missing, keeps each move only when the inertia drops,
        and ends with a Lloyd run to convergence (see Notes). 'auto' means 'swap' with
        'k-means++' or 'random' initial centres on dense X, and no refinement with
        explicit or callable initial centres or sparse X, so that a fit from given centres
        stays plain Lloyd and matches scikit-learn's. None turns the refinement off.
    refine_trials : 'auto' or int, default='auto'
        Swap trials in a row that keep no swap before the refinement stops. One trial
        costs about as much as ``5 / n_clusters`` Lloyd iterations without bounds. 'auto'
        means ``max(10, n_clusters // 2)``.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in X's dtype.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample (int32).
    inertia_ : float
        Weighted sum of squared distances of samples to their centre.
    n_iter_ : int
        Iterations of the best run.
    history_ : dict
        Per-iteration arrays of the best run: ``"inertia"`` of each assignment step and
        ``"center_shift"``. After a refinement that kept swaps, the arrays of its final
        Lloyd run.
    n_swaps_ : int
        Swaps kept by the refinement; 0 when it found none or did not run.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame with string column names.

    Notes
    -----
    Lloyd's iterations from k-means++ seeds often stop with two centres in one true
    cluster and one centre between two others; more restarts only partly help. The swap
    refinement repeats trials: draw 4 samples with probability proportional to their
    weighted squared distance to the nearest centre, score in one pass over the data the
    exact inertia of moving each centre onto each of them, and, when the best of these
    swaps does not lower the inertia at once, score it again after one update of every
    centre to its cluster's mean. A swap that lowers the inertia is kept and followed by
    three Lloyd iterations. This is a guided form of random swap (P. Fränti, "Efficiency
    of random swap clustering", Journal of Big Data 5:13, 2018) that scores swaps as the
    single-swap local search of T. Kanungo et al. does ("A local search approximation
    algorithm for k-means clustering", Computational Geometry 28, 2004). The refined
    inertia is never higher than that of the best run.

    Examples
    --------
    >>> from julei import KMeans
    >>> X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]]
    >>> model = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> bool(model.labels_[0] == model.labels_[1] == model.labels_[2])
    True
    >>> bool(model.labels_[0] != model.labels_[3])
    True
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        algorithm="auto",
        random_state=None,
        copy_x=True,
        verbose=0,
        n_threads=None,
        refine="auto",
        refine_trials="auto",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state
        self.copy_x = copy_x
        self.verbose = verbose
        self.n_threads = n_threads
        self.refine = refine
        self.refine_trials = refine_trials

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ---------------------------------------------------------------- checks

    def _check_params(self, X):
        """Validate the parameters against X; return (n_init, init, algorithm, tol)."""
        _validation.check_n_clusters(self.n_clusters, X.shape[0])

        init, n_init = _validation.check_init(self.init, self.n_init, X, self.n_clusters, default_n_init=10)

        if not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool) or self.max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}.")
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool) or not self.tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}.")
        if self.n_threads is not None and (
            not isinstance(self.n_threads, numbers.Integral) or isinstance(self.n_threads, bool) or self.n_threads < 1
        ):
            raise ValueError(f"n_threads must be None or an integer >= 1, got {self.n_threads!r}.")

        algorithm = self.algorithm
        if algorithm == "auto":
            algorithm = _choose_algorithm(X, self.n_clusters)
        elif algorithm not in _ALGORITHMS:
            raise ValueError(
                f"algorithm={self.algorithm!r} is not supported; use one of "
                f"{['auto', *sorted(_ALGORITHMS)]}."
            )
        return n_init, init, algorithm, self._scaled_tol(X)

    def _scaled_tol(self, X):
        """Return ``tol`` times the mean variance of the features (scikit-learn's rule)."""
        if self.tol == 0:
            return 0.0
        if sp.issparse(X):
            variances = mean_variance_axis(X, axis=0)[1]
        else:
            with numba_threads(self.n_threads, X.shape[0] * X.shape[1]):
                variances = column_mean_var(X, n_groups_for(X.shape[0]))[1]
        return float(np.mean(variances) * self.tol)

    def _check_refine(self, X):
        """Validate ``refine`` and ``refine_trials``; return (refine, max_failures).

        ``refine`` is 'swap' or None once 'auto' is resolved.
        """
        if self.refine not in ("auto", "swap", None):
            raise ValueError(f"refine must be 'auto', 'swap' or None, got {self.refine!r}.")
        trials = self.refine_trials
        if trials == "auto":
            max_failures = max(10, self.n_clusters // 2)
        elif isinstance(trials, numbers.Integral) and not isinstance(trials, bool) and trials >= 1:
            max_failures = int(trials)
        else:
            raise ValueError(f"refine_trials must be 'auto' or an integer >= 1, got {trials!r}.")

        refine = self.refine
        if refine == "auto":
            seeded = isinstance(self.init, str) and self.init in ("k-means++", "random")
            refine = "swap" if seeded and not sp.issparse(X) else None
        if refine == "swap" and sp.issparse(X):
            raise ValueError(
                "refine='swap' works on dense X only, got a sparse matrix; pass X.toarray() or refine=None."
            )
        return refine, max_failures

    def _seeding_rows(self, X, init, sample_weight, refine):
        """Return the rows and weights to draw seeds from: X's weighted distinct rows when X
        has many duplicates and the run is refined, else X itself.

        Drawing from the distinct rows, each weighted by its copies, draws from the same
        distribution. On the photo's 12,000,000 pixels (1.4 million colours) k-means++ for
        k = 16 took 0.95 s on the pixels and 0.21 s on the colours. Without refinement the
        seeds come from X, so that the draws stay scikit-learn's.
        """
        if not isinstance(init, str) or refine is None:
            return X, sample_weight
        merged_rows = _accelerated.merge_rows(X, sample_weight)
        # 'random' needs n_clusters rows of positive weight to choose from.
        if merged_rows is None or np.count_nonzero(merged_rows[1]) < self.n_clusters:
            return X, sample_weight
        return merged_rows[0], merged_rows[1]

    def _initial_centers(self, X, init, sample_weight, random_state):
        if isinstance(init, str) and init == "k-means++":
            centers, _ = _kmeans_plusplus(X, self.n_clusters, sample_weight, random_state)
        elif isinstance(init, str) and init == "random":
            seeds = random_state.choice(
                X.shape[0], size=self.n_clusters, replace=False, p=sample_weight / sample_weight.sum()
            )
            centers = X[seeds]
        elif callable(init):
            centers = _validation.check_centers(
                init(X, self.n_clusters, random_state=random_state), X, self.n_clusters
            )
        else:
            centers = init
        if sp.issparse(centers):
            centers = centers.toarray()
        return np.array(centers, dtype=X.dtype, order="C")

    # ---------------------------------------------------------------- fitting

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training samples. float32 and float64 are used as they are; other types become
            float64.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the means and the inertia; zeros are allowed. Not used
            to choose explicit or callable initial centres.

        Returns
        -------
        self : KMeans
        """
        X = _validation.check_X(self, X, reset=True)
        sample_weight = _validation.check_sample_weight(sample_weight, X)
        n_init, init, algorithm, tol = self._check_params(X)
        refine, refine_max_failures = self._check_refine(X)
        random_state = check_random_state(self.random_state)
        run_algorithm = _ALGORITHMS[algorithm]

        started = time.perf_counter()
        work = X.shape[0] * X.shape[1] * self.n_clusters
        with _verbose_logging(self.verbose), numba_threads(self.n_threads, work) as n_threads, \
                _accelerated.merges_reused():
            X_seed, weight_seed = self._seeding_rows(X, init, sample_weight, refine)
            best = None
            for run_index in range(n_init):
                centers_init = self._initial_centers(X_seed, init, weight_seed, random_state)
                logger.info("Run %d of %d: initial centres chosen.", run_index + 1, n_init)
                run = run_algorithm(X, sample_weight, centers_init, max_iter=self.max_iter, tol=tol, n_threads=n_threads)
                # A run replaces the best only when it is better and not the same partition
                # (equal partitions can differ in inertia by rounding alone).
                if best is None or (
                    run.inertia < best.inertia and not _is_same_clustering(run.labels, best.labels, self.n_clusters)
                ):
                    best = run

            n_swaps = 0
            if refine == "swap":
                # The swaps search the same inertia on weighted unique rows when X has many
                # duplicates, and the result is mapped back to every sample.
                merged_rows = _accelerated.merge_rows(X, sample_weight)
                X_refine, weight_refine = (X, sample_weight) if merged_rows is None else merged_rows[:2]
                refined = _refine.swap_refine(
                    X_refine, weight_refine, best.centers, random_state=random_state,
                    max_failures=refine_max_failures, max_iter=self.max_iter,
                    lloyd=lambda centers, max_iter: run_algorithm(
                        X_refine, weight_refine, centers, max_iter=max_iter, tol=tol, n_threads=n_threads
                    ),
                )
                if refined is not None and merged_rows is not None:
                    refined = refined._replace(
                        run=_accelerated.expand_run(refined.run, X, sample_weight, merged_rows[2])
                    )
                if refined is not None and refined.run.inertia < best.inertia:
                    logger.info(
                        "Refinement kept %d swaps in %d trials: inertia %.6g -> %.6g.",
                        refined.n_swaps, refined.n_trials, best.inertia, refined.run.inertia,
                    )
                    best, n_swaps = refined.run, refined.n_swaps

        distinct = int(np.count_nonzero(label_counts(best.labels, self.n_clusters)))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )

        self.cluster_centers_ = best.centers
        self.labels_ = best.labels
        self.inertia_ = best.inertia
        self.n_iter_ = best.n_iter
        self.history_ = best.history
        self.n_swaps_ = n_swaps
        self.algorithm_ = algorithm
        self.fit_seconds_ = time.perf_counter() - started
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Compute clusters and return the label of each sample; see `fit`."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Compute clusters and return each sample's distance to every centre; see `fit`."""
        return self.fit(X, sample_weight=sample_weight)._transform(X)

    # ---------------------------------------------------------------- using a fit

    def _check_test_data(self, X):
        check_is_fitted(self)
        X = _validation.check_X(self, X, reset=False)
        return X

    def _labels_inertia(self, X, sample_weight):
        labels = np.empty(X.shape[0], dtype=np.int32)
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        with numba_threads(self.n_threads, X.shape[0] * X.shape[1] * centers.shape[0]):
            buffers = _make_buffers(X, centers.shape[0])
            inertia = _assign(X, sample_weight, centers, labels, buffers, update_centers=False)
        return labels, inertia

    def predict(self, X):
        """Return the index of the nearest centre of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._check_test_data(X)
        return self._labels_inertia(X, np.ones(X.shape[0], dtype=X.dtype))[0]

    def transform(self, X):
        """Return each sample's Euclidean distance to every centre, shape (n_samples, n_clusters)."""
        X = self._check_test_data(X)
        return self._transform(X)

    def _transform(self, X):
        """`transform` without validation: X was checked by the caller."""
        if not hasattr(X, "dtype") or sp.issparse(X) or X.dtype.kind != "f" or not X.flags.c_contiguous:
            X = _validation.check_X(self, X, reset=False)
        if sp.issparse(X):
            centers = self.cluster_centers_.astype(np.float64)
            x_sq = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64)
            squared = x_sq - 2.0 * np.asarray(X @ centers.T) + (centers**2).sum(axis=1)[None, :]
            distances = np.sqrt(np.maximum(squared, 0.0))
        else:
            with numba_threads(self.n_threads, X.shape[0] * X.shape[1] * self.cluster_centers_.shape[0]):
                distances = np.sqrt(pairwise_squared_dense(X, self.cluster_centers_.astype(np.float64)))
        return distances.astype(X.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Return the opposite of the inertia of X on the fitted centres (higher is better)."""
        X = self._check_test_data(X)
        sample_weight = _validation.check_sample_weight(sample_weight, X)
        return -self._labels_inertia(X, sample_weight)[1]


class _verbose_logging:
    """Send the julei logger's INFO records to stderr while ``verbose`` is on.

    A handler is added only when the application configured no logging of its own.
    """

    def __init__(self, verbose):
        self.verbose = verbose
        self.handler = None
        self.level = None

    def __enter__(self):
        if not self.verbose:
            return self
        package_logger = logging.getLogger("julei")
        self.level = package_logger.level
        package_logger.setLevel(logging.INFO)
        if not package_logger.handlers and not logging.getLogger().handlers:
            self.handler = logging.StreamHandler()
            self.handler.setFormatter(logging.Formatter("%(message)s"))
            package_logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc_info):
        if not self.verbose:
            return False
        package_logger = logging.getLogger("julei")
        package_logger.setLevel(self.level)
        if self.handler is not None:
            package_logger.removeHandler(self.handler)
        return False
