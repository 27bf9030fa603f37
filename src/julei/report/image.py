"""The files of ``julei image``: the per-image PNG and JSON files, report.html and summary.json.

`image_files` turns one `julei.workflows.image.ImageSegmentation` into its files as bytes.
`image_section` keeps what the report needs of it (thumbnails and the palette), so a batch
can drop each full-size result before the next image. `report_html` and `summary_payload`
build the batch's report and summary from those sections.
"""

import base64
import datetime
import io
import json
import math
import shlex

import numpy as np

from julei import __version__
from julei._color import to_hex
from julei.report.figures import png_uri
from julei.report.render import html_table, render_html

__all__ = ["IMAGE_FILES", "image_files", "image_section", "report_html", "summary_payload", "THUMBNAIL_SIDE"]

#: Files written for each image, in the order the command lists them.
IMAGE_FILES = ("segmented.png", "labels.png", "palette.png", "palette.json", "boundaries.png")

#: Longer side, in pixels, of the pictures embedded in report.html.
THUMBNAIL_SIDE = 720

# Above this many pixels the full-size PNG files use zlib level 1. On a 12-megapixel photo
# (2 cores, busy machine) that wrote boundaries.png in 1.6 s instead of 5.5 s at Pillow's
# default level 6, for a file 9% larger. segmented.png took 0.7 s instead of 1.1 s, 40% larger.
_FAST_PNG_ABOVE = 4_000_000


