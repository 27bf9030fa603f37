"""Explain K-means clusters in the data's own units.

`explain` returns a `ClusterExplanation`: per cluster its size and share, per-feature mean,
median and quartiles, standardized differences from the overall mean, the features that set
it apart most, and short readable rules from a shallow decision tree.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import numbers

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from julei.exceptions import InputError

logger = logging.getLogger(__name__)

__all__ = ["ClusterExplanation", "ClusterRule", "explain"]

# The rule tree is fitted on at most this many rows; precision and coverage are always
# measured on all rows.
_TREE_SAMPLE_SIZE = 50000

STATISTICS = ("mean", "std", "q25", "median", "q75")

# Share of rows that rounding a rule threshold to a shorter decimal may move across it.
_ROUNDING_TOLERANCE = 0.001


@dataclasses.dataclass(frozen=True)
class ClusterRule:
    """A conjunction of threshold conditions that picks out one cluster.

    Attributes
    ----------
    cluster : int
        The cluster label the rule describes.
    conditions : tuple of (str, str, float)
        ``(feature, operator, threshold)`` with operator ``"<="`` or ``">"``, thresholds in
        the data's own units (``X_original``). At most one condition per feature and operator.
    text : str
        The conditions joined by ``" and "``, e.g. ``"income > 70.5 and spending_score > 60"``.
    precision : float
        Share of the samples that meet the rule which belong to ``cluster`` (0 to 1).
    coverage : float
        Share of the samples of ``cluster`` that meet the rule (0 to 1).
    n_matched : int
        Number of samples that meet the rule.
    """

    cluster: int
    conditions: tuple
    text: str
    precision: float
    coverage: float
    n_matched: int

    def text_with(self, conjunction):
        """Return the rule with conditions joined by ``conjunction``, e.g. ``" 且 "``."""
        return conjunction.join(_condition_text(*condition) for condition in self.conditions)


@dataclasses.dataclass
class ClusterExplanation:
    """Description of each cluster in the data's own units.

    Cluster ids are the model's labels (0 .. n_clusters - 1). Empty clusters keep their row
    with size 0 and NaN statistics. With ``sample_weight``, sizes stay row counts while
    shares, statistics and rule scores are weighted.

    Attributes
    ----------
    sizes : pandas.DataFrame
        Index ``cluster``; columns ``size`` (int, rows) and ``share`` (0 to 1).
    profiles : pandas.DataFrame
        Index (``cluster``, ``feature``); columns ``mean``, ``std``, ``q25``, ``median``,
        ``q75`` in the data's own units, and ``std_diff``, the standardized difference
        ``(cluster mean - overall mean) / overall standard deviation`` (0 for a constant
        feature).
    means : pandas.DataFrame
        Cluster x feature means in the data's own units (the ``mean`` column of ``profiles``,
        wide).
    std_diff : pandas.DataFrame
        Cluster x feature standardized differences (wide), the values of a profile heatmap.
    overall : pandas.DataFrame
        Index ``feature``; columns ``mean``, ``std``, ``q25``, ``median``, ``q75`` of all data.
    top_features : pandas.DataFrame
        The features that set each cluster apart most, by absolute standardized difference
        (at most ``n_top_features`` per cluster, none below ``min_std_diff``). Columns
        ``cluster``, ``rank`` (1 = strongest), ``feature``, ``std_diff``, ``direction``
        (``"higher"`` or ``"lower"`` than overall), ``mean``, ``overall_mean``.
    rules : pandas.DataFrame
        Columns ``cluster``, ``rule`` (text), ``precision``, ``coverage``, ``n_matched``; the
        best rules first within each cluster (by the harmonic mean of precision and
        coverage). A cluster that no leaf of the tree picks out has no row.
    rule_objects : list of ClusterRule
        The rules of ``rules``, in the same order, with structured conditions for
        translated output.
    feature_names : list of str
    n_samples : int
    n_clusters : int
    """

    sizes: pd.DataFrame
    profiles: pd.DataFrame
    means: pd.DataFrame
    std_diff: pd.DataFrame
    overall: pd.DataFrame
    top_features: pd.DataFrame
    rules: pd.DataFrame
    rule_objects: list
    feature_names: list
    n_samples: int
    n_clusters: int

    @property
    def order(self):
        """Cluster ids from the largest cluster to the smallest (ties by id)."""
        sizes = self.sizes.sort_values(["size"], ascending=False, kind="stable")
        return [int(cluster) for cluster in sizes.index]

    def summary(self):
        """Return one row per cluster: size, share, top features and the best rule.

        Columns ``size``, ``share``, ``top_features`` (e.g. ``"income (higher), age
        (lower)"``), ``rule``, ``precision``, ``coverage``; the rule columns are empty when
        no rule was found.
        """
        rows = []
        for cluster in self.sizes.index:
            top = self.top_features[self.top_features["cluster"] == cluster]
            described = ", ".join(f"{row.feature} ({row.direction})" for row in top.itertuples())
            best = self.rules[self.rules["cluster"] == cluster].head(1)
            rows.append(
                {
                    "cluster": int(cluster),
                    "size": int(self.sizes.loc[cluster, "size"]),
                    "share": float(self.sizes.loc[cluster, "share"]),
                    "top_features": described,
                    "rule": best["rule"].iloc[0] if len(best) else "",
                    "precision": float(best["precision"].iloc[0]) if len(best) else np.nan,
                    "coverage": float(best["coverage"].iloc[0]) if len(best) else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("cluster")

    def _repr_html_(self):
        table = self.summary().to_html(float_format=lambda value: f"{value:.3f}", na_rep="")
        caption = html.escape(f"{self.n_clusters} clusters, {self.n_samples} samples")
        return f"<div><p>{caption}</p>{table}</div>"


def explain(
    model,
    X,
    feature_names=None,
    *,
    X_original=None,
    sample_weight=None,
    labels=None,
    n_top_features=3,
    min_std_diff=0.2,
    max_rule_depth=2,
    max_rules=2,
    random_state=0,
):
    """Describe each cluster of a fitted K-means model in the data's own units.

    Parameters
    ----------
    model : fitted KMeans
        Any estimator with ``predict`` and ``cluster_centers_`` (julei's or scikit-learn's).
    X : array-like of shape (n_samples, n_features)
        The data in the model's feature space (for example scaled); used only to assign clusters.
    feature_names : list of str, default=None
        Names of the columns of ``X_original``. None takes a DataFrame's column names, else
        ``x0``, ``x1``, ...
    X_original : array-like of shape (n_samples, n_original_features), default=None
        The same rows in their own units (before scaling or other transforms), which every
        statistic and rule threshold is reported in. None uses ``X``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight per row, for example the pixel count of each distinct colour.
    labels : array-like of shape (n_samples,), default=None
        The cluster of each row, when already known; None calls ``model.predict(X)``.
    n_top_features : int, default=3
        How many features to list per cluster in ``top_features``.
    min_std_diff : float, default=0.2
        Features whose absolute standardized difference is below this are not listed in
        ``top_features``, so a cluster that barely differs on any feature lists none.
    max_rule_depth : int, default=2
        Depth of the one-versus-rest decision tree per cluster, so the most conditions a
        rule can have.
    max_rules : int, default=2
        Rules kept per cluster, best first.
    random_state : int, default=0
        Seed of the tree's tie-breaking and of the row sample it is fitted on for large data.

    Returns
    -------
    ClusterExplanation

    Notes
    -----
    Quartiles follow pandas' linear interpolation without weights; with weights they are
    the weighted inverted empirical distribution function. For each cluster, a
    decision tree of depth ``max_rule_depth`` with balanced class weights separates the
    cluster from the rest, on at most 50,000 rows. Every node of the tree that votes for the
    cluster, a leaf or not, gives a candidate rule: the conditions on its path, merged so that
    each feature keeps its tightest ``<=`` and ``>`` bound. Candidates whose precision is 0.5
    or less are dropped, and the rest are ranked by the harmonic mean of precision and
    coverage. Thresholds are rounded to the shortest decimal
    that moves at most 0.1 % of the rows across them (none with fewer than 1,000 rows), and
    precision and coverage are measured with the rounded thresholds on all rows.

    Examples
    --------
    >>> import numpy as np
    >>> from julei.kmeans import KMeans
    >>> X = np.array([[1.0, 20.0], [1.2, 22.0], [8.0, 70.0], [8.5, 75.0]])
    >>> model = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    >>> result = explain(model, X, ["years", "income"])
    >>> result.sizes["size"].tolist()
    [2, 2]
    """
    X_model = X
    n_samples = _n_rows(X_model, "X")
    original = X_model if X_original is None else X_original
    names = _feature_names(original, feature_names)
    values = _numeric_matrix(original, names, "X_original" if X_original is not None else "X")
    if values.shape[0] != n_samples:
        raise InputError(
            f"X_original has {values.shape[0]} rows but X has {n_samples}; pass the same rows in both."
        )
    weights = _check_weights(sample_weight, n_samples)
    counts = {"n_top_features": n_top_features, "max_rule_depth": max_rule_depth, "max_rules": max_rules}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InputError(f"{name}={value!r} is invalid; pass an integer >= 1.")
    if not isinstance(min_std_diff, numbers.Real) or not min_std_diff >= 0:
        raise InputError(f"min_std_diff={min_std_diff!r} is invalid; pass a number >= 0 such as 0.2.")

    n_clusters = int(np.asarray(model.cluster_centers_).shape[0])
    if labels is None:
        labels = model.predict(X_model)
    labels = np.asarray(labels, dtype=np.intp)
    if labels.shape != (n_samples,) or labels.min(initial=0) < 0 or labels.max(initial=0) >= n_clusters:
        raise InputError(
            f"labels must contain one cluster id in [0, {n_clusters}) per row of X; "
            f"received shape {labels.shape}."
        )

    clusters = pd.Index(range(n_clusters), name="cluster")
    sizes = _sizes(labels, weights, clusters)
    overall = _statistics(values, np.zeros(n_samples, dtype=np.intp), weights, 1, names).xs(0)
    profiles = _statistics(values, labels, weights, n_clusters, names)

    overall_mean = overall["mean"].reindex(profiles.index.get_level_values("feature")).to_numpy()
    overall_std = overall["std"].reindex(profiles.index.get_level_values("feature")).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        std_diff = (profiles["mean"].to_numpy() - overall_mean) / overall_std
    std_diff[(overall_std == 0) & np.isfinite(profiles["mean"].to_numpy())] = 0.0
    profiles["std_diff"] = std_diff

    means = profiles["mean"].unstack("feature").reindex(index=clusters, columns=names)
    std_diff_wide = profiles["std_diff"].unstack("feature").reindex(index=clusters, columns=names)
    top = _top_features(std_diff_wide, means, overall["mean"], n_top_features, min_std_diff)
    rule_objects = _rules(values, labels, weights, names, n_clusters, max_rule_depth, max_rules, random_state)
    rules = pd.DataFrame(
        [
            {
                "cluster": rule.cluster,
                "rule": rule.text,
                "precision": rule.precision,
                "coverage": rule.coverage,
                "n_matched": rule.n_matched,
            }
            for rule in rule_objects
        ],
        columns=["cluster", "rule", "precision", "coverage", "n_matched"],
    )

    return ClusterExplanation(
        sizes=sizes,
        profiles=profiles,
        means=means,
        std_diff=std_diff_wide,
        overall=overall,
        top_features=top,
        rules=rules,
        rule_objects=rule_objects,
        feature_names=list(names),
        n_samples=n_samples,
        n_clusters=n_clusters,
    )


# --- inputs ---------------------------------------------------------------------------------


def _n_rows(X, name):
    shape = getattr(X, "shape", None)
    if shape is None:
        X = np.asarray(X)
        shape = X.shape
    if len(shape) != 2:
        raise InputError(f"{name} has shape {tuple(shape)}; pass a 2-D array of shape (n_samples, n_features).")
    return int(shape[0])


def _feature_names(data, feature_names):
    n_columns = np.shape(data)[1] if not isinstance(data, pd.DataFrame) else data.shape[1]
    if feature_names is None:
        if isinstance(data, pd.DataFrame):
            return [str(column) for column in data.columns]
        return [f"x{index}" for index in range(n_columns)]
    names = [str(name) for name in feature_names]
    if len(names) != n_columns:
        raise InputError(
            f"feature_names has {len(names)} names but the data have {n_columns} columns; pass one name per column."
        )
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise InputError(f"feature_names repeats {repeated}; pass unique names.")
    return names


def _numeric_matrix(data, names, label):
    if isinstance(data, pd.DataFrame):
        non_numeric = [str(column) for column, dtype in data.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
        if non_numeric:
            raise InputError(f"{label} has non-numeric columns {non_numeric}; encode or drop them first.")
    values = np.asarray(data, dtype=np.float64)
    if values.ndim != 2:
        raise InputError(f"{label} has shape {values.shape}; pass a 2-D array.")
    if not np.isfinite(values).all():
        raise InputError(f"{label} contains NaN or infinite values; drop or impute them first.")
    return values


def _check_weights(sample_weight, n_samples):
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_samples,):
        raise InputError(f"sample_weight has shape {weights.shape}; pass one weight per row, shape ({n_samples},).")
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise InputError("sample_weight must be finite and non-negative with a positive sum.")
    return weights


# --- statistics -----------------------------------------------------------------------------


def _sizes(labels, weights, clusters):
    counts = np.bincount(labels, minlength=len(clusters))
    if weights is None:
        mass = counts.astype(np.float64)
    else:
        mass = np.bincount(labels, weights=weights, minlength=len(clusters))
    return pd.DataFrame({"size": counts.astype(np.int64), "share": mass / mass.sum()}, index=clusters)


def _statistics(values, labels, weights, n_clusters, names):
    """Return mean, std, q25, median, q75 per (cluster, feature); NaN for empty clusters."""
    index = pd.MultiIndex.from_product([range(n_clusters), names], names=["cluster", "feature"])
    if weights is None:
        frame = pd.DataFrame(values, columns=names)
        grouped = frame.groupby(labels)
        parts = {
            "mean": grouped.mean(),
            "std": grouped.std(ddof=0),
            "q25": grouped.quantile(0.25),
            "median": grouped.quantile(0.5),
            "q75": grouped.quantile(0.75),
        }
        # Row-major ravel of a cluster x feature frame matches the (cluster, feature) index.
        columns = {
            name: part.reindex(index=range(n_clusters), columns=names).to_numpy(dtype=np.float64).ravel()
            for name, part in parts.items()
        }
        return pd.DataFrame(columns, index=index)[list(STATISTICS)]

    rows = []
    for cluster in range(n_clusters):
        member = labels == cluster
        cluster_weights = weights[member]
        for column, name in enumerate(names):
            column_values = values[member, column]
            if cluster_weights.sum() <= 0:
                rows.append([np.nan] * len(STATISTICS))
                continue
            mean = np.average(column_values, weights=cluster_weights)
            std = np.sqrt(np.average((column_values - mean) ** 2, weights=cluster_weights))
            q25, median, q75 = _weighted_quantiles(column_values, cluster_weights, (0.25, 0.5, 0.75))
            rows.append([mean, std, q25, median, q75])
    return pd.DataFrame(rows, index=index, columns=list(STATISTICS))


def _weighted_quantiles(values, weights, quantiles):
    """Return the weighted inverted-CDF quantiles: the smallest value whose cumulative weight reaches q."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    positions = np.searchsorted(cumulative, np.asarray(quantiles) * cumulative[-1], side="left")
    return values[order][np.minimum(positions, values.size - 1)]


def _top_features(std_diff, means, overall_mean, n_top, min_std_diff):
    rows = []
    for cluster in std_diff.index:
        row = std_diff.loc[cluster].dropna()
        row = row[row.abs() >= min_std_diff]
        if row.empty:
            continue
        strongest = row.abs().sort_values(ascending=False, kind="stable").index[:n_top]
        for rank, feature in enumerate(strongest, start=1):
            rows.append(
                {
                    "cluster": int(cluster),
                    "rank": rank,
                    "feature": feature,
                    "std_diff": float(row[feature]),
                    "direction": "higher" if row[feature] >= 0 else "lower",
                    "mean": float(means.loc[cluster, feature]),
                    "overall_mean": float(overall_mean[feature]),
                }
            )
    columns = ["cluster", "rank", "feature", "std_diff", "direction", "mean", "overall_mean"]
    return pd.DataFrame(rows, columns=columns)


# --- rules ----------------------------------------------------------------------------------


def _rules(values, labels, weights, names, n_clusters, max_depth, max_rules, random_state):
    """Return the best rules of every cluster as `ClusterRule` values, clusters in order."""
    n_samples = values.shape[0]
    rng = np.random.default_rng(random_state)
    if n_samples > _TREE_SAMPLE_SIZE:
        sample = np.sort(rng.choice(n_samples, size=_TREE_SAMPLE_SIZE, replace=False))
    else:
        sample = np.arange(n_samples)
    row_weights = np.ones(n_samples) if weights is None else weights
    sorted_columns = [np.sort(values[:, column]) for column in range(values.shape[1])]
    # scikit-learn's trees work in float32: values beyond its range are clipped for the tree
    # only, which keeps every split order, while rules are still scored on the real values.
    float32_max = float(np.finfo(np.float32).max) / 2
    tree_values = np.clip(values, -float32_max, float32_max)

    found = []
    for cluster in range(n_clusters):
        target = labels == cluster
        if not target[sample].any() or target[sample].all():
            continue
        tree = DecisionTreeClassifier(
            max_depth=max_depth,
            class_weight="balanced",
            min_samples_leaf=max(1, int(0.005 * sample.size)),
            random_state=random_state,
        )
        tree.fit(tree_values[sample], target[sample], sample_weight=row_weights[sample])

        candidates = {}
        for path in _positive_paths(tree):
            conditions = _merge_conditions(path, names, sorted_columns)
            if conditions and conditions not in candidates:
                candidates[conditions] = _score_rule(conditions, values, names, target, row_weights)
        scored = sorted(candidates.items(), key=lambda item: (-item[1][0], -item[1][1], -item[1][2]))
        # A rule that matches more rows of other clusters than of its own does not describe it,
        # and a rule that only adds conditions to a better one already chosen adds nothing.
        chosen = []
        for conditions, scores in scored:
            if scores[1] <= 0.5 or any(set(earlier) <= set(conditions) for earlier, _ in chosen):
                continue
            chosen.append((conditions, scores))
        for conditions, (_, precision, coverage, n_matched) in chosen[:max_rules]:
            found.append(
                ClusterRule(
                    cluster=cluster,
                    conditions=conditions,
                    text=" and ".join(_condition_text(*condition) for condition in conditions),
                    precision=precision,
                    coverage=coverage,
                    n_matched=n_matched,
                )
            )
    return found


def _positive_paths(tree):
    """Yield the (feature index, operator, threshold) path to every node that predicts True.

    Internal nodes count too, so when both children of a split predict the cluster, the
    shorter rule without that split is a candidate.
    """
    structure = tree.tree_
    positive_class = list(tree.classes_).index(True)

    def walk(node, path):
        if path and np.argmax(structure.value[node][0]) == positive_class:
            yield path
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            return
        feature, threshold = int(structure.feature[node]), float(structure.threshold[node])
        yield from walk(left, path + [(feature, "<=", threshold)])
        yield from walk(right, path + [(feature, ">", threshold)])

    yield from walk(0, [])


def _merge_conditions(path, names, sorted_columns):
    """Keep the tightest bound per feature and operator; return sorted (name, op, threshold)."""
    bounds = {}
    for feature, operator, threshold in path:
        key = (feature, operator)
        if key not in bounds:
            bounds[key] = threshold
        elif operator == "<=":
            bounds[key] = min(bounds[key], threshold)
        else:
            bounds[key] = max(bounds[key], threshold)
    merged = []
    for (feature, operator), threshold in sorted(bounds.items(), key=lambda item: (item[0][0], item[0][1] != ">")):
        merged.append((names[feature], operator, _short_threshold(threshold, sorted_columns[feature])))
    return tuple(merged)


def _short_threshold(threshold, sorted_values):
    """Round a split threshold to the shortest decimal that moves almost no rows across it.

    A tree threshold t sends x <= t left. The rounded t' may send at most
    `_ROUNDING_TOLERANCE` of the rows (``sorted_values``, one column, sorted) to the other
    side, and none with fewer than 1,000 rows. Precision and coverage are then measured
    with t', so they describe the rule as printed.
    """
    allowed = int(_ROUNDING_TOLERANCE * sorted_values.size)
    left = np.searchsorted(sorted_values, threshold, side="right")
    for decimals in range(-12, 16):
        candidate = round(threshold, decimals)
        moved = abs(int(np.searchsorted(sorted_values, candidate, side="right")) - int(left))
        if moved <= allowed:
            return float(candidate)
    return float(threshold)


def _condition_text(name, operator, threshold):
    return f"{name} {operator} {np.format_float_positional(threshold, trim='-')}"


def _score_rule(conditions, values, names, target, weights):
    """Return (F1, precision, coverage, n_matched) of a rule measured on all rows."""
    matched = np.ones(values.shape[0], dtype=bool)
    for name, operator, threshold in conditions:
        column = values[:, names.index(name)]
        matched &= column <= threshold if operator == "<=" else column > threshold
    matched_weight = weights[matched].sum()
    hit_weight = weights[matched & target].sum()
    precision = float(hit_weight / matched_weight) if matched_weight > 0 else 0.0
    coverage = float(hit_weight / weights[target].sum())
    f1 = 0.0 if precision + coverage == 0 else 2 * precision * coverage / (precision + coverage)
    return f1, precision, coverage, int(matched.sum())
