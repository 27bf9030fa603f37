"""Tests of julei.workflows.tabular: feature preparation, k parsing and the whole job."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from julei.exceptions import InputError
from julei.workflows.tabular import TabularSettings, parse_k, prepare_features, run_tabular


@pytest.fixture
def blobs():
    """Three well-separated groups of 30 rows in two columns, plus text and id columns."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.vstack([center + rng.normal(scale=0.5, size=(30, 2)) for center in centers])
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1090),
            "城市": np.repeat(["北京", "上海", "广州"], 30),
            "income": points[:, 0],
            "spend": points[:, 1],
        }
    )


@pytest.mark.parametrize(
    "text, expected",
    [("4", (4, 4)), ("2..10", (2, 10)), ("3-6", (3, 6)), ("2:5", (2, 5)), ("auto", (2, 10)), (" AUTO ", (2, 10))],
)
def test_parse_k_accepts(text, expected):
    assert parse_k(text) == expected


@pytest.mark.parametrize(
    "text, match",
    [("four", "not a number of clusters"), ("0", "not a valid range"), ("6..3", "smaller number first"), ("2..", "not a number")],
)
def test_parse_k_rejects(text, match):
    with pytest.raises(InputError, match=match):
        parse_k(text)


def test_features_default_numeric_only(blobs):
    features = prepare_features(blobs, TabularSettings())
    assert features.names == ["income", "spend"]
    assert features.text_excluded == ["城市"]
    assert features.id_excluded == ["customer_id"]
    assert features.id_column == "customer_id"
    assert features.kept.all()


def test_repeated_identifier_left_out():
    # An order log repeats its customer ids; they are still no measurement to cluster on.
    frame = pd.DataFrame({"store_id": [1, 1, 2, 2], "sales": [1.0, 2.0, 3.0, 4.0]})
    features = prepare_features(frame, TabularSettings())
    assert features.names == ["sales"]
    assert features.id_excluded == ["store_id"]
    # Only an identifier with one value per row names the rows.
    assert features.id_column is None


def test_labels_csv_keeps_integer_clusters():
    from julei.report.cluster import labels_frame

    frame = pd.DataFrame({"a": [1.0, 1.1, np.nan, 9.0, 9.1, 9.2], "b": [0, 1, 0, 5, 5, 5]})
    result = run_tabular(frame, TabularSettings(k_min=2, k_max=2, seed=0))
    lines = labels_frame(result).to_csv(index=False).splitlines()
    assert lines[0] == "a,b,cluster"
    assert lines[3] == ",0,"
    assert lines[1].split(",")[-1] in {"0", "1"}


def test_values_beyond_float32_range():
    values = [float(i) for i in range(30)] + [1e30]
    frame = pd.DataFrame({"a": values, "b": [i % 5 for i in range(31)]})
    result = run_tabular(frame, TabularSettings(k_min=2, k_max=2, seed=0))
    assert result.k == 2
    assert result.labels.notna().all()


def test_value_too_large_named():
    frame = pd.DataFrame({"a": [float(i) for i in range(30)] + [1e300], "b": [i % 5 for i in range(31)]})
    with pytest.raises(InputError, match=r"column 'a' holds 1e\+300 on line 32, too large to cluster"):
        run_tabular(frame, TabularSettings(k_min=2, k_max=2, seed=0))


@pytest.mark.parametrize(
    "scale, scaler",
    [("standard", StandardScaler()), ("robust", RobustScaler()), ("minmax", MinMaxScaler())],
)
def test_scaling_matches_sklearn(blobs, scale, scaler):
    features = prepare_features(blobs, TabularSettings(scale=scale))
    expected = scaler.fit_transform(blobs[["income", "spend"]].to_numpy())
    assert_allclose(features.X, expected, rtol=1e-10, atol=1e-12)


def test_scaling_none_keeps_units(blobs):
    features = prepare_features(blobs, TabularSettings(scale="none"))
    assert_allclose(features.X, blobs[["income", "spend"]].to_numpy())


def test_missing_drop_counts_rows():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0, np.inf], "b": [1.0, 2.0, np.nan, 4.0, 5.0]})
    features = prepare_features(frame, TabularSettings())
    assert features.dropped_missing == 3
    assert_array_equal(features.kept, [True, False, False, True, False])
    assert list(features.original.index) == [0, 3]


@pytest.mark.parametrize("how, filled", [("mean", 2.0), ("median", 1.5)])
def test_missing_filled(how, filled):
    frame = pd.DataFrame({"a": [1.0, np.nan, 1.5, 3.5], "b": [5.0, 6.0, 7.0, 9.0]})
    features = prepare_features(frame, TabularSettings(missing=how))
    assert features.kept.all()
    assert features.imputed == {"a": 1}
    assert features.original.loc[1, "a"] == pytest.approx(filled)


