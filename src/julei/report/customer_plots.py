"""Figures of the customer segmentation report: snake plot, R-F-M scatter, size and revenue bars.

Each builder draws on axes it is given (create them with `julei.report.figures.new_figure`)
and returns them; none uses pyplot. Labels come in as arguments, so the caller passes them in
the report's language. Segment i is drawn in the colour `julei.report.plots.cluster_colors`
gives cluster i - 1, the colour the report's legend uses for it.
"""

import numpy as np

from julei.report.plots import CLUSTER_PALETTE

__all__ = ["segment_color", "snake_plot", "rfm_scatter", "size_revenue_bars"]


def segment_color(segment):
    """Return the colour of segment number ``segment`` (1-based)."""
    return CLUSTER_PALETTE[(int(segment) - 1) % len(CLUSTER_PALETTE)]


def snake_plot(profile, names, *, ax, feature_labels, ylabel):
    """Draw the mean standardized value of each feature per segment, one line per segment.

    Parameters
    ----------
    profile : pandas.DataFrame
        Rows indexed by segment number, one column per feature (transformed and standardized,
        so 0 is the customer average and 1 is one standard deviation above it).
    names : dict
        Segment number -> label for the legend.
    ax : matplotlib.axes.Axes
    feature_labels : list of str
        Tick label of each column of ``profile``.
    ylabel : str
    """
    positions = np.arange(profile.shape[1])
    for segment, row in profile.iterrows():
        ax.plot(positions, row.to_numpy(), marker="o", linewidth=2, color=segment_color(segment), label=names[segment])
    ax.axhline(0.0, color="#888888", linewidth=1, linestyle="--")
    ax.set_xticks(positions, feature_labels)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return ax


def rfm_scatter(customers, names, *, axes, labels, max_points=5000, random_state=0):
    """Draw recency against frequency, recency against monetary value and frequency against
    monetary value, each customer a point coloured by segment.

    Frequency and monetary value are on log axes (monetary value as ``log(1 + x)`` of the
    positive part, since net revenue can be zero or negative). With more than ``max_points``
    customers, a seeded random sample of that size is drawn. The points are rasterized, so an
    SVG stays small while its text stays text.

    Parameters
    ----------
    customers : pandas.DataFrame
        ``recency``, ``frequency``, ``monetary`` and ``segment`` per customer.
    names : dict
        Segment number -> legend label.
    axes : sequence of three matplotlib.axes.Axes
    labels : dict
        ``"recency"``, ``"frequency"``, ``"monetary"`` -> axis label.
    """
    if len(customers) > max_points:
        customers = customers.sample(max_points, random_state=random_state)
    pairs = (("recency", "frequency"), ("recency", "monetary"), ("frequency", "monetary"))
    for ax, (x_name, y_name) in zip(axes, pairs):
        for segment in sorted(names):
            members = customers[customers["segment"] == segment]
            ax.scatter(
                members[x_name].to_numpy(dtype=float),
                np.clip(members[y_name].to_numpy(dtype=float), 1.0, None) if y_name != "recency" else members[y_name],
                s=6,
                alpha=0.55,
                linewidths=0,
                color=segment_color(segment),
                label=names[segment],
                rasterized=True,
            )
        if x_name != "recency":
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(labels[x_name])
        ax.set_ylabel(labels[y_name])
    axes[0].legend(loc="best", fontsize=7, frameon=False, markerscale=2)
    return axes


def size_revenue_bars(segments, names, *, ax, customers_label, revenue_label, xlabel):
    """Draw, per segment, its share of customers beside its share of revenue (horizontal bars).

    Parameters
    ----------
    segments : pandas.DataFrame
        ``segment``, ``customer_share`` and ``revenue_share`` (0 to 1).
    names : dict
        Segment number -> tick label.
    """
    positions = np.arange(len(segments))
    height = 0.38
    colors = [segment_color(segment) for segment in segments["segment"]]
    ax.barh(positions - height / 2, segments["customer_share"] * 100, height=height, color=colors, alpha=0.45,
            label=customers_label)
    ax.barh(positions + height / 2, segments["revenue_share"] * 100, height=height, color=colors,
            label=revenue_label)
    for position, (customer_share, revenue_share) in enumerate(zip(segments["customer_share"], segments["revenue_share"])):
        ax.text(customer_share * 100, position - height / 2, f" {customer_share * 100:.0f}%", va="center", fontsize=8)
        ax.text(revenue_share * 100, position + height / 2, f" {revenue_share * 100:.0f}%", va="center", fontsize=8)
    ax.set_yticks(positions, [names[segment] for segment in segments["segment"]])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return ax
