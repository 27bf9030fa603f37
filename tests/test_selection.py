"""Tests of julei.selection.choose_k and its scores."""

import json
import tracemalloc
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from julei import _scores
from julei.exceptions import ConvergenceWarning, InputError
from julei.i18n import translator
from julei.selection import CRITERIA, MESSAGES_EN, TABLE_COLUMNS, ChooseKResult, choose_k, format_message


def well_separated_blobs(n_clusters, *, n_samples=900, n_features=2, separation=10.0, seed=0):
    """Gaussian blobs of unit variance whose centres are at least ``separation`` apart."""
    rng = np.random.default_rng(seed)
    half_width = 4.0 * separation * n_clusters ** (1.0 / n_features)
    centers = []
    while len(centers) < n_clusters:
        candidate = rng.uniform(-half_width, half_width, size=n_features)
        if all(np.linalg.norm(candidate - other) >= separation for other in centers):
            centers.append(candidate)
    labels = rng.integers(n_clusters, size=n_samples)
    return np.asarray(centers)[labels] + rng.normal(size=(n_samples, n_features)), labels


# --- scores against scikit-learn -------------------------------------------------------------


@pytest.mark.parametrize("n_features", [2, 40], ids=["direct", "blas"])
def test_silhouette_matches_sklearn(n_features, rng):
    X, labels = well_separated_blobs(4, n_samples=500, n_features=n_features, separation=3.0)
    ours = _scores.silhouette_score(X, labels, np.ones(len(X)), 4)
    assert ours == pytest.approx(silhouette_score(X, labels), rel=1e-9)


def test_silhouette_weights_act_as_repeats(rng):
    X, labels = well_separated_blobs(3, n_samples=300, separation=3.0)
    weights = rng.integers(1, 4, size=len(X)).astype(float)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    repeated_labels = np.repeat(labels, weights.astype(int))
    ours = _scores.silhouette_score(X, labels, weights, 3)
    assert ours == pytest.approx(silhouette_score(repeated, repeated_labels), rel=1e-9)


def test_silhouette_single_cluster_is_nan():
    X = np.arange(10.0).reshape(5, 2)
    assert np.isnan(_scores.silhouette_score(X, np.zeros(5, dtype=np.intp), np.ones(5), 1))


def test_ch_and_db_match_sklearn(rng):
    X, labels = well_separated_blobs(5, n_samples=700, n_features=3, separation=4.0)
    ch, db = _scores.calinski_harabasz_davies_bouldin(X, labels, np.ones(len(X)), 5)
    assert ch == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-9)
    assert db == pytest.approx(davies_bouldin_score(X, labels), rel=1e-9)


def test_ch_and_db_weights_act_as_repeats(rng):
    X, labels = well_separated_blobs(4, n_samples=400, separation=4.0)
    weights = rng.integers(1, 5, size=len(X)).astype(float)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    repeated_labels = np.repeat(labels, weights.astype(int))
    ch, db = _scores.calinski_harabasz_davies_bouldin(X, labels, weights, 4)
    assert ch == pytest.approx(calinski_harabasz_score(repeated, repeated_labels), rel=1e-9)
    assert db == pytest.approx(davies_bouldin_score(repeated, repeated_labels), rel=1e-9)


# --- knee detection and gap rule ---------------------------------------------------------------


def test_kneedle_finds_sharp_knee():
    ks = np.arange(2, 11)
    inertia = np.array([900.0, 500.0, 100.0, 95.0, 91.0, 88.0, 85.0, 83.0, 81.0])
    knee, strength = _scores.kneedle(ks, inertia)
    assert knee == 4
    assert strength == pytest.approx(400.0 / 5.0)


def test_kneedle_straight_line_has_no_knee():
    ks = np.arange(2, 11)
    assert _scores.kneedle(ks, 100.0 - 5.0 * ks) == (None, pytest.approx(np.nan, nan_ok=True))