def test_constant_column_dropped():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "same": [7, 7, 7]})
    features = prepare_features(frame, TabularSettings())
    assert features.constant_dropped == ["same"]
    assert features.names == ["a"]


def test_one_hot_with_level_cap():
    frame = pd.DataFrame({"x": np.arange(10.0), "city": list("AAAABBBCDE")})
    features = prepare_features(frame, TabularSettings(columns=["x", "city"], max_levels=3))
    assert features.names == ["x", "city=A", "city=B", "city=(other)"]
    assert features.encoded["city"] == {"levels": 5, "kept": ["A", "B"], "other": 3}
    assert features.original["city=(other)"].sum() == 3


def test_no_numeric_column():
    frame = pd.DataFrame({"name": ["a", "b"], "city": ["x", "y"]})
    with pytest.raises(InputError, match="no numeric column to cluster.*--columns") as info:
        prepare_features(frame, TabularSettings())
    assert info.value.key == "error.no_numeric"


def test_unknown_column_named():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(InputError, match=r"column\(s\) nope not found; the table's columns are a"):
        prepare_features(frame, TabularSettings(columns=["nope"]))


def test_all_missing_rows():
    frame = pd.DataFrame({"a": [np.nan, np.nan], "b": [1.0, np.nan]})
    with pytest.raises(InputError, match="every row has a missing value"):
        prepare_features(frame, TabularSettings())


def test_only_constant_columns():
    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0]})
    with pytest.raises(InputError, match="every chosen column has a single value"):
        prepare_features(frame, TabularSettings())


def test_run_finds_three_groups(blobs):
    result = run_tabular(blobs, TabularSettings(seed=0, k_min=2, k_max=4))
    truth = np.repeat([0, 1, 2], 30)
    assert result.k == 3
    assert adjusted_rand_score(truth, result.labels.to_numpy(dtype=int)) == 1.0
    assert result.sizes.tolist() == [30, 30, 30]
    assert result.features.id_column == "customer_id"
    assert ("cluster.notice.text_excluded", {"columns": "城市"}) in result.notices


def test_run_matches_sklearn_for_fixed_k(blobs):
    result = run_tabular(blobs, TabularSettings(k_min=3, k_max=3, seed=0))
    reference = SklearnKMeans(n_clusters=3, n_init=10, random_state=0).fit(StandardScaler().fit_transform(blobs[["income", "spend"]]))
    assert result.k_reason_key == "cluster.k_reason.fixed"
    assert adjusted_rand_score(reference.labels_, result.labels.to_numpy(dtype=int)) == 1.0
    assert result.metrics["inertia"] == pytest.approx(reference.inertia_, rel=1e-6)


def test_centers_in_data_units(blobs):
    result = run_tabular(blobs, TabularSettings(k_min=3, k_max=3, seed=0))
    labels = result.labels.to_numpy(dtype=int)
    for cluster in range(3):
        expected = blobs.loc[labels == cluster, ["income", "spend"]].mean().to_numpy()
        assert_allclose(result.centers.loc[cluster].to_numpy(), expected, atol=1e-8)


def test_clusters_numbered_by_size():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"v": np.concatenate([rng.normal(0, 0.1, 5), rng.normal(5, 0.1, 40), rng.normal(10, 0.1, 15)])})
    result = run_tabular(frame, TabularSettings(k_min=3, k_max=3, seed=0))
    assert result.sizes.tolist() == [40, 15, 5]
    assert (result.labels.iloc[5:45] == 0).all()


def test_dropped_rows_have_no_label():
    frame = pd.DataFrame({"a": [1.0, 1.1, np.nan, 9.0, 9.1, 9.2], "b": [0.0, 0.1, 0.0, 5.0, 5.1, 5.2]})
    result = run_tabular(frame, TabularSettings(k_min=2, k_max=2, seed=0))
    assert result.labels.isna().tolist() == [False, False, True, False, False, False]
    assert result.row_counts() == {"read": 6, "kept": 5, "dropped": {"missing_values": 1}}


def test_k_larger_than_rows():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(InputError, match=r"-k 5 is larger than the number of rows clustered \(3\); use -k 2 or less"):
        run_tabular(frame, TabularSettings(k_min=5, k_max=5))


