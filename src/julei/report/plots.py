"""Matplotlib figure builders for choosing k and describing clusters.

Every builder takes data, an optional ``ax`` and its text (titles, axis labels) as keyword
arguments with English defaults, so the report can pass translated text, and returns the
``Axes`` it drew on. Without ``ax`` a new ``matplotlib.figure.Figure`` is made; pyplot is
never imported, so no global figure state is touched.

Cluster ``c`` is drawn in ``cluster_colors(n)[c]`` in every figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from julei import _scores

__all__ = [
    "CLUSTER_PALETTE",
    "cluster_colors",
    "plot_cluster_sizes",
    "plot_elbow",
    "plot_profile_heatmap",
    "plot_projection",
    "plot_silhouette",
    "plot_silhouette_per_k",
]

# Okabe and Ito's colour-blind safe palette without black, ordered so that neighbouring
# clusters contrast, then Paul Tol's "muted" scheme for clusters 8 to 16.
# NOTE: from cluster 17 on the colours repeat; no palette keeps that many hues apart.
CLUSTER_PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
)

# Colour of lines and markers that are not a cluster: the elbow curve, the chosen k.
_NEUTRAL = "#333333"
_HIGHLIGHT = "#D55E00"

# Diverging colour map of the profile heatmap. Red against blue stays readable with
# red-green colour blindness.
_DIVERGING_CMAP = "RdBu_r"


def cluster_colors(n_clusters):
    """Return one hex colour per cluster, ``n_clusters`` long, cycling after 16."""
    return [CLUSTER_PALETTE[index % len(CLUSTER_PALETTE)] for index in range(n_clusters)]


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def _column(table, name):
    if name not in table.columns:
        raise ValueError(f"table lacks the column {name!r}; pass ChooseKResult.table or a frame with it.")
    return table[name].astype(float)


def plot_elbow(
    table,
    *,
    chosen_k=None,
    elbow_k=None,
    ax=None,
    title="Inertia by number of clusters",
    xlabel="Number of clusters k",
    ylabel="Inertia (within-cluster sum of squares)",
    chosen_label="recommended k = {k}",
    elbow_label="knee at k = {k}",
):
    """Draw inertia against k, with the recommended k and the knee marked.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by k with an ``inertia`` column, as ``ChooseKResult.table``.
    chosen_k : int, optional
        The recommended k, marked by a vertical line labelled ``chosen_label``.
    elbow_k : int, optional
        The knee of the curve, circled and labelled ``elbow_label``; None draws nothing.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, (6, 4))
    inertia = _column(table, "inertia").dropna()
    ks = inertia.index.to_numpy()
    ax.plot(ks, inertia.to_numpy(), marker="o", color=_NEUTRAL, label="_inertia")
    if elbow_k is not None and elbow_k in inertia.index:
        ax.plot(
            [elbow_k],
            [inertia[elbow_k]],
            marker="o",
            markersize=14,
            markerfacecolor="none",
            markeredgecolor=_HIGHLIGHT,
            linestyle="none",
            label=elbow_label.format(k=elbow_k),
        )
    if chosen_k is not None:
        ax.axvline(chosen_k, color=_HIGHLIGHT, linestyle="--", label=chosen_label.format(k=chosen_k))
    ax.set_xticks(ks)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if chosen_k is not None or elbow_k is not None:
        ax.legend()
    return ax


