"""The files of ``julei customers``: report.html, customers.csv, segments.csv and summary.json.

`customer_files` turns a `julei.workflows.customers.CustomerSegmentation` into the bytes of
every file, and the command line writes them. Segment names and descriptions follow the
report's language in every file. Column names of the CSV files stay English, so scripts read
the files of either language alike.
"""

import datetime
import json

import numpy as np
import pandas as pd

from julei import __version__
from julei.i18n import translator
from julei.output import _json_default
from julei.report import customer_plots, figures
from julei.report.render import format_number, html_table, render_html

__all__ = ["customer_files", "customers_frame", "segments_frame", "summary_payload", "segment_names", "cleaning_notes"]

SECTION_IDS = ("overview", "segments", "snake", "scatter", "bars", "rfm", "k", "cleaning", "method")

# Customers drawn in the scatter plots; more only make the SVG larger.
_SCATTER_POINTS = 5000


def customer_files(result, lang, *, source=None, command=None):
    """Return ``{file name: bytes}`` for every file ``julei customers`` writes.

    Parameters
    ----------
    result : julei.workflows.customers.CustomerSegmentation
    lang : {"en", "zh"}
    source : dict, optional
        Facts of the input file (``julei.io.tables.Table.facts()``).
    command : list of str, optional
        The command line, recorded in summary.json and the report.
    """
    source = source or {}
    t = translator(lang)
    # Chinese Excel opens UTF-8 CSV correctly only with a byte order mark.
    encoding = "utf-8-sig" if lang == "zh" else "utf-8"
    html = render_html("customers.html.j2", report_context(result, lang, source=source, command=command), lang)
    payload = summary_payload(result, lang, source=source, command=command)
    return {
        "report.html": html.encode("utf-8"),
        "customers.csv": customers_frame(result, t).to_csv(index=False).encode(encoding),
        "segments.csv": segments_frame(result, t).to_csv(index=False).encode(encoding),
        "summary.json": (json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8"),
    }


def segment_names(result, t):
    """Return segment number -> name in the language of ``t``."""
    names = {}
    for row in result.segments.itertuples(index=False):
        name = t(f"customers.segment.{row.base_key}")
        if row.name_number > 1:
            name = t("customers.segment.numbered", name=name, number=row.name_number)
        names[row.segment] = name
    return names


def _descriptions(result, t):
    descriptions = {}
    for _, row in result.segments.iterrows():
        descriptions[row["segment"]] = t(
            "customers.description",
            recency=format_number(round(float(row["recency_median"]))),
            frequency=format_number(float(row["frequency_median"])),
            monetary=f"{float(row['monetary_median']):,.0f}",
            advice=t(f"customers.advice.{row['base_key']}"),
        )
    return descriptions


def customers_frame(result, t):
    """Return customers.csv: one row per customer with R, F, M, the segment and the RFM score."""
    frame = result.customers.copy()
    names = segment_names(result, t)
    frame["segment_name"] = frame["segment"].map(names)
    frame["monetary"] = frame["monetary"].round(2)
    frame["average_order_value"] = frame["average_order_value"].round(2)
    return frame.drop(columns=["segment_key"])


def segments_frame(result, t):
    """Return segments.csv: per segment its size, revenue, shares, mean and median features, description."""
    segments = result.segments
    names = segment_names(result, t)
    descriptions = _descriptions(result, t)
    frame = pd.DataFrame(
        {
            "segment": segments["segment"],
            "segment_name": segments["segment"].map(names),
            "customers": segments["customers"],
            "customer_share": segments["customer_share"].round(4),
            "revenue": segments["revenue"].round(2),
            "revenue_share": segments["revenue_share"].round(4),
        }
    )
    for name in result.features:
        frame[f"{name}_mean"] = segments[f"{name}_mean"].round(2)
        frame[f"{name}_median"] = segments[f"{name}_median"].round(2)
    for column in ("r_score_mean", "f_score_mean", "m_score_mean"):
        frame[column] = segments[column].round(2)
    frame["top_rfm_score"] = segments["top_rfm_score"]
    frame["description"] = segments["segment"].map(descriptions)
    return frame


def summary_payload(result, lang="en", *, source=None, command=None):
    """Return the JSON-ready summary: input, settings, k and why, segments, cleaning counts, time."""
    t = translator(lang)
    names = segment_names(result, t)
    cleaning = result.cleaning
    return {
        "julei_version": __version__,
        "job": "customers",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(command) if command else None,
        "input": source or {},
        "settings": {
            "columns": result.columns,
            "date_format": result.date_format,
            "first_date": result.first_date.isoformat(),
            "last_date": result.last_date.isoformat(),
            "as_of": result.as_of.date().isoformat(),
            "returns": result.returns,
            "features": list(result.features),
            "log_transformed": list(result.log_features),
            "random_state": result.random_state,
            "language": lang,
        },
        "k": result.k,
        "k_source": result.k_source,
        "k_reason": {"text": result.k_reason, "key": result.k_reason_key, "fields": _plain(result.k_reason_fields)},
        "k_candidates": _records(result.k_table.reset_index()) if result.k_table is not None else None,
        "inertia": result.inertia,
        "customers": result.n_customers,
        "customers_without_purchase": result.customers_without_purchase,
        "customers_with_nonpositive_revenue": result.customers_nonpositive,
        "total_revenue": round(result.total_revenue, 2),
        "netted_revenue": round(result.netted_revenue, 2),
        "rows": {
            "read": result.n_input_rows,
            "used": result.n_kept_rows,
            "by_reason": {
                row.reason: {"rows": int(row.rows), "action": row.action} for row in cleaning.itertuples(index=False)
            },
        },
        "segments": [
            {
                "segment": int(row["segment"]),
                "key": row["segment_key"],
                "name": names[row["segment"]],
                "customers": int(row["customers"]),
                "customer_share": round(float(row["customer_share"]), 6),
                "revenue": round(float(row["revenue"]), 2),
                "revenue_share": round(float(row["revenue_share"]), 6),
                "recency_median": float(row["recency_median"]),
                "frequency_median": float(row["frequency_median"]),
                "monetary_median": round(float(row["monetary_median"]), 2),
                "levels": {
                    "recency": round(float(row["recency_level"]), 4),
                    "frequency": round(float(row["frequency_level"]), 4),
                    "monetary": round(float(row["monetary_level"]), 4),
                },
            }
            for _, row in result.segments.iterrows()
        ],
        "seconds": {name: round(value, 3) for name, value in result.seconds.items()},
    }


def _plain(fields):
    return {key: list(value) if isinstance(value, tuple) else value for key, value in dict(fields).items()}


def _records(frame):
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({key: (None if isinstance(value, float) and np.isnan(value) else value) for key, value in row.items()})
    return records


# ---------------------------------------------------------------------------------------
# Report


def report_context(result, lang, *, source=None, command=None):
    """Build the context of ``customers.html.j2``: texts, tables and figures in ``lang``."""
    source = source or {}
    t = translator(lang)
    names = segment_names(result, t)
    colors = {segment: customer_plots.segment_color(segment) for segment in names}
    top = result.segments.iloc[0]

    context = {
        "title": t("customers.title"),
        "subtitle": t(
            "customers.subtitle",
            file=source.get("file") or "DataFrame",
            customers=format_number(result.n_customers),
            k=result.k,
            first=result.first_date.date().isoformat(),
            last=result.last_date.date().isoformat(),
            as_of=result.as_of.date().isoformat(),
        ),
        "generated": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        "sections": [{"id": section, "title": t(f"customers.section.{section}")} for section in SECTION_IDS],
        "k": result.k,
        "cards": [
            (t("customers.card.customers"), format_number(result.n_customers)),
            (t("customers.card.segments"), str(result.k)),
            (t("customers.card.revenue"), format_number(result.total_revenue)),
            (t("customers.card.orders"), format_number(int(result.customers["frequency"].sum()))),
            (t("customers.card.rows"), format_number(result.n_input_rows)),
            (t("customers.card.kept"), format_number(result.n_kept_rows)),
        ],
        "top_text": t(
            "customers.overview.top",
            name=names[int(top["segment"])],
            customer_share=f"{top['customer_share'] * 100:.1f}%",
            revenue_share=f"{top['revenue_share'] * 100:.1f}%",
        ),
        "legend": [{"name": names[segment], "color": colors[segment], "segment": segment} for segment in names],
        "descriptions": _descriptions(result, t),
        "segments_table": _segments_table(result, t, names),
        "rfm_table": _rfm_table(result, t, names),
        "k_lead": _k_lead(result, t),
        "k_reason": _k_reason(result, t),
        "k_table": _k_table(result, t),
        "cleaning_lead": t(
            "customers.cleaning.lead",
            rows=format_number(result.n_input_rows),
            kept=format_number(result.n_kept_rows),
        ),
        "cleaning_table": _cleaning_table(result, t),
        "cleaning_notes": cleaning_notes(result, t),
        "notes": [t(key, **fields) for key, fields in result.notes],
        "method_text": t("customers.method.text", as_of=result.as_of.date().isoformat()),
        "settings_items": _settings_items(result, t, source, command),
        "scatter_caption": t(
            "customers.scatter.caption",
            shown=format_number(min(_SCATTER_POINTS, result.n_customers)),
            total=format_number(result.n_customers),
        ),
    }
    context.update(_figures(result, t, names))
    return context


def _column_labels(t, columns):
    return {column: t(f"customers.col.{column}") for column in columns}


def _segments_table(result, t, names):
    segments = result.segments
    columns = ["segment", "customers", "customer_share", "revenue", "revenue_share"]
    for name in result.features:
        columns += [f"{name}_mean", f"{name}_median"]
    frame = segments[columns].copy()
    frame.insert(1, "name", segments["segment"].map(names))
    frame = frame.rename(columns=_column_labels(t, frame.columns))
    return html_table(
        frame,
        percent_columns=(t("customers.col.customer_share"), t("customers.col.revenue_share")),
        css_class="segments",
    )


def _rfm_table(result, t, names):
    segments = result.segments
    frame = segments[["segment", "r_score_mean", "f_score_mean", "m_score_mean", "top_rfm_score"]].copy()
    frame.insert(1, "name", segments["segment"].map(names))
    frame = frame.rename(columns=_column_labels(t, frame.columns))
    return html_table(frame, digits=3)


def _k_lead(result, t):
    if result.k_table is None:
        return ""
    ks = result.k_table.index
    return t("customers.k.lead", k_min=int(ks.min()), k_max=int(ks.max()))


def _k_reason(result, t):
    if result.k_selection is not None and hasattr(result.k_selection, "reason_text"):
        try:
            return result.k_selection.reason_text(t)
        except KeyError:
            # The selection catalog lacks this key: fall back to the English sentence.
            return result.k_reason
    if t.has(result.k_reason_key):
        return t(result.k_reason_key, **result.k_reason_fields)
    return result.k_reason


def _k_table(result, t):
    if result.k_table is None:
        return ""
    columns = [column for column in ("inertia", "silhouette", "calinski_harabasz", "davies_bouldin")
               if column in result.k_table.columns and result.k_table[column].notna().any()]
    frame = result.k_table[columns].reset_index()
    frame = frame.rename(columns=_column_labels(t, frame.columns))
    return html_table(frame, caption=t("customers.k.table_caption"))


def _cleaning_table(result, t):
    frame = result.cleaning.copy()
    frame["reason"] = [t(f"customers.reason.{reason}") for reason in frame["reason"]]
    frame["action"] = [t(f"customers.action.{action}") for action in frame["action"]]
    frame = frame.rename(columns=_column_labels(t, frame.columns))
    return html_table(frame, percent_columns=(t("customers.col.share"),))


def cleaning_notes(result, t):
    """Return the sentences about returns, excluded customers and unreadable dates, in ``t``'s language."""
    returns_rows = int(result.cleaning.loc[result.cleaning["reason"].isin(["cancelled", "returned"]), "rows"].sum())
    notes = []
    # A log without cancellations or returns gets no sentence about them.
    if returns_rows and result.returns == "net":
        notes.append(t("customers.cleaning.netted", rows=format_number(returns_rows), revenue=format_number(result.netted_revenue)))
    elif returns_rows:
        notes.append(t("customers.cleaning.dropped", rows=format_number(returns_rows)))
    if result.customers_without_purchase:
        notes.append(t("customers.cleaning.without_purchase", count=format_number(result.customers_without_purchase)))
    if result.customers_nonpositive:
        notes.append(t("customers.cleaning.nonpositive", count=format_number(result.customers_nonpositive)))
    unparsed = int(result.cleaning.loc[result.cleaning["reason"] == "invalid_date", "rows"].sum())
    if result.unparsed_date_examples:
        notes.append(t("customers.cleaning.unparsed", count=format_number(unparsed), examples=", ".join(result.unparsed_date_examples)))
    return notes


def _settings_items(result, t, source, command):
    none = t("customers.settings.none")
    columns = ", ".join(f"{role}: {column}" for role, column in result.columns.items() if column is not None)
    items = [(t("customers.settings.file"), source.get("file") or "DataFrame")]
    if source.get("sha256"):
        items.append((t("customers.settings.sha256"), source["sha256"]))
    items += [
        (t("customers.settings.columns"), columns),
        (t("customers.settings.date_format"), result.date_format),
        (t("customers.settings.period"), f"{result.first_date.date()} – {result.last_date.date()}"),
        (t("customers.settings.as_of"), result.as_of.date().isoformat()),
        (t("customers.settings.returns"), t(f"customers.returns.{result.returns}")),
        (t("customers.settings.features"), ", ".join(t(f"customers.feature.{name}") for name in result.features)),
        (t("customers.settings.log_features"), ", ".join(t(f"customers.feature.{name}") for name in result.log_features) or none),
        (t("customers.settings.k"), str(result.k)),
        (t("customers.settings.seed"), str(result.random_state)),
        (t("customers.settings.inertia"), format_number(result.inertia)),
        (t("customers.settings.seconds"), f"{result.seconds.get('total', 0.0):.2f} s"),
        (t("customers.settings.version"), __version__),
    ]
    if command:
        items.append(("julei", " ".join(command)))
    return items


def _figures(result, t, names):
    feature_labels = [t(f"customers.feature.short.{name}") for name in result.features]
    axis_labels = {name: t(f"customers.feature.{name}") for name in ("recency", "frequency", "monetary")}

    fig, ax = figures.new_figure(width=6.4, height=3.6)
    customer_plots.snake_plot(result.profile, names, ax=ax, feature_labels=feature_labels, ylabel=t("customers.snake.ylabel"))
    snake = figures.figure_svg(fig, title=t("customers.section.snake"))

    fig, axes = figures.new_figure(width=10.0, height=3.4, ncols=3)
    customer_plots.rfm_scatter(result.customers, names, axes=axes, labels=axis_labels, max_points=_SCATTER_POINTS,
                               random_state=result.random_state)
    scatter = figures.figure_svg(fig, title=t("customers.section.scatter"))

    fig, ax = figures.new_figure(width=6.4, height=0.9 + 0.55 * result.k)
    customer_plots.size_revenue_bars(
        result.segments,
        names,
        ax=ax,
        customers_label=t("customers.bars.customers"),
        revenue_label=t("customers.bars.revenue"),
        xlabel=t("customers.bars.xlabel"),
    )
    bars = figures.figure_svg(fig, title=t("customers.section.bars"))
    return {"fig_snake": snake, "fig_scatter": scatter, "fig_bars": bars}
