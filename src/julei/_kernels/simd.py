"""Lloyd's assignment in float32 SIMD lanes, with a float64 check of close calls.

For few features and few clusters a full Lloyd pass costs little arithmetic per sample, and
bounds (Hamerly's) cost as much memory traffic as the distances they skip. This kernel
computes every distance instead, in float32 and over many samples at once. Each block of
samples is transposed into a small float32 buffer, one feature per row. The distances to
each centre are then formed over the block's samples in SIMD lanes.

float32 distances can order two centres differently from the float64 distances of
`lloyd.assign_dense`. `error_factor` bounds the float32 error of each distance, per centre.
Where the nearest float32 distance is not below every other by more than both errors, the
sample's distances are recomputed exactly as `lloyd.assign_dense` computes them. The labels
therefore equal Lloyd's from the same centres.

The centre sums are kept as `hamerly.assign_hamerly` keeps them: whole in the first step,
and afterwards changed only by the samples that move, so the centres equal Lloyd's up to the
rounding of float64 additions.
"""

import numba
import numpy as np

from julei._kernels._common import trailing_zeros
from julei._kernels.hamerly import DELTAS, _add_samples, _clear_group, _relabel

# Samples transposed and scanned together: a (n_features, BLOCK) float32 buffer stays in L1.
BLOCK = 256

# Unit roundoff of float32.
_UNIT = 2.0**-24

# Largest squared norm of a shifted sample or centre that the float32 lanes accept. Below
# it every term of a float32 distance stays under 3e30, far from float32's overflow at 3e38.
# A sample above it is a close call. Centres above it make every sample a close call,
# because the driver then passes an infinite scale.
MAX_SQ = 1e30

# Widest data the kernel takes: with at most 64 features the terms above cannot add up to
# an overflow.
MAX_FEATURES = 64