def plot_silhouette_per_k(
    table,
    *,
    chosen_k=None,
    ax=None,
    title="Mean silhouette by number of clusters",
    xlabel="Number of clusters k",
    ylabel="Mean silhouette",
    chosen_label="recommended k = {k}",
):
    """Draw the mean silhouette against k, with error bars of one standard error.

    ``table`` is indexed by k with ``silhouette`` and, optionally, ``silhouette_se``
    columns (as ``ChooseKResult.table``); k values without a silhouette (k = 1) are left out.
    """
    ax = _new_axes(ax, (6, 4))
    silhouette = _column(table, "silhouette")
    keep = silhouette.notna()
    ks = silhouette.index.to_numpy()[keep.to_numpy()]
    errors = table["silhouette_se"].astype(float)[keep].fillna(0.0).to_numpy() if "silhouette_se" in table else None
    ax.errorbar(ks, silhouette[keep].to_numpy(), yerr=errors, marker="o", color=_NEUTRAL, capsize=3)
    if chosen_k is not None:
        ax.axvline(chosen_k, color=_HIGHLIGHT, linestyle="--", label=chosen_label.format(k=chosen_k))
        ax.legend()
    ax.set_xticks(ks)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_silhouette(
    X,
    labels,
    *,
    n_clusters=None,
    sample_weight=None,
    sample_size=2000,
    random_state=0,
    ax=None,
    title="Silhouette of each sample",
    xlabel="Silhouette coefficient",
    ylabel="Samples, grouped by cluster",
    cluster_label="{cluster}",
    mean_label="mean = {mean:.2f}",
):
    """Draw one horizontal bar per sample, its silhouette, grouped by cluster and sorted.

    With more than ``sample_size`` rows a seeded sample of that many rows is drawn and scored
    (silhouettes computed within the sample), so the figure costs the same for any n.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster ids in ``[0, n_clusters)``.
    n_clusters : int, optional
        Number of clusters, for the colours; None means ``labels.max() + 1``.

    Returns
    -------
    matplotlib.axes.Axes
        One ``BarContainer`` per non-empty cluster, one bar per drawn sample.
    """
    ax = _new_axes(ax, (6, 5))
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.intp)
    n_clusters = int(labels.max()) + 1 if n_clusters is None else int(n_clusters)
    weights = np.ones(labels.size) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if labels.size > sample_size:
        rows = np.sort(np.random.default_rng(random_state).choice(labels.size, size=sample_size, replace=False))
        X, labels, weights = X[rows], labels[rows], weights[rows]

    scores = _scores.silhouette_samples(X, labels, weights, n_clusters)
    colors = cluster_colors(n_clusters)
    gap = max(2, labels.size // 100)
    bottom = 0
    for cluster in range(n_clusters):
        values = np.sort(scores[labels == cluster])[::-1]
        if values.size == 0:
            continue
        positions = bottom + np.arange(values.size)
        ax.barh(positions, values, height=1.0, color=colors[cluster], edgecolor="none")
        ax.text(-0.02, bottom + values.size / 2, cluster_label.format(cluster=cluster), ha="right", va="center",
                transform=ax.get_yaxis_transform())
        bottom += values.size + gap
    mean = float(np.average(scores, weights=weights))
    ax.axvline(mean, color=_NEUTRAL, linestyle="--", label=mean_label.format(mean=mean))
    ax.set_yticks([])
    ax.set_xlim(min(-0.1, float(scores.min()) - 0.05), 1.0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel, labelpad=24)
    ax.legend(loc="lower right")
    return ax


def plot_profile_heatmap(
    std_diff,
    *,
    values=None,
    ax=None,
    title="Cluster profiles",
    xlabel="Feature",
    ylabel="Cluster",
    colorbar_label="Difference from overall mean (SD)",
    cluster_label="{cluster}",
    value_format="{:.3g}",
):
    """Draw clusters x features coloured by standardized difference, cells labelled with values.

    Parameters
    ----------
    std_diff : pandas.DataFrame
        Clusters as rows, features as columns (``ClusterExplanation.std_diff``).
    values : pandas.DataFrame, optional
        Same shape, the text written in each cell, for example the cluster means in the data's
        units (``ClusterExplanation.means``); None writes no text.

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap is the Axes' only image; its colour bar sits on the same figure.
    """
    std_diff = pd.DataFrame(std_diff)
    n_rows, n_columns = std_diff.shape
    ax = _new_axes(ax, (2.5 + 0.9 * n_columns, 1.5 + 0.5 * n_rows))
    data = std_diff.to_numpy(dtype=np.float64)
    limit = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0
    limit = max(limit, 1e-12)
    image = ax.imshow(data, cmap=_DIVERGING_CMAP, vmin=-limit, vmax=limit, aspect="auto")

    if values is not None:
        values = pd.DataFrame(values).reindex(index=std_diff.index, columns=std_diff.columns)
        for row in range(n_rows):
            for column in range(n_columns):
                cell = values.iat[row, column]
                if pd.isna(cell):
                    continue
                # Dark cells get white text so the number stays readable.
                dark = abs(data[row, column]) > 0.6 * limit
                ax.text(column, row, value_format.format(cell), ha="center", va="center",
                        color="white" if dark else "black", fontsize=8)

    ax.set_xticks(np.arange(n_columns), [str(name) for name in std_diff.columns], rotation=30, ha="right")
    ax.set_yticks(np.arange(n_rows), [cluster_label.format(cluster=cluster) for cluster in std_diff.index])
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_projection(
    X,
    labels,
    *,
    centers=None,
    n_clusters=None,
    sample_size=5000,
    random_state=0,
    ax=None,
    title="Clusters on the first two principal components",
    xlabel="Principal component 1 ({share:.0%} of variance)",
    ylabel="Principal component 2 ({share:.0%} of variance)",
    cluster_label="Cluster {cluster}",
    centers_label="Centres",
):
    """Draw a 2-D PCA projection of the data, coloured by cluster, with the centres.

    The principal components are computed on at most ``sample_size`` seeded rows, and only
    those rows are drawn, so the figure costs the same for any n. ``centers``
    (n_clusters, n_features), in the same space as ``X``, are projected with the same
    components and drawn as crosses.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter collection per non-empty cluster, then one for the centres.
    """
    ax = _new_axes(ax, (6, 5))
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.intp)
    n_clusters = int(labels.max()) + 1 if n_clusters is None else int(n_clusters)
    if labels.size > sample_size:
        rows = np.sort(np.random.default_rng(random_state).choice(labels.size, size=sample_size, replace=False))
        X, labels = X[rows], labels[rows]

    mean = X.mean(axis=0)
    _, singular_values, components = np.linalg.svd(X - mean, full_matrices=False)
    variance = singular_values**2
    shares = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    # Pad to two components so one-feature data still draws on a plane.
    axes = np.zeros((X.shape[1], 2))
    n_kept = min(2, components.shape[0])
    axes[:, :n_kept] = components[:n_kept].T
    shares = np.concatenate([shares[:n_kept], np.zeros(2 - n_kept)])
    projected = (X - mean) @ axes

    colors = cluster_colors(n_clusters)
    for cluster in range(n_clusters):
        member = labels == cluster
        if member.any():
            ax.scatter(projected[member, 0], projected[member, 1], s=6, alpha=0.6, color=colors[cluster],
                       edgecolors="none", label=cluster_label.format(cluster=cluster))
    if centers is not None:
        projected_centers = (np.asarray(centers, dtype=np.float64) - mean) @ axes
        ax.scatter(projected_centers[:, 0], projected_centers[:, 1], s=120, marker="X",
                   c=colors[: projected_centers.shape[0]], edgecolors="black", linewidths=1.0,
                   label=centers_label)
    ax.set_title(title)
    ax.set_xlabel(xlabel.format(share=shares[0]))
    ax.set_ylabel(ylabel.format(share=shares[1]))
    legend = ax.legend(fontsize=8, loc="best")
    for handle in legend.legend_handles:
        handle.set_sizes([30])  # legend markers of one size, whatever the point size
    return ax


