"""Lloyd's assignment for high dimension: a BLAS matrix product per chunk of samples.

For each chunk of samples the kernel centres the chunk (subtracts the column means) into a
fixed-size buffer, computes ``|x|^2 - 2 x.c + |c|^2`` with one matrix product against the
centred centres, and takes the argmin while the chunk is still in cache. Centring keeps the
cancellation in that formula small for data far from the origin, and doing it per chunk
never copies X.

The product rounds in X's dtype, so when the two nearest centres are closer than the
rounding could explain, the sample's distances are recomputed from differences in float64
exactly as `lloyd.assign_dense` does. Sums and weights are accumulated in the same order as
there, so equal labels give bit-identical centres.
"""

import numba
import numpy as np

# Samples per chunk: 256 rows of 784 float32 features (0.8 MB) stay in a 2 MB L2 cache
# together with the (256, n_clusters) product.
CHUNK = 256


def recheck_tolerance(dtype, n_features):
    """Return the relative gap between the two nearest squared distances below which a
    sample's distances are recomputed exactly."""
    # The product's rounding error grows like sqrt(n_features) * eps for random signs.
    # NOTE: this is the typical error, not the worst-case bound of n_features * eps, so a
    # near-tie between the two could, very rarely, give a label other than Lloyd's.
    return 16.0 * np.sqrt(n_features) * np.finfo(dtype).eps


@numba.njit(parallel=True, cache=True)
def assign_gemm(X, sample_weight, centers, mean, labels, tolerance, group_sums, group_weights,
                group_inertia, group_changed):
    """Label every sample by chunked matrix products; accumulate per-group sums as Lloyd does.

    ``group_inertia`` receives the inertia estimated from the product (exact for the
    re-checked samples). That is enough for progress reports, and the final inertia is
    computed exactly by the caller.
    """
    # X (n_samples, n_features) IN | sample_weight (n_samples,) IN
    # centers (n_clusters, n_features) IN | mean (n_features,) float64 IN
    # labels (n_samples,) int32 INOUT
    # group_sums (n_groups, n_clusters, n_features), group_weights (n_groups, n_clusters) OUT
    # group_inertia (n_groups,) float64 OUT | group_changed (n_groups,) int64 OUT
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    n_groups = group_changed.shape[0]

    centered_t = np.empty((n_features, n_clusters), dtype=X.dtype)
    centers_sq = np.zeros(n_clusters)
    largest_sq = 0.0
    for j in range(n_clusters):
        for f in range(n_features):
            centered_t[f, j] = np.float64(centers[j, f]) - mean[f]
            value = np.float64(centered_t[f, j])
            centers_sq[j] += value * value
        largest_sq = max(largest_sq, centers_sq[j])

    for g in numba.prange(n_groups):
        start = g * n_samples // n_groups
        stop = (g + 1) * n_samples // n_groups
        group_sums[g, :, :] = 0.0
        group_weights[g, :] = 0.0
        chunk = np.empty((CHUNK, n_features), dtype=X.dtype)
        product = np.empty((CHUNK, n_clusters), dtype=X.dtype)
        changed = 0
        total = 0.0
        for chunk_start in range(start, stop, CHUNK):
            size = min(CHUNK, stop - chunk_start)
            for r in range(size):
                for f in range(n_features):
                    chunk[r, f] = np.float64(X[chunk_start + r, f]) - mean[f]
            # The rows past ``size`` of the last chunk hold stale values; their products
            # are computed and ignored, which keeps every product the same shape.
            np.dot(chunk, centered_t, product)

            for r in range(size):
                i = chunk_start + r
                x_sq = 0.0
                for f in range(n_features):
                    x_sq += np.float64(chunk[r, f]) * chunk[r, f]
                best = 0
                best_dist = np.inf
                second_dist = np.inf
                for j in range(n_clusters):
                    dist = centers_sq[j] - 2.0 * np.float64(product[r, j])
                    if dist < best_dist:
                        second_dist = best_dist
                        best_dist = dist
                        best = j
                    elif dist < second_dist:
                        second_dist = dist
                best_dist += x_sq
                if second_dist + x_sq - best_dist <= tolerance * (x_sq + largest_sq):
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
