"""Hamerly's exact K-means: an upper and a lower distance bound per sample.

Each sample keeps an upper bound on its distance to its own centre and a lower bound on its
distance to every other centre. When the upper bound is below the larger of the lower bound
and half the distance from its centre to the nearest other centre, no other centre can be
nearer, and the sample keeps its label without X being read. Otherwise the kernel computes
the own distance, and if that does not settle it, scans every centre exactly as
`lloyd.assign_dense` does (differences in float64, ties to the lowest index), so the labels
equal Lloyd's from the same centres.

The centre sums are kept up to date by adding and removing only the samples that change
cluster, so a step that moves few samples reads few rows of X. The centres then equal
Lloyd's up to the rounding of those float64 additions, far below float32 precision. Bounds
are stored in the dtype of X, upper bounds grown and lower bounds shrunk by `bound_margin`
on each store, so rounding never makes a bound wrong.
"""

import numba
import numpy as np


def tightens(n_clusters):
    """Return whether to compute an unsettled sample's own distance before scanning every
    centre: worth it when a scan costs many own distances."""
    # At 1,000,000 x 4, k = 6 the fit took 244 ms without this step and 299 ms with it; at
    # 200,000 x 32, k = 100 it took 142 ms without and 110 ms with it (2 cores).
    return n_clusters > 8


def bound_margin(dtype):
    """Return the relative amount by which stored bounds are shrunk for ``dtype``."""
    # A float32 store rounds by at most 6e-8 relative; float64 arithmetic on the bounds
    # drifts by a few 1e-16 per iteration. Both margins are far larger than that.
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12


@numba.njit(cache=True)
def center_gaps(centers):
    """Return, per centre, half the distance to its nearest other centre (float64).

    With one centre the gap is infinite, because no other centre can take a sample away.
    """
    # centers (n_clusters, n_features) IN
    n_clusters, n_features = centers.shape
    half_gap = np.full(n_clusters, np.inf)
    for a in range(n_clusters):
        for b in range(a + 1, n_clusters):
            dist = 0.0
            for f in range(n_features):
                diff = np.float64(centers[a, f]) - centers[b, f]
                dist += diff * diff
            dist = 0.5 * np.sqrt(dist)
            if dist < half_gap[a]:
                half_gap[a] = dist
            if dist < half_gap[b]:
                half_gap[b] = dist
    return half_gap


@numba.njit(cache=True)
def center_shifts(old_centers, new_centers):
    """Return each centre's Euclidean move (float64), the largest and second-largest move
    and the index of the largest."""
    n_clusters, n_features = old_centers.shape
    shifts = np.empty(n_clusters)
    largest = 0.0
    second = 0.0
    largest_index = 0
    for j in range(n_clusters):
        dist = 0.0
        for f in range(n_features):
            diff = np.float64(new_centers[j, f]) - old_centers[j, f]
            dist += diff * diff
        shifts[j] = np.sqrt(dist)
        if shifts[j] > largest:
            second = largest
            largest = shifts[j]
            largest_index = j
        elif shifts[j] > second:
            second = shifts[j]
    return shifts, largest, second, largest_index


# Modes of `assign_hamerly`.
FIRST = 0  # scan every centre for every sample; write whole sums
FULL_SUMS = 1  # use the bounds; write whole sums (after the sums stopped matching the labels)
DELTAS = 2  # use the bounds; write only the changes that moved samples make to the sums


@numba.njit(inline="always")
def _add_sample(X, i, weight, centered_sq, cluster, sign, g, group_sums, group_weights, group_sq,
                group_counts):
    """Add (sign 1) or remove (sign -1) sample i's share of cluster's sums in group g.

    The products are formed as `lloyd.assign_dense` forms them, so removing a sample takes
    away exactly the amount that adding it put in.
    """
    if sign > 0:
        for f in range(X.shape[1]):
            group_sums[g, cluster, f] += weight * X[i, f]
        group_weights[g, cluster] += weight
        group_sq[g, cluster] += weight * centered_sq
    else:
        for f in range(X.shape[1]):
            group_sums[g, cluster, f] -= weight * X[i, f]
        group_weights[g, cluster] -= weight
        group_sq[g, cluster] -= weight * centered_sq
    if weight > 0:
        group_counts[g, cluster] += sign


@numba.njit(inline="always")
def _weight(sample_weight, i):
    """Return sample i's weight. An array of one weight gives that weight to every sample."""
    return sample_weight[0] if sample_weight.shape[0] == 1 else sample_weight[i]


