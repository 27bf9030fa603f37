"""Scores of one clustering, with sample weights, in memory linear in n_samples.

Private helpers of `julei.selection`. Inputs are already validated: ``X`` is a finite 2-D
float array, ``labels`` are ints in ``[0, n_clusters)``, ``sample_weight`` is a non-negative
float vector of length n_samples with a positive sum.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse

# Rows per chunk in the linear-time passes; keeps each temporary near 16 MB at d = 16.
_ROW_CHUNK = 131072

# Bytes allowed for one block of pairwise distances in the silhouette's BLAS path.
_PAIRWISE_BLOCK_BYTES = 64 * 2**20

# Up to this many features the silhouette uses the direct numba loop; above it, a BLAS
# product per block of rows is faster.
_DIRECT_MAX_FEATURES = 32


@numba.njit(parallel=True, cache=True)
def _distance_sums_direct(X, labels, sample_weight, n_clusters):
    """Return sums[i, c], the weighted sum of distances from row i to the rows of cluster c.

    Each thread writes only its own rows of ``sums``, so the result does not depend on the
    thread count. Differences are taken directly, so a row's distance to itself or to an
    identical row is exactly 0.
    """
    # X (n_samples, n_features) IN | labels, sample_weight (n_samples,) IN
    # sums (n_samples, n_clusters) OUT
    n_samples, n_features = X.shape
    sums = np.zeros((n_samples, n_clusters))
    for i in numba.prange(n_samples):
        for j in range(n_samples):
            squared = 0.0
            for f in range(n_features):
                diff = X[i, f] - X[j, f]
                squared += diff * diff
            sums[i, labels[j]] += sample_weight[j] * np.sqrt(squared)
    return sums


def _distance_sums_blas(X, labels, sample_weight, n_clusters, rows):
    """Return the same sums as `_distance_sums_direct` for ``rows`` only, through BLAS.

    ``X`` must be centred; centring reduces cancellation in ``|x|^2 - 2 x.y + |y|^2``.
    """
    n_samples = X.shape[0]
    membership = np.zeros((n_samples, n_clusters))
    membership[np.arange(n_samples), labels] = sample_weight
    squared_norms = np.einsum("ij,ij->i", X, X)
    squared = squared_norms[rows, None] - 2.0 * (X[rows] @ X.T) + squared_norms[None, :]
    np.maximum(squared, 0.0, out=squared)
    squared[np.arange(rows.size), rows] = 0.0  # a row's distance to itself is exactly 0
    return np.sqrt(squared) @ membership


def cluster_sums(X, labels, sample_weight, n_clusters):
    """Return the weighted sum of each cluster's rows, shape (n_clusters, n_features), float64."""
    n_samples = X.shape[0]
    indicator = scipy.sparse.csr_matrix(
        (sample_weight.astype(np.float64), (labels, np.arange(n_samples))),
        shape=(n_clusters, n_samples),
    )
    return np.asarray(indicator @ X, dtype=np.float64)


def cluster_weights(labels, sample_weight, n_clusters):
    """Return the total sample weight of each cluster, shape (n_clusters,)."""
    return np.bincount(labels, weights=sample_weight, minlength=n_clusters)


