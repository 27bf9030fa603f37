"""Cluster the rows of any table: read, choose features, scale, choose k, fit, explain.

`run_tabular` is the whole job behind ``julei cluster``. It returns a `TabularResult` of plain
data (frames, arrays, numbers, strings) that the command line renders to files; it prints
nothing and writes no file. Everything the user needs to know about their data (columns left
out, rows dropped, levels grouped) is in ``result.notices`` as catalog keys with fields.

Example
-------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [1, 1, 1, 10, 10, 10], "y": [2, 4, 0, 2, 4, 0]})
>>> result = run_tabular(frame, TabularSettings(k_min=2, k_max=2, seed=0))
>>> sorted(result.sizes.tolist())
[3, 3]
"""

import dataclasses
import logging
import re
import time
import warnings

import numpy as np
import pandas as pd

from julei.exceptions import ConvergenceWarning
from julei.io.tables import Table, input_error, read_table

__all__ = [
    "SCALERS",
    "MISSING_STRATEGIES",
    "TabularSettings",
    "Features",
    "TabularResult",
    "parse_k",
    "prepare_features",
    "run_tabular",
]

logger = logging.getLogger(__name__)

SCALERS = ("standard", "robust", "minmax", "none")
MISSING_STRATEGIES = ("drop", "mean", "median")

DEFAULT_K_RANGE = (2, 10)

# Skewness above which a non-negative column counts as long-tailed (for --log-columns auto).
SKEWNESS_LIMIT = 2.0

# The final clustering's silhouette is scored on a seeded sample of at most this many rows,
# because its cost is quadratic in the rows.
MAX_SILHOUETTE_POINTS = 5000

# Column names that mark an identifier: id, customer_id, CustomerID, 编号, 序号, ...
_ID_NAME = re.compile(r"(?i:(^|[\s_\-.])id$|^id([\s_\-.]|$))|[a-z]ID$|编号|序号")