@numba.njit(inline="always")
def _clear_group(g, group_sums, group_weights, group_sq, group_counts):
    """Zero group g's sums, weights, sums of squares and counts."""
    group_sums[g, :, :] = 0.0
    group_weights[g, :] = 0.0
    group_sq[g, :] = 0.0
    group_counts[g, :] = 0


@numba.njit(inline="always")
def _move_sample(X, i, weight, mean, cluster, old, g, group_sums, group_weights, group_sq, group_counts):
    """Move sample i's share of the sums in group g from cluster ``old`` to ``cluster``."""
    norm = _centered_sq(X, i, mean)
    _add_sample(X, i, weight, norm, cluster, 1, g, group_sums, group_weights, group_sq, group_counts)
    _add_sample(X, i, weight, norm, old, -1, g, group_sums, group_weights, group_sq, group_counts)


@numba.njit(inline="always")
def _relabel(X, i, label, labels, sample_weight, mean, mode, g, group_sums, group_weights, group_sq,
             group_counts):
    """Give sample i ``label``, moving its share of the sums in mode `DELTAS`; return 1 when
    the label changed, else 0."""
    old = labels[i]
    if label == old:
        return 0
    labels[i] = label
    if mode == DELTAS:
        _move_sample(X, i, _weight(sample_weight, i), mean, label, old, g, group_sums, group_weights,
                     group_sq, group_counts)
    return 1


@numba.njit(inline="always")
def _add_samples(X, sample_weight, mean, labels, start, stop, g, group_sums, group_weights, group_sq,
                 group_counts):
    """Add samples ``start .. stop`` to their labelled clusters' sums in group g."""
    for i in range(start, stop):
        _add_sample(X, i, _weight(sample_weight, i), _centered_sq(X, i, mean), labels[i], 1, g, group_sums,
                    group_weights, group_sq, group_counts)


@numba.njit(inline="always")
def _centered_sq(X, i, mean):
    total = 0.0
    for f in range(X.shape[1]):
        deviation = np.float64(X[i, f]) - mean[f]
        total += deviation * deviation
    return total


# Samples whose bounds are moved and checked together before the few that fail are settled.
BLOCK = 256


@numba.njit(inline="always")
def _gather_rows(X, index, n, rows):
    """Copy the rows ``index[:n]`` of X into ``rows[:, :n]`` as float64, one feature per row,
    so that the distance loops below run over samples in SIMD lanes."""
    for f in range(X.shape[1]):
        for p in range(n):
            rows[f, p] = X[index[p], f]


@numba.njit(inline="always")
def _own_distances(rows, n, centers, labels, index, out):
    """Squared distance of each gathered sample to its labelled centre, summed in feature
    order in float64 as `lloyd.assign_dense` sums it."""
    for p in range(n):
        out[p] = 0.0
    for f in range(rows.shape[0]):
        for p in range(n):
            diff = rows[f, p] - centers[labels[index[p]], f]
            out[p] += diff * diff


@numba.njit(inline="always")
def _scan_rows(rows, n, centers, dist, best, best_dist, second_dist):
    """Nearest and second-nearest squared distances of each gathered sample over every
    centre, with the same numbers and tie rule (lowest index) as `lloyd.assign_dense`."""
    for p in range(n):
        best[p] = 0
        best_dist[p] = np.inf
        second_dist[p] = np.inf
    for j in range(centers.shape[0]):
        for p in range(n):
            dist[p] = 0.0
        for f in range(rows.shape[0]):
            value = np.float64(centers[j, f])
            for p in range(n):
                diff = rows[f, p] - value
                dist[p] += diff * diff
        for p in range(n):
            d = dist[p]
            second_dist[p] = min(second_dist[p], max(best_dist[p], d))
            best[p] = j if d < best_dist[p] else best[p]
            best_dist[p] = min(best_dist[p], d)


