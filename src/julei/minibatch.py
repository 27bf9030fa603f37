"""Mini-batch K-means with scikit-learn's MiniBatchKMeans contract and numba step loops."""

import logging
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from julei import _validation
from julei._kernels import minibatch as _minibatch
from julei._kernels._common import numba_threads
from julei.kmeans import KMeans, _verbose_logging

__all__ = ["MiniBatchKMeans"]

logger = logging.getLogger(__name__)

# Steps drawn and run per kernel call: large enough that Python's cost per call vanishes,
# small enough that the batch indices of one block (STEPS_PER_BLOCK x batch_size int64)
# stay a few megabytes.
STEPS_PER_BLOCK = 256


class MiniBatchKMeans(KMeans):
    """Mini-batch K-means clustering.

    Each step draws ``batch_size`` samples (with probability proportional to their
    weight) and moves every centre towards the mean of the drawn samples it is nearest
    to, with a learning rate that falls as the weight assigned to the centre grows. Parameters,
    attributes and stopping rules follow ``sklearn.cluster.MiniBatchKMeans``; the steps
    run inside one numba kernel, so a fit pays no Python overhead per step. ``predict``,
    ``transform`` and ``score`` are those of `julei.KMeans`.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), default='k-means++'
        How to choose initial centres, from a random subset of ``init_size`` samples.
    max_iter : int, default=100
        Maximum number of passes over the data, counted in samples drawn.
    batch_size : int, default=1024
        Samples per step.
    verbose : int, default=0
        Log progress at INFO level through the ``julei`` logger.
    compute_labels : bool, default=True
        Compute ``labels_`` and ``inertia_`` over the whole training set after the fit.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial centres and of the batch draws.
    tol : float, default=0.0
        Stop when the summed squared centre move of one step is at most ``tol`` times the
        mean feature variance; 0 turns this rule off.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a decrease of the smoothed batch inertia; None
        turns this rule off.
    init_size : int, default=None
        Samples used to choose initial centres; None means ``3 * batch_size`` (at least
        ``3 * n_clusters``).
    n_init : 'auto' or int, default='auto'
        Number of initialisations tried, the best by inertia on a validation subset being
        kept; 'auto' means 1 for 'k-means++' and 3 otherwise.
    reassignment_ratio : float, default=0.01
        Centres whose seen weight falls below this fraction of the largest are moved to
        random batch samples.
    n_threads : int or None, default=None
        Threads for the final labelling pass; the steps themselves run on one thread.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Only when ``compute_labels`` is True.
    inertia_ : float
        Over the training set when ``compute_labels`` is True, otherwise estimated from
        the smoothed batch inertia.
    n_iter_ : int
        Passes over the data, counted in samples drawn.
    n_steps_ : int
        Mini-batch steps run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from julei import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4],
    ...               [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]])
    >>> model = MiniBatchKMeans(n_clusters=2, random_state=0, batch_size=6).fit(X)
    >>> model.cluster_centers_.shape
    (2, 2)
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # ---------------------------------------------------------------- checks

    def _check_minibatch_params(self, X):
        """Validate the parameters against X and set the derived sizes and tolerance."""
        _validation.check_n_clusters(self.n_clusters, X.shape[0])
        for name in ("max_iter", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        if self.max_no_improvement is not None and (
            isinstance(self.max_no_improvement, bool)
            or not isinstance(self.max_no_improvement, numbers.Integral)
            or self.max_no_improvement < 0
        ):
            raise ValueError(f"max_no_improvement must be None or an integer >= 0, got {self.max_no_improvement!r}.")
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool) or not self.tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}.")
        if (
            not isinstance(self.reassignment_ratio, numbers.Real)
            or isinstance(self.reassignment_ratio, bool)
            or not self.reassignment_ratio >= 0
        ):
            raise ValueError(f"reassignment_ratio must be a number >= 0, got {self.reassignment_ratio!r}.")
        if self.n_threads is not None and (
            isinstance(self.n_threads, bool) or not isinstance(self.n_threads, numbers.Integral) or self.n_threads < 1
        ):
            raise ValueError(f"n_threads must be None or an integer >= 1, got {self.n_threads!r}.")

        init, n_init = _validation.check_init(self.init, self.n_init, X, self.n_clusters, default_n_init=3)

        self._batch_size = min(self.batch_size, X.shape[0])
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * self._batch_size
            if init_size < self.n_clusters:
                init_size = 3 * self.n_clusters
        elif isinstance(init_size, bool) or not isinstance(init_size, numbers.Integral) or init_size < 1:
            raise ValueError(f"init_size must be None or an integer >= 1, got {init_size!r}.")
        elif init_size < self.n_clusters:
            warnings.warn(
                f"init_size={init_size} should be larger than n_clusters={self.n_clusters}; "
                "using min(3 * n_clusters, n_samples) instead.",
                RuntimeWarning,
                stacklevel=3,
            )
            init_size = 3 * self.n_clusters
        self._init_size = min(init_size, X.shape[0])
        self._tol = self._scaled_tol(X)
        return init, n_init

    def _validate(self, X, sample_weight, reset):
        X = _validation.check_X(self, X, reset=reset)
        if sp.issparse(X):
            raise TypeError(
                "julei.MiniBatchKMeans does not accept sparse input; pass a dense array "
                "(X.toarray()) or use julei.KMeans, which accepts CSR matrices."
            )
        return X, _validation.check_sample_weight(sample_weight, X)

    def _subset_centers(self, X, init, sample_weight, random_state):
        """Return initial centres chosen from ``init_size`` random samples, as scikit-learn does."""
        if self._init_size < X.shape[0]:
            subset = random_state.randint(0, X.shape[0], self._init_size)
            X = X[subset]
            sample_weight = sample_weight[subset]
        return self._initial_centers(X, init, sample_weight, random_state)

    # ---------------------------------------------------------------- fitting

    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres by mini-batch steps over X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples; float32 stays float32, other types become float64.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weights; batches are drawn with probability proportional to them.

        Returns
        -------
        self : MiniBatchKMeans
        """
        X, sample_weight = self._validate(X, sample_weight, reset=True)
        init, n_init = self._check_minibatch_params(X)
        random_state = check_random_state(self.random_state)
        n_samples = X.shape[0]

        with _verbose_logging(self.verbose), numba_threads(self.n_threads):
            validation = random_state.randint(0, n_samples, self._init_size)
            best_inertia = None
            for init_index in range(n_init):
                centers = self._subset_centers(X, init, sample_weight, random_state)
                self.cluster_centers_ = centers
                inertia = self._labels_inertia(X[validation], sample_weight[validation])[1]
                logger.info("Init %d of %d: validation inertia %.6g.", init_index + 1, n_init, inertia)
                if best_inertia is None or inertia < best_inertia:
                    best_centers, best_inertia = centers, inertia
            centers = np.array(best_centers, dtype=X.dtype, order="C")

            self._counts = np.zeros(self.n_clusters)
            self._state = np.array([np.nan, np.nan, 0.0, 0.0])
            total_weight = float(sample_weight.sum(dtype=np.float64))
            cumulative = np.cumsum(sample_weight, dtype=np.float64)
            n_steps = (self.max_iter * n_samples) // self._batch_size
            batch_labels = np.empty(self._batch_size, dtype=np.int32)
            max_no_improvement = -1 if self.max_no_improvement is None else self.max_no_improvement

            step = 0
            while step < n_steps:
                block = min(STEPS_PER_BLOCK, n_steps - step)
                # Draws with probability proportional to weight, as scikit-learn's fit does.
                draws = random_state.random_sample(block * self._batch_size) * total_weight
                batches = np.searchsorted(cumulative, draws, side="right").reshape(block, self._batch_size)
                np.minimum(batches, n_samples - 1, out=batches)
                while batches.shape[0]:
                    done, code, inertia, moved = _minibatch.run_steps(
                        X, batches, centers, self._counts, self._state, step, n_samples,
                        self._tol, max_no_improvement, float(self.reassignment_ratio), batch_labels,
                    )
                    step += done
                    last_batch = batches[done - 1]
                    batches = batches[done:]
                    if code == _minibatch.REASSIGN_DUE:
                        self._reassign(X[last_batch], np.ones(last_batch.size), centers, random_state)
                        if _minibatch.check_convergence(
                            self._state, step - 1, inertia, self._batch_size, n_samples, moved,
                            self._tol, max_no_improvement,
                        ):
                            code = _minibatch.CONVERGED
                    if code == _minibatch.CONVERGED:
                        break
                logger.info("Step %d of %d.", step, n_steps)
                if code == _minibatch.CONVERGED:
                    logger.info("Converged at step %d.", step)
                    break

        self.cluster_centers_ = centers
        self._n_features_out = self.n_clusters
        self.n_steps_ = step
        self.n_iter_ = int(np.ceil(step * self._batch_size / n_samples))
        if self.compute_labels:
            self.labels_, self.inertia_ = self._labels_inertia(X, sample_weight)
        else:
            self.inertia_ = float(self._state[_minibatch.EWA_INERTIA] * total_weight)
        return self

    def _reassign(self, X_batch, batch_weight, centers, random_state):
        """Move centres that have seen little weight onto random samples of the last batch.

        As scikit-learn does: centres below ``reassignment_ratio`` times the largest seen
        weight (at most half the batch size of them) move to distinct batch samples drawn
        by weight, and their seen weight becomes the smallest one among the others.
        """
        counts = self._counts
        to_reassign = counts < self.reassignment_ratio * counts.max()
        if to_reassign.sum() > 0.5 * X_batch.shape[0]:
            keep = np.argsort(counts)[int(0.5 * X_batch.shape[0]) :]
            to_reassign[keep] = False
        n_reassigns = int(to_reassign.sum())
        if n_reassigns == 0:
            return
        chosen = random_state.choice(
            X_batch.shape[0], replace=False, size=n_reassigns, p=batch_weight / batch_weight.sum()
        )
        logger.info("Reassigning %d cluster centres.", n_reassigns)
        centers[to_reassign] = X_batch[chosen]
        counts[to_reassign] = np.min(counts[~to_reassign])

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the centres with one mini-batch step on X.

        The first call chooses the initial centres from X, so it should hold at least
        ``n_clusters`` samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch of samples.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample of the batch.

        Returns
        -------
        self : MiniBatchKMeans
        """
        has_centers = hasattr(self, "cluster_centers_")
        X, sample_weight = self._validate(X, sample_weight, reset=not has_centers)
        self._random_state = getattr(self, "_random_state", None) or check_random_state(self.random_state)
        self.n_steps_ = getattr(self, "n_steps_", 0)

        with _verbose_logging(self.verbose), numba_threads(self.n_threads):
            if not has_centers:
                init, _ = self._check_minibatch_params(X)
                self.cluster_centers_ = np.array(
                    self._subset_centers(X, init, sample_weight, self._random_state), dtype=X.dtype, order="C"
                )
                self._counts = np.zeros(self.n_clusters)
                self._state = np.array([np.nan, np.nan, 0.0, 0.0])
            centers = self.cluster_centers_
            if centers.dtype != X.dtype:
                centers = centers.astype(X.dtype)
            indices = np.arange(X.shape[0], dtype=np.int64)
            sums = np.empty((self.n_clusters, X.shape[1]))
            batch_labels = np.empty(X.shape[0], dtype=np.int32)
            _minibatch.batch_step(X, indices, sample_weight, centers, self._counts, sums, batch_labels)
            if self.reassignment_ratio > 0 and _minibatch.reassignment_due(
                self._state, self._counts, self._batch_size, self.n_clusters
            ):
                self._reassign(X, sample_weight.astype(np.float64), centers, self._random_state)
            self.cluster_centers_ = centers
            if self.compute_labels:
                self.labels_, self.inertia_ = self._labels_inertia(X, sample_weight)

        self.n_steps_ += 1
        self._n_features_out = self.n_clusters
        return self