def error_factor(n_features):
    """Return ``h`` such that each float32 distance of `assign_simd` is within
    ``h (|a|^2 + |b|^2)`` of the exact one, with ``a = x - shift`` and ``b = c - shift``.

    Rounding x and c to float32 after the shift moves the distance by at most
    ``4 u (|a|^2 + |b|^2)``, with u the unit roundoff. Forming ``|b|^2 - 2 a.b`` over ``d``
    (padded) features adds at most ``2 (d + 1) u (|a|^2 + |b|^2)``, and the three
    subtractions of the close-call test at most ``6 u`` more. The factor has 25 % to spare
    over that sum, ``2 (d + 6) u``, for second-order terms and for the float64 rounding of
    Lloyd's own distances.
    """
    padded = -(-n_features // 4) * 4
    return 1.25 * 2 * (padded + 6) * _UNIT


# Added to every close-call threshold. A float32 result below 2**-126 is rounded in absolute
# terms, by at most 2**-150 per operation, so the relative bound alone would not cover data
# that small. Each distance and test take at most 2 * MAX_FEATURES + 8 operations, and the
# slack covers two of them four times over.
UNDERFLOW_SLACK = 8 * (2 * MAX_FEATURES + 8) * 2.0**-150


@numba.njit(cache=True)
def _nearest_exact(X, i, centers):
    """Return the nearest centre of sample i, with the numbers and tie rule of
    `lloyd.assign_dense`."""
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
def _load_rows(flat, start, n, shift, rows, rows_sq):
    """Copy samples ``start .. start + n`` of the flat X, less ``shift``, into
    ``rows[:n_features, :n]`` as float32, one feature per row, and their squared norms into
    ``rows_sq``.

    For the common widths ``shift`` is a tuple. Its length is then a constant, so the reads
    of the flat X have a constant stride, and its entries stay in registers. The indices are
    unsigned, which spares numba's test for negative ones. With both, the copy runs in SIMD
    lanes: 0.12 ms for 1,000,000 x 4 against 0.6 ms with an array ``shift`` and signed
    indices. Other widths (an array ``shift``) are copied one feature at a time: 0.4 ms for
    16 MB of X with 8 or 16 features, against 0.55 ms sample by sample.
    """
    n_features = len(shift)
    width = np.uint64(n_features)
    base = np.uint64(start) * width
    if isinstance(shift, tuple):
        for p in range(np.uint64(n)):
            total = np.float32(0.0)
            for f in range(n_features):
                value = np.float32(flat[base + p * width + np.uint64(f)] - shift[f])
                rows[f, p] = value
                total += value * value
            rows_sq[p] = total
    else:
        for f in range(n_features):
            offset = shift[f]
            first = base + np.uint64(f)
            for p in range(np.uint64(n)):
                rows[f, p] = np.float32(flat[first + p * width] - offset)
        rows_sq[:n] = 0.0
        for f in range(n_features):
            for p in range(n):
                rows_sq[p] += rows[f, p] * rows[f, p]


@numba.njit(inline="always")
def _keep_nearest(t, low, j, best, best_t, best_low, other_low):
    """Fold centre j into a sample's state and return the new state.

    ``t`` is the centre's float32 distance and ``low`` that distance less the centre's own
    part of the error bound. The state is the nearest centre, its distance and lowered
    distance, and the smallest lowered distance among all other centres.
    """
    better = t < best_t
    other_low = min(other_low, best_low) if better else min(other_low, low)
    best = np.int32(j) if better else best
    best_low = low if better else best_low
    best_t = t if better else best_t
    return best, best_t, best_low, other_low


@numba.njit(parallel=True, cache=True)
def assign_simd(X, sample_weight, centers, shift, coefs, offsets, penalties, sample_scale, mean, labels,
                mode, group_sums, group_weights, group_sq, group_counts, group_changed, group_exact):
    """Label every sample with its nearest centre, in float32 lanes with exact close calls.

    Distances are compared through ``t_j = |b_j|^2 - 2 a.b_j``, which differs from
    ``|a - b_j|^2`` by ``|a|^2``, the same for every centre, with ``a = x - shift`` and
    ``b_j = c_j - shift`` rounded to float32. ``coefs`` contains ``-2 b_j`` and ``offsets``
    ``|b_j|^2``, both padded to a multiple of 4 features (zeros) and an even number of
    centres (an infinite offset). ``penalties`` contains each centre's part of the error
    bound, ``h |b_j|^2`` (``h`` from `error_factor`), and ``sample_scale`` is ``2 h``.

    The nearest centre in float32 is certainly Lloyd's when its distance, raised by its
    error ``h (|a|^2 + |b|^2)``, is below every other distance lowered by its own error. A
    sample for which that fails by the float32 numbers, or whose ``|a|^2`` exceeds `MAX_SQ`
    (infinity included), is labelled by `_nearest_exact` instead. An infinite
    ``sample_scale`` sends every sample there.

    The group buffers are filled as in `hamerly.assign_hamerly` for ``mode``: whole sums in
    modes `hamerly.FIRST` and `hamerly.FULL_SUMS`, only the changes of moved samples in mode
    `hamerly.DELTAS`. ``group_exact`` receives the number of close calls per group.
    """
    # No fastmath flags here, not even 'contract'. numba compiles the functions this kernel
    # calls with its flags and caches them that way, and a fused multiply-add in
    # `_nearest_exact` then broke a tie differently from `lloyd.assign_dense`.
    # X (n_samples, n_features) C-contiguous, finite IN
    # sample_weight (n_samples,) or (1,) for equal weights IN
    # centers (n_clusters, n_features) IN | shift (n_features,) dtype of X IN
    # coefs (n_padded_clusters, n_padded_features) float32 IN
    # offsets, penalties (n_padded_clusters,) float32 IN
    # mean (n_features,) float64 IN | labels (n_samples,) int32 INOUT
    # group_sums (n_groups, n_clusters, n_features), group_weights, group_sq (n_groups, n_clusters)
    # float64 OUT | group_counts (n_groups, n_clusters) int64 OUT
    # group_changed, group_exact (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_padded_clusters, n_padded_features = coefs.shape
    n_groups = group_changed.shape[0]
    flat = X.reshape(-1)
    scale = np.float32(sample_scale)
    slack = np.float32(UNDERFLOW_SLACK)
    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        _clear_group(g, group_sums, group_weights, group_sq, group_counts)
        changed = 0
        exact = 0
        # Rows past n_features stay zero, matching the zero coefficients of the padding.
        rows = np.zeros((n_padded_features, BLOCK), dtype=np.float32)
        rows_sq = np.empty(BLOCK, dtype=np.float32)
        partial_a = np.empty(BLOCK, dtype=np.float32)
        partial_b = np.empty(BLOCK, dtype=np.float32)
        best_t = np.empty(BLOCK, dtype=np.float32)
        best_low = np.empty(BLOCK, dtype=np.float32)
        other_low = np.empty(BLOCK, dtype=np.float32)
        best = np.empty(BLOCK, dtype=np.int32)
        flagged = np.zeros(BLOCK, dtype=np.uint8)
        flag_words = flagged.view(np.uint64)
        for block_start in range(start, stop, BLOCK):
            n = min(BLOCK, stop - block_start)
            if n_features == 1:
                _load_rows(flat, block_start, n, (shift[0],), rows, rows_sq)
            elif n_features == 2:
                _load_rows(flat, block_start, n, (shift[0], shift[1]), rows, rows_sq)
            elif n_features == 3:
                _load_rows(flat, block_start, n, (shift[0], shift[1], shift[2]), rows, rows_sq)
            elif n_features == 4:
                _load_rows(flat, block_start, n, (shift[0], shift[1], shift[2], shift[3]), rows, rows_sq)
            else:
                _load_rows(flat, block_start, n, shift, rows, rows_sq)
            for p in range(n):
                best[p] = 0
                best_t[p] = np.inf
                best_low[p] = np.inf
                other_low[p] = np.inf
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
                penalty_a, penalty_b = penalties[j], penalties[j + 1]
                for p in range(n):
                    r0, r1, r2, r3 = rows[last, p], rows[last + 1, p], rows[last + 2, p], rows[last + 3, p]
                    ta = (partial_a[p] if from_partial else offset_a) + r0 * a0 + r1 * a1 + r2 * a2 + r3 * a3
                    tb = (partial_b[p] if from_partial else offset_b) + r0 * b0 + r1 * b1 + r2 * b2 + r3 * b3
                    near, near_t, near_low, other = _keep_nearest(
                        ta, ta - penalty_a, j, best[p], best_t[p], best_low[p], other_low[p]
                    )
                    best[p], best_t[p], best_low[p], other_low[p] = _keep_nearest(
                        tb, tb - penalty_b, j + 1, near, near_t, near_low, other
                    )
            # Flags: 2 for a close call, 1 for a sample that changes cluster, 0 for neither.
            block_labels = labels[block_start:block_start + n]
            any_flagged = np.uint8(0)
            for p in range(n):
                # Both errors: 2 h |a|^2, plus h |b|^2 of the nearest centre (its distance
                # less its lowered distance). The other centre's h |b|^2 is in other_low.
                threshold = scale * rows_sq[p] + (best_t[p] - best_low[p]) + slack
                gap = other_low[p] - best_t[p]
                # Written so that a NaN gap counts as a close call.
                close = not gap > threshold or rows_sq[p] > MAX_SQ
                flag = np.uint8(2) if close else np.uint8(best[p] != block_labels[p])
                flagged[p] = flag
                any_flagged |= flag
            if any_flagged:
                flagged[n:] = 0
                # Skip eight unflagged samples at a time, and go straight to each flagged one
                # in a word of eight: a branch per sample mispredicted often enough that a
                # changed label cost 21 ns against 9 ns this way (1,000,000 x 4, k = 6).
                # numba's installation guide lists only little-endian platforms, so sample
                # 8 word + b is byte b of the word.
                for word in range(-(-n // 8)):
                    bits = flag_words[word]
                    while bits != 0:
                        byte = trailing_zeros(bits) >> np.uint64(3)
                        bits &= ~(np.uint64(0xFF) << (byte << np.uint64(3)))
                        p = 8 * word + np.int64(byte)
                        i = block_start + p
                        label = best[p]
                        if flagged[p] == 2:
                            label = _nearest_exact(X, i, centers)
                            exact += 1
                        changed += _relabel(X, i, label, labels, sample_weight, mean, mode, g, group_sums,
                                            group_weights, group_sq, group_counts)
            if mode != DELTAS:
                _add_samples(X, sample_weight, mean, labels, block_start, block_start + n, g, group_sums,
                             group_weights, group_sq, group_counts)
        group_changed[g] = changed
        group_exact[g] = exact


def padded_centers(centers, shift, factor):
    """Return ``(coefs, offsets, penalties, centers_sq_max)`` of `assign_simd` for ``centers``.

    ``b_j = c_j - shift`` is rounded to float32. ``coefs`` contains ``-2 b_j``, ``offsets``
    ``|b_j|^2`` (summed in float64, then rounded) and ``penalties`` ``factor |b_j|^2``, padded
    to a multiple of 4 features and an even number of centres. ``centers_sq_max`` is the
    largest ``|b_j|^2``.
    """
    n_clusters, n_features = centers.shape
    # Centres beyond float32's range become infinite here, so the driver checks every
    # sample in float64.
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = (centers.astype(np.float64) - shift.astype(np.float64)).astype(np.float32)
        coefs = np.zeros((n_clusters + n_clusters % 2, -(-n_features // 4) * 4), dtype=np.float32)
        coefs[:n_clusters, :n_features] = -2.0 * shifted
        squares = (shifted.astype(np.float64) ** 2).sum(axis=1)
        offsets = np.full(coefs.shape[0], np.inf, dtype=np.float32)
        offsets[:n_clusters] = squares
        penalties = np.zeros(coefs.shape[0], dtype=np.float32)
        penalties[:n_clusters] = factor * squares
        return coefs, offsets, penalties, float(squares.max())
