"""Render a job's result to one self-contained HTML page in English or Chinese.

A job's template extends ``base.html.j2`` (page shell, CSS, print styles, header, table of
contents, footer) and fills its ``content`` block; ``macros.html.j2`` has the section, figure,
notice and stat-card macros. The page loads nothing from the network: figures are inline
SVG or ``data:`` PNG images (see `julei.report.figures`), the CSS is inline, there is no
script, and a Content-Security-Policy forbids every external load.

Use::

    from julei.report.render import render_html
    html = render_html("cluster.html.j2", context, "zh")

What every template gets besides ``context``:

``t``
    Catalog lookup in the page's language: ``{{ t("cluster.sizes.title") }}``, with fields
    ``{{ t("cluster.k_reason", k=4) }}``. Output is escaped like any other text.
``lang``, ``html_lang``
    ``"en"`` or ``"zh"``, and the value of the ``lang`` attribute (``"en"`` or ``"zh-CN"``).
``version``
    julei's version.
``table(frame, index=False, digits=4, caption=None, css_class="")``
    A DataFrame as an HTML table with escaped cells and right-aligned numbers.
``num`` and ``pct`` filters
    ``{{ x | num }}`` formats a number with about 4 significant digits and thousands
    separators; ``{{ share | pct }}`` formats 0.123 as ``12.3%``.

The context keys that ``base.html.j2`` reads are ``title`` (page and header title),
``subtitle`` (optional), ``sections`` (a list of ``{"id", "title"}`` dicts for the table of
contents) and ``generated`` (optional time stamp text for the footer).
"""

import math
from functools import lru_cache

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from julei import __version__
from julei.i18n import LANGUAGES, translator
from julei.report.figures import FONT_STACK

__all__ = ["render_html", "html_table", "format_number", "format_percent"]

_HTML_LANG = {"en": "en", "zh": "zh-CN"}


def render_html(template_name, context, lang):
    """Render ``template_name`` with ``context`` in ``lang`` and return the HTML as a string.

    Parameters
    ----------
    template_name : str
        A template in ``julei/report/templates/``, such as ``"cluster.html.j2"``.
    context : dict
        Whatever the template reads: the result, embedded figures (`Markup`), table rows.
        Strings in it are escaped unless they are `Markup`.
    lang : {"en", "zh"}
        Language of every catalog lookup through ``t``.

    Returns
    -------
    str
        A complete HTML document.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r} is not supported; use one of {list(LANGUAGES)}.")
    template = _environment().get_template(template_name)
    page = {
        "t": translator(lang),
        "lang": lang,
        "html_lang": _HTML_LANG[lang],
        "version": __version__,
        "font_stack": FONT_STACK,
        "sections": [],
    }
    page.update(context)
    return template.render(page)


@lru_cache(maxsize=1)
def _environment():
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("julei.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["num"] = format_number
    environment.filters["pct"] = format_percent
    environment.globals["table"] = html_table
    return environment


def format_number(value, digits=4):
    """Format ``value`` with about ``digits`` significant digits and thousands separators.

    Integers keep every digit; NaN and None become an en dash.
    """
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    if magnitude >= 15 or magnitude < -4:
        return f"{number:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{number:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_percent(value, digits=1):
    """Format a share such as 0.123 as ``"12.3%"``; NaN becomes an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value) * 100:.{digits}f}%"


def html_table(frame, *, index=False, digits=4, caption=None, css_class="", percent_columns=()):
    """Render a DataFrame as an escaped HTML ``<table>``; numbers right-aligned and formatted.

    ``percent_columns`` names columns holding shares (0..1) shown as percentages.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    classes = " ".join(filter(None, ["data-table", css_class]))
    parts = [Markup('<div class="table-wrap"><table class="{}">').format(classes)]
    if caption:
        parts.append(Markup("<caption>{}</caption>").format(caption))

    parts.append(Markup("<thead><tr>"))
    if index:
        parts.append(Markup('<th scope="col">{}</th>').format(_cell_text(frame.index.name or "")))
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        parts.append(Markup('<th scope="col"{}>{}</th>').format(Markup(' class="num"') if numeric else "", _cell_text(column)))
    parts.append(Markup("</tr></thead><tbody>"))

    for label, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        parts.append(Markup("<tr>"))
        if index:
            parts.append(Markup('<th scope="row">{}</th>').format(_cell_text(label)))
        for column, value in zip(frame.columns, row, strict=True):
            if column in percent_columns:
                parts.append(Markup('<td class="num">{}</td>').format(format_percent(value)))
            elif _is_number(value):
                parts.append(Markup('<td class="num">{}</td>').format(format_number(value, digits)))
            else:
                parts.append(Markup("<td>{}</td>").format(_cell_text(value)))
        parts.append(Markup("</tr>"))
    parts.append(Markup("</tbody></table></div>"))
    return Markup("").join(parts)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _cell_text(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return escape(str(value))