def test_auto_range_clipped_to_rows():
    frame = pd.DataFrame({"a": [1.0, 1.1, 5.0, 5.1, 9.0]})
    result = run_tabular(frame, TabularSettings(seed=0))
    assert result.selection.table.index.max() == 4
    assert ("cluster.notice.k_range_clipped", {"k_max": 4, "rows": 5}) in result.notices


def test_same_seed_same_labels(blobs):
    first = run_tabular(blobs, TabularSettings(k_min=3, k_max=3, seed=3))
    second = run_tabular(blobs, TabularSettings(k_min=3, k_max=3, seed=3))
    assert_array_equal(first.labels.to_numpy(dtype=int), second.labels.to_numpy(dtype=int))


def test_progress_steps_reported(blobs):
    steps = []
    run_tabular(blobs, TabularSettings(k_min=3, k_max=3), progress=steps.append)
    assert steps == ["progress.reading", "progress.features", "progress.choosing_k", "progress.explaining"]


@pytest.fixture
def long_tailed():
    rng = np.random.default_rng(5)
    return pd.DataFrame({"revenue": np.exp(rng.normal(5, 1.5, 200)), "age": rng.normal(40, 10, 200)})


def test_log_columns_auto(long_tailed):
    features = prepare_features(long_tailed, TabularSettings(log_columns="auto"))
    assert features.log_columns == ["revenue"]
    assert features.skewed_columns == []
    expected = StandardScaler().fit_transform(np.column_stack([np.log1p(long_tailed["revenue"]), long_tailed["age"]]))
    assert_allclose(features.X, expected, rtol=1e-10, atol=1e-12)
    # The original units stay untouched for profiles and rules.
    assert_allclose(features.original["revenue"], long_tailed["revenue"])


def test_skewed_column_noticed(long_tailed):
    features = prepare_features(long_tailed, TabularSettings())
    assert features.log_columns == []
    assert features.skewed_columns == ["revenue"]
    result = run_tabular(long_tailed, TabularSettings(k_min=2, k_max=2))
    assert ("cluster.notice.skewed", {"columns": "revenue"}) in result.notices


def test_log_columns_named_negative():
    frame = pd.DataFrame({"a": [-1.0, 2.0, 3.0], "b": [1.0, 2.0, 5.0]})
    with pytest.raises(InputError, match=r"--log-columns a has negative values"):
        prepare_features(frame, TabularSettings(log_columns=["a"]))


def test_log_columns_named_unknown():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(InputError, match=r"--log-columns names b, which are not numeric features"):
        prepare_features(frame, TabularSettings(log_columns=["b"]))


def test_centers_in_data_units_with_log(long_tailed):
    result = run_tabular(long_tailed, TabularSettings(k_min=2, k_max=2, log_columns="auto", seed=0))
    labels = result.labels.to_numpy(dtype=int)
    for cluster in range(2):
        assert result.centers.loc[cluster, "revenue"] == pytest.approx(long_tailed["revenue"][labels == cluster].mean())


def test_fixed_k_of_one():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    result = run_tabular(frame, TabularSettings(k_min=1, k_max=1))
    assert result.k == 1
    assert result.sizes.tolist() == [4]
    assert result.metrics["silhouette"] is None


def test_fixed_k_above_distinct_rows():
    frame = pd.DataFrame({"a": [1.0] * 10 + [5.0] * 10})
    with pytest.raises(InputError, match=r"-k 3 is larger than the number of distinct rows \(2\); use -k 2 or less"):
        run_tabular(frame, TabularSettings(k_min=3, k_max=3))


def test_auto_k_skips_beyond_distinct_rows():
    frame = pd.DataFrame({"a": [1.0] * 10 + [5.0] * 10 + [9.0] * 10})
    result = run_tabular(frame, TabularSettings(k_min=2, k_max=5, seed=0))
    assert result.k == 3
    assert ("cluster.notice.k_skipped", {"ks": "4, 5", "distinct": 3}) in result.notices


def test_identifier_left_out_with_named_id(blobs):
    frame = blobs.assign(order_id=np.arange(90) * 7)
    features = prepare_features(frame, TabularSettings(id_column="customer_id"))
    assert features.id_column == "customer_id"
    assert features.id_excluded == ["order_id"]
    assert features.names == ["income", "spend"]


def test_thousands_columns_noticed(tmp_path):
    path = tmp_path / "money.csv"
    path.write_text('shop,revenue\nA,"1,200"\nB,"1,300"\nC,"9,000"\nD,"9,100"\n', encoding="utf-8")
    result = run_tabular(path, TabularSettings(k_min=2, k_max=2))
    assert result.notices[0] == ("cluster.notice.thousands", {"columns": "revenue"})
    assert result.features.names == ["revenue"]
