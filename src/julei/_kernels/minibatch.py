"""Mini-batch K-means steps, as scikit-learn's MiniBatchKMeans runs them.

One step labels a batch of samples with their nearest centres and moves each centre
towards the mean of its batch samples with a per-centre learning rate of
``batch weight / total weight seen``. `run_steps` runs many steps in one call, so no Python
overhead is paid per step. It stops early by scikit-learn's rules: the smoothed batch
inertia has not improved for ``max_no_improvement`` steps, or a centre moved by at most
``tol``. It also returns to the caller whenever a random reassignment of small centres is
due.
"""

import numba
import numpy as np

# Slots of the ``state`` vector shared by `run_steps` and `check_convergence`.
EWA_INERTIA = 0  # smoothed mean batch inertia, NaN before the second step
EWA_MIN = 1  # smallest smoothed inertia so far, NaN before it exists
NO_IMPROVEMENT = 2  # steps since the smoothed inertia last decreased
SINCE_REASSIGN = 3  # samples processed since the last reassignment check
STATE_SIZE = 4

# `run_steps` return codes.
BLOCK_DONE = 0
CONVERGED = 1
REASSIGN_DUE = 2


@numba.njit(cache=True)
def batch_step(X, indices, sample_weight, centers, weight_sums, sums, batch_labels):
    """Run one mini-batch step in place on ``centers`` and ``weight_sums``.

    Samples ``X[indices]`` with weights ``sample_weight`` (one per batch row) are labelled,
    then each centre with batch weight becomes the weighted mean of its old position
    (weighted by ``weight_sums``) and its batch samples. Distances and sums are float64.
    Returns the batch inertia and the summed squared centre move.
    """
    # X (n_samples, n_features) IN | indices (batch_size,) IN | sample_weight (batch_size,) IN
    # centers (n_clusters, n_features) INOUT | weight_sums (n_clusters,) float64 INOUT
    # sums (n_clusters, n_features) float64 scratch | batch_labels (batch_size,) int32 OUT
    n_clusters, n_features = centers.shape
    batch_size = indices.shape[0]
    sums[:, :] = 0.0
    batch_weights = np.zeros(n_clusters)
    inertia = 0.0
    for b in range(batch_size):
        i = indices[b]
        best = 0
        best_dist = np.inf
        for j in range(n_clusters):
            dist = 0.0
            for f in range(n_features):
                diff = np.float64(X[i, f]) - centers[j, f]
                dist += diff * diff
            if dist < best_dist:
                best_dist = dist
                best = j
        batch_labels[b] = best
        weight = np.float64(sample_weight[b])
        inertia += weight * best_dist
        batch_weights[best] += weight
        for f in range(n_features):
            sums[best, f] += weight * X[i, f]

    moved = 0.0
    for j in range(n_clusters):
        if batch_weights[j] == 0.0:
            continue
        total = weight_sums[j] + batch_weights[j]
        for f in range(n_features):
            old = np.float64(centers[j, f])
            centers[j, f] = (old * weight_sums[j] + sums[j, f]) / total
            diff = np.float64(centers[j, f]) - old
            moved += diff * diff
        weight_sums[j] = total
    return inertia, moved


@numba.njit(cache=True)
def check_convergence(state, step, batch_inertia, batch_size, n_samples, moved, tol,
                      max_no_improvement):
    """Update the early-stopping ``state`` after step ``step`` (counted from 0); return True
    to stop.

    Follows scikit-learn's MiniBatchKMeans: the first step is ignored, the mean batch
    inertia is smoothed with weight ``2 * batch_size / (n_samples + 1)``, and the fit stops
    when the summed squared centre move is at most ``tol`` (if ``tol`` > 0) or when the
    smoothed inertia has not decreased for ``max_no_improvement`` steps (if >= 0).
    """
    if step == 0:
        return False
    mean_inertia = batch_inertia / batch_size
    if np.isnan(state[EWA_INERTIA]):
        state[EWA_INERTIA] = mean_inertia
    else:
        alpha = min(batch_size * 2.0 / (n_samples + 1), 1.0)
        state[EWA_INERTIA] = state[EWA_INERTIA] * (1.0 - alpha) + mean_inertia * alpha
    if tol > 0.0 and moved <= tol:
        return True
    if np.isnan(state[EWA_MIN]) or state[EWA_INERTIA] < state[EWA_MIN]:
        state[NO_IMPROVEMENT] = 0.0
        state[EWA_MIN] = state[EWA_INERTIA]
    else:
        state[NO_IMPROVEMENT] += 1.0
    return max_no_improvement >= 0 and state[NO_IMPROVEMENT] >= max_no_improvement


@numba.njit(cache=True)
def reassignment_due(state, weight_sums, batch_size, n_clusters):
    """Return True when a random reassignment check is due after this step (scikit-learn's
    rule: every ``10 * n_clusters`` samples, or whenever a centre has seen no sample)."""
    state[SINCE_REASSIGN] += batch_size
    empty = False
    for j in range(weight_sums.shape[0]):
        if weight_sums[j] == 0.0:
            empty = True
    if empty or state[SINCE_REASSIGN] >= 10 * n_clusters:
        state[SINCE_REASSIGN] = 0.0
        return True
    return False


@numba.njit(cache=True)
def run_steps(X, batches, centers, weight_sums, state, first_step, n_samples, tol,
              max_no_improvement, reassignment_ratio, batch_labels):
    """Run one mini-batch step per row of ``batches`` until done, converged or a
    reassignment is due.

    Batch samples have unit weight (batches are drawn with probability proportional to the
    sample weights). Returns ``(steps_run, code, batch_inertia, moved)`` where ``code`` is
    `BLOCK_DONE`, `CONVERGED` or `REASSIGN_DUE`; on `REASSIGN_DUE` the last step's
    convergence check is left to the caller, after the reassignment.
    """
    # batches (n_steps, batch_size) int64 IN | centers (n_clusters, n_features) INOUT
    # weight_sums (n_clusters,) float64 INOUT | state (STATE_SIZE,) float64 INOUT
    n_clusters, n_features = centers.shape
    n_steps, batch_size = batches.shape
    unit = np.ones(batch_size)
    sums = np.empty((n_clusters, n_features))
    inertia = 0.0
    moved = 0.0
    for s in range(n_steps):
        inertia, moved = batch_step(X, batches[s], unit, centers, weight_sums, sums, batch_labels)
        if reassignment_ratio > 0.0 and reassignment_due(state, weight_sums, batch_size, n_clusters):
            largest = weight_sums.max()
            for j in range(n_clusters):
                if weight_sums[j] < reassignment_ratio * largest:
                    return s + 1, REASSIGN_DUE, inertia, moved
        if check_convergence(state, first_step + s, inertia, batch_size, n_samples, moved, tol,
                             max_no_improvement):
            return s + 1, CONVERGED, inertia, moved
    return n_steps, BLOCK_DONE, inertia, moved
