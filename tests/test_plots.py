"""Tests of julei.report.plots: what each figure draws, not its pixels."""

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from julei.report import plots


@pytest.fixture
def clustered(rng):
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    labels = np.repeat(np.arange(3), [300, 200, 100])
    X = centers[labels] + rng.normal(size=(600, 3))
    return X, labels, centers


@pytest.fixture
def k_table():
    return pd.DataFrame(
        {
            "inertia": [5000.0, 900.0, 300.0, 280.0, 265.0],
            "silhouette": [np.nan, 0.55, 0.81, 0.62, 0.58],
            "silhouette_se": [np.nan, 0.0, 0.01, 0.02, 0.0],
        },
        index=pd.Index([1, 2, 3, 4, 5], name="k"),
    )


def test_palette_is_consistent():
    assert plots.cluster_colors(3) == list(plots.CLUSTER_PALETTE[:3])
    assert len(set(plots.cluster_colors(16))) == 16
    assert plots.cluster_colors(20)[16] == plots.CLUSTER_PALETTE[0]


def test_elbow_marks_chosen_k(k_table):
    ax = plots.plot_elbow(k_table, chosen_k=3, elbow_k=3, title="Elbow", xlabel="k", ylabel="SSE")
    assert isinstance(ax, Axes)
    curve = ax.lines[0]
    assert curve.get_xdata().tolist() == [1, 2, 3, 4, 5]
    assert curve.get_ydata().tolist() == k_table["inertia"].tolist()
    vertical = [line for line in ax.lines if line.get_xdata()[0] == 3 and len(set(line.get_xdata())) == 1]
    assert vertical
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["knee at k = 3", "recommended k = 3"]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Elbow", "k", "SSE")


def test_elbow_without_knee_has_no_knee_marker(k_table):
    ax = plots.plot_elbow(k_table, chosen_k=3, chosen_label="推荐 k = {k}")
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["推荐 k = 3"]


def test_silhouette_per_k_skips_undefined(k_table):
    ax = plots.plot_silhouette_per_k(k_table, chosen_k=3)
    curve = ax.lines[0]
    assert curve.get_xdata().tolist() == [2, 3, 4, 5]
    assert np.allclose(curve.get_ydata(), [0.55, 0.81, 0.62, 0.58])


def test_silhouette_plot_draws_one_bar_per_sample(clustered):
    X, labels, _ = clustered
    ax = plots.plot_silhouette(X, labels)
    containers = [container for container in ax.containers if isinstance(container, BarContainer)]
    assert len(containers) == 3
    assert sum(len(container.patches) for container in containers) == 600
    colors = [to_hex(container.patches[0].get_facecolor()) for container in containers]
    assert colors == [color.lower() for color in plots.cluster_colors(3)]
    assert [text.get_text() for text in ax.texts] == ["0", "1", "2"]
    # Bars within a cluster are sorted from the largest silhouette down.
    widths = [patch.get_width() for patch in containers[0].patches]
    assert widths == sorted(widths, reverse=True)


def test_silhouette_plot_samples_large_data(rng):
    X = rng.normal(size=(5000, 2))
    labels = (X[:, 0] > 0).astype(int)
    ax = plots.plot_silhouette(X, labels, sample_size=700, random_state=1)
    assert sum(len(container.patches) for container in ax.containers) == 700