def image_files(result):
    """Return ``{file name: bytes}`` for one image's files (see `IMAGE_FILES`)."""
    from PIL import Image

    level = 1 if result.image.n_pixels > _FAST_PNG_ABOVE else 6
    palette_payload = result.palette_json()
    return {
        "segmented.png": _png(Image.fromarray(result.segmented()), level),
        "labels.png": _png(result.label_image(), level),
        "palette.png": _png(Image.fromarray(result.palette_image()), 6),
        "palette.json": (json.dumps(palette_payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "boundaries.png": _png(Image.fromarray(result.boundaries()), level),
    }


def image_section(result, t, *, folder=None):
    """Return what the report shows of one image: thumbnails, palette rows and facts.

    Parameters
    ----------
    result : julei.workflows.image.ImageSegmentation
    t : julei.i18n.Translator
    folder : str, optional
        Sub-folder holding this image's files, relative to the report (batch runs).
    """
    original, labels = _thumbnails(result)
    lookup = np.vstack([result.palette, np.zeros((1, 3), np.uint8)])
    segmented = lookup[labels]
    alpha = None
    if result.image.alpha is not None:
        alpha = _thumbnail_alpha(result, labels.shape)
        segmented = np.dstack([segmented, alpha])
        original = np.dstack([original, alpha])
    boundaries = result.boundaries(rgb=original[:, :, :3], labels=labels)
    if alpha is not None:
        boundaries = np.dstack([boundaries, alpha])

    rows = [
        {"hex": to_hex(rgb), "rgb": ", ".join(str(int(value)) for value in rgb), "share": float(share), "pixels": int(count)}
        for rgb, share, count in zip(result.palette, result.shares, result.counts)
    ]
    notices = [
        t(f"image.notice.{notice.code}", **notice.fields) if t.has(f"image.notice.{notice.code}") else notice.message
        for notice in result.notices
        if notice.code != "k_chosen"  # the report shows the reason for k in its own box
    ]
    k_reason, k_table = None, None
    if result.k_selection is not None:
        k_reason, k_table = _k_selection(result, t)

    return {
        "name": result.source,
        "folder": folder,
        "width": result.image.width,
        "height": result.image.height,
        "n_colors": result.n_colors,
        "requested_colors": result.requested_colors,
        "space": result.space,
        "spatial": result.spatial,
        "distinct": result.n_distinct_colors,
        "points": result.n_points,
        "clustered": result.n_clustered,
        "transparent": result.n_transparent,
        "inertia": result.inertia,
        "rms": math.sqrt(result.inertia / max(result.n_clustered, 1)),
        "seconds": result.timings.get("total", 0.0),
        "original_uri": _photo_uri(original),
        "segmented_uri": png_uri(segmented),
        "boundaries_uri": _photo_uri(boundaries),
        "palette_uri": png_uri(result.palette_image(swatch=40, bar_height=18, bar_width=THUMBNAIL_SIDE)),
        "palette_rows": rows,
        "notices": notices,
        "k_reason": k_reason,
        "k_table": k_table,
        "summary": result.summary(),
    }


def report_html(sections, failures, lang, *, settings, command=None):
    """Render report.html for the images of one run.

    Parameters
    ----------
    sections : list of dict
        From `image_section`, one per image that succeeded.
    failures : list of (str, str)
        File name and translated reason of each image that failed.
    lang : {"en", "zh"}
    settings : dict
        ``n_colors``, ``space``, ``spatial``, ``seed``: the run's options.
    command : list of str, optional
        The command line, shown for reproducibility.
    """
    from julei.i18n import translator

    t = translator(lang)
    toc = [{"id": f"image-{index + 1}", "title": section["name"]} for index, section in enumerate(sections)]
    if failures:
        toc.append({"id": "failed", "title": t("image.report.failed_title")})
    toc.append({"id": "settings", "title": t("image.report.settings_title")})
    context = {
        "title": t("image.report.title"),
        "subtitle": t("image.report.subtitle", images=len(sections), failed=len(failures)),
        "sections": toc,
        "images": sections,
        "failures": failures,
        "settings_items": [
            (t("image.report.setting_colors"), str(settings["n_colors"])),
            (t("image.report.setting_space"), settings["space"]),
            (t("image.report.setting_spatial"), str(settings["spatial"])),
            (t("image.report.setting_seed"), str(settings["seed"])),
            (t("image.report.setting_version"), __version__),
        ],
        "command": shlex.join(["julei", *command]) if command else "",
        "generated": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
    }
    return render_html("image.html.j2", context, lang).encode("utf-8")


def summary_payload(sections, failures, *, settings, command=None):
    """Return the JSON-ready summary of a run: version, settings, each image, failures."""
    return {
        "julei_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["julei", *command]) if command else None,
        "settings": settings,
        "images": [dict(section["summary"], folder=section["folder"]) for section in sections],
        "failed": [{"file": name, "error": reason} for name, reason in failures],
    }


# ---------------------------------------------------------------------------------------


def _png(image, level):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def _k_selection(result, t):
    """Return the translated reason for the chosen number of colours and the table of scores."""
    selection = result.k_selection
    if hasattr(selection, "reason_text"):
        reason = selection.reason_text(t)
    else:
        key = getattr(selection, "reason_key", None)
        reason = t(key, **selection.reason_fields) if key and t.has(key) else selection.reason
    columns = {
        "inertia": "cluster.metric.inertia",
        "silhouette": "cluster.metric.silhouette",
        "calinski_harabasz": "cluster.metric.calinski_harabasz",
        "davies_bouldin": "cluster.metric.davies_bouldin",
    }
    table = selection.table
    shown = [column for column in columns if column in table.columns and table[column].notna().any()]
    frame = table[shown].rename(columns={column: t(columns[column]) if t.has(columns[column]) else column
                                         for column in shown})
    frame.insert(0, "k", table.index.to_numpy())
    return reason, html_table(frame)


def _photo_uri(pixels):
    """Encode a photo-like thumbnail as JPEG (a fifth of the PNG size), or PNG when it has alpha."""
    from PIL import Image

    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return png_uri(pixels)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _thumbnail_shape(height, width):
    scale = min(1.0, THUMBNAIL_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _thumbnails(result):
    """Return the original (Lanczos) and the label map (nearest) at thumbnail size."""
    from PIL import Image

    height, width = result.image.height, result.image.width
    shape = _thumbnail_shape(height, width)
    # Subsample by an integer step first, so a 100-megapixel image is not copied whole.
    step = max(1, min(height, width, max(height, width) // (2 * THUMBNAIL_SIDE)))
    rgb = np.ascontiguousarray(result.image.rgb[::step, ::step])
    original = np.asarray(Image.fromarray(rgb).resize(shape[::-1], Image.Resampling.LANCZOS))
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * height / shape[0]).astype(int), height - 1)
    columns = np.minimum(((np.arange(shape[1]) + 0.5) * width / shape[1]).astype(int), width - 1)
    labels = result.labels[np.ix_(rows, columns)]
    return original, labels


def _thumbnail_alpha(result, shape):
    height, width = result.image.height, result.image.width
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * height / shape[0]).astype(int), height - 1)
    columns = np.minimum(((np.arange(shape[1]) + 0.5) * width / shape[1]).astype(int), width - 1)
    return np.ascontiguousarray(result.image.alpha[np.ix_(rows, columns)])
