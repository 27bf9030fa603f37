"""Input checks for the estimators, called only from public entry points."""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from julei._kernels._common import all_finite, first_non_finite, n_groups_for, numba_threads

# Arrays of at least this many entries are checked by a parallel kernel; smaller ones by
# numpy, which starts faster than a parallel region.
PARALLEL_CHECK_SIZE = 1 << 20


def check_X(estimator, X, *, reset, copy=False):
    """Validate X and return it as C-contiguous float32 or float64, dense or CSR.

    float32 stays float32 and float64 stays float64; integers and other types become
    float64. NaN and infinite values raise a ValueError naming the first bad entry.
    """
    X = validate_data(
        estimator,
        X,
        accept_sparse="csr",
        dtype=[np.float64, np.float32],
        order="C",
        copy=copy,
        accept_large_sparse=False,
        ensure_all_finite=False,
        reset=reset,
    )
    with numba_threads(getattr(estimator, "n_threads", None), X.shape[0] * X.shape[1]):
        check_finite(X)
    return X


def check_finite(X, name="X"):
    """Raise a ValueError naming the first NaN or infinite entry of X, if there is one."""
    values = X.data if sp.issparse(X) else X
    if values.ndim == 2 and values.size >= PARALLEL_CHECK_SIZE and values.flags.c_contiguous:
        if all_finite(values, n_groups_for(values.shape[0])):
            return
    else:
        # One cheap sum settles the common case: it is finite only when every entry is. A
        # non-finite sum can also come from overflow, so the exact search below confirms it.
        with np.errstate(over="ignore", invalid="ignore"):
            total = values.sum(dtype=np.float64)
        if np.isfinite(total):
            return
    if sp.issparse(X):
        bad = np.flatnonzero(~np.isfinite(X.data))
        if bad.size == 0:
            return
        position = bad[0]
        row = int(np.searchsorted(X.indptr, position, side="right") - 1)
        column = int(X.indices[position])
        value = X.data[position]
    else:
        row, column = first_non_finite(X, n_groups_for(X.shape[0]))
        if row < 0:
            return
        value = X[row, column]
    kind = "NaN" if np.isnan(value) else "inf"
    raise ValueError(
        f"Input {name} contains {kind} at row {row}, column {column}; remove or impute "
        "missing and infinite values (for example with sklearn.impute.SimpleImputer) "
        "before clustering."
    )


def check_sample_weight(sample_weight, X):
    """Return sample weights as a contiguous array of X's dtype, or raise a clear error.

    None means a weight of one per sample. Zeros are allowed; negative, NaN or infinite
    weights, a wrong length and an all-zero vector are rejected.
    """
    n_samples = X.shape[0]
    if sample_weight is None:
        return np.ones(n_samples, dtype=X.dtype)
    if isinstance(sample_weight, numbers.Number):
        return np.full(n_samples, sample_weight, dtype=X.dtype)
    weights = np.asarray(sample_weight)
    if weights.ndim != 1:
        raise ValueError(
            f"sample_weight must be 1-dimensional with one weight per sample, got shape "
            f"{weights.shape}; pass an array of shape ({n_samples},)."
        )
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {weights.shape[0]} entries but X has {n_samples} samples; "
            "pass one weight per sample."
        )
    try:
        weights = np.ascontiguousarray(weights, dtype=X.dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must be numeric, got dtype {np.asarray(sample_weight).dtype}.") from exc
    bad = np.flatnonzero(~np.isfinite(weights))
    if bad.size:
        raise ValueError(
            f"sample_weight contains {weights[bad[0]]} at index {bad[0]}; weights must be "
            "finite numbers >= 0."
        )
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        raise ValueError(
            f"sample_weight contains a negative value ({weights[negative[0]]}) at index "
            f"{negative[0]}; weights must be >= 0."
        )
    if not weights.any():
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample needs a positive weight."
        )
    return weights


def check_n_clusters(n_clusters, n_samples):
    """Raise a clear error when ``n_clusters`` is not a positive integer within ``n_samples``."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
        raise TypeError(f"n_clusters must be an integer, got {n_clusters!r} of type {type(n_clusters).__name__}.")
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}.")
    if n_clusters > n_samples:
        raise ValueError(
            f"n_clusters={n_clusters} is larger than the number of samples ({n_samples}); "
            f"use n_clusters <= {n_samples} or pass more samples."
        )


def check_centers(centers, X, n_clusters, name="init"):
    """Return explicit centres as a C-contiguous array of X's dtype, checking its shape."""
    try:
        centers = np.array(centers.toarray() if sp.issparse(centers) else centers, dtype=X.dtype, order="C")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers of shape ({n_clusters}, {X.shape[1]}).") from exc
    if centers.shape != (n_clusters, X.shape[1]):
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of "
            f"clusters {n_clusters} and the number of features {X.shape[1]}; pass an array "
            f"of shape ({n_clusters}, {X.shape[1]})."
        )
    check_finite(centers, name=name)
    return centers


def check_init(init, n_init, X, n_clusters, default_n_init):
    """Validate ``init`` and ``n_init``; return explicit centres checked and the number of runs.

    ``n_init='auto'`` means one run for 'k-means++' or explicit centres and
    ``default_n_init`` otherwise. Explicit centres always give one run, with a warning when
    more were requested.
    """
    init_is_array = not isinstance(init, str) and not callable(init)
    if isinstance(init, str) and init not in ("k-means++", "random"):
        raise ValueError(
            f"init={init!r} is not supported; use 'k-means++', 'random', a callable or an "
            "array of initial centres."
        )
    if init_is_array:
        init = check_centers(init, X, n_clusters)

    if n_init == "auto":
        runs = 1 if init_is_array or init == "k-means++" else default_n_init
    elif isinstance(n_init, numbers.Integral) and not isinstance(n_init, bool) and n_init >= 1:
        runs = int(n_init)
    else:
        raise ValueError(f"n_init must be 'auto' or an integer >= 1, got {n_init!r}.")
    if init_is_array and runs != 1:
        # Level 4 is the user's call to fit, above this function, the parameter check and fit.
        warnings.warn(
            f"Explicit initial centres passed: running one init instead of n_init={runs}.",
            RuntimeWarning,
            stacklevel=4,
        )
        runs = 1
    return init, runs

