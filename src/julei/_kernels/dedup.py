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
_TAG_MASK = np.int64(-1) << 32
_INDEX_MASK = np.int64(0xFFFFFFFF)


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
    # Each feature gets its own odd multiplier, so the products do not wait on each other,
    # and one finaliser at the end mixes them all.
    h = np.uint64(bits.shape[1])
    multiplier = _MIX_2
    for f in range(bits.shape[1]):
        h ^= (np.uint64(bits[i, f]) + np.uint64(f)) * multiplier
        multiplier = multiplier * _MIX_1 + np.uint64(2)
    return _mix(h)


# Rows are split by the top bits of their hash into this many parts, merged in parallel.
# The number is fixed, not taken from the thread count, so the unique rows come out in the
# same order on any machine.
N_PARTS = 2
_PART_SHIFT = np.uint64(63)
# Rows hashed together before any of them is looked up.
_BATCH = 16
# Bit of ``inverse`` where a sample's part is stored until the parts are joined.
_PART_BIT = 28


@numba.njit(parallel=True, cache=True)
def merge_duplicates(bits, X, sample_weight, max_unique, inverse):
    """Collect the distinct rows of X with their summed weights.

    ``bits`` is X viewed as unsigned integers of the same width, so rows are compared and
    hashed bit for bit (a -0.0 and a 0.0 row stay apart, which is harmless). Rows are split
    into `N_PARTS` parts by their hash, and each part is merged by one thread. The unique
    rows are listed part by part, each part in order of first appearance. Each unique row's
    weight is summed in sample order. Writes each sample's unique row into ``inverse`` and
    returns ``(n_unique, unique, weights)``. It gives up with ``n_unique = -1`` when a part
    finds more than its share of ``max_unique`` distinct rows, which bounds the memory used,
    or when more than 90 % of a part's rows among the first ``EARLY_CHECK_ROWS`` samples are
    distinct.
    """
    # bits, X (n_samples, n_features) IN | sample_weight (n_samples,) IN
    # inverse (n_samples,) int32 OUT
    n_samples, n_features = X.shape
    part_max = max(1, max_unique // N_PARTS)
    table_size = 1
    while table_size < 2 * part_max:
        table_size *= 2
    mask = np.uint64(table_size - 1)
    # Each slot contains the row's index in the low 32 bits and the top 32 bits of its hash
    # above them, so a probe of another row's slot rarely needs to read that row. A tag can
    # set the sign bit, so an empty slot is -1 exactly, which no index below 2**31 makes.
    tables = np.full((N_PARTS, table_size), -1, dtype=np.int64)
    # Part p fills rows p * part_max onwards; the parts are moved together at the end.
    unique = np.empty((N_PARTS * part_max, n_features), dtype=X.dtype)
    unique_bits = unique.view(bits.dtype)
    weights = np.zeros(N_PARTS * part_max)
    counts = np.zeros(N_PARTS, dtype=np.int64)
    gave_up = np.zeros(N_PARTS, dtype=np.bool_)
    # Each part's loads of the table for a batch of rows, issued before the batch is
    # handled, so that their cache misses overlap instead of coming one after another.
    first_loads = np.zeros(N_PARTS, dtype=np.int64)
    for part in numba.prange(N_PARTS):
        table = tables[part]
        hashes = np.empty(_BATCH, dtype=np.uint64)
        loaded = np.int64(0)
        n_unique = 0
        n_seen = 0
        for batch_start in range(0, n_samples, _BATCH):
            # Data with almost no duplicates (continuous measurements) shows it early: stop
            # after a first block rather than hashing up to ``max_unique`` rows for nothing.
            if batch_start == EARLY_CHECK_ROWS and n_unique > EARLY_UNIQUE_SHARE * n_seen:
                gave_up[part] = True
                break
            batch_stop = min(batch_start + _BATCH, n_samples)
            for i in range(batch_start, batch_stop):
                h = _row_hash(bits, i)
                hashes[i - batch_start] = h
                if np.int64(h >> _PART_SHIFT) % N_PARTS == part:
                    loaded ^= table[h & mask]
            for i in range(batch_start, batch_stop):
                h = hashes[i - batch_start]
                if np.int64(h >> _PART_SHIFT) % N_PARTS != part:
                    continue
                n_seen += 1
                tag = np.int64(h >> np.uint64(32)) << 32
                slot = h & mask
                while True:
                    entry = table[slot]
                    if entry == -1:
                        if n_unique == part_max:
                            gave_up[part] = True
                            break
                        table[slot] = tag | n_unique
                        row = part * part_max + n_unique
                        for f in range(n_features):
                            unique[row, f] = X[i, f]
                        weights[row] = sample_weight[i]
                        inverse[i] = n_unique | (part << _PART_BIT)
                        n_unique += 1
                        break
                    if (entry & _TAG_MASK) == tag:
                        u = entry & _INDEX_MASK
                        row = part * part_max + u
                        same = True
                        for f in range(n_features):
                            if unique_bits[row, f] != bits[i, f]:
                                same = False
                                break
                        if same:
                            weights[row] += sample_weight[i]
                            inverse[i] = u | (part << _PART_BIT)
                            break
                    slot = (slot + np.uint64(1)) & mask
                if gave_up[part]:
                    break
            if gave_up[part]:
                break
        first_loads[part] = loaded
        counts[part] = n_unique

    if gave_up.any():
        return -1, unique, weights
    # Move each part down to follow the previous one. Rows only move to lower positions, so
    # copying in increasing order never overwrites a row before it is moved.
    offsets = np.zeros(N_PARTS, dtype=np.int64)
    for part in range(1, N_PARTS):
        offsets[part] = offsets[part - 1] + counts[part - 1]
        for u in range(counts[part]):
            for f in range(n_features):
                unique[offsets[part] + u, f] = unique[part * part_max + u, f]
            weights[offsets[part] + u] = weights[part * part_max + u]
    total = offsets[N_PARTS - 1] + counts[N_PARTS - 1]
    local_mask = (1 << _PART_BIT) - 1
    for i in numba.prange(n_samples):
        code = inverse[i]
        inverse[i] = offsets[code >> _PART_BIT] + (code & local_mask)
    return total, unique[:total], weights[:total]


@numba.njit(parallel=True, cache=True)
def expand_labels(unique_labels, inverse):
    """Return each sample's label: the label of its unique row, ``unique_labels[inverse]``."""
    labels = np.empty(inverse.shape[0], dtype=unique_labels.dtype)
    for i in numba.prange(inverse.shape[0]):
        labels[i] = unique_labels[inverse[i]]
    return labels
