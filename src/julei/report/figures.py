"""Turn matplotlib figures and images into markup that an HTML report embeds.

Figures become inline SVG whose text stays text (``svg.fonttype = "none"``), so the reader's
browser draws axis labels, legends and Chinese column names with its own fonts. The machine
that makes the report therefore needs no Chinese font. The font stack written into the SVG
lists common CJK fonts of Windows, macOS and Linux after the Latin ones.

Every id inside an embedded SVG gets a prefix unique within the report, because several
inline SVGs share one HTML document and matplotlib numbers its ids from 1 in each file.

Typical use, with a plot builder that takes an ``ax`` and returns it::

    fig, ax = new_figure(width=6, height=4)
    plots.elbow(table, ax=ax, xlabel=t("cluster.k"), ...)
    markup = figure_svg(fig)      # Markup, safe to put into a template as {{ markup }}
"""

import base64
import io
import itertools
import re
import warnings

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure

__all__ = [
    "FONT_STACK",
    "style",
    "new_figure",
    "figure_svg",
    "figure_png_uri",
    "png_uri",
    "image_tag",
]

# Latin fonts first, so digits and letters look the same everywhere; then the CJK fonts a
# Windows, macOS, Linux or Android reader is likely to have; then the generic family.
FONT_STACK = (
    "'Segoe UI', 'Helvetica Neue', Arial, 'PingFang SC', 'Hiragino Sans GB', "
    "'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', "
    "'WenQuanYi Micro Hei', 'Droid Sans Fallback', sans-serif"
)

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "julei",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

_FIGURE_IDS = itertools.count(1)
_FONT_FAMILY = re.compile(r"font-family:[^;\"]*")
_ID_ATTR = re.compile(r'\bid="([^"]+)"')


def style():
    """Return a context manager applying the report's matplotlib style (fonts, palette, grid)."""
    return matplotlib.rc_context(_RC)


def new_figure(width=6.4, height=4.0, *, nrows=1, ncols=1, **subplot_kw):
    """Create a ``Figure`` of ``width`` x ``height`` inches and its axes, in the report's style.

    No pyplot and no global state: the figure is garbage-collected like any object. Returns
    ``(fig, ax)`` as ``pyplot.subplots`` does, ``ax`` being an array when there are several.
    """
    with style():
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.subplots(nrows, ncols, subplot_kw=subplot_kw or None, squeeze=True)
    return fig, ax


def figure_svg(fig, *, title=None):
    """Render ``fig`` to inline SVG markup with text kept as text and unique ids.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    title : str, optional
        Accessible name of the figure (the SVG's ``<title>``), escaped here.

    Returns
    -------
    markupsafe.Markup
        An ``<svg>`` element that scales to the width of its container.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        # matplotlib measures text with DejaVu Sans, which has no CJK glyphs; the browser
        # draws the text with its own fonts, so the missing glyphs here are expected.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=r".*missing from current font")
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()

    # Drop the XML prolog and DOCTYPE: an inline <svg> in HTML must not carry them.
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = _FONT_FAMILY.sub(f"font-family: {FONT_STACK}", svg)
    svg = _prefix_ids(svg, f"f{next(_FIGURE_IDS)}-")

    # Fixed point sizes become a viewBox-only SVG that CSS sizes to the column width.
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]+"\s+height="[^"]+"', r"<svg\1", svg, count=1)
    svg = svg.replace("<svg", '<svg class="figure-svg" role="img"', 1)
    if title:
        escaped = str(Markup.escape(title))
        svg = re.sub(r"(<svg[^>]*>)", lambda match: f"{match.group(1)}<title>{escaped}</title>", svg, count=1)
    return Markup(svg)


def figure_png_uri(fig, *, dpi=120):
    """Render ``fig`` to a ``data:image/png;base64,...`` URI (for raster-heavy figures)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return png_uri(buffer.getvalue())


def png_uri(image):
    """Encode PNG bytes, a PIL image or a uint8 numpy array as a ``data:image/png`` URI."""
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    else:
        from PIL import Image

        if not isinstance(image, Image.Image):
            image = Image.fromarray(image)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        data = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def image_tag(image, *, alt, css_class="figure-img"):
    """Return an ``<img>`` element embedding ``image`` (see `png_uri`), with escaped ``alt`` text."""
    uri = image if isinstance(image, str) and image.startswith("data:") else png_uri(image)
    return Markup('<img class="{}" alt="{}" src="{}">').format(css_class, alt, Markup(uri))


def _prefix_ids(svg, prefix):
    ids = set(_ID_ATTR.findall(svg))
    if not ids:
        return svg
    svg = _ID_ATTR.sub(lambda match: f'id="{prefix}{match.group(1)}"', svg)

    # References: url(#id), href="#id" and xlink:href="#id".
    def rename(match):
        name = match.group(2)
        return f"{match.group(1)}{prefix}{name}" if name in ids else match.group(0)

    svg = re.sub(r"(url\(#)([^)]+)", rename, svg)
    svg = re.sub(r'((?:xlink:)?href="#)([^"]+)', rename, svg)
    return svg