def test_elbow_power_law_is_no_clear_knee():
    # Inertia of structureless data falls as a power of k; Kneedle finds a bend there, but
    # it is too gradual to be an elbow.
    ks = np.arange(2, 11)
    table = pd.DataFrame({"inertia": ks**-0.5}, index=pd.Index(ks, name="k"))
    knee, _ = _scores.kneedle(ks, table["inertia"])
    assert knee is not None
    from julei.selection import _find_elbow

    elbow_k, key, fields = _find_elbow(table)
    assert elbow_k is None
    assert key == "selection.elbow.weak"
    assert fields == {"k": knee}


def test_gap_rule_picks_smallest_k_within_one_se():
    from julei.selection import _gap_rule

    table = pd.DataFrame(
        {"gap": [0.5, 1.0, 1.05, 1.2], "gap_se": [0.1, 0.1, 0.1, 0.1]},
        index=pd.Index([2, 3, 4, 5], name="k"),
    )
    # gap(3) = 1.0 >= gap(4) - s(4) = 0.95, and gap(2) = 0.5 < gap(3) - s(3) = 0.9.
    assert _gap_rule(table) == 3


def test_gap_rule_without_a_winner_is_none():
    from julei.selection import _gap_rule

    table = pd.DataFrame({"gap": [0.1, 0.5, 0.9], "gap_se": [0.01] * 3}, index=pd.Index([2, 3, 4], name="k"))
    assert _gap_rule(table) is None


# --- choose_k ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n_clusters", [3, 5, 8])
def test_choose_k_finds_true_k_on_blobs(n_clusters):
    X, _ = well_separated_blobs(n_clusters, seed=n_clusters)
    result = choose_k(X, range(2, 11), random_state=0)
    assert result.k == n_clusters


def test_choose_k_table_shape_and_columns():
    X, _ = well_separated_blobs(3, n_samples=400)
    result = choose_k(X, [2, 3, 4, 5], random_state=1, n_init=1, gap_references=3, stability_pairs=2)
    assert isinstance(result, ChooseKResult)
    assert list(result.table.columns) == list(TABLE_COLUMNS)
    assert result.table.index.tolist() == [2, 3, 4, 5]
    assert result.table.index.name == "k"
    assert not result.table.isna().any().any()
    assert (result.table["silhouette_se"] == 0).all()
    assert result.notes["silhouette_exact"] is True
    assert sorted(result.models) == [2, 3, 4, 5]
    assert result.model(3).n_clusters == 3
    assert result.model() is result.models[result.k]
    inertia = result.table["inertia"].to_numpy()
    assert (np.diff(inertia) < 0).all()


def test_choose_k_inertia_matches_models():
    X, _ = well_separated_blobs(3, n_samples=300)
    result = choose_k(X, [2, 3], random_state=0, n_init=1)
    for k, model in result.models.items():
        assert result.table.loc[k, "inertia"] == pytest.approx(model.inertia_)
        assert result.table.loc[k, "silhouette"] == pytest.approx(silhouette_score(X, model.labels_))
        assert result.table.loc[k, "calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, model.labels_))


def test_choose_k_unknown_model_raises():
    X, _ = well_separated_blobs(3, n_samples=300)
    result = choose_k(X, [2, 3], criteria=["silhouette"], random_state=0)
    with pytest.raises(KeyError, match=r"k=7 was not fitted; fitted k values are \[2, 3\]"):
        result.model(7)


def test_choose_k_with_k_equal_one():
    X, _ = well_separated_blobs(3, n_samples=300)
    result = choose_k(X, [1, 2, 3, 4], random_state=0, n_init=1, gap_references=3, stability_pairs=2)
    row = result.table.loc[1]
    assert np.isnan(row["silhouette"])
    assert np.isnan(row["calinski_harabasz"])
    assert np.isnan(row["stability"])
    assert np.isfinite(row["inertia"])
    assert np.isfinite(row["gap"])
    assert result.k == 3


def test_choose_k_only_k_one():
    X, _ = well_separated_blobs(2, n_samples=100)
    result = choose_k(X, 1, random_state=0)
    assert result.table.index.tolist() == [1]
    assert result.k is None
    assert result.reason_key == "selection.reason.none"
    assert result.elbow_reason_key == "selection.elbow.too_few"


def test_choose_k_skips_k_above_distinct_points():
    base = np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 0.0], [10.0, 10.0], [5.0, 5.0]])
    X = np.repeat(base, 20, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"k = 6 was skipped: the data have only 5 distinct points"):
        result = choose_k(X, range(1, 9), random_state=0, n_init=1, gap_references=3, stability_pairs=2)
    assert [item.k for item in result.skipped] == [6, 7, 8]
    assert result.skipped[0].reason_key == "selection.skipped.distinct"
    assert result.skipped[0].reason_fields == {"k": 6, "n_distinct": 5}
    assert result.table.index.tolist() == [1, 2, 3, 4, 5]
    assert result.table.loc[2:4, "silhouette"].notna().all()
    assert result.table["inertia"].notna().all()
    zh = result.skipped[0].reason_text(translator("zh"))
    assert "5 个互不相同的点" in zh


