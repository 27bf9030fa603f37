"""Merging duplicate samples into weighted unique samples (photo colours, rounded data).

K-means on the unique rows, each weighted by the summed weight of its copies, gives the same
centres, labels and inertia as on the full data, up to floating-point rounding of the sums.
Merging costs one pass over X, after which each iteration reads only the unique rows.
"""

import numba
import numpy as np

# After this many rows the merge gives up when more than this share of them were distinct.
EARLY_CHECK_ROWS = 1 << 16
EARLY_UNIQUE_SHARE = 0.9

_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT = np.uint64(33)


@numba.njit(inline="always")
def _mix(h):
    # The 64-bit finaliser of MurmurHash3: every input bit changes every output bit. The
    # bits of floats that hold small integers are zero in their low 30 to 50 places, so a
    # hash without this step fills only a few slots of the table, and probing turns
    # quadratic.
    h ^= h >> _SHIFT
    h *= _MIX_1
    h ^= h >> _SHIFT
    h *= _MIX_2
    h ^= h >> _SHIFT
    return h


@numba.njit(inline="always")
def _row_hash(bits, i):
    h = np.uint64(0)
    for f in range(bits.shape[1]):
        h = _mix(h ^ np.uint64(bits[i, f]))
    return h


@numba.njit(cache=True)
def merge_duplicates(bits, X, sample_weight, max_unique, inverse):
    """Collect the distinct rows of X with their summed weights, in order of first appearance.

    ``bits`` is X viewed as unsigned integers of the same width, so rows are compared and
    hashed bit for bit (a -0.0 and a 0.0 row stay apart, which is harmless). Writes each
    sample's unique row into ``inverse`` and returns ``(n_unique, unique, weights)``. It gives
    up with ``n_unique = -1`` as soon as more than ``max_unique`` distinct rows are found, which
    bounds the memory used, or when more than 90 % of the first ``EARLY_CHECK_ROWS`` rows are
    distinct.
    """
    # bits, X (n_samples, n_features) IN | sample_weight (n_samples,) IN
    # inverse (n_samples,) int32 OUT
    n_samples, n_features = X.shape
    table_size = 1
    while table_size < 2 * max_unique:
        table_size *= 2
    mask = np.uint64(table_size - 1)
    table = np.full(table_size, -1, dtype=np.int32)
    unique = np.empty((max_unique, n_features), dtype=X.dtype)
    weights = np.zeros(max_unique)
    first_row = np.empty(max_unique, dtype=np.int64)
    n_unique = 0
    for i in range(n_samples):
        # Data with almost no duplicates (continuous measurements) shows it early: stop
        # after a first block rather than hashing up to ``max_unique`` rows for nothing.
        if i == EARLY_CHECK_ROWS and n_unique > EARLY_UNIQUE_SHARE * EARLY_CHECK_ROWS:
            return -1, unique, weights
        slot = _row_hash(bits, i) & mask
        while True:
            u = table[slot]
            if u < 0:
                if n_unique == max_unique:
                    return -1, unique, weights
                table[slot] = n_unique
                first_row[n_unique] = i
                for f in range(n_features):
                    unique[n_unique, f] = X[i, f]
                weights[n_unique] = sample_weight[i]
                inverse[i] = n_unique
                n_unique += 1
                break
            row = first_row[u]
            same = True
            for f in range(n_features):
                if bits[row, f] != bits[i, f]:
                    same = False
                    break
            if same:
                weights[u] += sample_weight[i]
                inverse[i] = u
                break
            slot = (slot + np.uint64(1)) & mask
    return n_unique, unique, weights
