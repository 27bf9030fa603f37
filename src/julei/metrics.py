"""Measures that compare a clustering with another one or with a known structure.

`centroid_index` counts, at the level of whole clusters, how many clusters one set of
centres misses compared with another. Importing this module has no side effects.
"""

from __future__ import annotations

import numpy as np

from julei.exceptions import InputError

__all__ = ["centroid_index"]


def _as_centers(centers, name):
    """Return `centers` as a finite 2-D float64 array with at least one row."""
    array = np.asarray(centers, dtype=np.float64)
    if array.ndim == 1:
        raise InputError(
            f"{name} must be 2-D, one centre per row; got a 1-D array of shape {array.shape}. "
            "Reshape a single centre with .reshape(1, -1)."
        )
    if array.ndim != 2:
        raise InputError(
            f"{name} must be 2-D, one centre per row; got an array of shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise InputError(f"{name} must contain at least one centre; got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} contains NaN or infinite values; pass finite centres.")
    return array


def _orphan_count(source, target):
    """Count the rows of `target` that no row of `source` has as its nearest row.

    source (n_source, n_features), target (n_target, n_features). Ties go to the lowest
    target index, as `numpy.argmin` breaks them.
    """
    # Squared distances through the expansion |s|^2 - 2 s.t + |t|^2 would lose precision for
    # centres far from the origin, so the differences are taken directly, a block of source
    # rows at a time to keep the (block, n_target, n_features) temporary near 8 MB.
    mapped = np.zeros(target.shape[0], dtype=bool)
    block = max(1, 1_000_000 // max(1, target.shape[0] * target.shape[1]))
    for start in range(0, source.shape[0], block):
        rows = source[start : start + block]
        distances = ((rows[:, None, :] - target[None, :, :]) ** 2).sum(axis=2)
        mapped[np.argmin(distances, axis=1)] = True
    return int(target.shape[0] - np.count_nonzero(mapped))


def centroid_index(centers_a, centers_b):
    """Compute the Centroid Index (CI) between two sets of cluster centres.

    Every centre of `centers_a` is mapped to its nearest centre of `centers_b`, and the
    centres of `centers_b` that receive no mapping are counted (orphans). The same is done
    from `centers_b` to `centers_a`, and the larger of the two counts is the index. With the
    true centres on one side, CI is the number of true clusters that the other solution
    leaves without a centre of their own, for example one true cluster shared by two found
    centres while another true cluster has none gives CI = 1. CI = 0 means that the two
    sets describe the same cluster structure.

    Parameters
    ----------
    centers_a : array-like of shape (n_clusters_a, n_features)
        One set of centres, for example the centres found by K-means.
    centers_b : array-like of shape (n_clusters_b, n_features)
        The other set, for example the ground-truth centres. The two sets may have
        different numbers of centres.

    Returns
    -------
    int
        The Centroid Index, between 0 and ``max(n_clusters_a, n_clusters_b) - 1``.

    Raises
    ------
    InputError
        When a set is not 2-D, is empty, contains NaN or infinite values, or when the two
        sets have different numbers of features.

    Notes
    -----
    The index is symmetric. Nearest centres are found with the squared Euclidean
    distance, and a tie goes to the centre listed first.

    References
    ----------
    P. Fränti, M. Rezaei and Q. Zhao, "Centroid index: cluster level similarity measure",
    Pattern Recognition 47(9), 3034-3045, 2014.

    Examples
    --------
    >>> from julei.metrics import centroid_index
    >>> truth = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
    >>> centroid_index([[0.1, 0.0], [9.8, 0.2], [0.0, 9.9]], truth)
    0
    >>> centroid_index([[-1.0, 0.0], [1.0, 0.0], [0.0, 9.0]], truth)
    1
    """
    a = _as_centers(centers_a, "centers_a")
    b = _as_centers(centers_b, "centers_b")
    if a.shape[1] != b.shape[1]:
        raise InputError(
            f"centers_a has {a.shape[1]} features but centers_b has {b.shape[1]}; "
            "both sets must describe points in the same space."
        )
    return max(_orphan_count(a, b), _orphan_count(b, a))
