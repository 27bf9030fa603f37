"""Lloyd's assignment for high dimension: a BLAS matrix product per chunk of samples.

Distances come from ``|x - m|^2 - 2 x.(c - m) + |c|^2 - |m|^2`` where ``m`` is the column
mean: one matrix product of a chunk of X's rows against the centred centres, then the argmin
while the chunk is still in cache, then the chunk's weighted sums from the same cached rows.
So each iteration reads X once, as a Lloyd step must, and never copies it.

Centring the centres keeps the product's terms as small as the spread of the centres.
For data far from the origin (where ``|x|`` dwarfs the spread) the products of raw rows
would lose the differences between centres to rounding, so there the kernel first copies
each chunk minus the mean into a fixed-size buffer.

The product rounds in X's dtype, so when the two nearest centres are closer than the
rounding could explain, the sample's distances are recomputed from differences in float64
exactly as `lloyd.assign_dense` does. Sums and weights are accumulated in the same order as
there, so equal labels give bit-identical centres.
"""

import numba
import numpy as np

# Bytes of X per matrix product. Chunks this small stay in the L2 cache between the product
# and the sums; at 70,000 x 784 float32, k = 10, chunks of 32 or 64 rows (100 or 200 KB)
# took 16 ms per iteration on 2 cores and 128 rows took 25 ms.
CHUNK_BYTES = 200_000

# Rows are copied minus the mean when the mean's squared norm exceeds this many times the
# total variance: then ``|x|`` is several times the typical distance between samples.
CENTER_COPY_RATIO = 4.0


def recheck_tolerance(dtype, n_features):
    """Return the relative gap between the two nearest squared distances below which a
    sample's distances are recomputed exactly."""
    # The product's rounding error grows like sqrt(n_features) * eps for random signs.
    # NOTE: this is the typical error, not the worst-case bound of n_features * eps, so a
    # near-tie between the two could, very rarely, give a label other than Lloyd's.
    return 16.0 * np.sqrt(n_features) * np.finfo(dtype).eps


def chunk_rows_for(n_features, itemsize):
    """Return the number of rows per matrix product for rows of this size."""
    return int(np.clip(CHUNK_BYTES // (n_features * itemsize), 8, 4096))


def copies_chunks(mean, var):
    """Return whether the kernel should centre each chunk of rows before its product."""
    return float(mean @ mean) > CENTER_COPY_RATIO * float(var.sum())


@numba.njit(parallel=True, cache=True)
def assign_gemm(X, sample_weight, centers, mean, centered_sq, first, copy_chunks, chunk_rows, labels,
                tolerance, group_sums, group_weights, group_inertia, group_changed):
    """Label every sample by chunked matrix products; accumulate per-group sums as Lloyd does.

    ``group_inertia`` receives the inertia estimated from the product (exact for the
    re-checked samples). That is enough for progress reports, and the final inertia is
    computed exactly by the caller.
    """
    # X (n_samples, n_features) IN | sample_weight (n_samples,) IN
    # centers (n_clusters, n_features) IN | mean (n_features,) float64 IN
    # centered_sq (n_samples,) float64 INOUT: |x - m|^2, written when ``first`` is True
    # copy_chunks bool IN: centre each chunk into a buffer (see `copies_chunks`)
    # chunk_rows int IN: rows per matrix product (see `chunk_rows_for`)
    # labels (n_samples,) int32 INOUT
    # group_sums (n_groups, n_clusters, n_features), group_weights (n_groups, n_clusters) OUT
    # group_inertia (n_groups,) float64 OUT | group_changed (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_groups = group_changed.shape[0]

    # offset[j] turns -2 x.(c_j - m) into |c_j|^2 - |m|^2 - 2 x.(c_j - m), the distance
    # minus |x - m|^2. With copied chunks the product is (x - m).(c_j - m) instead and the
    # offset is |c_j - m|^2.
    centered_t = np.empty((n_features, n_clusters), dtype=X.dtype)
    offset = np.zeros(n_clusters)
    largest_sq = 0.0
    mean_sq = 0.0
    for f in range(n_features):
        mean_sq += mean[f] * mean[f]
    for j in range(n_clusters):
        spread_sq = 0.0
        cross = 0.0
        for f in range(n_features):
            value = np.float64(centers[j, f]) - mean[f]
            centered_t[f, j] = value
            spread_sq += value * value
            cross += mean[f] * value
        offset[j] = spread_sq if copy_chunks else spread_sq + 2.0 * cross
        largest_sq = max(largest_sq, spread_sq)

    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        group_sums[g, :, :] = 0.0
        group_weights[g, :] = 0.0
        chunk = np.empty((chunk_rows if copy_chunks else 0, n_features), dtype=X.dtype)
        product = np.empty((chunk_rows, n_clusters), dtype=X.dtype)
        changed = 0
        total = 0.0
        for chunk_start in range(start, stop, chunk_rows):
            size = min(chunk_rows, stop - chunk_start)
            rows = product[:size]
            if copy_chunks:
                for r in range(size):
                    for f in range(n_features):
                        chunk[r, f] = np.float64(X[chunk_start + r, f]) - mean[f]
                np.dot(chunk[:size], centered_t, rows)
            else:
                np.dot(X[chunk_start:chunk_start + size], centered_t, rows)

            if first:
                for i in range(chunk_start, chunk_start + size):
                    norm = 0.0
                    for f in range(n_features):
                        deviation = np.float64(X[i, f]) - mean[f]
                        norm += deviation * deviation
                    centered_sq[i] = norm

            for r in range(size):
                i = chunk_start + r
                best = 0
                best_dist = np.inf
                second_dist = np.inf
                for j in range(n_clusters):
                    dist = offset[j] - 2.0 * np.float64(rows[r, j])
                    if dist < best_dist:
                        second_dist = best_dist
                        best_dist = dist
                        best = j
                    elif dist < second_dist:
                        second_dist = dist
                # |x|^2 <= 2 |x - m|^2 + 2 |m|^2 bounds the raw rows' part of the rounding.
                scale = largest_sq + (centered_sq[i] if copy_chunks else 2.0 * (centered_sq[i] + mean_sq))
                best_dist += centered_sq[i]
                if second_dist + centered_sq[i] - best_dist <= tolerance * scale:
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
                if best != labels[i]:
                    changed += 1
                    labels[i] = best
                weight = sample_weight[i]
                total += weight * max(best_dist, 0.0)
                group_weights[g, best] += weight
                for f in range(n_features):
                    group_sums[g, best, f] += weight * X[i, f]
        group_changed[g] = changed
        group_inertia[g] = total