@dataclasses.dataclass
class TabularSettings:
    """Settings of one tabular clustering job; every field has the command line's default.

    Attributes
    ----------
    k_min, k_max : int
        Range of k to consider; equal values fix k.
    columns : list of str or None
        Feature columns. None means every numeric column except an identifier. Text columns
        named here are one-hot encoded.
    id_column : str or None
        Column that names each row; kept in ``labels.csv`` and never used as a feature.
    scale : {"standard", "robust", "minmax", "none"}
    missing : {"drop", "mean", "median"}
        What to do with rows that have a missing value in a feature column.
    seed : int
        Seed of every random step (k-means++ seeding, subsamples), for reproducible results.
    max_levels : int
        Most one-hot columns made from one text column; rarer levels are grouped as "other".
    log_columns : list of str, "auto" or None
        Numeric features to cluster as ``log(1 + x)``, for amounts and counts whose values span
        orders of magnitude. ``"auto"`` picks every non-negative feature with skewness above
        ``SKEWNESS_LIMIT``. Profiles, centres and rules stay in the data's own units.
    encoding, sheet
        Passed to `julei.io.tables.read_table`.
    """

    k_min: int = DEFAULT_K_RANGE[0]
    k_max: int = DEFAULT_K_RANGE[1]
    columns: list | None = None
    id_column: str | None = None
    scale: str = "standard"
    missing: str = "drop"
    seed: int = 0
    max_levels: int = 12
    log_columns: list | str | None = None
    encoding: str | None = None
    sheet: str | None = None

    @property
    def k_fixed(self):
        return self.k_min == self.k_max

    def as_dict(self):
        """Return the settings as a JSON-ready dictionary."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Features:
    """The feature matrix built from a table, and what happened to each column and row.

    Attributes
    ----------
    original : pandas.DataFrame
        Kept rows x feature columns in the data's own units (one-hot columns as 0/1), index
        the positions of the kept rows in the input table.
    X : numpy.ndarray of shape (n_kept, n_features)
        ``original`` after imputation, the log transform and scaling: the matrix K-means clusters.
    names : list of str
        Feature names, one per column of ``X``.
    kept : numpy.ndarray of bool, shape (n_rows,)
        Which input rows were clustered.
    id_column : str or None
        The identifier column in use (given or detected).
    numeric_columns, text_excluded, constant_dropped, id_excluded : list of str
        Numeric input columns used; text columns left out; constant columns dropped;
        identifier-like columns left out.
    encoded : dict
        Text column -> {"levels": int, "kept": [levels], "other": int rows grouped as "other"}.
    imputed : dict
        Column -> number of values filled in (``missing`` of ``"mean"`` or ``"median"``).
    dropped_missing : int
        Rows dropped because a feature value was missing (``missing="drop"``).
    scale_center, scale_width : numpy.ndarray
        ``X = (transformed - scale_center) / scale_width`` column by column, where
        ``transformed`` is ``original`` with ``log(1 + x)`` taken of ``log_columns``.
    log_columns : list of str
        Features whose ``log(1 + x)`` is clustered instead of their value.
    skewed_columns : list of str
        Features with a long right tail (skewness above ``SKEWNESS_LIMIT``) that were not
        log-transformed, for a notice suggesting ``--log-columns auto``.
    """

    original: pd.DataFrame
    X: np.ndarray
    names: list
    kept: np.ndarray
    id_column: str | None
    numeric_columns: list
    text_excluded: list
    constant_dropped: list
    id_excluded: list
    encoded: dict
    imputed: dict
    dropped_missing: int
    scale_center: np.ndarray
    scale_width: np.ndarray
    log_columns: list
    skewed_columns: list


@dataclasses.dataclass
class TabularResult:
    """Everything ``julei cluster`` reports: data facts, the choice of k, the clusters.

    Attributes
    ----------
    table : pandas.DataFrame
        The input table as read, every row.
    source : dict
        How the input was read (`julei.io.tables.Table.facts`); ``{"file": None}`` for a frame.
    settings : TabularSettings
    features : Features
    labels : pandas.Series
        Cluster of every input row (nullable ``Int64``, missing for dropped rows), index of
        ``table``. Clusters are numbered 0, 1, ... from the largest to the smallest.
    k : int
    k_reason_key, k_reason_fields
        Why this k: a catalog key and its fields.
    selection : julei.selection.ChooseKResult
        Per-k scores; its cluster numbering is the model's, not the report's.
    model : julei.kmeans.KMeans
        The fitted model, relabelled so that cluster 0 is the largest.
    explanation : julei.explanation.ClusterExplanation
        Sizes, profiles in data units, standardized differences and rules, per cluster.
    centers : pandas.DataFrame
        Cluster centres in the data's own units (k x features).
    sizes : pandas.Series
        Rows per cluster, index 0..k-1.
    metrics : dict
        ``inertia``, ``silhouette``, ``calinski_harabasz``, ``davies_bouldin`` of the final
        clustering (silhouette on a sample of at most ``MAX_SILHOUETTE_POINTS`` rows).
    notices : list of (str, dict)
        Catalog key and fields of each thing the user should know about their data.
    seconds : dict
        Wall time of each step and ``total``.
    """

    table: pd.DataFrame
    source: dict
    settings: TabularSettings
    features: Features
    labels: pd.Series
    k: int
    k_reason_key: str
    k_reason_fields: dict
    selection: object
    model: object
    explanation: object
    centers: pd.DataFrame
    sizes: pd.Series
    metrics: dict
    notices: list
    seconds: dict

    @property
    def n_rows(self):
        return len(self.table)

    @property
    def n_kept(self):
        return int(self.features.kept.sum())

    def row_counts(self):
        """Return rows read, kept and dropped by reason, as a JSON-ready dictionary."""
        return {
            "read": self.n_rows,
            "kept": self.n_kept,
            "dropped": {"missing_values": self.features.dropped_missing},
        }


def parse_k(text):
    """Parse a ``-k`` value: ``"4"``, ``"2..10"`` (also ``2-10``, ``2:10``) or ``"auto"``.

    Returns ``(k_min, k_max)``; ``auto`` is the default range 2..10.

    >>> parse_k("4"), parse_k("3..6"), parse_k("auto")
    ((4, 4), (3, 6), (2, 10))
    """
    value = str(text).strip().lower()
    if value in ("auto", ""):
        return DEFAULT_K_RANGE
    match = re.fullmatch(r"(\d+)\s*(?:\.\.|-|:|~)\s*(\d+)", value)
    if match:
        k_min, k_max = int(match.group(1)), int(match.group(2))
    elif value.isdigit():
        k_min = k_max = int(value)
    else:
        raise input_error(
            "error.k_invalid",
            f"-k {text!r} is not a number of clusters; use a number such as 4, a range such as 2..10, or auto.",
            value=str(text),
        )
    if k_min < 1 or k_max < k_min:
        raise input_error(
            "error.k_range",
            f"-k {text!r} is not a valid range; use k >= 1 and put the smaller number first, as in 2..10.",
            value=str(text),
        )
    return k_min, k_max


def prepare_features(frame, settings):
    """Build the feature matrix from ``frame`` following ``settings``; see `Features`.

    Raises `InputError` when a named column is missing, no usable feature remains, or no row
    is left after dropping missing values.
    """
    columns = [str(column) for column in frame.columns]
    frame = frame.copy()
    frame.columns = columns
    _check_named_columns(frame, settings)

    id_column = settings.id_column
    id_excluded = []
    text_excluded = []
    if settings.columns:
        chosen = list(dict.fromkeys(settings.columns))
    else:
        chosen = []
        for column in columns:
            if column == id_column:
                continue
            series = frame[column]
            if _is_numeric(series):
                if _looks_like_identifier(column, series):
                    id_excluded.append(column)
                    continue
                chosen.append(column)
            else:
                text_excluded.append(column)
        if id_column is None:
            # Only an identifier with one value per row can name the rows.
            distinct = [column for column in id_excluded if frame[column].dropna().is_unique]
            id_column = distinct[0] if distinct else None

    numeric_columns = [column for column in chosen if _is_numeric(frame[column])]
    text_columns = [column for column in chosen if column not in numeric_columns]
    if not chosen:
        raise input_error(
            "error.no_numeric",
            f"the table has no numeric column to cluster (columns: {_short_list(columns)}); "
            "choose columns with --columns, text columns are then one-hot encoded.",
            columns=_short_list(columns),
        )

    # Numbers: booleans become 0/1 and infinities count as missing.
    numeric = frame[numeric_columns].apply(lambda series: pd.to_numeric(series, errors="coerce")).astype(float)
    numeric = numeric.replace([np.inf, -np.inf], np.nan)

    encoded = {}
    parts = [numeric]
    for column in text_columns:
        dummies, info = _one_hot(frame[column], column, settings.max_levels)
        parts.append(dummies)
        encoded[column] = info
    original = pd.concat(parts, axis=1)

    # Rows: drop or fill missing values. One-hot columns never have missing values: a missing
    # text value is its own level.
    missing = original.isna()
    imputed = {}
    dropped_missing = 0
    if settings.missing == "drop":
        kept = ~missing.any(axis=1).to_numpy()
        dropped_missing = int((~kept).sum())
        original = original[kept]
    else:
        kept = np.ones(len(frame), dtype=bool)
        fill = original.mean() if settings.missing == "mean" else original.median()
        for column in original.columns[missing.any().to_numpy()]:
            imputed[column] = int(missing[column].sum())
        original = original.fillna(fill)
        # A column with no value at all cannot be filled; its rows are dropped instead.
        empty = original.isna().any(axis=1).to_numpy()
        if empty.any():
            kept[np.flatnonzero(kept)[empty]] = False
            dropped_missing = int(empty.sum())
            original = original[~empty]
    if original.empty:
        raise input_error(
            "error.no_rows_left",
            f"every row has a missing value in the chosen columns ({_short_list(list(original.columns))}); "
            "use --missing mean or --missing median, or choose other columns with --columns.",
            columns=_short_list(list(original.columns)),
        )

    constant = [column for column in original.columns if original[column].nunique(dropna=True) <= 1]
    if constant:
        original = original.drop(columns=constant)
    if original.shape[1] == 0:
        raise input_error(
            "error.all_constant",
            f"every chosen column has a single value ({_short_list(constant)}), so the rows cannot be told apart; "
            "choose other columns with --columns.",
            columns=_short_list(constant),
        )

    original.index = np.flatnonzero(kept)
    log_columns = _log_columns(original, settings.log_columns, list(encoded))
    transformed = original.copy()
    for column in log_columns:
        transformed[column] = np.log1p(transformed[column])
    skewed = [] if settings.log_columns else _skewed_columns(original, list(encoded))

    _check_magnitude(transformed)
    center, width = _scale_parameters(transformed.to_numpy(dtype=float), settings.scale)
    X = (transformed.to_numpy(dtype=float) - center) / width
    return Features(
        original=original,
        X=np.ascontiguousarray(X),
        names=list(original.columns),
        kept=kept,
        id_column=id_column,
        numeric_columns=[column for column in numeric_columns if column not in constant],
        text_excluded=text_excluded,
        constant_dropped=constant,
        id_excluded=id_excluded,
        encoded=encoded,
        imputed=imputed,
        dropped_missing=dropped_missing,
        scale_center=center,
        scale_width=width,
        log_columns=log_columns,
        skewed_columns=skewed,
    )


def run_tabular(data, settings=None, *, progress=None):
    """Run the tabular clustering job on ``data`` and return a `TabularResult`.

    Parameters
    ----------
    data : str, Path, julei.io.tables.Table or pandas.DataFrame
        A file (read with `julei.io.tables.read_table`) or a table already in memory.
    settings : TabularSettings, optional
    progress : callable, optional
        Called as ``progress(step)`` with a catalog key (``"progress.reading"``, ...) before
        each step, so a caller can show what is running. It must not print into stdout.

    Raises
    ------
    InputError
        Unreadable input, no usable column, or k larger than the rows that remain.
    """
    settings = settings or TabularSettings()
    _check_settings(settings)
    report = progress or (lambda step: None)
    seconds = {}
    started = time.perf_counter()

    report("progress.reading")
    if isinstance(data, pd.DataFrame):
        table, source = data, {"file": None, "rows": len(data), "columns": data.shape[1]}
    else:
        read = data if isinstance(data, Table) else read_table(data, encoding=settings.encoding, sheet=settings.sheet)
        table, source = read.frame, read.facts()
    seconds["read"] = time.perf_counter() - started

    step = time.perf_counter()
    report("progress.features")
    features = prepare_features(table, settings)
    n_kept = len(features.X)
    k_min, k_max = _fit_k_range(settings, n_kept, features)
    seconds["features"] = time.perf_counter() - step

    step = time.perf_counter()
    report("progress.choosing_k")
    selection = _choose_k(features.X, k_min, k_max, settings.seed)
    seconds["choose_k"] = time.perf_counter() - step

    if settings.k_fixed:
        # A fixed k is used as given, even where no criterion can score it (k = 1).
        k = k_min
        if k not in selection.models:
            distinct = _count_distinct_rows(features.X)
            raise input_error(
                "error.k_above_distinct",
                f"-k {k} is larger than the number of distinct rows ({distinct}); use -k {distinct} or less.",
                k=k,
                distinct=distinct,
            )
        reason_key, reason_fields = "cluster.k_reason.fixed", {"k": k}
    else:
        if selection.k is None:
            raise input_error(
                "error.k_none",
                f"no k between {k_min} and {k_max} could be fitted on {n_kept} rows; pass a smaller -k or more rows.",
                k_min=k_min,
                k_max=k_max,
                rows=n_kept,
            )
        k, reason_key, reason_fields = selection.k, selection.reason_key, dict(selection.reason_fields)
    model = _relabel_by_size(selection.model(k))
    labels_kept = model.labels_

    step = time.perf_counter()
    report("progress.explaining")
    explanation = _explain(model, features, labels_kept, settings.seed)
    metrics = _metrics(features.X, labels_kept, model, settings.seed)
    seconds["explain"] = time.perf_counter() - step

    labels = pd.Series(pd.NA, index=table.index, dtype="Int64", name="cluster")
    labels.iloc[np.flatnonzero(features.kept)] = labels_kept
    sizes = pd.Series(np.bincount(labels_kept, minlength=k), index=pd.RangeIndex(k, name="cluster"), name="size")
    # Each K-means centre is the mean of its rows, so in the data's units it is the mean of
    # the original values (also for log-transformed columns, whose centre would otherwise be
    # a geometric mean).
    centers = features.original.groupby(labels_kept).mean().reindex(range(k))
    centers.index.name = "cluster"
    seconds["total"] = time.perf_counter() - started

    return TabularResult(
        table=table,
        source=source,
        settings=settings,
        features=features,
        labels=labels,
        k=int(k),
        k_reason_key=reason_key,
        k_reason_fields=reason_fields,
        selection=selection,
        model=model,
        explanation=explanation,
        centers=centers,
        sizes=sizes,
        metrics=metrics,
        notices=_source_notices(source) + _notices(features, settings, selection, k_min, k_max, n_kept),
        seconds=seconds,
    )


# ---------------------------------------------------------------------------------------
# Features


def _check_settings(settings):
    if settings.scale not in SCALERS:
        raise input_error(
            "error.scale_invalid",
            f"--scale {settings.scale!r} is not supported; use one of {', '.join(SCALERS)}.",
            value=settings.scale,
            choices=", ".join(SCALERS),
        )
    if settings.missing not in MISSING_STRATEGIES:
        raise input_error(
            "error.missing_invalid",
            f"--missing {settings.missing!r} is not supported; use one of {', '.join(MISSING_STRATEGIES)}.",
            value=settings.missing,
            choices=", ".join(MISSING_STRATEGIES),
        )
    if settings.k_min < 1 or settings.k_max < settings.k_min:
        raise input_error(
            "error.k_range",
            f"-k {settings.k_min}..{settings.k_max} is not a valid range; use k >= 1 and put the smaller number first, as in 2..10.",
            value=f"{settings.k_min}..{settings.k_max}",
        )


def _check_named_columns(frame, settings):
    columns = list(frame.columns)
    named = list(settings.columns or [])
    if settings.id_column is not None:
        named.append(settings.id_column)
    missing = [column for column in named if column not in columns]
    if missing:
        raise input_error(
            "error.columns_missing",
            f"column(s) {_short_list(missing)} not found; the table's columns are {_short_list(columns)}.",
            missing=_short_list(missing),
            columns=_short_list(columns),
        )
    if settings.columns and settings.id_column in settings.columns:
        raise input_error(
            "error.id_in_columns",
            f"--id-column {settings.id_column!r} is also listed in --columns; an identifier cannot be a feature.",
            column=settings.id_column,
        )


def _is_numeric(series):
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _looks_like_identifier(name, series):
    """Return whether a numeric column is an identifier: an id-like name and whole numbers only.

    Repeated values still count: a customer id in an order log repeats, and clustering on
    it would only split the id range.
    """
    if not _ID_NAME.search(name):
        return False
    values = series.dropna()
    if values.empty or pd.api.types.is_bool_dtype(values):
        return False
    return bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))


def _one_hot(series, column, max_levels):
    text = series.astype("string").fillna("(missing)").str.strip()
    counts = text.value_counts(sort=True)
    if len(counts) > max_levels:
        kept = list(counts.index[: max_levels - 1])
    else:
        kept = list(counts.index)
    other = int(counts.drop(kept).sum())
    grouped = text.where(text.isin(kept), "(other)")
    dummies = pd.DataFrame(
        {f"{column}={level}": (grouped == level).astype(float).to_numpy() for level in kept + (["(other)"] if other else [])},
        index=series.index,
    )
    return dummies, {"levels": int(len(counts)), "kept": [str(level) for level in kept], "other": other}


def _log_columns(original, requested, encoded_columns):
    """Return the features to log-transform: those named, or the skewed ones for ``"auto"``."""
    if not requested:
        return []
    if isinstance(requested, str) and requested.strip().lower() == "auto":
        return _skewed_columns(original, encoded_columns)
    names = [requested] if isinstance(requested, str) else list(requested)
    unknown = [name for name in names if name not in original.columns]
    if unknown:
        raise input_error(
            "error.log_columns_unknown",
            f"--log-columns names {_short_list(unknown)}, which are not numeric features; choose among {_short_list(list(original.columns))}.",
            missing=_short_list(unknown),
            columns=_short_list(list(original.columns)),
        )
    negative = [name for name in names if original[name].min() < 0]
    if negative:
        raise input_error(
            "error.log_columns_negative",
            f"--log-columns {_short_list(negative)} has negative values, and log(1 + x) needs values >= 0; leave it out of --log-columns.",
            columns=_short_list(negative),
        )
    return names


def _skewed_columns(original, encoded_columns):
    """Return the non-negative numeric features with a long right tail (skewness above ``SKEWNESS_LIMIT``)."""
    skewed = []
    for column in original.columns:
        if "=" in column and column.split("=", 1)[0] in encoded_columns:
            continue
        values = original[column]
        if values.min() >= 0 and values.nunique() > 2 and values.skew() > SKEWNESS_LIMIT:
            skewed.append(column)
    return skewed


# Squares of values beyond this overflow float64, so no variance or distance is defined.
MAX_MAGNITUDE = 1e150


def _check_magnitude(features):
    """Raise an InputError naming the first feature value too large to compute with."""
    values = features.to_numpy(dtype=float)
    too_large = np.abs(values) > MAX_MAGNITUDE
    if not too_large.any():
        return
    row, column = np.argwhere(too_large)[0]
    name = features.columns[column]
    value = f"{values[row, column]:.6g}"
    line = int(features.index[row]) + 2
    raise input_error(
        "error.value_too_large",
        f"column {name!r} holds {value} on line {line}, too large to cluster (magnitude above "
        f"1e150); correct that value, or leave the column out with --columns.",
        column=name,
        value=value,
        line=line,
    )


def _scale_parameters(values, scale):
    n_features = values.shape[1]
    if scale == "standard":
        center, width = values.mean(axis=0), values.std(axis=0)
    elif scale == "robust":
        q25, median, q75 = np.percentile(values, [25, 50, 75], axis=0)
        center, width = median, q75 - q25
        # A column whose middle half is one value (mostly zeros, say) falls back to its
        # standard deviation, so it is neither dropped nor blown up.
        fallback = width == 0
        width = np.where(fallback, values.std(axis=0), width)
    elif scale == "minmax":
        center, width = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
    else:
        center, width = np.zeros(n_features), np.ones(n_features)
    width = np.where(width > 0, width, 1.0)
    return center.astype(float), width.astype(float)


def _fit_k_range(settings, n_kept, features):
    if settings.k_min > n_kept:
        raise input_error(
            "error.k_too_large",
            f"-k {settings.k_min} is larger than the number of rows clustered ({n_kept}); use -k {max(1, n_kept - 1)} or less, or pass more rows.",
            k=settings.k_min,
            rows=n_kept,
            suggestion=max(1, n_kept - 1),
        )
    if n_kept < 3 and not settings.k_fixed:
        raise input_error(
            "error.too_few_rows",
            f"only {n_kept} row(s) are left to cluster; choosing k needs at least 3, so pass more rows or a fixed -k.",
            rows=n_kept,
        )
    k_max = settings.k_max
    if not settings.k_fixed:
        # The silhouette is defined only for k <= n_samples - 1.
        k_max = min(k_max, n_kept - 1)
    return settings.k_min, max(settings.k_min, k_max)


# ---------------------------------------------------------------------------------------
# Fitting and explaining


def _choose_k(X, k_min, k_max, seed):
    from julei.selection import CRITERIA, choose_k

    # A fixed k needs its scores only; the elbow, gap and stability compare several k.
    criteria = CRITERIA if k_max > k_min else ("silhouette", "calinski_harabasz", "davies_bouldin")
    with warnings.catch_warnings():
        # A k above the number of distinct rows is skipped with a warning; the result's
        # ``skipped`` list carries the same facts, and they become notices.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return choose_k(X, range(k_min, k_max + 1), criteria=criteria, random_state=seed)


def _count_distinct_rows(X):
    return int(np.unique(X, axis=0).shape[0])


def _relabel_by_size(model):
    """Renumber clusters from the largest (0) to the smallest; ties keep the model's order."""
    labels = np.asarray(model.labels_)
    k = model.cluster_centers_.shape[0]
    counts = np.bincount(labels, minlength=k)
    order = np.argsort(-counts, kind="stable")
    new_of_old = np.empty(k, dtype=np.int64)
    new_of_old[order] = np.arange(k)
    model.cluster_centers_ = model.cluster_centers_[order]
    model.labels_ = new_of_old[labels].astype(labels.dtype)
    return model


