"""Lloyd's assignment in float32 SIMD lanes, with a float64 check of close calls.

For few features and few clusters a full Lloyd pass costs little arithmetic per sample, and
bounds (Hamerly's) cost as much memory traffic as the distances they skip. This kernel
instead computes every distance, but in float32 and across 16 samples at a time: each block
of samples is transposed into a small float32 buffer, one feature per row, and the
distances to each centre are formed over the block's samples in SIMD lanes.

float32 distances can order two centres differently from the float64 distances of
`lloyd.assign_dense`. `close_call_scale` bounds the float32 error of every distance of a
sample; where the nearest and second-nearest float32 distances are closer than twice that
bound, the sample's distances are recomputed exactly as `lloyd.assign_dense` computes them.
The labels therefore equal Lloyd's from the same centres.

The centre sums are kept as `hamerly.assign_hamerly` keeps them: whole in the first step,
and afterwards changed only by the samples that move, so the centres equal Lloyd's up to the
rounding of float64 additions.
"""

import numba
import numpy as np

from julei._kernels.hamerly import DELTAS, _add_sample, _centered_sq

# Samples transposed and scanned together: a (n_features, BLOCK) float32 buffer stays in L1.
BLOCK = 256

# Unit roundoff of float32.
_UNIT = 2.0**-24

# Largest absolute value of X for which this kernel is used. Every term of a float32
# distance then stays below 1e33, far from float32's overflow at 3e38, for up to 64 features.
MAX_ABS = 1e15


