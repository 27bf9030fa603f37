"""Choose the number of clusters k: fit K-means for each k and score every fit.

`choose_k` returns a `ChooseKResult`: one table row per k, the recommended k, the reason in
one sentence (English text and an i18n catalog key with its format fields), the fitted models
and the k values that were skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from julei import _scores
from julei._kernels._common import numba_threads
from julei.exceptions import ConvergenceWarning, InputError
from julei.kmeans import KMeans

logger = logging.getLogger(__name__)

__all__ = ["CRITERIA", "ChooseKResult", "SkippedK", "choose_k", "format_message"]

#: Criteria that `choose_k` can compute, in the order the table shows them.
CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "stability")

TABLE_COLUMNS = (
    "inertia",
    "silhouette",
    "silhouette_se",
    "calinski_harabasz",
    "davies_bouldin",
    "gap",
    "gap_se",
    "stability",
    "stability_se",
)

# English text of the catalog messages in i18n/selection.en.json; a test keeps the two equal.
# Where a message names criteria, its fields hold ``NAME`` (English names, joined) and
# ``NAME_ids`` (a tuple of criterion ids), which `format_message` translates in any language.
MESSAGES_EN = {
    "selection.criterion.elbow": "elbow",
    "selection.criterion.silhouette": "silhouette",
    "selection.criterion.calinski_harabasz": "Calinski-Harabasz",
    "selection.criterion.davies_bouldin": "Davies-Bouldin",
    "selection.criterion.gap": "gap statistic",
    "selection.criterion.stability": "stability",
    "selection.list_separator": ", ",
    "selection.reason.unanimous": "All {n_votes} criteria that state a preference ({criteria}) point to k = {k}.",
    "selection.reason.majority": "k = {k} is preferred by {n_agree} of {n_votes} criteria ({criteria}).",
    "selection.reason.tie": (
        "k = {k} ties with k = {other_k}, each preferred by {n_agree} of {n_votes} criteria, "
        "and k = {k} scores better on {tiebreak}."
    ),
    "selection.reason.tie_smaller": (
        "k = {k} ties with k = {other_k}, each preferred by {n_agree} of {n_votes} criteria, "
        "and is the smaller."
    ),
    "selection.reason.single": "Only {criteria} states a preference, and it points to k = {k}.",
    "selection.reason.none": "No criterion states a preference among the k values tried, so no k is recommended.",
    "selection.reason.nothing_fitted": "No k could be fitted, so no k is recommended.",
    "selection.elbow.knee": (
        "The inertia curve bends clearly at k = {k}: it falls {strength:.1f} times faster before it than after it."
    ),
    "selection.elbow.knee_flat": "The inertia curve bends clearly at k = {k}: it does not fall any further after it.",
    "selection.elbow.weak": (
        "The inertia curve has no clear knee: its sharpest bend, at k = {k}, is too gradual to count as an elbow."
    ),
    "selection.elbow.none": "The inertia curve has no clear knee.",
    "selection.elbow.too_few": "At least three k values are needed to look for a knee in the inertia curve.",
    "selection.skipped.distinct": "k = {k} was skipped: the data have only {n_distinct} distinct points.",
    "selection.skipped.samples": "k = {k} was skipped: the data have only {n_samples} rows.",
}

#: How much faster inertia must fall before the knee than after it for a clear elbow.
ELBOW_MIN_STRENGTH = 2.0

#: Criteria that can vote for a k in the recommendation (see `choose_k`, Notes).
VOTING_CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin", "gap")


def format_message(translate, key, fields):
    """Return the catalog message ``key`` filled with ``fields`` in the language of ``translate``.

    ``translate`` is a ``julei.i18n`` translator (``t(key, **fields)``). Each field
    ``NAME_ids``, a tuple of criterion ids, is translated and joined into the field ``NAME``,
    so the names of criteria appear in the same language as the sentence.
    """
    fields = dict(fields)
    for name, value in list(fields.items()):
        if name.endswith("_ids"):
            separator = translate("selection.list_separator")
            fields[name[: -len("_ids")]] = separator.join(translate(f"selection.criterion.{item}") for item in value)
    return translate(key, **fields) if fields else translate(key)


def _english(key, **fields):
    return format_message(_translate_english, key, fields)


def _translate_english(key, **fields):
    return MESSAGES_EN[key].format(**fields) if fields else MESSAGES_EN[key]


@dataclasses.dataclass(frozen=True)
class SkippedK:
    """One k value that `choose_k` did not fit.

    Attributes
    ----------
    k : int
        The value requested.
    reason : str
        One English sentence, e.g. ``"k = 12 was skipped: the data have only 9 distinct
        points."``.
    reason_key : str
        The i18n catalog key of the same sentence (``selection.skipped.*``).
    reason_fields : dict
        The ``str.format`` fields of ``reason_key``.
    """

    k: int
    reason: str
    reason_key: str
    reason_fields: dict

    def reason_text(self, translate):
        """Return the reason in the language of ``translate`` (a ``julei.i18n`` translator)."""
        return format_message(translate, self.reason_key, self.reason_fields)


@dataclasses.dataclass
class ChooseKResult:
    """Scores of K-means fits over a range of k, and the recommended k.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per fitted k, indexed by ``k`` (int, ascending). Columns, each float and NaN
        where the criterion was not requested or is undefined (for example silhouette at k=1):

        - ``inertia``: weighted sum of squared distances to the nearest centre, full data.
        - ``silhouette``: mean silhouette coefficient, -1 to 1, higher is better.
        - ``silhouette_se``: its standard error; 0 when computed exactly on all samples.
        - ``calinski_harabasz``: variance ratio criterion, higher is better.
        - ``davies_bouldin``: Davies-Bouldin index, lower is better.
        - ``gap``: gap statistic, ``mean(log W*_k) - log W_k``, higher is better.
        - ``gap_se``: the gap's ``s_k = sd_k * sqrt(1 + 1/B)``.
        - ``stability``: mean adjusted Rand index between clusterings of resampled data;
          1 is perfectly stable.
        - ``stability_se``: its standard error over the resampling pairs.
    k : int or None
        The recommended number of clusters. None when nothing was fitted or when no
        criterion states a preference; ``reason`` then states which.
    reason : str
        Why ``k`` was recommended, one English sentence.
    reason_key : str
        The i18n catalog key of the reason (``selection.reason.*``), for translated reports.
    reason_fields : dict
        The ``str.format`` fields of ``reason_key``. Where the reason names criteria, the
        field ``criteria`` (or ``tiebreak``) contains their English names and ``criteria_ids``
        (``tiebreak_ids``) their ids. Render with `reason_text` or `format_message` to get
        the names in the report's language too.
    votes : dict
        Criterion -> the k it prefers, or None when it has no preference: ``"elbow"`` is None
        without a clear knee and ``"gap"`` when no k in range meets the gap rule. Only the
        requested criteria among ``VOTING_CRITERIA`` appear; the elbow's entry is shown
        but counts only when it is the only one.
    elbow_k : int or None
        The knee of the inertia curve, None when there is no clear knee.
    elbow_reason, elbow_reason_key, elbow_reason_fields : str, str, dict
        What the knee detection found, in one sentence ("no clear knee" said plainly).
    models : dict
        k -> the fitted ``julei.kmeans.KMeans`` on the full data (``labels_`` included).
    skipped : list of SkippedK
        The requested k values that were not fitted, with the reason.
    criteria : tuple of str
        The criteria that were computed.
    notes : dict
        How each estimate was made, for the report's method notes: ``n_samples``,
        ``n_features``, ``silhouette_exact`` (bool), ``silhouette_sample_size``,
        ``silhouette_repeats``, ``gap_sample_size``, ``gap_references``,
        ``stability_sample_size``, ``stability_pairs``, ``stability_fraction``,
        ``random_state``, ``seconds`` (dict: step -> wall time).
    """

    table: pd.DataFrame
    k: int | None
    reason: str
    reason_key: str
    reason_fields: dict
    votes: dict
    elbow_k: int | None
    elbow_reason: str
    elbow_reason_key: str
    elbow_reason_fields: dict
    models: dict
    skipped: list
    criteria: tuple
    notes: dict

    def model(self, k=None):
        """Return the fitted model for ``k``, or for the recommended k when ``k`` is None."""
        k = self.k if k is None else k
        if k not in self.models:
            raise KeyError(f"k={k} was not fitted; fitted k values are {sorted(self.models)}.")
        return self.models[k]

    def reason_text(self, translate):
        """Return the reason in the language of ``translate``, a ``julei.i18n`` translator."""
        return format_message(translate, self.reason_key, self.reason_fields)

    def elbow_text(self, translate):
        """Return the knee finding in the language of ``translate``."""
        return format_message(translate, self.elbow_reason_key, self.elbow_reason_fields)

    def _repr_html_(self):
        caption = f"Recommended k = {self.k}. {self.reason}"
        styled = self.table.style.set_caption(caption).format(precision=4, na_rep="")
        return styled.to_html()


def choose_k(
    X,
    k=range(2, 11),
    *,
    sample_weight=None,
    criteria=CRITERIA,
    random_state=None,
    n_init=3,
    max_iter=300,
    kmeans_params=None,
    silhouette_sample_size=3000,
    silhouette_repeats=5,
    gap_references=10,
    gap_sample_size=5000,
    stability_pairs=5,
    stability_sample_size=5000,
    stability_fraction=0.8,
):
    """Fit K-means for each k, score every fit and recommend a number of clusters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data, already scaled as it will be clustered. float32 is kept for the fits.
    k : int or iterable of int, default=range(2, 11)
        The numbers of clusters to try, each >= 1. A k larger than the number of distinct
        points gets a `ConvergenceWarning` and is skipped; the other rows are still filled.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight per row, None for ones. Weights act as frequencies in the fits and
        in every score except stability, whose adjusted Rand index counts rows.
    criteria : iterable of str, default=CRITERIA
        Which of ``"elbow"``, ``"silhouette"``, ``"calinski_harabasz"``,
        ``"davies_bouldin"``, ``"gap"``, ``"stability"`` to compute. Inertia is always in
        the table.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the fits and of every sample. Each k and each step draws its own seed from
        it, so adding a k to the range does not change the rows of the others.
    n_init : int or "auto", default=3
        K-means++ starts per fit, for every fit (full data, gap and stability). Three
        starts instead of KMeans' one keep a poor local optimum at one k from distorting
        every criterion at that k. Each fit takes about ``n_init`` times as long.
    max_iter : int, default=300
        Passed to ``KMeans`` for every fit.
    kmeans_params : dict, default=None
        Further ``KMeans`` arguments for every fit, for example ``{"n_threads": 2}``.
    silhouette_sample_size : int, default=3000
        With at most this many rows the silhouette is exact (standard error 0). With more, it
        is the mean over ``silhouette_repeats`` seeded samples of this size, each scored
        exactly, and ``silhouette_se`` is the standard error of that mean. Time is quadratic
        in this size; memory stays linear in it.
    gap_references : int, default=10
        B, the number of uniform reference data sets per k of the gap statistic.
    gap_sample_size : int, default=5000
        The gap statistic fits the data and each reference on at most this many rows (a
        seeded sample of the data, and references of the same size).
    stability_pairs : int, default=5
        Pairs of resampled data sets per k for the stability score.
    stability_sample_size : int, default=5000
        Stability works on a seeded sample of at most this many rows.
    stability_fraction : float, default=0.8
        Each resampled data set is this share of the stability sample, drawn without
        replacement.

    Returns
    -------
    ChooseKResult
        The table of scores, the recommended k and why, the fitted models and the skipped
        k values.

    Notes
    -----
    Criteria:

    - Elbow: Kneedle (Satopaa, Albrecht, Irwin and Raghavan, 2011) on the inertia curve,
      kept only when the bend is sharp: the inertia falls at least twice as fast per unit of
      k just before the knee as just after it. Otherwise the elbow states no preference and
      ``elbow_reason`` states "no clear knee".
    - Silhouette (Rousseeuw, 1987): the k with the highest mean silhouette.
    - Calinski-Harabasz (1974): the k with the highest index.
    - Davies-Bouldin (1979): the k with the lowest index.
    - Gap statistic (Tibshirani, Walther and Hastie, 2001): ``B`` reference sets are drawn
      uniformly from the box aligned with the data's principal components. It prefers the
      smallest k with ``gap(k) >= gap(k') - s(k')``, where k' is the next k tried, and has
      no preference when no k meets the rule.
    - Stability: for each k, pairs of subsamples are clustered independently; both
      clusterings label the whole stability sample and the adjusted Rand index (Hubert and
      Arabie, 1985) measures their agreement. Near 1 means the clustering does not depend on
      which rows were drawn.

    Recommendation rule: silhouette, Calinski-Harabasz, Davies-Bouldin and the gap
    statistic each name at most one k, and the k named most often wins. Among tied k values
    the one with the higher Calinski-Harabasz index wins (the higher silhouette when
    Calinski-Harabasz was not computed, else the smaller k). The elbow and stability are
    reported but do not vote, except that the elbow votes when it is the only criterion
    requested. With no vote at all, ``k`` is None and ``reason`` says so.

    The rule was chosen by testing on data with a known k: 30 sets of well-separated
    Gaussian blobs (k = 3, 5 and 8, in 2 and 4 dimensions) and Franti's unbalance, dim032,
    s1, r15 and a1 sets, with the default settings. It recovered the true k on all 35.
    Letting the elbow vote failed on one of them, because Kneedle's knee fell below the true
    k whenever that k lay in the upper half of the range. Breaking ties by silhouette failed
    on two, where silhouette and Davies-Bouldin preferred merging two nearby clusters that
    lay far from the others. docs/guide/choosing-k.md gives the details.

    Cost: the fits on the full data dominate for large n. Silhouette, gap and stability
    run on bounded samples, so their cost does not grow with n_samples.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=600, centers=4, cluster_std=0.5, random_state=0)
    >>> result = choose_k(X, k=range(2, 8), random_state=0)
    >>> result.k
    4
    """
    X, sample_weight = _check_data(X, sample_weight)
    ks = _check_k(k)
    criteria = _check_criteria(criteria)
    kmeans_params = dict(kmeans_params or {})
    reserved = sorted({"n_clusters", "n_init", "max_iter", "random_state"} & set(kmeans_params))
    if reserved:
        raise InputError(
            f"kmeans_params sets {reserved}, which choose_k sets itself; pass n_init, max_iter "
            "and random_state as arguments of choose_k and leave n_clusters out."
        )
    for name, value in (
        ("silhouette_sample_size", silhouette_sample_size),
        ("silhouette_repeats", silhouette_repeats),
        ("gap_references", gap_references),
        ("gap_sample_size", gap_sample_size),
        ("stability_pairs", stability_pairs),
        ("stability_sample_size", stability_sample_size),
    ):
        _check_count(name, value, minimum=2 if name == "silhouette_repeats" else 1)
    if not 0.0 < stability_fraction <= 1.0:
        raise InputError(
            f"stability_fraction={stability_fraction!r} is outside (0, 1]; "
            "use a share such as 0.8."
        )

    n_samples, n_features = X.shape
    seeds = _SeedTree(random_state)
    seconds = {}

    # Skip every k the data cannot support before fitting anything.
    started = time.perf_counter()
    n_distinct = _count_distinct(X, sample_weight, needed=max(ks))
    skipped = []
    fitted_ks = []
    for value in ks:
        if value > n_samples:
            key, fields = "selection.skipped.samples", {"k": value, "n_samples": n_samples}
        elif value > n_distinct:
            key, fields = "selection.skipped.distinct", {"k": value, "n_distinct": n_distinct}
        else:
            fitted_ks.append(value)
            continue
        skipped.append(SkippedK(value, _english(key, **fields), key, fields))
    if skipped:
        warnings.warn(
            " ".join(item.reason for item in skipped) + " The other k values are scored as usual.",
            ConvergenceWarning,
            stacklevel=2,
        )
    seconds["distinct_points"] = time.perf_counter() - started

    # Fits on a few thousand rows finish in milliseconds, and one thread avoids the cost of
    # waking threads for every kernel call, which is large when other processes share the
    # cores: 4 times the fit time on 900 rows with 2 busy cores. Some kernels that KMeans
    # calls follow numba's global thread count, not n_threads, so both are set.
    sample_threads = kmeans_params.get("n_threads") or 1

    def make_kmeans(n_clusters, seed, on_sample=False):
        params = dict(kmeans_params)
        if on_sample:
            params["n_threads"] = sample_threads
        return KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed, **params)

    # Full-data fits: the models returned, and inertia, Calinski-Harabasz, Davies-Bouldin.
    started = time.perf_counter()
    models = {}
    for value in fitted_ks:
        models[value] = make_kmeans(value, seeds.seed("fit", value)).fit(X, sample_weight=sample_weight)
        logger.info("choose_k: fitted k=%d, inertia %.6g", value, models[value].inertia_)
    seconds["fit"] = time.perf_counter() - started

    table = pd.DataFrame(np.nan, index=pd.Index(fitted_ks, name="k", dtype=np.int64), columns=list(TABLE_COLUMNS))
    for value, model in models.items():
        table.loc[value, "inertia"] = float(model.inertia_)

    if {"calinski_harabasz", "davies_bouldin"} & set(criteria):
        started = time.perf_counter()
        for value, model in models.items():
            labels = np.asarray(model.labels_, dtype=np.intp)
            ch, db = _scores.calinski_harabasz_davies_bouldin(X, labels, sample_weight, value)
            if "calinski_harabasz" in criteria:
                table.loc[value, "calinski_harabasz"] = ch
            if "davies_bouldin" in criteria:
                table.loc[value, "davies_bouldin"] = db
        seconds["calinski_harabasz_davies_bouldin"] = time.perf_counter() - started

    notes = {
        "n_samples": n_samples,
        "n_features": n_features,
        "random_state": random_state if isinstance(random_state, numbers.Integral) else None,
    }

    if "silhouette" in criteria:
        started = time.perf_counter()
        exact = n_samples <= silhouette_sample_size
        _fill_silhouette(table, models, X, sample_weight, exact, silhouette_sample_size, silhouette_repeats, seeds)
        notes.update(
            silhouette_exact=exact,
            silhouette_sample_size=n_samples if exact else silhouette_sample_size,
            silhouette_repeats=1 if exact else silhouette_repeats,
        )
        seconds["silhouette"] = time.perf_counter() - started

    if "gap" in criteria and fitted_ks:
        started = time.perf_counter()
        with numba_threads(sample_threads):
            used = _fill_gap(table, models, X, sample_weight, gap_references, gap_sample_size, seeds, make_kmeans)
        notes.update(gap_sample_size=used, gap_references=gap_references)
        seconds["gap"] = time.perf_counter() - started

    if "stability" in criteria and fitted_ks:
        started = time.perf_counter()
        with numba_threads(sample_threads):
            used = _fill_stability(
                table, X, sample_weight, stability_pairs, stability_sample_size, stability_fraction, seeds, make_kmeans
            )
        notes.update(stability_sample_size=used, stability_pairs=stability_pairs, stability_fraction=stability_fraction)
        seconds["stability"] = time.perf_counter() - started

    elbow_k, elbow_key, elbow_fields = _find_elbow(table)
    votes = _collect_votes(table, criteria, elbow_k)
    recommended, reason_key, reason_fields = _recommend(table, votes, fitted_ks)
    notes["seconds"] = seconds

    return ChooseKResult(
        table=table,
        k=recommended,
        reason=_english(reason_key, **reason_fields),
        reason_key=reason_key,
        reason_fields=reason_fields,
        votes=votes,
        elbow_k=elbow_k,
        elbow_reason=_english(elbow_key, **elbow_fields),
        elbow_reason_key=elbow_key,
        elbow_reason_fields=elbow_fields,
        models=models,
        skipped=skipped,
        criteria=criteria,
        notes=notes,
    )


# --- input checks ---------------------------------------------------------------------------


def _check_data(X, sample_weight):
    """Return X as a finite 2-D float array (float32 kept) and weights as float64."""
    if isinstance(X, pd.DataFrame):
        non_numeric = [str(name) for name, dtype in X.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
        if non_numeric:
            raise InputError(f"X has non-numeric columns {non_numeric}; encode or drop them before choosing k.")
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise InputError(f"X has dtype {X.dtype}; pass numbers (a float array or a numeric DataFrame).")
    if X.ndim != 2:
        raise InputError(f"X has shape {X.shape}; pass a 2-D array of shape (n_samples, n_features).")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"X has shape {X.shape}; at least one row and one column are needed.")
    X = np.ascontiguousarray(X, dtype=X.dtype if X.dtype == np.float32 else np.float64)
    if not np.isfinite(X.sum()) and not np.isfinite(X).all():
        raise InputError("X contains NaN or infinite values; drop or impute them before choosing k.")

    if sample_weight is None:
        return X, np.ones(X.shape[0])
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (X.shape[0],):
        raise InputError(
            f"sample_weight has shape {sample_weight.shape}; pass one weight per row of X, shape ({X.shape[0]},)."
        )
    if not np.isfinite(sample_weight).all() or (sample_weight < 0).any() or sample_weight.sum() <= 0:
        raise InputError("sample_weight must be finite and non-negative with a positive sum.")
    return X, sample_weight


def _check_k(k):
    """Return the requested k values as a sorted list of unique ints >= 1."""
    values = [k] if isinstance(k, numbers.Integral) else list(k)
    if not values:
        raise InputError("k is empty; pass an int or an iterable of ints such as range(2, 11).")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InputError(f"k contains {value!r}; every k must be an integer >= 1.")
    return sorted({int(value) for value in values})


def _check_criteria(criteria):
    """Return the requested criteria as a tuple in `CRITERIA` order."""
    requested = [criteria] if isinstance(criteria, str) else list(criteria)
    unknown = [name for name in requested if name not in CRITERIA]
    if unknown:
        raise InputError(f"criteria contains unknown names {unknown}; choose from {list(CRITERIA)}.")
    return tuple(name for name in CRITERIA if name in requested)


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name}={value!r} is invalid; pass an integer >= {minimum}.")


# --- seeds and samples ------------------------------------------------------------------------


class _SeedTree:
    """Independent, reproducible seeds per (step, k, repeat) from one ``random_state``."""

    _STEPS = {"fit": 0, "silhouette": 1, "gap": 2, "stability": 3, "distinct": 4}

    def __init__(self, random_state):
        if isinstance(random_state, np.random.Generator):
            entropy = int(random_state.integers(2**63))
        elif isinstance(random_state, np.random.RandomState):
            entropy = int(random_state.randint(2**31))
        elif random_state is None:
            entropy = np.random.SeedSequence().entropy
        elif isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
            entropy = int(random_state)
        else:
            raise InputError(
                f"random_state={random_state!r} is invalid; pass an int, a numpy Generator or None."
            )
        self.entropy = entropy

    def sequence(self, step, *key):
        return np.random.SeedSequence(self.entropy, spawn_key=(self._STEPS[step], *key))

    def seed(self, step, *key):
        """Return a 31-bit int seed, the form every KMeans accepts."""
        return int(self.sequence(step, *key).generate_state(1)[0] >> 1)

    def rng(self, step, *key):
        return np.random.default_rng(self.sequence(step, *key))


def _count_distinct(X, sample_weight, needed):
    """Return the number of distinct rows of positive weight, or a count >= ``needed``.

    Counts a prefix of up to 20,000 rows first, which usually already shows ``needed``
    distinct rows, so the full sort runs only on heavily duplicated data.
    """
    rows = X[sample_weight > 0]
    prefix = np.unique(rows[:20000], axis=0).shape[0]
    if prefix >= needed or rows.shape[0] <= 20000:
        return prefix
    return np.unique(rows, axis=0).shape[0]


def _sample_rows(n_samples, size, rng):
    """Return sorted indices of ``min(size, n_samples)`` rows drawn without replacement."""
    if size >= n_samples:
        return np.arange(n_samples)
    return np.sort(rng.choice(n_samples, size=size, replace=False))


# --- criteria ------------------------------------------------------------------------------


def _fill_silhouette(table, models, X, sample_weight, exact, sample_size, repeats, seeds):
    """Write the silhouette and its standard error of every fitted k into ``table``."""
    n_samples = X.shape[0]
    for value, model in models.items():
        labels = np.asarray(model.labels_, dtype=np.intp)
        if value < 2:
            continue
        if exact:
            table.loc[value, ["silhouette", "silhouette_se"]] = (
                _scores.silhouette_score(X, labels, sample_weight, value),
                0.0,
            )
            continue
        # Independent samples make the spread of their scores an honest standard error,
        # including the bias of scoring a sample instead of all rows.
        estimates = []
        for repeat in range(repeats):
            rows = _sample_rows(n_samples, sample_size, seeds.rng("silhouette", value, repeat))
            estimates.append(_scores.silhouette_score(X[rows], labels[rows], sample_weight[rows], value))
        estimates = np.asarray(estimates)
        table.loc[value, ["silhouette", "silhouette_se"]] = (
            float(np.mean(estimates)),
            float(np.std(estimates, ddof=1) / np.sqrt(repeats)),
        )


def _fill_gap(table, models, X, sample_weight, n_references, sample_size, seeds, make_kmeans):
    """Write the gap statistic and its ``s_k`` into ``table``; return the rows used."""
    n_samples = X.shape[0]
    rows = _sample_rows(n_samples, sample_size, seeds.rng("gap", 0))
    sampled = n_samples > sample_size
    data = X[rows]
    # Weights scaled to mean 1 and shared by the references, so both sides total the same.
    weights = sample_weight[rows] / sample_weight[rows].mean()
    box = _scores.reference_box(data)
    n_distinct = _count_distinct(data, weights, needed=max(models))

    references = [_scores.draw_reference(box, rows.size, seeds.rng("gap", 1, b)) for b in range(n_references)]
    for value, model in models.items():
        if value > n_distinct:
            continue
        if sampled:
            model_on_sample = make_kmeans(value, seeds.seed("gap", 2, value), on_sample=True)
            data_inertia = model_on_sample.fit(data, sample_weight=weights).inertia_
        else:
            data_inertia = model.inertia_ / sample_weight.mean()
        log_reference = np.empty(n_references)
        for b, reference in enumerate(references):
            reference_model = make_kmeans(value, seeds.seed("gap", 3, value, b), on_sample=True)
            log_reference[b] = np.log(reference_model.fit(reference, sample_weight=weights).inertia_)
        if data_inertia <= 0:
            # A perfect fit (as many clusters as distinct points): log W is -inf, gap undefined.
            continue
        table.loc[value, "gap"] = float(log_reference.mean() - np.log(data_inertia))
        table.loc[value, "gap_se"] = float(log_reference.std() * np.sqrt(1.0 + 1.0 / n_references))
    return int(rows.size)


def _fill_stability(table, X, sample_weight, n_pairs, sample_size, fraction, seeds, make_kmeans):
    """Write the mean adjusted Rand index of paired subsample fits into ``table``; return rows used."""
    n_samples = X.shape[0]
    base_rows = _sample_rows(n_samples, sample_size, seeds.rng("stability", 0))
    base = X[base_rows]
    base_weight = sample_weight[base_rows]
    draw_size = max(1, int(round(fraction * base_rows.size)))

    for value in table.index:
        if value < 2:
            continue
        scores = []
        for pair in range(n_pairs):
            rng = seeds.rng("stability", 1, value, pair)
            labelings = []
            for side in range(2):
                rows = _sample_rows(base_rows.size, draw_size, rng)
                subset, subset_weight = base[rows], base_weight[rows]
                if _count_distinct(subset, subset_weight, needed=value) < value:
                    break
                model = make_kmeans(value, seeds.seed("stability", 2, value, pair, side), on_sample=True)
                labelings.append(model.fit(subset, sample_weight=subset_weight).predict(base))
            if len(labelings) == 2:
                scores.append(adjusted_rand_score(labelings[0], labelings[1]))
        if scores:
            scores = np.asarray(scores)
            table.loc[value, "stability"] = float(scores.mean())
            spread = float(scores.std(ddof=1) / np.sqrt(scores.size)) if scores.size > 1 else float("nan")
            table.loc[value, "stability_se"] = spread
    return int(base_rows.size)


def _find_elbow(table):
    """Return ``(elbow_k, message_key, message_fields)`` from the inertia column.

    Kneedle finds a maximum-curvature point on any smooth convex curve, also on data
    without clusters, whose inertia falls as a power of k. So its knee counts as an elbow
    only when the inertia falls at least `ELBOW_MIN_STRENGTH` times faster per unit of k just
    before it than just after it.
    """
    if len(table.index) < 3:
        return None, "selection.elbow.too_few", {}
    knee, strength = _scores.kneedle(table.index.to_numpy(), table["inertia"].to_numpy())
    if knee is None:
        return None, "selection.elbow.none", {}
    if strength < ELBOW_MIN_STRENGTH:
        return None, "selection.elbow.weak", {"k": knee}
    if not np.isfinite(strength):
        return knee, "selection.elbow.knee_flat", {"k": knee}
    return knee, "selection.elbow.knee", {"k": knee, "strength": strength}


def _gap_rule(table):
    """Return the smallest k with ``gap(k) >= gap(k') - s(k')``, k' the next k; None if none."""
    gaps = table["gap"].dropna()
    ks = gaps.index.to_list()
    for current, following in zip(ks, ks[1:]):
        if table.loc[current, "gap"] >= table.loc[following, "gap"] - table.loc[following, "gap_se"]:
            return int(current)
    return None