def _explain(model, features, labels, seed):
    from julei.explanation import explain

    return explain(
        model,
        features.X,
        features.names,
        X_original=features.original.to_numpy(dtype=float),
        labels=labels,
        random_state=seed,
    )


def _metrics(X, labels, model, seed):
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    k = model.cluster_centers_.shape[0]
    metrics = {"inertia": float(model.inertia_), "silhouette": None, "calinski_harabasz": None, "davies_bouldin": None}
    if 2 <= k < len(X) and len(np.unique(labels)) >= 2:
        sample = min(len(X), MAX_SILHOUETTE_POINTS)
        metrics["silhouette"] = float(silhouette_score(X, labels, sample_size=sample, random_state=seed))
        metrics["calinski_harabasz"] = float(calinski_harabasz_score(X, labels))
        metrics["davies_bouldin"] = float(davies_bouldin_score(X, labels))
    return metrics


def _source_notices(source):
    converted = source.get("converted_columns") or []
    if not converted:
        return []
    return [("cluster.notice.thousands", {"columns": _short_list(converted)})]


def _notices(features, settings, selection, k_min, k_max, n_kept):
    notices = []

    # Columns: left out, dropped, encoded or transformed.
    if features.text_excluded:
        notices.append(("cluster.notice.text_excluded", {"columns": _short_list(features.text_excluded)}))
    if features.id_excluded:
        notices.append(("cluster.notice.id_excluded", {"columns": _short_list(features.id_excluded)}))
    if features.constant_dropped:
        notices.append(("cluster.notice.constant_dropped", {"columns": _short_list(features.constant_dropped)}))
    for column, info in features.encoded.items():
        if info["other"]:
            fields = {"column": column, "levels": info["levels"], "kept": len(info["kept"]), "rows": info["other"]}
            notices.append(("cluster.notice.levels_capped", fields))
        else:
            notices.append(("cluster.notice.one_hot", {"column": column, "levels": info["levels"]}))
    if features.log_columns:
        notices.append(("cluster.notice.log_columns", {"columns": _short_list(features.log_columns)}))
    if features.skewed_columns:
        notices.append(("cluster.notice.skewed", {"columns": _short_list(features.skewed_columns)}))

    # Rows: dropped or filled.
    if features.dropped_missing:
        notices.append(("cluster.notice.rows_dropped", {"rows": features.dropped_missing, "kept": n_kept}))
    for column, count in features.imputed.items():
        notices.append((f"cluster.notice.imputed_{settings.missing}", {"column": column, "values": count}))

    # The range of k actually tried.
    if not settings.k_fixed and k_max < settings.k_max:
        notices.append(("cluster.notice.k_range_clipped", {"k_max": k_max, "rows": n_kept}))
    skipped = [item.k for item in getattr(selection, "skipped", [])]
    if skipped:
        fields = {"ks": ", ".join(map(str, skipped)), "distinct": _count_distinct_rows(features.X)}
        notices.append(("cluster.notice.k_skipped", fields))
    return notices


def _short_list(names, limit=12):
    names = [str(name) for name in names]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", … (+{len(names) - limit})"