def test_profile_heatmap_cells_and_labels():
    std_diff = pd.DataFrame([[1.2, -0.4], [-1.0, 0.8], [0.1, 0.0]], columns=["income", "age"])
    means = pd.DataFrame([[80.0, 30.0], [20.0, 60.0], [50.0, 45.0]], columns=["income", "age"])
    ax = plots.plot_profile_heatmap(std_diff, values=means, cluster_label="簇 {cluster}")
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (3, 2)
    assert [text.get_text() for text in ax.texts] == ["80", "30", "20", "60", "50", "45"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["income", "age"]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["簇 0", "簇 1", "簇 2"]
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar


def test_projection_draws_points_and_centres(clustered):
    X, labels, centers = clustered
    ax = plots.plot_projection(X, labels, centers=centers)
    assert len(ax.collections) == 4
    assert [len(collection.get_offsets()) for collection in ax.collections] == [300, 200, 100, 3]
    colors = [to_hex(collection.get_facecolor()[0]) for collection in ax.collections[:3]]
    assert colors == [color.lower() for color in plots.cluster_colors(3)]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["Cluster 0", "Cluster 1", "Cluster 2", "Centres"]
    assert "% of variance" in ax.get_xlabel()


def test_projection_samples_large_data_and_one_feature(rng):
    X = rng.normal(size=(9000, 1))
    labels = (X[:, 0] > 0).astype(int)
    ax = plots.plot_projection(X, labels, sample_size=1000)
    assert sum(len(collection.get_offsets()) for collection in ax.collections) == 1000


def test_cluster_sizes_bars_and_shares():
    sizes = pd.DataFrame(
        {"size": [300, 200, 100], "share": [0.5, 1 / 3, 1 / 6]}, index=pd.Index([0, 1, 2], name="cluster")
    )
    ax = plots.plot_cluster_sizes(sizes, title="规模")
    assert [patch.get_height() for patch in ax.patches] == [300, 200, 100]
    assert [text.get_text() for text in ax.texts] == ["50.0%", "33.3%", "16.7%"]
    assert ax.get_title() == "规模"


def test_builders_draw_on_given_axes(clustered, k_table):
    X, labels, centers = clustered
    figure = Figure()
    axes = figure.subplots(2, 3).ravel()
    assert plots.plot_elbow(k_table, ax=axes[0]) is axes[0]
    assert plots.plot_silhouette_per_k(k_table, ax=axes[1]) is axes[1]
    assert plots.plot_silhouette(X, labels, ax=axes[2]) is axes[2]
    assert plots.plot_profile_heatmap(pd.DataFrame(np.eye(3)), ax=axes[3]) is axes[3]
    assert plots.plot_projection(X, labels, centers=centers, ax=axes[4]) is axes[4]
    assert plots.plot_cluster_sizes(pd.Series([300, 200, 100]), ax=axes[5]) is axes[5]


def test_plots_never_import_pyplot():
    source = Path(plots.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    assert not any("pyplot" in name for name in imported), imported


def test_english_plot_defaults_match_catalog():
    import inspect
    import json
    from importlib import resources

    catalog = json.loads(resources.files("julei.i18n").joinpath("selection.en.json").read_text(encoding="utf-8"))
    defaults = {
        "selection.plot.elbow.title": (plots.plot_elbow, "title"),
        "selection.plot.k_axis": (plots.plot_elbow, "xlabel"),
        "selection.plot.elbow.ylabel": (plots.plot_elbow, "ylabel"),
        "selection.plot.chosen_label": (plots.plot_elbow, "chosen_label"),
        "selection.plot.elbow_label": (plots.plot_elbow, "elbow_label"),
        "selection.plot.silhouette_k.title": (plots.plot_silhouette_per_k, "title"),
        "selection.plot.silhouette_k.ylabel": (plots.plot_silhouette_per_k, "ylabel"),
        "selection.plot.silhouette.title": (plots.plot_silhouette, "title"),
        "selection.plot.silhouette.xlabel": (plots.plot_silhouette, "xlabel"),
        "selection.plot.silhouette.ylabel": (plots.plot_silhouette, "ylabel"),
        "selection.plot.silhouette.mean_label": (plots.plot_silhouette, "mean_label"),
        "selection.plot.profile.title": (plots.plot_profile_heatmap, "title"),
        "selection.plot.profile.xlabel": (plots.plot_profile_heatmap, "xlabel"),
        "selection.plot.profile.ylabel": (plots.plot_profile_heatmap, "ylabel"),
        "selection.plot.profile.colorbar_label": (plots.plot_profile_heatmap, "colorbar_label"),
        "selection.plot.projection.title": (plots.plot_projection, "title"),
        "selection.plot.projection.xlabel": (plots.plot_projection, "xlabel"),
        "selection.plot.projection.ylabel": (plots.plot_projection, "ylabel"),
        "selection.plot.projection.cluster_label": (plots.plot_projection, "cluster_label"),
        "selection.plot.projection.centers_label": (plots.plot_projection, "centers_label"),
        "selection.plot.sizes.title": (plots.plot_cluster_sizes, "title"),
        "selection.plot.sizes.xlabel": (plots.plot_cluster_sizes, "xlabel"),
        "selection.plot.sizes.ylabel": (plots.plot_cluster_sizes, "ylabel"),
    }
    for key, (function, parameter) in defaults.items():
        assert catalog[key] == inspect.signature(function).parameters[parameter].default, key
