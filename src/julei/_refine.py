"""Swap refinement: move centres out of a K-means local optimum.

Lloyd's iterations stop at the first local optimum they reach. On data with clear clusters
that optimum often puts two centres in one true cluster and one centre between two others.
No Lloyd step can fix that, because the fix needs one centre to jump across the data. A swap
moves one centre to a data point and keeps the move only when the inertia drops. `swap_refine`
scores swaps exactly and cheaply, so a few hundred cost about as much as a few Lloyd
iterations.
"""

import logging
from collections import namedtuple

import numpy as np

from julei._kernels import swap as _swap
from julei._kernels._common import n_groups_for

logger = logging.getLogger(__name__)

#: Result of `swap_refine`: the final Lloyd run (whatever ``lloyd`` returned), how many
#: swaps were kept and how many trials were made.
RefineResult = namedtuple("RefineResult", ["run", "n_swaps", "n_trials"])

# Candidate samples drawn per trial. Every candidate is paired with its best removal, so a
# trial weighs n_candidates * n_clusters swaps in one pass over the data.
N_CANDIDATES = 4

# Lloyd iterations after a kept swap, before the next trial. The final run converges fully.
SWAP_ITERATIONS = 3

# Below this many sample x feature x candidate products per pass, the serial kernels run,
# because starting the threads would cost more than the pass.
SERIAL_MAX_WORK = 100_000

# A swap counts as an improvement only when it lowers the inertia by more than this
# fraction, so rounding noise and ties never count as progress.
MIN_RELATIVE_GAIN = 1e-9


class _Kernels:
    """The swap kernels, serial or parallel depending on the size of X."""

    def __init__(self, X):
        serial = X.shape[0] * X.shape[1] * N_CANDIDATES < SERIAL_MAX_WORK
        self.two_nearest = _swap.two_nearest_serial if serial else _swap.two_nearest
        self.swap_deltas = _swap.swap_deltas_serial if serial else _swap.swap_deltas
        self.swap_mstep_inertia = _swap.swap_mstep_inertia_serial if serial else _swap.swap_mstep_inertia


class _Neighbours:
    """Nearest and second-nearest centre of every sample, and their squared distances."""

    def __init__(self, X, centers, n_groups, kernels):
        n_samples = X.shape[0]
        self.labels = np.empty(n_samples, dtype=np.int32)
        self.second = np.empty(n_samples, dtype=np.int32)
        self.d1 = np.empty(n_samples)
        self.d2 = np.empty(n_samples)
        kernels.two_nearest(
            X, np.ascontiguousarray(centers, dtype=np.float64), self.labels, self.second, self.d1, self.d2, n_groups
        )


def swap_refine(X, sample_weight, centers, *, lloyd, random_state, max_failures, max_iter):
    """Improve converged K-means centres by swaps that jump between clusters.

    One trial draws ``N_CANDIDATES`` samples with probability proportional to their weighted
    squared distance to the nearest centre. This is the k-means++ rule, and samples far from
    every centre lie where a centre is missing. One pass over the data gives, for each
    candidate ``p`` and each centre ``j``, the exact inertia after moving ``j`` onto ``p``
    and reassigning the samples with no other centre moved. The pass needs each sample's
    distances to its nearest and second-nearest centres. The best pair is kept when that
    inertia is lower than the current one. Otherwise the pair is scored once more after one update of
    every centre to its cluster's mean, which finds the swaps that pay only once the
    neighbouring centres shift, for example between overlapping clusters. A kept swap is
    followed by ``SWAP_ITERATIONS`` Lloyd iterations. The refinement stops after
    ``max_failures`` trials in a row keep no swap, and ends with Lloyd's algorithm run to
    convergence, so the result is a Lloyd fixed point like any plain run.

    This is a guided form of random swap (P. Fränti, "Efficiency of random swap clustering",
    Journal of Big Data 5:13, 2018), which swaps a random centre to a random sample and
    keeps the swap when a few Lloyd iterations lower the error. Scoring every removal
    exactly for a few well-drawn candidates is the single-swap local search of T. Kanungo
    et al., "A local search approximation algorithm for k-means clustering", Computational
    Geometry 28, 2004. Because rejected trials cost no Lloyd iteration, the refinement can
    afford many of them.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated dense data, C-contiguous float32 or float64.
    sample_weight : ndarray of shape (n_samples,)
        Validated weights.
    centers : ndarray of shape (n_clusters, n_features)
        Starting centres, usually a converged Lloyd run.
    lloyd : callable
        ``lloyd(centers_init, max_iter)`` runs Lloyd's algorithm from ``centers_init`` and
        returns an object with ``centers``, ``labels``, ``inertia`` and ``n_iter``.
    random_state : numpy.random.RandomState
        Source of the candidate draws.
    max_failures : int
        Trials in a row without a kept swap before the refinement stops.
    max_iter : int
        Maximum number of iterations of the final Lloyd run.

    Returns
    -------
    RefineResult or None
        None when no swap was kept: the starting centres are then the result.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    if n_clusters < 2 or n_samples <= n_clusters:
        return None
    n_groups = n_groups_for(n_samples)
    kernels = _Kernels(X)
    weights64 = sample_weight.astype(np.float64)
    group_removal = np.empty((n_groups, N_CANDIDATES, n_clusters))
    group_addition = np.empty((n_groups, N_CANDIDATES))
    group_sums = np.empty((n_groups, n_clusters, n_features))
    group_weights = np.empty((n_groups, n_clusters))
    group_inertia = np.empty(n_groups)

    centers = np.array(centers, dtype=X.dtype, order="C")
    near = _Neighbours(X, centers, n_groups, kernels)
    inertia = float(np.sum(weights64 * near.d1))
    n_swaps = n_trials = failures = 0

    while failures < max_failures:
        cumulative = np.cumsum(weights64 * near.d1)
        if not cumulative[-1] > 0.0:
            break  # every sample sits on a centre, so no swap can lower the inertia
        n_trials += 1
        draws = random_state.random_sample(N_CANDIDATES) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, draws, side="right"), n_samples - 1)

        kernels.swap_deltas(X, sample_weight, near.labels, near.d1, near.d2, candidates, group_removal, group_addition)
        deltas = group_removal.sum(axis=0) + group_addition.sum(axis=0)[:, None]
        best_candidate, removed = np.unravel_index(np.argmin(deltas), deltas.shape)
        point = int(candidates[best_candidate])
        threshold = -MIN_RELATIVE_GAIN * inertia
        promising = deltas[best_candidate, removed] < threshold
        if not promising:
            after_update = kernels.swap_mstep_inertia(
                X, sample_weight, centers.astype(np.float64), near.labels, near.second, near.d1, near.d2,
                point, removed, group_sums, group_weights, group_inertia,
            )
            promising = after_update - inertia < threshold
        if not promising:
            failures += 1
            continue

        trial_centers = centers.copy()
        trial_centers[removed] = X[point]
        run = lloyd(trial_centers, SWAP_ITERATIONS)
        trial_near = _Neighbours(X, run.centers, n_groups, kernels)
        trial_inertia = float(np.sum(weights64 * trial_near.d1))
        if trial_inertia - inertia < threshold:
            logger.debug("Swap %d: centre %d to sample %d, inertia %.6g -> %.6g.", n_swaps + 1, removed, point, inertia, trial_inertia)
            centers = np.array(run.centers, dtype=X.dtype, order="C")
            near, inertia = trial_near, trial_inertia
            n_swaps += 1
            failures = 0
        else:
            failures += 1

    if n_swaps == 0:
        return None
    run = lloyd(centers, max_iter)
    return RefineResult(run, n_swaps, n_trials)