def close_call_scale(n_features):
    """Return the factor ``s`` such that the nearest centre in float32 is certainly the
    nearest in float64 when the gap to the second-nearest exceeds ``s (|a|^2 + max |b|^2)``.

    With ``a = x - shift`` and ``b = c - shift``, rounding both to float32, forming
    ``|b|^2 - 2 a.b`` over ``d`` (padded) features and the shift itself each add at most a few
    unit roundoffs relative to ``|a|^2 + |b|^2``, for at most ``2 (d + 5) u (|a|^2 + |b|^2)``
    per distance. The gap must exceed the error of both distances; the factor has 25 % to
    spare for the float32 rounding of ``|a|^2`` and for the float64 rounding of Lloyd's own
    distances.
    """
    padded = -(-n_features // 4) * 4
    return 2 * 1.25 * 2 * (padded + 5) * _UNIT


# Added to every close-call threshold, so that float32 underflow, which loses precision in
# absolute rather than relative terms, never hides a close call.
UNDERFLOW_SLACK = 1e-36


@numba.njit(cache=True)
def _nearest_exact(X, i, centers):
    """Nearest centre of sample i, with the numbers and tie rule of `lloyd.assign_dense`."""
    best = 0
    best_dist = np.inf
    for j in range(centers.shape[0]):
        dist = 0.0
        for f in range(X.shape[1]):
            diff = np.float64(X[i, f]) - centers[j, f]
            dist += diff * diff
        if dist < best_dist:
            best_dist = dist
            best = j
    return best


@numba.njit(inline="always")
def _load_rows(X, flat, start, n, n_features, shift, rows, rows_sq):
    """Copy samples ``start .. start + n`` of X, less ``shift``, into ``rows[:n_features, :n]``
    as float32, one feature per row, and their squared norms into ``rows_sq``.

    Called with a literal ``n_features`` for the common widths, so that the reads of the
    flat X have a constant stride and run in SIMD lanes.
    """
    for p in range(n):
        total = np.float32(0.0)
        for f in range(n_features):
            value = np.float32(flat[(start + p) * n_features + f] - shift[f])
            rows[f, p] = value
            total += value * value
        rows_sq[p] = total


@numba.njit(inline="always")
def _keep_nearest(t, j, best, best_dist, second_dist):
    """Fold the distance ``t`` of centre j into a sample's nearest centre, its distance and
    the second-nearest distance; return the three."""
    second_dist = min(second_dist, max(best_dist, t))
    best = np.int32(j) if t < best_dist else best
    best_dist = min(best_dist, t)
    return best, best_dist, second_dist


@numba.njit(parallel=True, cache=True)
def assign_simd(X, sample_weight, centers, shift, coefs, offsets, centers_sq_max, scale, mean, labels,
                mode, group_sums, group_weights, group_sq, group_counts, group_changed, group_exact):
    """Label every sample with its nearest centre, in float32 lanes with exact close calls.

    Distances are compared through ``t_j = |b_j|^2 - 2 a.b_j``, which differs from
    ``|a - b_j|^2`` by ``|a|^2``, the same for every centre, with ``a = x - shift`` and
    ``b_j = c_j - shift`` rounded to float32. ``coefs`` holds ``-2 b_j`` and ``offsets``
    ``|b_j|^2``, both padded to a multiple of 4 features (zeros) and an even number of
    centres (an infinite offset). A sample whose nearest and second-nearest ``t`` differ by
    at most ``scale (|a|^2 + centers_sq_max) + UNDERFLOW_SLACK`` (``scale`` from
    `close_call_scale`, ``centers_sq_max`` the largest ``|b_j|^2``) is labelled by
    `_nearest_exact` instead.

    The group buffers are filled as in `hamerly.assign_hamerly` for ``mode``: whole sums in
    modes `hamerly.FIRST` and `hamerly.FULL_SUMS`, only the changes of moved samples in mode
    `hamerly.DELTAS`. ``group_exact`` receives the number of close calls per group.
    """
    # No fastmath flags here, not even 'contract': numba compiles the functions this kernel
    # calls with its flags and caches them that way, and a fused multiply-add in
    # `_nearest_exact` broke a tie differently from `lloyd.assign_dense`.
    # X (n_samples, n_features) C-contiguous IN | sample_weight (n_samples,) IN
    # centers (n_clusters, n_features) IN | shift (n_features,) dtype of X IN
    # coefs (n_padded_clusters, n_padded_features) float32 IN | offsets (n_padded_clusters,) float32 IN
    # mean (n_features,) float64 IN | labels (n_samples,) int32 INOUT
    # group_sums (n_groups, n_clusters, n_features), group_weights, group_sq (n_groups, n_clusters)
    # float64 OUT | group_counts (n_groups, n_clusters) int64 OUT
    # group_changed, group_exact (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_padded_clusters, n_padded_features = coefs.shape
    n_groups = group_changed.shape[0]
    flat = X.reshape(-1)
    threshold_sq = np.float32(centers_sq_max)
    threshold_scale = np.float32(scale)
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        group_sums[g, :, :] = 0.0
        group_weights[g, :] = 0.0
        group_sq[g, :] = 0.0
        group_counts[g, :] = 0
        changed = 0
        exact = 0
        # Rows past n_features stay zero, matching the zero coefficients of the padding.
        rows = np.zeros((n_padded_features, BLOCK), dtype=np.float32)
        rows_sq = np.empty(BLOCK, dtype=np.float32)
        partial_a = np.empty(BLOCK, dtype=np.float32)
        partial_b = np.empty(BLOCK, dtype=np.float32)
        best_dist = np.empty(BLOCK, dtype=np.float32)
        second_dist = np.empty(BLOCK, dtype=np.float32)
        best = np.empty(BLOCK, dtype=np.int32)
        flagged = np.zeros(BLOCK, dtype=np.uint8)
        flag_words = flagged.view(np.uint64)
        for block_start in range(start, stop, BLOCK):
            n = min(BLOCK, stop - block_start)
            if n_features == 1:
                _load_rows(X, flat, block_start, n, 1, shift, rows, rows_sq)
            elif n_features == 2:
                _load_rows(X, flat, block_start, n, 2, shift, rows, rows_sq)
            elif n_features == 3:
                _load_rows(X, flat, block_start, n, 3, shift, rows, rows_sq)
            elif n_features == 4:
                _load_rows(X, flat, block_start, n, 4, shift, rows, rows_sq)
            else:
                _load_rows(X, flat, block_start, n, n_features, shift, rows, rows_sq)
            for p in range(n):
                best[p] = 0
                best_dist[p] = np.inf
                second_dist[p] = np.inf
            last = n_padded_features - 4
            for j in range(0, n_padded_clusters, 2):
                # Features before the last four are summed into the partial buffers first.
                if last > 0:
                    for p in range(n):
                        partial_a[p] = offsets[j]
                        partial_b[p] = offsets[j + 1]
                for f in range(0, last, 4):
                    a0, a1, a2, a3 = coefs[j, f], coefs[j, f + 1], coefs[j, f + 2], coefs[j, f + 3]
                    b0, b1, b2, b3 = coefs[j + 1, f], coefs[j + 1, f + 1], coefs[j + 1, f + 2], coefs[j + 1, f + 3]
                    for p in range(n):
                        r0, r1, r2, r3 = rows[f, p], rows[f + 1, p], rows[f + 2, p], rows[f + 3, p]
                        partial_a[p] = partial_a[p] + r0 * a0 + r1 * a1 + r2 * a2 + r3 * a3
                        partial_b[p] = partial_b[p] + r0 * b0 + r1 * b1 + r2 * b2 + r3 * b3
                a0, a1, a2, a3 = coefs[j, last], coefs[j, last + 1], coefs[j, last + 2], coefs[j, last + 3]
                b0, b1, b2, b3 = (coefs[j + 1, last], coefs[j + 1, last + 1], coefs[j + 1, last + 2],
                                  coefs[j + 1, last + 3])
                from_partial = last > 0
                offset_a, offset_b = offsets[j], offsets[j + 1]
                for p in range(n):
                    r0, r1, r2, r3 = rows[last, p], rows[last + 1, p], rows[last + 2, p], rows[last + 3, p]
                    ta = (partial_a[p] if from_partial else offset_a) + r0 * a0 + r1 * a1 + r2 * a2 + r3 * a3
                    tb = (partial_b[p] if from_partial else offset_b) + r0 * b0 + r1 * b1 + r2 * b2 + r3 * b3
                    near, near_dist, second = _keep_nearest(ta, j, best[p], best_dist[p], second_dist[p])
                    best[p], best_dist[p], second_dist[p] = _keep_nearest(tb, j + 1, near, near_dist, second)
            # Flag close calls and moved samples over the whole block; most blocks have none.
            # Flags: 2 for a close call, 1 for a sample that changes cluster, 0 for neither.
            block_labels = labels[block_start:block_start + n]
            any_flagged = np.uint8(0)
            for p in range(n):
                threshold = threshold_scale * (rows_sq[p] + threshold_sq) + np.float32(UNDERFLOW_SLACK)
                gap = second_dist[p] - best_dist[p]
                # Written so that a NaN gap counts as a close call.
                flag = np.uint8(2) if not gap > threshold else np.uint8(best[p] != block_labels[p])
                flagged[p] = flag
                any_flagged |= flag
            if any_flagged:
                flagged[n:] = 0
                # Skip eight unflagged samples at a time.
                for word in range(-(-n // 8)):
                    if flag_words[word] == 0:
                        continue
                    for p in range(8 * word, 8 * word + 8):
                        if flagged[p] == 0:
                            continue
                        i = block_start + p
                        label = best[p]
                        if flagged[p] == 2:
                            label = _nearest_exact(X, i, centers)
                            exact += 1
                        old = labels[i]
                        if label != old:
                            changed += 1
                            labels[i] = label
                            if mode == DELTAS:
                                weight = sample_weight[i]
                                norm = _centered_sq(X, i, mean)
                                _add_sample(X, i, weight, norm, label, 1, g, group_sums, group_weights,
                                            group_sq, group_counts)
                                _add_sample(X, i, weight, norm, old, -1, g, group_sums, group_weights,
                                            group_sq, group_counts)
            if mode != DELTAS:
                for i in range(block_start, block_start + n):
                    _add_sample(X, i, sample_weight[i], _centered_sq(X, i, mean), labels[i], 1, g,
                                group_sums, group_weights, group_sq, group_counts)
        group_changed[g] = changed
        group_exact[g] = exact


def padded_centers(centers, shift):
    """Return ``(coefs, offsets, centers_sq_max)`` of `assign_simd` for ``centers``.

    ``b_j = c_j - shift`` is rounded to float32; ``coefs`` holds ``-2 b_j`` and ``offsets``
    ``|b_j|^2`` (summed in float64, then rounded), padded to a multiple of 4 features and an
    even number of centres.
    """
    n_clusters, n_features = centers.shape
    shifted = (centers.astype(np.float64) - shift.astype(np.float64)).astype(np.float32)
    coefs = np.zeros((n_clusters + n_clusters % 2, -(-n_features // 4) * 4), dtype=np.float32)
    coefs[:n_clusters, :n_features] = -2.0 * shifted
    squares = (shifted.astype(np.float64) ** 2).sum(axis=1)
    offsets = np.full(coefs.shape[0], np.inf, dtype=np.float32)
    offsets[:n_clusters] = squares
    return coefs, offsets, float(np.float32(squares.max()))


@numba.njit(parallel=True, cache=True)
def max_abs(X, n_groups):
    """Return the largest absolute value in X (float64)."""
    n_samples, n_features = X.shape
    partial = np.zeros(n_groups)
    for g in numba.prange(n_groups):
        largest = 0.0
        for i in range(g * n_samples // n_groups, (g + 1) * n_samples // n_groups):
            for f in range(n_features):
                largest = max(largest, abs(np.float64(X[i, f])))
        partial[g] = largest
    return partial.max()