def _distances_to_own_mean(X, labels, means):
    """Return the Euclidean distance of each row to the mean of its cluster, shape (n_samples,)."""
    distances = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], _ROW_CHUNK):
        stop = min(start + _ROW_CHUNK, X.shape[0])
        diff = X[start:stop].astype(np.float64) - means[labels[start:stop]]
        distances[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return distances


def calinski_harabasz_davies_bouldin(X, labels, sample_weight, n_clusters):
    """Compute the Calinski-Harabasz and Davies-Bouldin indices of one clustering.

    Both follow scikit-learn's definitions (``calinski_harabasz_score``,
    ``davies_bouldin_score``) and agree with them for unit weights. With weights, a point
    of weight w counts as w points: cluster means and sizes are weighted, and the number of
    samples in the Calinski-Harabasz degrees of freedom is the total weight. Clusters with
    no weight are left out. Returns ``(nan, nan)`` with fewer than two non-empty clusters.
    """
    weights = cluster_weights(labels, sample_weight, n_clusters)
    present = weights > 0
    n_present = int(present.sum())
    total_weight = float(weights.sum())
    if n_present < 2:
        return float("nan"), float("nan")

    sums = cluster_sums(X, labels, sample_weight, n_clusters)
    means = np.zeros_like(sums)
    means[present] = sums[present] / weights[present, None]
    overall_mean = sums.sum(axis=0) / total_weight

    distances = _distances_to_own_mean(X, labels, means)
    within_ss = float(np.dot(sample_weight, distances**2))
    between_ss = float(np.dot(weights[present], ((means[present] - overall_mean) ** 2).sum(axis=1)))
    if within_ss == 0.0 or total_weight <= n_present:
        calinski_harabasz = float("inf") if within_ss == 0.0 else float("nan")
    else:
        calinski_harabasz = (between_ss / (n_present - 1)) / (within_ss / (total_weight - n_present))

    # Davies-Bouldin: mean over clusters of the worst ratio of summed scatter to centre distance.
    scatter = np.bincount(labels, weights=sample_weight * distances, minlength=n_clusters)
    scatter = scatter[present] / weights[present]
    centers = means[present]
    center_distances = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = (scatter[:, None] + scatter[None, :]) / center_distances
    ratios[~np.isfinite(ratios)] = 0.0
    np.fill_diagonal(ratios, 0.0)
    davies_bouldin = float(ratios.max(axis=1).mean())
    return calinski_harabasz, davies_bouldin


def silhouette_samples(X, labels, sample_weight, n_clusters):
    """Compute the silhouette coefficient of every row, exactly, shape (n_samples,).

    ``a(i)`` is the weighted mean distance from row i to the other rows of its cluster, and
    ``b(i)`` is the smallest weighted mean distance to the rows of another cluster. Then
    ``s(i) = (b - a) / max(a, b)``, and 0 for a row alone in its cluster, as in
    scikit-learn's ``silhouette_samples``. Weights are frequencies: for integer weights
    the result equals scikit-learn's on the data with each row repeated weight times.

    Time is quadratic in n_samples, memory linear: distances are reduced to per-cluster sums
    as they are computed (a numba loop for up to 32 features, BLAS products over blocks of
    rows above that), so no n x n matrix exists.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n_samples = X.shape[0]
    labels = np.ascontiguousarray(labels, dtype=np.intp)
    sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
    weights = np.bincount(labels, weights=sample_weight, minlength=n_clusters)

    if X.shape[1] <= _DIRECT_MAX_FEATURES:
        distance_sums = _distance_sums_direct(X, labels, sample_weight, n_clusters)
        blocks = [(np.arange(n_samples), distance_sums)]
    else:
        X = X - X.mean(axis=0)
        block = max(1, _PAIRWISE_BLOCK_BYTES // (8 * n_samples))
        blocks = (
            (rows, _distance_sums_blas(X, labels, sample_weight, n_clusters, rows))
            for rows in (np.arange(start, min(start + block, n_samples)) for start in range(0, n_samples, block))
        )

    scores = np.zeros(n_samples)
    for rows, distance_sums in blocks:
        own = labels[rows]
        # A weight counts as a frequency: a row of weight 3 is three copies of one point,
        # two of them at distance 0 in its own cluster, which matches repeating the row.
        others_in_own = weights[own] - np.minimum(sample_weight[rows], 1.0)
        positions = np.arange(rows.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = distance_sums[positions, own] / others_in_own
            mean_to_cluster = distance_sums / weights[None, :]
        mean_to_cluster[:, weights == 0] = np.inf
        mean_to_cluster[positions, own] = np.inf
        b = mean_to_cluster.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            block_scores = (b - a) / np.maximum(a, b)
        alone = others_in_own <= 0
        block_scores[alone | ~np.isfinite(block_scores)] = 0.0
        scores[rows] = block_scores
    return scores


def silhouette_score(X, labels, sample_weight, n_clusters):
    """Return the weighted mean silhouette coefficient; nan with fewer than two clusters."""
    if np.count_nonzero(cluster_weights(labels, sample_weight, n_clusters)) < 2:
        return float("nan")
    scores = silhouette_samples(X, labels, sample_weight, n_clusters)
    return float(np.dot(sample_weight, scores) / sample_weight.sum())


def kneedle(ks, values, *, sensitivity=1.0):
    """Find the knee of a decreasing, convex curve such as inertia against k.

    Follows Kneedle (V. Satopaa, J. Albrecht, D. Irwin and B. Raghavan, "Finding a 'Kneedle'
    in a Haystack: Detecting Knee Points in System Behavior", ICDCS Workshops 2011): both
    axes are scaled to [0, 1], the curve is flipped to increasing, and each local maximum of
    the difference curve ``y - x`` is a knee candidate. A candidate is the knee when the
    difference curve drops below ``d_max - sensitivity * mean(diff(x))`` (the paper's
    threshold with sensitivity S) before it rises above ``d_max``. So the last k is never a
    knee.

    Parameters
    ----------
    ks : array of shape (n,)
        Increasing k values.
    values : array of shape (n,)
        The curve at those k, for example inertia.

    Returns
    -------
    knee : int or None
        The k at the knee, None when Kneedle finds none.
    strength : float
        How sharp the bend is: the drop of the curve per unit of k just before the knee
        divided by the drop just after it (nan without a knee, inf when flat after it).
    """
    ks = np.asarray(ks, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    ks, values = ks[finite], values[finite]
    if ks.size < 3 or values[0] <= values[-1]:
        return None, float("nan")

    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (values - values[-1]) / (values[0] - values[-1])
    difference = (1.0 - y) - x
    threshold_step = sensitivity * float(np.mean(np.diff(x)))

    # Walk the local maxima of the difference curve in order, as the online Kneedle does.
    for i in range(1, ks.size - 1):
        is_local_max = difference[i] >= difference[i - 1] and difference[i] > difference[i + 1]
        if not is_local_max or difference[i] <= 0:
            continue
        threshold = difference[i] - threshold_step
        for j in range(i + 1, ks.size):
            if difference[j] > difference[i]:
                break
            if difference[j] < threshold:
                slope_before = (values[i - 1] - values[i]) / (ks[i] - ks[i - 1])
                slope_after = (values[i] - values[i + 1]) / (ks[i + 1] - ks[i])
                strength = slope_before / slope_after if slope_after > 0 else float("inf")
                return int(ks[i]), float(strength)
    return None, float("nan")


def reference_box(X):
    """Return the principal axes of ``X`` and the bounding box of ``X`` in those axes.

    Used to draw the gap statistic's reference data: uniform over the box aligned with the
    principal components, Tibshirani, Walther and Hastie's method (b).

    Returns ``(mean, axes, low, high)``: mean (d,), axes (d, d) with components as columns,
    low and high (d,) in component coordinates.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    _, _, components = np.linalg.svd(X - mean, full_matrices=False)
    axes = components.T
    projected = (X - mean) @ axes
    return mean, axes, projected.min(axis=0), projected.max(axis=0)


def draw_reference(box, n_samples, rng):
    """Draw ``n_samples`` points uniformly from a box returned by `reference_box`."""
    mean, axes, low, high = box
    uniform = rng.uniform(low, high, size=(n_samples, low.size))
    return uniform @ axes.T + mean