def plot_cluster_sizes(
    sizes,
    *,
    ax=None,
    title="Cluster sizes",
    xlabel="Cluster",
    ylabel="Samples",
    cluster_label="{cluster}",
    share_format="{:.1%}",
):
    """Draw one bar per cluster, its size, labelled with its share of all samples.

    ``sizes`` is a Series of counts indexed by cluster id, or a frame with a ``size`` column
    (``ClusterExplanation.sizes``, whose ``share`` column then labels the bars).
    """
    ax = _new_axes(ax, (6, 4))
    if isinstance(sizes, pd.DataFrame):
        counts = sizes["size"].astype(float)
        shares = sizes["share"].astype(float) if "share" in sizes else counts / counts.sum()
    else:
        counts = pd.Series(sizes).astype(float)
        shares = counts / counts.sum()
    clusters = [int(cluster) for cluster in counts.index]
    colors = cluster_colors(max(clusters) + 1 if clusters else 0)
    positions = np.arange(len(clusters))
    bars = ax.bar(positions, counts.to_numpy(), color=[colors[cluster] for cluster in clusters])
    ax.bar_label(bars, labels=[share_format.format(share) for share in shares.to_numpy()], padding=2)
    ax.set_xticks(positions, [cluster_label.format(cluster=cluster) for cluster in clusters])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(y=0.12)
    return ax
