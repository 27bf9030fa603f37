"""Tests of julei.explanation."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans as SklearnKMeans

from julei.exceptions import InputError
from julei.explanation import ClusterExplanation, _short_threshold, explain
from julei.kmeans import KMeans


@pytest.fixture(scope="module")
def customers():
    """Three customer groups that differ in income and spending, not in age."""
    rng = np.random.default_rng(20261204)
    n_per_group = 200
    income = np.concatenate(
        [rng.normal(30, 5, n_per_group), rng.normal(80, 5, n_per_group), rng.normal(80, 5, n_per_group)]
    )
    spending = np.concatenate(
        [rng.normal(50, 8, n_per_group), rng.normal(20, 5, n_per_group), rng.normal(80, 5, n_per_group)]
    )
    age = rng.integers(18, 70, 3 * n_per_group).astype(float)
    frame = pd.DataFrame({"income": income, "spending_score": spending, "age": age})
    scaled = (frame - frame.mean()) / frame.std()
    model = KMeans(n_clusters=3, n_init=3, random_state=0).fit(scaled)
    return frame, scaled, model


def test_explain_sizes_and_shares(customers):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame)
    assert isinstance(result, ClusterExplanation)
    assert result.sizes["size"].sum() == len(frame)
    assert result.sizes["share"].sum() == pytest.approx(1.0)
    assert sorted(result.sizes["size"].tolist()) == [200, 200, 200]
    assert result.n_clusters == 3
    assert result.n_samples == 600


def test_explain_statistics_in_original_units(customers):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame)
    labels = model.predict(scaled)
    for cluster in range(3):
        members = frame[labels == cluster]
        for feature in frame.columns:
            row = result.profiles.loc[(cluster, feature)]
            assert row["mean"] == pytest.approx(members[feature].mean())
            assert row["median"] == pytest.approx(members[feature].median())
            assert row["q25"] == pytest.approx(members[feature].quantile(0.25))
            assert row["q75"] == pytest.approx(members[feature].quantile(0.75))
            expected = (members[feature].mean() - frame[feature].mean()) / frame[feature].std(ddof=0)
            assert row["std_diff"] == pytest.approx(expected)
    assert result.means.loc[0, "income"] == pytest.approx(result.profiles.loc[(0, "income"), "mean"])
    assert result.overall.loc["income", "mean"] == pytest.approx(frame["income"].mean())


def test_explain_top_features_skip_uninformative(customers):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame)
    assert "age" not in set(result.top_features["feature"])
    low_income = int(result.means["income"].idxmin())
    first = result.top_features[(result.top_features["cluster"] == low_income) & (result.top_features["rank"] == 1)]
    assert first["feature"].item() == "income"
    assert first["direction"].item() == "lower"


def test_explain_rules_are_readable_and_scored(customers):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame)
    labels = model.predict(scaled)
    assert set(result.rules["cluster"]) == {0, 1, 2}
    pattern = re.compile(r"^[a-z_]+ (<=|>) -?\d+(\.\d+)?( and [a-z_]+ (<=|>) -?\d+(\.\d+)?)*$")
    for rule in result.rule_objects:
        assert pattern.match(rule.text), rule.text
        matched = np.ones(len(frame), dtype=bool)
        for feature, operator, threshold in rule.conditions:
            column = frame[feature].to_numpy()
            matched &= column <= threshold if operator == "<=" else column > threshold
        in_cluster = labels == rule.cluster
        assert rule.n_matched == matched.sum()
        assert rule.precision == pytest.approx((matched & in_cluster).sum() / matched.sum())
        assert rule.coverage == pytest.approx((matched & in_cluster).sum() / in_cluster.sum())
    best = result.rules.groupby("cluster").head(1)
    assert (best["precision"] > 0.95).all()
    assert (best["coverage"] > 0.95).all()


def test_explain_rule_thresholds_use_original_units(customers):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame)
    income_thresholds = [
        threshold for rule in result.rule_objects for feature, _, threshold in rule.conditions if feature == "income"
    ]
    assert income_thresholds
    assert all(20 < threshold < 90 for threshold in income_thresholds)


def test_short_threshold_keeps_the_split():
    values = np.array([1.0, 2.0, 3.0, 70.2, 70.9])
    assert _short_threshold(2.5, values) == 2.0
    assert _short_threshold(70.55, values) == 70.5
    assert _short_threshold(36.6, values) == 40.0
    assert _short_threshold(0.5, values) == 0.0


def test_short_threshold_large_data_moves_few_rows(rng):
    values = np.sort(rng.uniform(0, 1, size=20_000))
    rounded = _short_threshold(0.4567891, values)
    moved = abs(np.searchsorted(values, rounded, side="right") - np.searchsorted(values, 0.4567891, side="right"))
    assert moved <= 20
    assert len(repr(rounded)) <= 5


def test_rule_text_with_other_conjunction(customers):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame, max_rule_depth=3)
    rule = next(rule for rule in result.rule_objects if len(rule.conditions) > 1)
    assert " 且 " in rule.text_with(" 且 ")
    assert rule.text_with(" and ") == rule.text


def test_explain_summary_and_html(customers, capsys):
    frame, scaled, model = customers
    result = explain(model, scaled, X_original=frame)
    summary = result.summary()
    assert summary.index.tolist() == [0, 1, 2]
    assert list(summary.columns) == ["size", "share", "top_features", "rule", "precision", "coverage"]
    html = result._repr_html_()
    assert "<table" in html
    assert "3 clusters, 600 samples" in html
    assert capsys.readouterr().out == ""


def test_explain_weighted_statistics(customers, rng):
    frame, scaled, model = customers
    weights = rng.integers(1, 5, size=len(frame)).astype(float)
    result = explain(model, scaled, X_original=frame, sample_weight=weights)
    labels = model.predict(scaled)
    members = labels == 0
    expected_mean = np.average(frame["income"][members], weights=weights[members])
    assert result.profiles.loc[(0, "income"), "mean"] == pytest.approx(expected_mean)
    assert result.sizes.loc[0, "share"] == pytest.approx(weights[members].sum() / weights.sum())
    assert result.sizes.loc[0, "size"] == members.sum()
    repeated = np.repeat(frame["income"].to_numpy()[members], weights[members].astype(int))
    expected_median = np.quantile(repeated, 0.5, method="inverted_cdf")
    assert result.profiles.loc[(0, "income"), "median"] == pytest.approx(expected_median)


def test_explain_empty_cluster_keeps_a_row(customers):
    frame, scaled, model = customers
    labels = np.where(model.predict(scaled) == 2, 0, model.predict(scaled))
    result = explain(model, scaled, X_original=frame, labels=labels)
    assert result.sizes.loc[2, "size"] == 0
    assert np.isnan(result.means.loc[2, "income"])
    assert 2 not in set(result.rules["cluster"])
    assert 2 not in set(result.top_features["cluster"])


def test_explain_default_names_and_sklearn_model(rng):
    X = np.concatenate([rng.normal(0, 1, (50, 2)), rng.normal(10, 1, (50, 2))])
    model = SklearnKMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    result = explain(model, X)
    assert result.feature_names == ["x0", "x1"]
    assert result.std_diff.shape == (2, 2)


def test_explain_feature_names_argument(rng):
    X = rng.normal(size=(40, 2))
    model = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    result = explain(model, X, ["height", "weight"])
    assert list(result.means.columns) == ["height", "weight"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"feature_names": ["a"]}, r"feature_names has 1 names but the data have 2 columns"),
        ({"feature_names": ["a", "a"]}, r"feature_names repeats \['a'\]"),
        ({"X_original": np.zeros((3, 2))}, r"X_original has 3 rows but X has 40"),
        ({"sample_weight": np.ones(3)}, r"sample_weight has shape \(3,\)"),
        ({"labels": np.full(40, 5)}, r"labels must contain one cluster id in \[0, 2\)"),
        ({"max_rules": 0}, r"max_rules=0 is invalid"),
        ({"min_std_diff": -1}, r"min_std_diff=-1 is invalid"),
    ],
)
def test_explain_rejects_invalid_input(kwargs, match, rng):
    X = rng.normal(size=(40, 2))
    model = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    with pytest.raises(InputError, match=match):
        explain(model, X, **kwargs)


def test_explain_large_data_fits_tree_on_sample(rng):
    X = np.concatenate([rng.normal(0, 1, (40_000, 2)), rng.normal(8, 1, (40_000, 2))])
    model = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    result = explain(model, X, ["a", "b"])
    best = result.rules.groupby("cluster").head(1)
    assert (best["precision"] > 0.99).all()
    assert (best["coverage"] > 0.99).all()
    # Both children of the tree's second split predict the cluster, so the shorter rule wins.
    assert all(len(rule.conditions) == 1 for rule in result.rule_objects)