@numba.njit(parallel=True, cache=True)
def assign_hamerly(X, sample_weight, centers, mean, labels, upper, lower, shifts, largest_shift,
                   second_shift, largest_index, margin, mode, tighten, group_sums, group_weights,
                   group_sq, group_counts, group_changed):
    """Label every sample, skipping every distance that the bounds prove cannot change it.

    ``upper`` bounds each sample's distance to its own centre and ``lower`` its distance to
    every other centre. Before the step they are moved by the centres' shifts since the
    previous step: ``upper`` grows by the own centre's shift, ``lower`` drops by the largest
    shift of another centre. A sample whose upper bound is below the larger of its lower
    bound and half the gap from its centre to the nearest other centre keeps its label
    without reading X. Otherwise, when ``tighten`` is True, its own distance is computed,
    and if that does not settle it (or without ``tighten``), every centre is scanned exactly
    as `lloyd.assign_dense` does. Samples are handled
    in blocks: the bounds of a whole block are checked first, then the unsettled samples'
    rows are gathered and their distances computed together.

    The group buffers receive the clusters' weighted sums, weights, sums of
    ``w |x - mean|^2`` and counts of samples of positive weight. In mode `DELTAS` they
    receive only what moved samples add to and take from these; in the other modes, the
    whole amounts.
    """
    # X (n_samples, n_features) IN | sample_weight (n_samples,) or (1,) for equal weights IN
    # centers (n_clusters, n_features) IN | mean (n_features,) float64 IN
    # labels (n_samples,) int32 INOUT | upper, lower (n_samples,) dtype of X INOUT
    # shifts (n_clusters,) float64 IN: each centre's move since the previous step
    # group_sums (n_groups, n_clusters, n_features), group_weights, group_sq (n_groups, n_clusters)
    # float64 OUT | group_counts (n_groups, n_clusters) int64 OUT | group_changed (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_groups = group_changed.shape[0]
    shrink = 1.0 - margin
    grow = 1.0 + margin
    half_gap = center_gaps(centers) * shrink
    # What each sample's lower bound drops by: the largest shift among the other centres.
    drop = np.full(n_clusters, largest_shift)
    drop[largest_index] = second_shift
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        _clear_group(g, group_sums, group_weights, group_sq, group_counts)
        changed = 0
        unsettled = np.empty(BLOCK, dtype=np.int64)
        rows = np.empty((n_features, BLOCK))
        dist = np.empty(BLOCK)
        best = np.empty(BLOCK, dtype=np.int64)
        best_dist = np.empty(BLOCK)
        second_dist = np.empty(BLOCK)
        for block_start in range(start, stop, BLOCK):
            block_stop = min(block_start + BLOCK, stop)
            n_unsettled = 0
            if mode == FIRST:
                for i in range(block_start, block_stop):
                    unsettled[n_unsettled] = i
                    n_unsettled += 1
            else:
                # Branch-free over the block, so that it runs in SIMD lanes.
                for i in range(block_start, block_stop):
                    label = labels[i]
                    bound_up = (np.float64(upper[i]) + shifts[label]) * grow
                    bound_low = (np.float64(lower[i]) - drop[label]) * shrink
                    upper[i] = bound_up
                    lower[i] = bound_low
                    unsettled[n_unsettled] = i
                    n_unsettled += bound_up >= max(bound_low, half_gap[label])
                if tighten and n_unsettled > 0:
                    # Tighten the upper bounds to the own distances; keep the samples that
                    # are still unsettled.
                    _gather_rows(X, unsettled, n_unsettled, rows)
                    _own_distances(rows, n_unsettled, centers, labels, unsettled, dist)
                    still_unsettled = 0
                    for p in range(n_unsettled):
                        i = unsettled[p]
                        own = np.sqrt(dist[p]) * grow
                        upper[i] = own
                        unsettled[still_unsettled] = i
                        still_unsettled += own >= max(np.float64(lower[i]), half_gap[labels[i]])
                    n_unsettled = still_unsettled
            if n_unsettled > 0:
                _gather_rows(X, unsettled, n_unsettled, rows)
                _scan_rows(rows, n_unsettled, centers, dist, best, best_dist, second_dist)
                for p in range(n_unsettled):
                    i = unsettled[p]
                    upper[i] = np.sqrt(best_dist[p]) * grow
                    lower[i] = np.sqrt(second_dist[p]) * shrink
                    changed += _relabel(X, i, best[p], labels, sample_weight, mean, mode, g, group_sums,
                                        group_weights, group_sq, group_counts)
            if mode != DELTAS:
                _add_samples(X, sample_weight, mean, labels, block_start, block_stop, g, group_sums,
                             group_weights, group_sq, group_counts)
        group_changed[g] = changed


@numba.njit(cache=True)
def reduce_groups(group_sums, group_weights, group_sq, group_counts, sums, weights, sq, counts, add):
    """Add the groups' buffers in group order into the running totals, or replace them by
    the groups' sum when ``add`` is False."""
    n_groups, n_clusters, n_features = group_sums.shape
    if not add:
        sums[:, :] = 0.0
        weights[:] = 0.0
        sq[:] = 0.0
        counts[:] = 0
    for g in range(n_groups):
        for j in range(n_clusters):
            weights[j] += group_weights[g, j]
            sq[j] += group_sq[g, j]
            counts[j] += group_counts[g, j]
            for f in range(n_features):
                sums[j, f] += group_sums[g, j, f]
