"""The files of ``julei cluster``: report.html, labels.csv, clusters.csv and summary.json.

`cluster_files` turns a `julei.workflows.tabular.TabularResult` into those files as bytes,
in one language, without touching the disk; the command line writes them. Cluster numbers are
the result's (0 is the largest cluster) everywhere: in the CSV files, the JSON and the report.
"""

import datetime
import json
import logging
import shlex

import numpy as np
import pandas as pd

from julei import __version__
from julei.i18n import translator
from julei.report import figures, plots
from julei.report.render import format_number, html_table, render_html

__all__ = ["cluster_files", "report_context", "labels_frame", "clusters_frame", "summary_payload"]

logger = logging.getLogger(__name__)

SECTION_IDS = ("overview", "choose-k", "sizes", "profiles", "rules", "projection", "silhouette", "settings")

# Top features named per cluster in the profile summary, and rules listed per cluster.
TOP_FEATURES_SHOWN = 3
RULES_SHOWN = 3
# Rows drawn in the projection (the plot's default sample size).
PROJECTION_POINTS = 5000


def cluster_files(result, lang, *, command=None, input_path=None):
    """Return ``{file name: bytes}`` for every file ``julei cluster`` writes.

    Parameters
    ----------
    result : julei.workflows.tabular.TabularResult
    lang : {"en", "zh"}
        Language of the report. The CSV and JSON files are the same in both languages,
        except for a UTF-8 byte order mark that CSV files get, for Chinese Excel, when
        ``lang`` is ``"zh"`` or the input was GBK or had a byte order mark.
    command : list of str, optional
        The command line that produced the result, shown in the report for reproducibility.
    input_path : str, optional
        Input path as the user typed it, for the reproduce command.
    """
    html = render_html("cluster.html.j2", report_context(result, lang, command=command, input_path=input_path), lang)
    encoding = "utf-8-sig" if _wants_bom(result, lang) else "utf-8"
    summary = summary_payload(result)
    return {
        "report.html": html.encode("utf-8"),
        "labels.csv": labels_frame(result).to_csv(index=False).encode(encoding),
        "clusters.csv": clusters_frame(result).to_csv(index=False, float_format="%.6g").encode(encoding),
        "summary.json": (json.dumps(summary, indent=2, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8"),
    }


# ---------------------------------------------------------------------------------------
# Data files


def labels_frame(result):
    """Return every input row with its original columns plus the cluster (empty for dropped rows)."""
    frame = result.table.copy()
    name = "cluster"
    while name in frame.columns:
        name = f"julei_{name}"
    # A nullable integer column: dropped rows stay empty without turning 1 into 1.0.
    frame[name] = pd.array(result.labels.to_numpy(), dtype="Int64")
    return frame


def clusters_frame(result):
    """Return one row per cluster: size, share and the mean of each feature in the data's units."""
    sizes = result.sizes.to_numpy()
    frame = pd.DataFrame({"cluster": np.arange(result.k), "size": sizes, "share": np.round(sizes / sizes.sum(), 6)})
    means = _cluster_means(result)
    for name in result.features.names:
        frame[name] = means[name].to_numpy()
    return frame


def summary_payload(result):
    """Return the JSON-ready summary: version, input, settings, k and why, metrics, sizes, rows, time."""
    selection = result.selection
    t_en = translator("en")
    table = selection.table.reset_index()
    return {
        "julei_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "input": result.source,
        "settings": result.settings.as_dict(),
        "features": {
            "used": list(result.features.names),
            "numeric": list(result.features.numeric_columns),
            "one_hot": result.features.encoded,
            "left_out_text": list(result.features.text_excluded),
            "left_out_identifier": list(result.features.id_excluded),
            "dropped_constant": list(result.features.constant_dropped),
            "imputed_values": result.features.imputed,
            "log_transformed": list(result.features.log_columns),
            "id_column": result.features.id_column,
        },
        "k": result.k,
        "k_reason": {
            "text": _k_reason(result, t_en),
            "key": result.k_reason_key,
            "fields": _plain(result.k_reason_fields),
        },
        "k_candidates": _records(table),
        "metrics": result.metrics,
        "sizes": [int(size) for size in result.sizes],
        "rows": result.row_counts(),
        "notices": [{"key": key, "fields": _plain(fields), "text": _notice_text(t_en, key, fields)} for key, fields in result.notices],
        "seconds": {name: round(value, 3) for name, value in result.seconds.items()},
    }


# ---------------------------------------------------------------------------------------
# Report


def report_context(result, lang, *, command=None, input_path=None):
    """Build the context of ``cluster.html.j2`` for ``result`` in ``lang``: texts, tables, figures."""
    t = translator(lang)
    names = [t("cluster.name", cluster=cluster) for cluster in range(result.k)]
    colors = plots.cluster_colors(result.k)
    source_name = result.source.get("file") or t("cluster.source.dataframe")
    shares = result.sizes.to_numpy() / max(1, result.sizes.sum())

    context = {
        "title": t("cluster.title", name=source_name),
        "subtitle": t("cluster.subtitle", rows=format_number(result.n_rows), k=result.k),
        "generated": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        "sections": [{"id": section, "title": t(f"cluster.{section.replace('-', '_')}.title")} for section in SECTION_IDS],
        "rows_kept": result.n_kept,
        "k": result.k,
        "n_features": len(result.features.names),
        "cards": _cards(result, t),
        "notices": [_notice_text(t, key, fields) for key, fields in result.notices],
        "source_items": _source_items(result, t),
        "features_table": _features_table(result, t),
        "k_reason": _k_reason(result, t),
        "elbow_text": _elbow_text(result, t),
        "k_table": _k_table(result, t),
        "k_notes": _k_notes(result, t),
        "largest_share": float(shares.max()),
        "smallest_share": float(shares.min()),
        "sizes_table": _sizes_table(result, t, names),
        "top_features": _top_features(result, t, names, colors),
        "profiles_table": _profiles_table(result, t, names),
        "rules": _rules(result, t, names, colors),
        "projection_lead": _projection_lead(result, t),
        "projection_caption": t("cluster.projection.caption", points=format_number(min(result.n_kept, PROJECTION_POINTS))),
        "silhouette_lead": _silhouette_lead(result, t),
        "settings_items": _settings_items(result, t),
        "command": _command_text(result, command, input_path),
    }
    context.update(_figures(result, t, names))
    return context


def _cards(result, t):
    silhouette = result.metrics.get("silhouette")
    return [
        (t("cluster.card.rows"), format_number(result.n_rows)),
        (t("cluster.card.kept"), format_number(result.n_kept)),
        (t("cluster.card.features"), format_number(len(result.features.names))),
        (t("cluster.card.k"), str(result.k)),
        (t("cluster.card.silhouette"), format_number(silhouette, 3) if silhouette is not None else "–"),
    ]


def _source_items(result, t):
    source = result.source
    items = [(t("cluster.source.file"), source.get("file") or t("cluster.source.dataframe"))]
    if source.get("format"):
        items.append((t("cluster.source.format"), source["format"].upper()))
    if source.get("encoding"):
        items.append((t("cluster.source.encoding"), source["encoding"]))
    if source.get("delimiter"):
        items.append((t("cluster.source.delimiter"), _delimiter_name(source["delimiter"], t)))
    if source.get("sheet"):
        items.append((t("cluster.source.sheet"), source["sheet"]))
    items.append((t("cluster.source.size"), t("cluster.source.size_value", rows=format_number(result.n_rows), columns=result.table.shape[1])))
    if source.get("sha256"):
        items.append(("SHA-256", source["sha256"]))
    items.append((t("cluster.source.id_column"), result.features.id_column or t("cluster.none")))
    return items


def _delimiter_name(delimiter, t):
    names = {",": "delimiter.comma", "\t": "delimiter.tab", ";": "delimiter.semicolon", "|": "delimiter.pipe"}
    key = f"cluster.{names[delimiter]}" if delimiter in names else None
    return t(key) if key else repr(delimiter)


def _features_table(result, t):
    original = result.features.original
    encoded_columns = {name for name in original.columns if "=" in name and name.split("=", 1)[0] in result.features.encoded}
    missing = result.table.reindex(columns=original.columns).isna().sum()
    frame = pd.DataFrame(
        {
            t("cluster.col.feature"): original.columns,
            t("cluster.col.kind"): [_feature_kind(name, encoded_columns, result.features.log_columns, t) for name in original.columns],
            t("cluster.col.mean"): original.mean().to_numpy(),
            t("cluster.col.std"): original.std(ddof=0).to_numpy(),
            t("cluster.col.min"): original.min().to_numpy(),
            t("cluster.col.median"): original.median().to_numpy(),
            t("cluster.col.max"): original.max().to_numpy(),
            t("cluster.col.missing"): [int(missing.get(name, 0)) if name not in encoded_columns else 0 for name in original.columns],
        }
    )
    return html_table(frame)


def _feature_kind(name, encoded_columns, log_columns, t):
    if name in encoded_columns:
        return t("cluster.kind.one_hot")
    if name in log_columns:
        return t("cluster.kind.numeric_log")
    return t("cluster.kind.numeric")


def _k_reason(result, t):
    if result.k_reason_key.startswith("cluster."):
        return t(result.k_reason_key, **result.k_reason_fields)
    return result.selection.reason_text(t)


def _elbow_text(result, t):
    selection = result.selection
    if len(selection.table) < 3 or not hasattr(selection, "elbow_text"):
        return ""
    return selection.elbow_text(t)


def _k_table(result, t):
    table = result.selection.table
    columns = {
        "inertia": t("cluster.metric.inertia"),
        "silhouette": t("cluster.metric.silhouette"),
        "calinski_harabasz": t("cluster.metric.calinski_harabasz"),
        "davies_bouldin": t("cluster.metric.davies_bouldin"),
        "gap": t("cluster.metric.gap"),
        "stability": t("cluster.metric.stability"),
    }
    shown = [column for column in columns if column in table.columns and table[column].notna().any()]
    frame = table[shown].rename(columns=columns)
    frame.insert(0, "k", table.index.to_numpy())
    frame.insert(1, t("cluster.col.chosen"), ["✔" if k == result.k else "" for k in table.index])
    return html_table(frame)


def _k_notes(result, t):
    notes = []
    selection_notes = getattr(result.selection, "notes", {}) or {}
    if selection_notes.get("silhouette_exact") is False:
        notes.append(
            t(
                "cluster.choose_k.silhouette_sampled",
                size=format_number(selection_notes.get("silhouette_sample_size")),
                repeats=selection_notes.get("silhouette_repeats"),
            )
        )
    return notes


def _sizes_table(result, t, names):
    sizes = result.sizes.to_numpy()
    frame = pd.DataFrame({t("cluster.col.cluster"): names, t("cluster.col.size"): sizes, t("cluster.col.share"): sizes / sizes.sum()})
    return html_table(frame, percent_columns=(t("cluster.col.share"),))


def _cluster_means(result):
    """Cluster x feature means in the data's units (rows 0..k-1)."""
    return result.explanation.means


def _profiles_table(result, t, names):
    means = _cluster_means(result).copy()
    means.index = names
    means.loc[t("cluster.overall")] = result.explanation.overall["mean"].reindex(means.columns)
    means.index.name = t("cluster.col.cluster")
    return html_table(means.reset_index())


def _top_features(result, t, names, colors):
    top = result.explanation.top_features
    items = []
    for cluster in range(result.k):
        rows = top[top["cluster"] == cluster].sort_values("rank").head(TOP_FEATURES_SHOWN)
        parts = []
        for row in rows.itertuples(index=False):
            key = "cluster.profiles.higher" if row.std_diff > 0 else "cluster.profiles.lower"
            parts.append(t(key, feature=row.feature, mean=format_number(row.mean), diff=f"{abs(row.std_diff):.1f}"))
        items.append({"name": names[cluster], "color": colors[cluster], "text": t("cluster.list_separator").join(parts)})
    return items


def _rules(result, t, names, colors):
    rule_objects = getattr(result.explanation, "rule_objects", []) or []
    groups = []
    for cluster in range(result.k):
        items = []
        for rule in [rule for rule in rule_objects if int(rule.cluster) == cluster][:RULES_SHOWN]:
            conditions = [f"{feature} {operator} {format_number(threshold)}" for feature, operator, threshold in rule.conditions]
            items.append(
                {
                    "text": t("cluster.rules.and").join(conditions) if conditions else t("cluster.rules.all_rows"),
                    "precision": rule.precision,
                    "coverage": rule.coverage,
                    "matched": rule.n_matched,
                }
            )
        groups.append({"name": names[cluster], "color": colors[cluster], "items": items})
    return groups


def _projection_lead(result, t):
    if result.features.X.shape[1] == 1:
        return t("cluster.projection.one_feature")
    return t("cluster.projection.lead")


def _silhouette_lead(result, t):
    silhouette = result.metrics.get("silhouette")
    if silhouette is None:
        return t("cluster.silhouette.undefined")
    if silhouette >= 0.5:
        verdict = t("cluster.silhouette.strong")
    elif silhouette >= 0.25:
        verdict = t("cluster.silhouette.moderate")
    else:
        verdict = t("cluster.silhouette.weak")
    return t("cluster.silhouette.lead", value=f"{silhouette:.3f}", verdict=verdict)


def _settings_items(result, t):
    settings = result.settings
    k_text = str(settings.k_min) if settings.k_fixed else f"{settings.k_min}..{settings.k_max}"
    return [
        (t("cluster.setting.k"), k_text),
        (t("cluster.setting.columns"), ", ".join(settings.columns) if settings.columns else t("cluster.setting.all_numeric")),
        (t("cluster.setting.log_columns"), ", ".join(result.features.log_columns) or t("cluster.none")),
        (t("cluster.setting.scale"), t(f"cluster.scale.{settings.scale}")),
        (t("cluster.setting.missing"), t(f"cluster.missing.{settings.missing}")),
        (t("cluster.setting.seed"), str(settings.seed)),
        (t("cluster.setting.algorithm"), t("cluster.setting.algorithm_value", n_init=_n_init(result.model))),
        (t("cluster.setting.version"), __version__),
        (t("cluster.setting.time"), t("cluster.setting.seconds", seconds=f"{result.seconds.get('total', 0.0):.1f}")),
    ]


def _n_init(model):
    """Return the number of initializations the model ran, resolving ``"auto"`` as KMeans does."""
    n_init = getattr(model, "n_init", 1)
    if n_init == "auto":
        return 1 if getattr(model, "init", "k-means++") == "k-means++" else 10
    return int(n_init)


def _command_text(result, command, input_path):
    if command:
        return "julei " + " ".join(shlex.quote(part) for part in command)
    settings = result.settings
    parts = ["julei", "cluster", shlex.quote(input_path or result.source.get("file") or "DATA.csv")]
    parts += ["-k", str(settings.k_min) if settings.k_fixed else f"{settings.k_min}..{settings.k_max}"]
    if settings.columns:
        parts += ["--columns", shlex.quote(",".join(settings.columns))]
    if settings.id_column:
        parts += ["--id-column", shlex.quote(settings.id_column)]
    if settings.log_columns:
        value = settings.log_columns if isinstance(settings.log_columns, str) else ",".join(settings.log_columns)
        parts += ["--log-columns", shlex.quote(value)]
    parts += ["--scale", settings.scale, "--missing", settings.missing, "--seed", str(settings.seed)]
    return " ".join(parts)


def _notice_text(t, key, fields):
    try:
        return t(key, **fields) if fields else t(key)
    except KeyError:
        logger.warning("no catalog message for notice %s", key)
        return key


# ---------------------------------------------------------------------------------------
# Figures


def _figures(result, t, names):
    """Build every figure of the report as inline SVG (None where a figure does not apply)."""
    builders = {
        "fig_elbow": _figure_elbow,
        "fig_silhouette_k": _figure_silhouette_k,
        "fig_sizes": _figure_sizes,
        "fig_heatmap": _figure_heatmap,
        "fig_projection": _figure_projection,
        "fig_silhouette": _figure_silhouette,
    }
    return {name: builder(result, t) for name, builder in builders.items()}


def _figure_elbow(result, t):
    table = result.selection.table
    if len(table) < 2:
        return None
    fig, ax = figures.new_figure(5.2, 3.6)
    plots.plot_elbow(
        table,
        chosen_k=result.k,
        elbow_k=result.selection.elbow_k,
        ax=ax,
        title="",
        xlabel=t("cluster.axis.k"),
        ylabel=t("cluster.metric.inertia"),
        chosen_label=t("cluster.plot.chosen"),
        elbow_label=t("cluster.plot.elbow"),
    )
    return figures.figure_svg(fig, title=t("cluster.choose_k.elbow_caption"))


def _figure_silhouette_k(result, t):
    table = result.selection.table
    if len(table) < 2 or "silhouette" not in table or table["silhouette"].isna().all():
        return None
    fig, ax = figures.new_figure(5.2, 3.6)
    plots.plot_silhouette_per_k(
        table,
        chosen_k=result.k,
        ax=ax,
        title="",
        xlabel=t("cluster.axis.k"),
        ylabel=t("cluster.metric.silhouette"),
        chosen_label=t("cluster.plot.chosen"),
    )
    return figures.figure_svg(fig, title=t("cluster.choose_k.silhouette_caption"))


def _figure_sizes(result, t):
    fig, ax = figures.new_figure(max(3.6, 1.6 + 0.55 * result.k), 3.2)
    plots.plot_cluster_sizes(
        result.explanation.sizes,
        ax=ax,
        title="",
        xlabel=t("cluster.col.cluster"),
        ylabel=t("cluster.col.size"),
        cluster_label=t("cluster.plot.cluster"),
    )
    return figures.figure_svg(fig, title=t("cluster.sizes.title"))


def _figure_heatmap(result, t):
    std_diff = result.explanation.std_diff
    n_features = std_diff.shape[1]
    fig, ax = figures.new_figure(min(11.0, 3.0 + 0.85 * n_features), 1.9 + 0.45 * result.k)
    plots.plot_profile_heatmap(
        std_diff,
        values=result.explanation.means,
        ax=ax,
        title="",
        xlabel="",
        ylabel="",
        colorbar_label=t("cluster.axis.std_diff"),
        cluster_label=t("cluster.plot.cluster"),
    )
    return figures.figure_svg(fig, title=t("cluster.profiles.heatmap_caption"))


def _figure_projection(result, t):
    fig, ax = figures.new_figure(6.4, 4.8)
    plots.plot_projection(
        result.features.X,
        result.model.labels_,
        centers=result.model.cluster_centers_,
        n_clusters=result.k,
        random_state=result.settings.seed,
        ax=ax,
        title="",
        xlabel=t("cluster.plot.pc1"),
        ylabel=t("cluster.plot.pc2"),
        cluster_label=t("cluster.plot.cluster"),
        centers_label=t("cluster.legend.centers"),
    )
    return figures.figure_svg(fig, title=t("cluster.projection.title"))


def _figure_silhouette(result, t):
    if result.k < 2 or result.n_kept < 3:
        return None
    fig, ax = figures.new_figure(6.0, 4.6)
    plots.plot_silhouette(
        result.features.X,
        result.model.labels_,
        n_clusters=result.k,
        random_state=result.settings.seed,
        ax=ax,
        title="",
        xlabel=t("cluster.axis.silhouette"),
        ylabel=t("cluster.axis.rows"),
        cluster_label=t("cluster.plot.cluster"),
        mean_label=t("cluster.plot.mean"),
    )
    return figures.figure_svg(fig, title=t("cluster.silhouette.title"))


# ---------------------------------------------------------------------------------------
# Helpers


def _wants_bom(result, lang):
    encoding = (result.source.get("encoding") or "").lower()
    return lang == "zh" or encoding in ("utf-8-sig", "gb18030", "gbk", "gb2312")


def _records(frame):
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({key: _plain(value) for key, value in row.items()})
    return records


def _plain(value):
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    return value


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)