def test_choose_k_skips_k_above_rows():
    X = np.array([[0.0], [1.0], [5.0]])
    with pytest.warns(ConvergenceWarning, match=r"k = 4 was skipped: the data have only 3 rows"):
        result = choose_k(X, [2, 4], random_state=0)
    assert [item.k for item in result.skipped] == [4]
    assert result.table.index.tolist() == [2]


def test_choose_k_is_reproducible_and_per_k_seeded():
    X, _ = well_separated_blobs(4, n_samples=400)
    fast = {"n_init": 1, "gap_references": 2, "stability_pairs": 2}
    first = choose_k(X, [2, 3, 4, 5], random_state=7, **fast)
    again = choose_k(X, [2, 3, 4, 5], random_state=7, **fast)
    wider = choose_k(X, [2, 3, 4, 5, 6], random_state=7, **fast)
    pd.testing.assert_frame_equal(first.table, again.table)
    pd.testing.assert_frame_equal(first.table, wider.table.loc[[2, 3, 4, 5]])


def test_choose_k_estimates_silhouette_on_samples():
    X, _ = well_separated_blobs(4, n_samples=6000, separation=4.0, seed=3)
    settings = {"n_init": 1, "silhouette_sample_size": 1000, "silhouette_repeats": 4}
    result = choose_k(X, [3, 4, 5], criteria=["silhouette"], random_state=0, **settings)
    assert result.notes["silhouette_exact"] is False
    assert result.notes["silhouette_sample_size"] == 1000
    for k, model in result.models.items():
        estimate = result.table.loc[k, "silhouette"]
        standard_error = result.table.loc[k, "silhouette_se"]
        exact = silhouette_score(X, model.labels_)
        assert standard_error > 0
        assert abs(estimate - exact) < max(5 * standard_error, 0.01)


def test_choose_k_large_n_memory_stays_linear():
    # An n x n float64 matrix at n = 200,000 would take 320 GB.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 2)) + 8.0 * rng.integers(3, size=(200_000, 1))
    tracemalloc.start()
    try:
        criteria = ["silhouette", "gap", "stability"]
        choose_k(X, [2, 3], criteria=criteria, random_state=0, n_init=1, gap_references=2, stability_pairs=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 300 * 2**20


def test_choose_k_weights_change_the_fit():
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [20.0]])
    unweighted = choose_k(X, [2], criteria=["silhouette"], random_state=0)
    weighted = choose_k(X, [2], sample_weight=[1, 1, 1, 1, 1, 100], criteria=["silhouette"], random_state=0)
    assert unweighted.table.loc[2, "inertia"] != pytest.approx(weighted.table.loc[2, "inertia"])


def test_choose_k_criteria_subset_leaves_other_columns_nan():
    X, _ = well_separated_blobs(3, n_samples=300)
    result = choose_k(X, [2, 3, 4], criteria=["silhouette"], random_state=0)
    assert result.criteria == ("silhouette",)
    assert result.table["gap"].isna().all()
    assert result.table["stability"].isna().all()
    assert result.votes == {"silhouette": 3}
    assert result.reason_key == "selection.reason.single"
    assert result.reason == "Only silhouette states a preference, and it points to k = 3."


