"""Customer segmentation from transactions: RFM features, K-means segments with business names.

The job, end to end (`segment_customers`):

1. Clean the transaction lines (`julei.io.transactions.clean_transactions`).
2. Compute per customer the recency (days from the last purchase to the as-of day), frequency
   (distinct orders) and monetary value (net revenue, returns subtracted), and optionally the
   tenure (days from the first purchase) and the average order value (`compute_rfm`).
3. Log-transform the skewed features and standardize them (`transform_features`).
4. Choose k with `julei.selection.choose_k` over 3..8 unless given, and fit K-means.
5. Name each segment from where its medians rank among all customers (`name_segments`), and
   add the classic RFM quintile scores (`rfm_scores`).

The result is a `CustomerSegmentation`: plain frames and numbers, in the data's own units.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from julei.io.transactions import clean_transactions, detect_columns

__all__ = [
    "FEATURES",
    "SEGMENT_PROTOTYPES",
    "CustomerSegmentation",
    "compute_rfm",
    "rfm_scores",
    "transform_features",
    "segment_levels",
    "name_segments",
    "segment_customers",
]

logger = logging.getLogger(__name__)

#: Per-customer features that can be clustered; the first three are always used.
FEATURES = ("recency", "frequency", "monetary", "tenure", "average_order_value")
_REQUIRED_FEATURES = FEATURES[:3]

# A feature is log-transformed when its sample skewness exceeds this.
_SKEW_THRESHOLD = 1.0

#: Business segments as (key, recency level, frequency level, monetary level). A level is the
#: share of customers a segment's median beats on that dimension, from 0 (worst) to 1 (best),
#: where fewer days since the last purchase is better. See `name_segments`.
SEGMENT_PROTOTYPES = (
    ("champions", 0.85, 0.85, 0.85),
    ("loyal", 0.60, 0.75, 0.70),
    ("potential_loyalists", 0.75, 0.50, 0.50),
    ("new", 0.90, 0.15, 0.20),
    ("promising", 0.70, 0.25, 0.30),
    ("need_attention", 0.50, 0.50, 0.50),
    ("about_to_sleep", 0.35, 0.30, 0.30),
    ("at_risk", 0.25, 0.65, 0.60),
    ("cannot_lose", 0.12, 0.85, 0.85),
    ("hibernating", 0.25, 0.20, 0.20),
    ("lost", 0.08, 0.08, 0.08),
)

#: English display names of the segment keys; the reports take both languages from the
#: ``customers.segment.*`` catalog keys.
SEGMENT_NAMES = {
    "champions": "Champions",
    "loyal": "Loyal",
    "potential_loyalists": "Potential loyalists",
    "new": "New",
    "promising": "Promising",
    "need_attention": "Need attention",
    "about_to_sleep": "About to sleep",
    "at_risk": "At risk",
    "cannot_lose": "Cannot lose",
    "hibernating": "Hibernating",
    "lost": "Lost",
}

# Added to the cost of the second, third... use of a prototype, so that a name repeats (with a
# number) only when k exceeds the number of prototypes.
_REPEAT_PENALTY = 100.0


@dataclass
class CustomerSegmentation:
    """Result of `segment_customers`: per-customer features, segments and how they were made.

    Attributes
    ----------
    customers : pandas.DataFrame
        One row per customer: ``customer_id``, ``recency`` (days), ``frequency`` (orders),
        ``monetary`` (net revenue), ``tenure`` (days), ``average_order_value``,
        ``first_purchase``, ``last_purchase``, ``segment`` (1 = most valuable),
        ``segment_key``, ``segment_name`` (English), ``r_score``, ``f_score``, ``m_score``
        (1-5) and ``rfm_score`` (for example ``"545"``).
    segments : pandas.DataFrame
        One row per segment, ordered by ``segment``. Columns: ``segment_key``,
        ``segment_name``, ``customers``, ``customer_share``, ``revenue``, ``revenue_share``,
        the mean and median of every feature (``recency_mean``, ``recency_median``, ...) and
        the levels used for naming (``recency_level``, ``frequency_level``,
        ``monetary_level``). Then the mean RFM scores (``r_score_mean``, ...), the most common
        ``rfm_score`` (``top_rfm_score``) and an English ``description``.
    profile : pandas.DataFrame
        Mean of each transformed, standardized feature per segment (rows ``segment``), the
        data of the snake plot.
    cleaning : pandas.DataFrame
        One row per cleaning reason: ``reason``, ``rows``, ``share``, ``action``.
    k : int
    k_source : str
        ``"choose_k"`` or ``"user"``.
    k_reason, k_reason_key : str
    k_reason_fields : dict
        Why this k: English text, catalog key and fields (see `julei.selection.ChooseKResult`).
    k_table : pandas.DataFrame or None
        The scores of every k tried, None when k was given.
    k_selection : julei.selection.ChooseKResult or None
        The full k selection, None when k was given.
    features : tuple of str
        The clustered features.
    log_features : tuple of str
        The features that were log-transformed before scaling.
    as_of, first_date, last_date : pandas.Timestamp
    columns : dict
        Role -> input column (None where absent).
    date_format : str
    returns : str
        ``"net"`` or ``"drop"``.
    n_input_rows, n_kept_rows : int
    netted_revenue : float
        Revenue taken back by netted cancellations and returns, as a positive number.
    customers_without_purchase : int
        Customers with only cancellations or returns, left out of the segmentation.
    customers_nonpositive : int
        Segmented customers whose returns equal or exceed their purchases.
    inertia : float
    random_state : int
    seconds : dict
        Wall time of each step.
    notes : list of (str, dict)
        Catalog keys and fields of facts the report should mention.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    profile: pd.DataFrame
    cleaning: pd.DataFrame
    k: int
    k_source: str
    k_reason: str
    k_reason_key: str
    k_reason_fields: dict
    k_table: pd.DataFrame | None
    k_selection: object
    features: tuple
    log_features: tuple
    as_of: pd.Timestamp
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    columns: dict
    date_format: str
    returns: str
    n_input_rows: int
    n_kept_rows: int
    netted_revenue: float
    customers_without_purchase: int
    customers_nonpositive: int
    inertia: float
    random_state: int
    seconds: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    unparsed_date_examples: list = field(default_factory=list)

    @property
    def n_customers(self):
        return len(self.customers)

    @property
    def total_revenue(self):
        return float(self.customers["monetary"].sum())

    def _repr_html_(self):
        shown = ["segment", "segment_name", "customers", "customer_share", "revenue_share",
                 "recency_median", "frequency_median", "monetary_median"]
        caption = f"{self.n_customers} customers in {self.k} segments"
        return self.segments[shown].style.set_caption(caption).format(precision=3).hide(axis="index").to_html()