def _collect_votes(table, criteria, elbow_k):
    """Return criterion -> preferred k (or None) for the requested voting criteria."""
    votes = {}
    if "elbow" in criteria:
        votes["elbow"] = elbow_k
    for name, best in (("silhouette", "max"), ("calinski_harabasz", "max"), ("davies_bouldin", "min")):
        if name in criteria:
            column = table[name].dropna()
            if column.empty:
                votes[name] = None
            elif best == "max":
                votes[name] = int(column.idxmax())
            else:
                votes[name] = int(column.idxmin())
    if "gap" in criteria:
        votes["gap"] = _gap_rule(table)
    return votes


def _recommend(table, votes, fitted_ks):
    """Apply the recommendation rule of `choose_k`; return ``(k, message_key, fields)``."""
    if not fitted_ks:
        return None, "selection.reason.nothing_fitted", {}

    # The elbow votes only when it is the only criterion requested: in testing, Kneedle's
    # knee fell below the true k whenever that k was in the upper half of the range.
    voters = [name for name in VOTING_CRITERIA if name in votes and name != "elbow"] or list(votes)
    cast = {name: votes[name] for name in voters if votes[name] is not None}
    if not cast:
        return None, "selection.reason.none", {}

    counts = pd.Series(list(cast.values())).value_counts()
    top = int(counts.max())
    tied = sorted(int(value) for value in counts.index[counts == top])
    tiebreak = next(
        (name for name in ("calinski_harabasz", "silhouette") if table.loc[tied, name].notna().all()),
        None,
    )
    if tiebreak is None:
        ranked = tied
    else:
        ranked = sorted(tied, key=lambda value: (-table.loc[value, tiebreak], value))
    winner = ranked[0]
    agreeing = tuple(name for name in VOTING_CRITERIA if cast.get(name) == winner)
    fields = {
        "k": winner,
        "n_agree": top,
        "n_votes": len(cast),
        "criteria": _join_english(agreeing),
        "criteria_ids": agreeing,
    }

    if len(cast) == 1:
        return winner, "selection.reason.single", fields
    if top == len(cast):
        return winner, "selection.reason.unanimous", fields
    if len(tied) > 1:
        others = tuple(ranked[1:])
        fields["other_k"] = ", ".join(str(value) for value in others)
        if tiebreak is None:
            return winner, "selection.reason.tie_smaller", fields
        fields.update(tiebreak=_join_english((tiebreak,)), tiebreak_ids=(tiebreak,))
        return winner, "selection.reason.tie", fields
    return winner, "selection.reason.majority", fields


def _join_english(names):
    separator = _translate_english("selection.list_separator")
    return separator.join(_translate_english(f"selection.criterion.{name}") for name in names)