def test_choose_k_accepts_dataframe_and_float32():
    X, _ = well_separated_blobs(3, n_samples=300)
    frame = pd.DataFrame(X.astype(np.float32), columns=["a", "b"])
    result = choose_k(frame, [2, 3, 4], criteria=["silhouette", "calinski_harabasz"], random_state=0, n_init=1)
    assert result.k == 3
    assert result.models[3].cluster_centers_.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, r"k contains 0; every k must be an integer >= 1"),
        ({"k": []}, r"k is empty"),
        ({"k": [2, 2.5]}, r"k contains 2.5"),
        ({"criteria": ["silhouette", "magic"]}, r"criteria contains unknown names \['magic'\]"),
        ({"sample_weight": [1.0, 2.0]}, r"sample_weight has shape \(2,\)"),
        ({"sample_weight": -np.ones(50)}, r"sample_weight must be finite and non-negative"),
        ({"silhouette_repeats": 1}, r"silhouette_repeats=1 is invalid; pass an integer >= 2"),
        ({"stability_fraction": 1.5}, r"stability_fraction=1.5 is outside \(0, 1\]"),
        ({"random_state": "seed"}, r"random_state='seed' is invalid"),
        ({"kmeans_params": {"n_clusters": 3}}, r"kmeans_params sets \['n_clusters'\], which choose_k sets itself"),
    ],
)
def test_choose_k_rejects_invalid_arguments(kwargs, match):
    X = np.random.default_rng(0).normal(size=(50, 2))
    arguments = {"k": [2, 3], **kwargs}
    with pytest.raises(InputError, match=match):
        choose_k(X, **arguments)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros(5), r"X has shape \(5,\); pass a 2-D array"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), r"X contains NaN or infinite values"),
        (np.array([["a", "b"]]), r"X has dtype <U1"),
        (np.zeros((0, 2)), r"X has shape \(0, 2\)"),
    ],
)
def test_choose_k_rejects_invalid_data(X, match):
    with pytest.raises(InputError, match=match):
        choose_k(X, [2])


def test_choose_k_repr_html_shows_table():
    X, _ = well_separated_blobs(3, n_samples=300)
    result = choose_k(X, [2, 3, 4], criteria=["silhouette"], random_state=0)
    html = result._repr_html_()
    assert "<table" in html
    assert "Recommended k = 3" in html


# --- messages ------------------------------------------------------------------------------------


def _catalog(lang):
    text = resources.files("julei.i18n").joinpath(f"selection.{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)


def test_english_catalog_matches_code_messages():
    english = _catalog("en")
    for key, message in MESSAGES_EN.items():
        assert english[key] == message, key


def test_catalogs_have_same_keys_and_fields():
    import string

    english, chinese = _catalog("en"), _catalog("zh")
    assert set(english) == set(chinese)
    for key in english:
        fields_en = {name for _, name, _, _ in string.Formatter().parse(english[key]) if name}
        fields_zh = {name for _, name, _, _ in string.Formatter().parse(chinese[key]) if name}
        assert fields_en == fields_zh, key


def test_reason_translates_criteria_names():
    X, _ = well_separated_blobs(3, n_samples=300)
    result = choose_k(X, [2, 3, 4], criteria=["silhouette", "calinski_harabasz"], random_state=0)
    assert result.reason_key == "selection.reason.unanimous"
    assert result.reason == result.reason_text(translator("en"))
    chinese = result.reason_text(translator("zh"))
    assert "轮廓系数、CH 指数" in chinese
    assert "k = 3" in chinese
    assert format_message(translator("zh"), result.reason_key, result.reason_fields) == chinese


def test_every_criterion_has_a_name_in_both_languages():
    for lang in ("en", "zh"):
        catalog = _catalog(lang)
        for name in CRITERIA:
            assert f"selection.criterion.{name}" in catalog


# --- benchmark sets --------------------------------------------------------------------------


@pytest.mark.slow
def test_choose_k_unbalance_finds_eight(shared_data):
    path = shared_data / "franti" / "unbalance.txt.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    X = np.loadtxt(path)
    result = choose_k(X, range(2, 11), random_state=0)
    assert result.k == 8


@pytest.mark.slow
def test_choose_k_dim032_finds_sixteen(shared_data):
    path = shared_data / "franti" / "dim032.txt.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    X = np.loadtxt(path)
    result = choose_k(X, range(10, 21), random_state=0)
    assert result.k == 16