def compute_rfm(lines, as_of=None):
    """Compute recency, frequency, monetary value, tenure and average order value per customer.

    Parameters
    ----------
    lines : pandas.DataFrame
        ``CleanedTransactions.lines``: ``customer_id``, ``order_id``, ``date``, ``revenue``,
        ``is_return``.
    as_of : pandas.Timestamp, optional
        The day recency is counted to; default the day after the last date in ``lines``.

    Returns
    -------
    rfm : pandas.DataFrame
        Indexed by ``customer_id`` (sorted), for customers with at least one purchase:
        ``recency`` = days from the day of the last purchase to ``as_of``; ``frequency`` =
        distinct orders that are not returns; ``monetary`` = sum of revenue, returns
        included (negative); ``tenure`` = days from the day of the first purchase to
        ``as_of``; ``average_order_value`` = monetary / frequency; ``first_purchase`` and
        ``last_purchase`` timestamps.
    as_of : pandas.Timestamp
    customers_without_purchase : int
        Customers in ``lines`` with returns only; they are not in ``rfm``.

    Examples
    --------
    >>> lines = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-05"]),
    ...     "revenue": [10.0, 5.0, 7.0], "is_return": [False, False, False]})
    >>> rfm, as_of, _ = compute_rfm(lines)
    >>> str(as_of.date())
    '2024-01-11'
    >>> int(rfm.loc["a", "recency"]), int(rfm.loc["a", "frequency"]), float(rfm.loc["a", "monetary"])
    (1, 2, 15.0)
    """
    if as_of is None:
        as_of = pd.Timestamp(lines["date"].max()).normalize() + pd.Timedelta(days=1)
    purchases = lines.loc[~lines["is_return"].to_numpy()]
    grouped = purchases.groupby("customer_id", sort=True)
    rfm = pd.DataFrame(
        {
            "first_purchase": grouped["date"].min(),
            "last_purchase": grouped["date"].max(),
            "frequency": grouped["order_id"].nunique(),
        }
    )
    net = lines.groupby("customer_id", sort=True)["revenue"].sum()
    rfm["monetary"] = net.reindex(rfm.index).to_numpy()
    day = pd.Timedelta(days=1)
    rfm["recency"] = ((as_of - rfm["last_purchase"].dt.normalize()) // day).astype("int64")
    rfm["tenure"] = ((as_of - rfm["first_purchase"].dt.normalize()) // day).astype("int64")
    rfm["average_order_value"] = rfm["monetary"] / rfm["frequency"]
    rfm.index.name = "customer_id"
    without_purchase = int(net.index.difference(rfm.index).size)
    columns = ["recency", "frequency", "monetary", "tenure", "average_order_value", "first_purchase", "last_purchase"]
    return rfm[columns], as_of, without_purchase


def rfm_scores(rfm):
    """Score recency, frequency and monetary value 1 to 5 by quintile, 5 being best.

    Customers are ranked on each dimension (fewest days since the last purchase ranks best)
    and the rank's percentile p in (0, 1] becomes ``ceil(5 p)``. Tied customers share the
    average rank and so one score: with many one-order customers they all get the same F score
    and the quintiles are uneven there, as expected of the classic method.

    Returns a DataFrame with ``r_score``, ``f_score``, ``m_score`` (int) and ``rfm_score``
    (the three digits as a string, such as ``"545"``), indexed like ``rfm``.
    """
    n = len(rfm)

    def quintile(values):
        percentile = values.rank(method="average") / n
        return np.clip(np.ceil(percentile * 5), 1, 5).astype("int64")

    scores = pd.DataFrame(
        {
            "r_score": quintile(-rfm["recency"]),
            "f_score": quintile(rfm["frequency"]),
            "m_score": quintile(rfm["monetary"]),
        },
        index=rfm.index,
    )
    scores["rfm_score"] = (
        scores["r_score"].astype(str) + scores["f_score"].astype(str) + scores["m_score"].astype(str)
    )
    return scores


def transform_features(rfm, features):
    """Log-transform skewed features and standardize all, for K-means.

    A feature whose sample skewness exceeds 1 goes through ``log(1 + max(x, 0))``. Net revenue
    is negative when returns exceed purchases. Those customers are placed with the
    zero-revenue ones, because far below everyone else they would form a segment of their
    own. Every column is then centred and divided by its standard deviation (a constant
    column by 1).

    Returns
    -------
    X : numpy.ndarray of shape (n_customers, n_features), float64
    log_features : tuple of str
    """
    columns = []
    log_features = []
    for name in features:
        values = rfm[name].to_numpy(dtype=float)
        if len(values) > 2 and pd.Series(values).skew() > _SKEW_THRESHOLD:
            values = np.log1p(np.clip(values, 0.0, None))
            log_features.append(name)
        std = values.std()
        columns.append((values - values.mean()) / (std if std > 0 else 1.0))
    return np.column_stack(columns), tuple(log_features)


def segment_levels(rfm, labels):
    """Place each segment's medians among all customers: the naming input.

    For segment s and dimension D, the level is the mid-rank percentile of the segment's
    median of D among every customer's D: the share of customers below it plus half the share
    equal to it. Recency is reversed (fewer days scores higher), so 1 is best on all three.

    Returns a DataFrame indexed by label with ``recency_level``, ``frequency_level`` and
    ``monetary_level`` in [0, 1].
    """
    medians = rfm[["recency", "frequency", "monetary"]].groupby(labels).median()
    levels = pd.DataFrame(index=medians.index)
    for name in ("recency", "frequency", "monetary"):
        values = np.sort(rfm[name].to_numpy(dtype=float))
        below = np.searchsorted(values, medians[name].to_numpy(), side="left")
        not_above = np.searchsorted(values, medians[name].to_numpy(), side="right")
        percentile = (below + not_above) / (2.0 * len(values))
        levels[f"{name}_level"] = 1.0 - percentile if name == "recency" else percentile
    return levels


def name_segments(levels):
    """Give each segment a distinct business name from its recency, frequency and monetary levels.

    The rule: every name in `SEGMENT_PROTOTYPES` has a target level on each of R, F and M
    (for example Champions 0.85/0.85/0.85, New 0.90/0.15/0.20, Cannot lose 0.12/0.85/0.85,
    Lost 0.08/0.08/0.08). Segments and names are matched one to one so that the sum of
    squared distances between each segment's levels and its name's targets is smallest (the
    assignment problem, solved exactly). So two segments never share a name, and a name
    depends only on the segments' levels, not on label numbers or the random seed. With more
    segments than names, a name is used again with a number ("Need attention 2") only then.

    Parameters
    ----------
    levels : pandas.DataFrame
        From `segment_levels`: ``recency_level``, ``frequency_level``, ``monetary_level``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``levels``: ``segment_key`` (a prototype key, with ``_2``... for repeats),
        ``base_key`` (the prototype key) and ``segment_name`` (English).

    Examples
    --------
    >>> levels = pd.DataFrame({"recency_level": [0.9, 0.1], "frequency_level": [0.9, 0.1],
    ...                        "monetary_level": [0.9, 0.1]})
    >>> name_segments(levels)["segment_name"].tolist()
    ['Champions', 'Lost']
    """
    points = levels[["recency_level", "frequency_level", "monetary_level"]].to_numpy(dtype=float)
    targets = np.array([prototype[1:] for prototype in SEGMENT_PROTOTYPES])
    repeats = -(-len(points) // len(targets))
    cost = ((points[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2)
    cost = np.hstack([cost + _REPEAT_PENALTY * copy for copy in range(repeats)])
    rows, chosen = linear_sum_assignment(cost)

    names = []
    for column in chosen[np.argsort(rows)]:
        copy, prototype = divmod(int(column), len(targets))
        key = SEGMENT_PROTOTYPES[prototype][0]
        suffix = f" {copy + 1}" if copy else ""
        names.append(
            {
                "segment_key": key + (f"_{copy + 1}" if copy else ""),
                "base_key": key,
                "segment_name": SEGMENT_NAMES[key] + suffix,
                "name_number": copy + 1,
            }
        )
    return pd.DataFrame(names, index=levels.index)


def _describe(row):
    # English one-line description; reports build theirs from the catalog with the same fields.
    return (
        f"Median customer: last purchase {row['recency_median']:.0f} days ago, "
        f"order count {row['frequency_median']:g}, net revenue {row['monetary_median']:,.0f}; "
        f"{_ADVICE[row['base_key']]}"
    )


_ADVICE = {
    "champions": "reward them, ask for reviews and offer early access.",
    "loyal": "upsell and invite them to a loyalty programme.",
    "potential_loyalists": "offer membership and recommendations to build the habit.",
    "new": "welcome them and make the second order easy.",
    "promising": "build awareness with targeted offers.",
    "need_attention": "reactivate with limited-time, personalised offers.",
    "about_to_sleep": "win them back with relevant products before they lapse.",
    "at_risk": "reach out personally with strong offers before they are gone.",
    "cannot_lose": "win them back at almost any cost; they used to spend the most.",
    "hibernating": "send low-cost reminders; do not overspend on them.",
    "lost": "try one win-back campaign, otherwise leave them be.",
}


# The gap statistic and stability resampling fit K-means dozens of times per k. On the 4,338
# customers of the UCI Online Retail data they added 5 to 13 s and about 30 s on a shared
# 2-core machine, against about 4 s for these four criteria, which chose the same k = 3.
_K_CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin")


def _choose_k(X, k_values, random_state):
    from julei.selection import choose_k

    return choose_k(X, k=list(k_values), criteria=_K_CRITERIA, random_state=random_state)


def _kmeans(n_clusters, random_state):
    from julei.kmeans import KMeans

    return KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)


def segment_customers(
    frame,
    *,
    customer=None,
    order=None,
    date=None,
    quantity=None,
    price=None,
    amount=None,
    date_format=None,
    since=None,
    until=None,
    as_of=None,
    returns="net",
    features=_REQUIRED_FEATURES,
    n_clusters=None,
    k_values=range(3, 9),
    random_state=0,
):
    """Segment the customers of a transactions table with K-means on their RFM features.

    Parameters
    ----------
    frame : pandas.DataFrame
        Transactions, one row per order line or order.
    customer, order, date, quantity, price, amount : str, optional
        Column names that override detection (see `julei.io.transactions.detect_columns`).
    date_format : str, optional
        Force a date format (``strftime`` codes, or ``"excel"``).
    since, until : pandas.Timestamp, optional
        First and last day of transactions to use.
    as_of : pandas.Timestamp, optional
        The day recency is counted to; default the day after the last transaction.
    returns : {"net", "drop"}
        Subtract cancellations and returns from their customer's revenue, or drop them.
    features : sequence of str
        Features to cluster: recency, frequency and monetary, plus optionally ``tenure`` and
        ``average_order_value``.
    n_clusters : int, optional
        Number of segments; default chosen by `julei.selection.choose_k` over ``k_values``.
    k_values : iterable of int
        Candidate k when ``n_clusters`` is None.
    random_state : int

    Returns
    -------
    CustomerSegmentation

    Raises
    ------
    InputError
        Missing columns, unreadable dates, nothing left after cleaning, ``as_of`` before the
        last purchase, or fewer customers than segments.
    """
    from julei.io.tables import input_error

    timings = {}
    started = time.perf_counter()
    features = tuple(dict.fromkeys(_REQUIRED_FEATURES + tuple(features)))
    unknown = [name for name in features if name not in FEATURES]
    if unknown:
        raise input_error(
            "customers.error.bad_feature",
            f"unknown feature {unknown[0]!r}; choose from {list(FEATURES)}.",
            name=unknown[0],
            choices=", ".join(FEATURES),
        )
    if since is not None and until is not None and until < since:
        raise input_error(
            "customers.error.period_reversed",
            f"--until {until.date()} is before --since {since.date()}; swap them.",
            since=str(since.date()),
            until=str(until.date()),
        )

    columns = detect_columns(
        frame, customer=customer, order=order, date=date, quantity=quantity, price=price, amount=amount
    )
    cleaned = clean_transactions(
        frame, columns, date_format=date_format, since=since, until=until, returns=returns
    )
    timings["clean"] = time.perf_counter() - started

    lines = cleaned.lines
    last_date = pd.Timestamp(lines["date"].max())
    if as_of is not None and as_of < last_date.normalize():
        raise input_error(
            "customers.error.as_of_early",
            f"--as-of {as_of.date()} is before the last transaction ({last_date.date()}); "
            f"use a later day or pass --until {as_of.date()}.",
            as_of=str(as_of.date()),
            last=str(last_date.date()),
        )
    step = time.perf_counter()
    rfm, as_of, without_purchase = compute_rfm(lines, as_of)
    timings["features"] = time.perf_counter() - step

    n_customers = len(rfm)
    smallest_k = n_clusters if n_clusters is not None else min(k_values)
    if n_customers < max(smallest_k, 2):
        raise input_error(
            "customers.error.too_few_customers",
            f"only {n_customers} customers have a purchase after cleaning, too few for {smallest_k} segments; "
            "pass more transactions or a smaller -k.",
            customers=n_customers,
            k=smallest_k,
        )

    step = time.perf_counter()
    X, log_features = transform_features(rfm, features)
    if n_clusters is None:
        k_values = [k for k in k_values if k <= n_customers - 1] or [min(k_values)]
        selection = _choose_k(X, k_values, random_state)
        if selection.k is None:
            raise input_error(
                "customers.error.no_k",
                f"no number of segments could be chosen ({selection.reason}); give one with -k.",
                reason=selection.reason,
            )
        k = int(selection.k)
        model = selection.model(k)
        k_source = "choose_k"
        k_reason, k_reason_key, k_reason_fields = selection.reason, selection.reason_key, dict(selection.reason_fields)
        k_table = selection.table.copy()
    else:
        k = int(n_clusters)
        model = _kmeans(k, random_state).fit(X)
        k_source = "user"
        k_reason = f"k={k} was given with -k."
        k_reason_key, k_reason_fields = "customers.k.given", {"k": k}
        k_table = None
        selection = None
    timings["clustering"] = time.perf_counter() - step

    labels = np.asarray(model.labels_)
    customers, segments, profile = _describe_segments(rfm, labels, X, features)
    timings["total"] = time.perf_counter() - started

    notes = []
    if log_features:
        notes.append(("customers.note.log", {"features": ", ".join(log_features)}))
    nonpositive = int((rfm["monetary"] <= 0).sum())
    logger.info("segmented %d customers into %d segments in %.2f s", n_customers, k, timings["total"])
    return CustomerSegmentation(
        customers=customers,
        segments=segments,
        profile=profile,
        cleaning=cleaned.cleaning_table(),
        k=k,
        k_source=k_source,
        k_reason=k_reason,
        k_reason_key=k_reason_key,
        k_reason_fields=k_reason_fields,
        k_table=k_table,
        k_selection=selection,
        features=features,
        log_features=log_features,
        as_of=as_of,
        first_date=pd.Timestamp(lines["date"].min()),
        last_date=last_date,
        columns=columns.as_dict(),
        date_format=cleaned.date_format,
        returns=returns,
        n_input_rows=cleaned.n_input_rows,
        n_kept_rows=cleaned.n_kept_rows,
        netted_revenue=cleaned.netted_revenue,
        customers_without_purchase=without_purchase,
        customers_nonpositive=nonpositive,
        inertia=float(model.inertia_),
        random_state=random_state,
        seconds=timings,
        notes=notes,
        unparsed_date_examples=cleaned.unparsed_date_examples,
    )


def _describe_segments(rfm, labels, X, features):
    """Name, order and profile the segments; return the customer, segment and profile frames."""
    levels = segment_levels(rfm, labels)
    names = name_segments(levels)

    # Segment 1 is the most valuable: order by the mean of the three levels, then by size.
    sizes = pd.Series(labels).value_counts()
    value = levels.mean(axis=1)
    order = sorted(levels.index, key=lambda label: (-value[label], -sizes[label], label))
    number = {label: position + 1 for position, label in enumerate(order)}

    customers = rfm.reset_index()
    customers["segment"] = [number[label] for label in labels]
    customers["segment_key"] = names.loc[labels, "segment_key"].to_numpy()
    customers["segment_name"] = names.loc[labels, "segment_name"].to_numpy()
    scores = rfm_scores(rfm)
    for column in scores.columns:
        customers[column] = scores[column].to_numpy()

    total_revenue = customers["monetary"].sum()
    grouped = customers.groupby("segment", sort=True)
    segments = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["monetary"].sum(),
        }
    )
    segments["customer_share"] = segments["customers"] / len(customers)
    segments["revenue_share"] = segments["revenue"] / total_revenue if total_revenue else np.nan
    for name in features:
        segments[f"{name}_mean"] = grouped[name].mean()
        segments[f"{name}_median"] = grouped[name].median()
    for score in ("r_score", "f_score", "m_score"):
        segments[f"{score}_mean"] = grouped[score].mean()
    segments["top_rfm_score"] = grouped["rfm_score"].agg(lambda values: values.value_counts().idxmax())

    by_number = {number[label]: label for label in levels.index}
    ordered_labels = [by_number[segment] for segment in segments.index]
    for column in levels.columns:
        segments[column] = levels.loc[ordered_labels, column].to_numpy()
    for column in ("segment_key", "base_key", "segment_name", "name_number"):
        segments[column] = names.loc[ordered_labels, column].to_numpy()
    segments["description"] = segments.apply(_describe, axis=1)
    segments = segments.reset_index()
    leading = ["segment", "segment_key", "segment_name", "customers", "customer_share", "revenue", "revenue_share"]
    segments = segments[leading + [column for column in segments.columns if column not in leading]]

    profile = pd.DataFrame(X, columns=list(features)).groupby(customers["segment"].to_numpy()).mean()
    profile.index.name = "segment"

    leading = ["customer_id", "recency", "frequency", "monetary", "segment", "segment_key", "segment_name",
               "r_score", "f_score", "m_score", "rfm_score"]
    customers = customers[leading + [column for column in customers.columns if column not in leading]]
    return customers, segments, profile
