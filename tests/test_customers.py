"""Tests of julei.workflows.customers: RFM features, scores, segment naming, the whole job."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from julei.exceptions import InputError
from julei.workflows.customers import (
    SEGMENT_NAMES,
    SEGMENT_PROTOTYPES,
    compute_rfm,
    name_segments,
    rfm_scores,
    segment_customers,
    segment_levels,
    transform_features,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RETAIL = DATA / "online_retail" / "online_retail.csv.gz"


def _lines(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "date", "revenue", "is_return"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


# ---------------------------------------------------------------------------------------
# Features


def test_compute_rfm_hand_worked():
    lines = _lines(
        [
            ("a", "1", "2024-01-01 09:00", 10.0, False),
            ("a", "1", "2024-01-01 09:00", 5.0, False),
            ("a", "2", "2024-01-10 23:30", 20.0, False),
            ("a", "C3", "2024-01-12 08:00", -4.0, True),
            ("b", "4", "2024-01-05 12:00", 7.0, False),
            ("c", "C5", "2024-01-06 12:00", -3.0, True),
        ]
    )

    rfm, as_of, without_purchase = compute_rfm(lines)

    # As of the day after the last line (a return, which still counts as data).
    assert as_of == pd.Timestamp("2024-01-13")
    assert rfm.index.tolist() == ["a", "b"]
    assert rfm.loc["a", "recency"] == 3
    assert rfm.loc["a", "frequency"] == 2
    assert rfm.loc["a", "monetary"] == 31.0
    assert rfm.loc["a", "tenure"] == 12
    assert rfm.loc["a", "average_order_value"] == 15.5
    assert rfm.loc["b", "recency"] == 8
    assert without_purchase == 1


def test_compute_rfm_given_as_of():
    lines = _lines([("a", "1", "2024-01-01 09:00", 10.0, False)])

    rfm, as_of, _ = compute_rfm(lines, pd.Timestamp("2024-02-01"))

    assert as_of == pd.Timestamp("2024-02-01")
    assert rfm.loc["a", "recency"] == 31


def test_rfm_scores_quintiles():
    rfm = pd.DataFrame(
        {
            "recency": np.arange(1, 11),  # customer 0 bought most recently
            "frequency": [1, 1, 1, 1, 1, 1, 2, 3, 4, 5],
            "monetary": np.arange(10, 110, 10, dtype=float),
        }
    )

    scores = rfm_scores(rfm)

    assert scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # The six one-order customers tie at average rank 3.5 of 10, so all score 2.
    assert scores["f_score"].tolist() == [2, 2, 2, 2, 2, 2, 4, 4, 5, 5]
    assert scores["rfm_score"].iloc[0] == "521"


def test_transform_features_logs_skewed_only():
    rng = np.random.default_rng(0)
    rfm = pd.DataFrame(
        {
            "recency": rng.uniform(1, 100, 500),
            "frequency": rng.integers(1, 4, 500),
            "monetary": rng.lognormal(5, 1.5, 500),
        }
    )

    X, logged = transform_features(rfm, ("recency", "frequency", "monetary"))

    assert logged == ("monetary",)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, rtol=1e-12)
    expected = np.log1p(rfm["monetary"].to_numpy())
    np.testing.assert_allclose(X[:, 2], (expected - expected.mean()) / expected.std())


def test_transform_features_clips_negative_revenue():
    monetary = np.r_[np.full(50, 10.0), [1e5, 2e5, -5e4]]
    rfm = pd.DataFrame({"recency": np.arange(53.0), "frequency": np.ones(53), "monetary": monetary})

    X, logged = transform_features(rfm, ("recency", "frequency", "monetary"))

    assert "monetary" in logged
    # The net-negative customer sits below the 10-spenders but not far away from everyone.
    assert X[52, 2] < X[0, 2]
    assert X[52, 2] > -5
    # A constant column is centred, not divided by zero.
    np.testing.assert_array_equal(X[:, 1], 0.0)


# ---------------------------------------------------------------------------------------
# Naming


def _levels(rows):
    return pd.DataFrame(rows, columns=["recency_level", "frequency_level", "monetary_level"])


def test_name_segments_prototypes_name_themselves():
    levels = _levels([prototype[1:] for prototype in SEGMENT_PROTOTYPES])

    names = name_segments(levels)

    assert names["segment_key"].tolist() == [prototype[0] for prototype in SEGMENT_PROTOTYPES]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([(0.95, 0.95, 0.95), (0.5, 0.5, 0.5), (0.05, 0.05, 0.05)], ["Champions", "Need attention", "Lost"]),
        ([(0.95, 0.10, 0.15), (0.10, 0.90, 0.90), (0.75, 0.55, 0.50)], ["New", "Cannot lose", "Potential loyalists"]),
        ([(0.30, 0.70, 0.65), (0.90, 0.85, 0.90), (0.25, 0.20, 0.15)], ["At risk", "Champions", "Hibernating"]),
        ([(0.65, 0.80, 0.75), (0.90, 0.90, 0.90)], ["Loyal", "Champions"]),
    ],
    ids=["best-middle-worst", "new-cannot-lose", "at-risk", "two-good"],
)
def test_name_segments_constructed(levels, expected):
    names = name_segments(_levels(levels))

    assert names["segment_name"].tolist() == expected


def test_name_segments_two_similar_segments_get_two_names():
    # Both look like Champions; the one further from the target gets the next best name.
    names = name_segments(_levels([(0.86, 0.86, 0.86), (0.80, 0.80, 0.80)]))

    assert names["segment_name"].tolist() == ["Champions", "Loyal"]


def test_name_segments_ignores_row_order():
    rows = [(0.9, 0.9, 0.9), (0.2, 0.6, 0.7), (0.5, 0.4, 0.4), (0.95, 0.1, 0.1), (0.1, 0.1, 0.1)]
    forward = name_segments(_levels(rows))["segment_name"].tolist()
    backward = name_segments(_levels(rows[::-1]))["segment_name"].tolist()

    assert backward == forward[::-1]


def test_name_segments_more_segments_than_names():
    rows = [prototype[1:] for prototype in SEGMENT_PROTOTYPES] + [(0.5, 0.52, 0.5)]

    names = name_segments(_levels(rows))

    assert names["segment_name"].is_unique
    assert names["segment_name"].iloc[-1] == "Need attention 2"
    assert names["segment_key"].iloc[-1] == "need_attention_2"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0.0, 1.0)] * 3), min_size=1, max_size=15))
def test_name_segments_never_repeat(rows):
    names = name_segments(_levels(rows))

    assert names["segment_name"].is_unique
    assert set(names["base_key"]) <= set(SEGMENT_NAMES)


def test_segment_levels_mid_rank():
    rfm = pd.DataFrame({"recency": [1, 2, 3, 4], "frequency": [1, 1, 2, 2], "monetary": [10.0, 20.0, 30.0, 40.0]})
    labels = np.array([0, 0, 1, 1])

    levels = segment_levels(rfm, labels)

    # Segment 0: median recency 1.5 beats 2 of 4 customers' recency (reversed: 1 - 0.25).
    assert levels.loc[0, "recency_level"] == pytest.approx(0.75)
    assert levels.loc[1, "recency_level"] == pytest.approx(0.25)
    # Frequency 1 ties with two customers: (0 + 2) / 8.
    assert levels.loc[0, "frequency_level"] == pytest.approx(0.25)
    assert levels.loc[1, "monetary_level"] == pytest.approx(0.75)


# ---------------------------------------------------------------------------------------
# The whole job on constructed transactions


def _transactions(seed=0):
    """Three groups of 40 customers: frequent big spenders, recent one-timers, long-gone one-timers."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-06-30")
    rows = []
    truth = {}
    order = 0
    for group, (n_orders, days_ago, spend) in enumerate([((12, 20), (0, 10), 400.0), ((1, 2), (0, 15), 30.0), ((1, 2), (250, 350), 30.0)]):
        for index in range(40):
            customer = f"g{group}-{index:02d}"
            truth[customer] = group
            last = end - pd.Timedelta(days=int(rng.integers(*days_ago)))
            for position in range(int(rng.integers(*n_orders))):
                order += 1
                date = last - pd.Timedelta(days=7 * position, hours=int(rng.integers(0, 12)))
                for _ in range(2):
                    rows.append((customer, f"{order:06d}", date, 1, spend * rng.uniform(0.8, 1.2)))
    frame = pd.DataFrame(rows, columns=["客户ID", "订单号", "下单时间", "数量", "单价"])
    frame["下单时间"] = frame["下单时间"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame, truth


def test_segment_customers_finds_constructed_groups():
    frame, truth = _transactions()

    result = segment_customers(frame, random_state=0)

    assert result.k == 3
    assert result.k_source == "choose_k"
    labels_true = result.customers["customer_id"].map(truth)
    assert adjusted_rand_score(labels_true, result.customers["segment"]) == 1.0
    assert result.segments["segment_name"].iloc[0] == "Champions"
    assert result.segments["segment_name"].is_unique
    assert result.columns["customer"] == "客户ID"


def test_segment_customers_tables_add_up():
    frame, _ = _transactions()

    result = segment_customers(frame, n_clusters=4, random_state=1)
    segments = result.segments

    assert result.k == 4
    assert segments["customers"].sum() == result.n_customers == 120
    assert segments["customer_share"].sum() == pytest.approx(1.0)
    assert segments["revenue_share"].sum() == pytest.approx(1.0)
    assert segments["revenue"].sum() == pytest.approx(result.customers["monetary"].sum())
    assert segments["segment"].tolist() == [1, 2, 3, 4]
    expected_medians = result.customers.groupby("segment")["recency"].median()
    np.testing.assert_allclose(segments["recency_median"], expected_medians.to_numpy())
    assert result.profile.shape == (4, 3)


def test_segment_customers_same_seed_same_result():
    frame, _ = _transactions()

    first = segment_customers(frame, n_clusters=3, random_state=5)
    second = segment_customers(frame, n_clusters=3, random_state=5)

    pd.testing.assert_frame_equal(first.customers, second.customers)


def test_segment_customers_extra_features():
    frame, _ = _transactions()

    result = segment_customers(frame, n_clusters=3, features=("tenure", "average_order_value"))

    assert result.features == ("recency", "frequency", "monetary", "tenure", "average_order_value")
    assert "tenure_median" in result.segments.columns
    assert result.profile.shape == (3, 5)


def test_segment_customers_rejects_early_as_of():
    frame, _ = _transactions()

    with pytest.raises(InputError, match=r"--as-of 2024-01-01 is before the last transaction \(2024-06-30\)"):
        segment_customers(frame, as_of=pd.Timestamp("2024-01-01"))


def test_segment_customers_too_few_customers():
    frame = pd.DataFrame({"CustomerID": ["a", "b"], "InvoiceDate": ["2024-01-01", "2024-01-02"], "Amount": [1.0, 2.0]})

    with pytest.raises(InputError, match=r"only 2 customers have a purchase after cleaning, too few for 3 segments"):
        segment_customers(frame)


def test_segment_customers_unknown_feature():
    frame, _ = _transactions()

    with pytest.raises(InputError, match=r"unknown feature 'age'"):
        segment_customers(frame, features=("age",))


# ---------------------------------------------------------------------------------------
# Real data: the figures agree with an independent pandas computation


def _independent_rfm(path):
    """R, F and M per customer computed directly with pandas, following the documented rules."""
    lines = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    lines = lines.drop_duplicates()
    lines = lines[lines["CustomerID"].notna() & (lines["UnitPrice"] > 0)].copy()
    lines["customer"] = lines["CustomerID"].astype(int).astype(str)
    lines["when"] = pd.to_datetime(lines["InvoiceDate"], format="%m/%d/%Y %H:%M")
    lines["line_total"] = lines["Quantity"] * lines["UnitPrice"]
    snapshot = lines["when"].max().normalize() + pd.Timedelta(days=1)
    is_return = lines["InvoiceNo"].str.startswith("C") | (lines["Quantity"] < 0)
    bought = lines[~is_return].groupby("customer")
    return pd.DataFrame(
        {
            "recency": (snapshot - bought["when"].max().dt.normalize()).dt.days,
            "frequency": bought["InvoiceNo"].nunique(),
            "monetary": lines.groupby("customer")["line_total"].sum(),
        }
    ).dropna()


@pytest.mark.slow
def test_real_retail_rfm_matches_pandas(tmp_path):
    if not RETAIL.exists():
        pytest.skip(f"the UCI Online Retail file is not at {RETAIL}; the shared data folder is absent")
    from julei.cli.customers import run

    run(RETAIL, out=tmp_path / "out", lang="en", quiet=True, seed=0)
    written = pd.read_csv(tmp_path / "out" / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    expected = _independent_rfm(RETAIL)

    assert len(written) == len(expected) == 4338
    sample = expected.sample(300, random_state=0)
    got = written.loc[sample.index]
    np.testing.assert_array_equal(got["recency"].to_numpy(), sample["recency"].to_numpy())
    np.testing.assert_array_equal(got["frequency"].to_numpy(), sample["frequency"].to_numpy())
    np.testing.assert_allclose(got["monetary"].to_numpy(), sample["monetary"].to_numpy(), atol=0.006)

    segments = pd.read_csv(tmp_path / "out" / "segments.csv")
    assert segments["customers"].sum() == 4338
    per_segment = written.groupby("segment")["monetary"].sum()
    np.testing.assert_allclose(segments.set_index("segment")["revenue"], per_segment, rtol=1e-6)


def test_no_returns_no_netting_note():
    from julei.i18n import translator
    from julei.report.customers import cleaning_notes

    frame = pd.DataFrame(
        {
            "CustomerID": [1, 1, 2, 3, 3, 4],
            "InvoiceNo": ["A1", "B2", "CN-3", "d4", "c", "f6"],
            "InvoiceDate": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-01", "2024-03-02", "2024-01-20"]
            ),
            "Quantity": [1, 2, 1, 5, 1, 2],
            "UnitPrice": [10.0, 5.0, 20.0, 3.0, 8.0, 4.0],
        }
    )
    result = segment_customers(frame, n_clusters=2, random_state=0)
    notes = cleaning_notes(result, translator("en"))
    assert not any("netted" in note for note in notes)
