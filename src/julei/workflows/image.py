"""Image segmentation and colour quantization with K-means.

`segment_image` groups the pixels of one image by colour (optionally also by position) and
returns an `ImageSegmentation`: a label per pixel, the palette of cluster colours with their
shares, and the numbers needed to judge and reproduce the result.

How it stays fast on large photos
---------------------------------
Pixels of identical colour are merged into one point weighted by its pixel count. K-means
with these weights has exactly the objective of K-means on all pixels, so the clustering is
that of the pixels, on typically 10 to 100 times fewer points. The seeding then runs on
coarser points still: distinct colours grouped by the top 5 bits of each channel (at most
32,768 groups), each group replaced by its weighted mean. The best of ``n_init`` seeded runs
on the groups gives the starting centres; Lloyd iterations on groups of the top 6 bits (for
images with many colours), then on the exact distinct colours, finish the job. The result is
therefore a converged K-means solution of the full pixel data.

With ``spatial > 0`` every pixel has its own position, so no two pixels are duplicates and
the clustering runs on every pixel (seeded from a random sample of them).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from julei import _color
from julei.exceptions import InputError
from julei.io.images import ImageData, Notice, image_from_array, image_from_pil, read_image
from julei.io.tables import input_error
from julei.kmeans import KMeans

logger = logging.getLogger(__name__)

__all__ = ["ImageSegmentation", "segment_image", "SPACES", "MAX_COLORS", "DEFAULT_K_RANGE"]

SPACES = ("rgb", "lab")

#: Largest number of colours: labels.png is a palette PNG of 256 entries, and one entry is
#: kept for transparent pixels.
MAX_COLORS = 255

#: Range of k tried by ``n_colors="auto"``.
DEFAULT_K_RANGE = (2, 12)

# Full range of one colour axis in each space. ``spatial=1`` makes crossing the image's longer
# side count as much as crossing this range.
_AXIS_RANGE = {"rgb": 255.0, "lab": 100.0}

# Above this many distinct colours, seeding runs on groups of colours that share the top 5 bits
# of each channel. Below it, seeding runs on the colours themselves.
_SEEDING_GROUPS_ABOVE = 20_000

# Above this many distinct colours, a refining stage runs on groups of the top 6 bits.
_REFINE_GROUPS_ABOVE = 200_000

# Stages with at most this many points run on one thread. On a 2-core machine busy with other
# processes, seeding on 50,000 pixels took 3 s on one thread and 34 s on two.
_ONE_THREAD_POINTS = 300_000

# Lloyd's algorithm, not julei.KMeans's automatic choice. The colours are already distinct, so
# the automatic choice would spend a pass looking for duplicates. Its Hamerly bounds also ran no
# faster than Lloyd on colour data: 0.83 s against 0.79 s for 20 iterations on the 720,806
# colours of china.jpg at 2000 x 1500. Every choice gives the same result.
_ALGORITHM = "lloyd"

# With spatial features, seeding runs on a random sample of this many pixels.
_SPATIAL_SEEDING_SAMPLE = 50_000

# -k auto scores candidate k on a weighted sample drawn from this many pixels, with the
# criteria that need no reference data sets or resampling (gap and stability would refit
# every k dozens of times).
_AUTO_SAMPLE = 5_000
_AUTO_CRITERIA = ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin")


@dataclasses.dataclass
class ImageSegmentation:
    """The result of `segment_image`: labels, palette and how they were found.

    Clusters are numbered by size: cluster 0 covers the most pixels.

    Attributes
    ----------
    image : ImageData
        The input pixels (sRGB, 8 bits) and alpha, as read.
    labels : numpy.ndarray of shape (height, width), int16
        Cluster of every pixel; -1 for fully transparent pixels, which are not clustered.
    palette : numpy.ndarray of shape (n_colors, 3), uint8
        sRGB colour of each cluster: its centre, converted from Lab when ``space="lab"``.
    centers : numpy.ndarray of shape (n_colors, n_features), float64
        Cluster centres in the clustering space: RGB (0..255) or Lab, then the two weighted
        position features (x, y) when ``spatial > 0``.
    counts : numpy.ndarray of shape (n_colors,), int64
        Number of pixels in each cluster.
    shares : numpy.ndarray of shape (n_colors,), float64
        ``counts`` as fractions of the clustered (not fully transparent) pixels.
    n_colors : int
        Number of clusters found; below the requested number when the image has fewer
        distinct colours.
    requested_colors : int or str
        What was asked for: a number or ``"auto"``.
    space : {"rgb", "lab"}
    spatial : float
        Weight of the position features; 0 means colour only.
    inertia : float
        Sum over clustered pixels of the squared distance to their centre, in the clustering
        space (RGB units squared, or Lab units squared).
    n_iter : int
        Lloyd iterations of the final run.
    n_distinct_colors : int
        Distinct colours among the clustered pixels.
    n_points : int
        Number of points K-means ran on: distinct colours, or pixels with ``spatial > 0``.
    n_clustered : int
        Pixels that took part (not fully transparent).
    n_transparent : int
        Fully transparent pixels, left out.
    random_state : int or None
    k_selection : julei.selection.ChooseKResult or None
        Scores of each candidate k when ``n_colors="auto"``.
    notices : list of Notice
        What the reader converted and what the segmentation noticed, in order.
    timings : dict
        Seconds spent in each step: ``"prepare"``, ``"choose_k"``, ``"fit"``, ``"labels"``,
        and ``"total"`` (reading a file is not included).
    """

    image: ImageData
    labels: np.ndarray
    palette: np.ndarray
    centers: np.ndarray
    counts: np.ndarray
    shares: np.ndarray
    n_colors: int
    requested_colors: object
    space: str
    spatial: float
    inertia: float
    n_iter: int
    n_distinct_colors: int
    n_points: int
    n_clustered: int
    n_transparent: int
    random_state: int | None
    k_selection: object = None
    notices: list = dataclasses.field(default_factory=list)
    timings: dict = dataclasses.field(default_factory=dict)

    @property
    def source(self):
        """File name of the image, or a placeholder for in-memory input."""
        return self.image.name

    @property
    def deduplicated(self):
        """True when K-means ran on distinct colours weighted by count (no spatial features)."""
        return self.spatial == 0

    def hex_colors(self):
        """Return the palette as ``"#rrggbb"`` strings, largest cluster first."""
        return [_color.to_hex(rgb) for rgb in self.palette]

    def palette_table(self):
        """Return one row per cluster: label, hex, r, g, b, L, a, b_lab, pixels, share.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        lab = _color.srgb_to_lab(self.palette)
        return pd.DataFrame(
            {
                "label": np.arange(self.n_colors),
                "hex": self.hex_colors(),
                "r": self.palette[:, 0].astype(int),
                "g": self.palette[:, 1].astype(int),
                "b": self.palette[:, 2].astype(int),
                "L": lab[:, 0].round(2),
                "a": lab[:, 1].round(2),
                "b_lab": lab[:, 2].round(2),
                "pixels": self.counts,
                "share": self.shares,
            }
        )

    def palette_json(self):
        """Return the palette as a JSON-ready dict: colours largest first, with hex, RGB and share."""
        from julei import __version__

        lab = _color.srgb_to_lab(self.palette)
        return {
            "julei_version": __version__,
            "source": self.source,
            "width": self.image.width,
            "height": self.image.height,
            "space": self.space,
            "spatial": self.spatial,
            "n_colors": self.n_colors,
            "requested_colors": self.requested_colors,
            "clustered_pixels": self.n_clustered,
            "transparent_pixels": self.n_transparent,
            "distinct_colors": self.n_distinct_colors,
            "inertia": self.inertia,
            "random_state": self.random_state,
            "colors": [
                {
                    "label": index,
                    "hex": _color.to_hex(rgb),
                    "rgb": [int(value) for value in rgb],
                    "lab": [round(float(value), 3) for value in lab[index]],
                    "share": float(self.shares[index]),
                    "pixels": int(self.counts[index]),
                }
                for index, rgb in enumerate(self.palette)
            ],
        }

    def segmented(self):
        """Return the image with every pixel painted in its cluster's colour.

        Returns
        -------
        numpy.ndarray of shape (height, width, 3) or (height, width, 4), uint8
            RGBA when the input has transparency: the input's alpha is kept, and fully
            transparent pixels stay transparent (with colour 0, 0, 0).
        """
        # An extra black entry at index -1 paints transparent pixels.
        lookup = np.vstack([self.palette, np.zeros((1, 3), np.uint8)])
        rgb = lookup[self.labels]
        if self.image.alpha is None:
            return rgb
        return np.dstack([rgb, self.image.alpha])

    def label_image(self):
        """Return the label map as a palette-mode PIL image (cluster i has palette entry i).

        Transparent pixels get index ``n_colors``, marked transparent in the PNG.
        """
        from PIL import Image

        indices = self.labels.astype(np.uint8)
        if self.n_transparent:
            indices[self.labels < 0] = self.n_colors
        height, width = indices.shape
        image = Image.frombytes("P", (width, height), indices.tobytes())
        entries = np.zeros((256, 3), np.uint8)
        entries[: self.n_colors] = self.palette
        image.putpalette(entries.reshape(-1).tolist())
        if self.n_transparent:
            image.info["transparency"] = self.n_colors
        return image

    def boundaries(self, *, rgb=None, labels=None):
        """Return the input image with the edges between clusters drawn on it.

        An edge pixel is one whose right or lower neighbour is in another cluster. It is
        painted black on light pixels and white on dark ones, so edges show on any photo.

        Parameters
        ----------
        rgb, labels : numpy.ndarray, optional
            Draw on these instead (e.g. a thumbnail and its labels); default the full image.

        Returns
        -------
        numpy.ndarray of shape (height, width, 3) or (height, width, 4), uint8
        """
        rgb = self.image.rgb if rgb is None else rgb
        labels = self.labels if labels is None else labels
        edges = _edge_mask(labels)
        out = np.array(rgb, dtype=np.uint8, copy=True)
        luminance = out[edges].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        out[edges] = np.where(luminance[:, None] > 128, 0, 255).astype(np.uint8)
        if self.image.alpha is not None and rgb is self.image.rgb:
            return np.dstack([out, self.image.alpha])
        return out

    def palette_image(self, *, swatch=64, bar_height=24, bar_width=None):
        """Return a picture of the palette: equal swatches on top, a bar by share below.

        Returns
        -------
        numpy.ndarray of shape (swatch + bar_height, width, 3), uint8
        """
        width = bar_width or max(swatch * self.n_colors, 256)
        swatch_width = width / self.n_colors
        picture = np.full((swatch + bar_height, width, 3), 255, np.uint8)
        for index, rgb in enumerate(self.palette):
            start, stop = round(index * swatch_width), round((index + 1) * swatch_width)
            picture[:swatch, start:stop] = rgb
        bounds = np.rint(np.concatenate([[0.0], np.cumsum(self.shares)]) * width).astype(int)
        for index, rgb in enumerate(self.palette):
            picture[swatch:, bounds[index] : bounds[index + 1]] = rgb
        return picture

    def summary(self):
        """Return the settings, sizes, quality and timings as a JSON-ready dict."""
        return {
            "source": self.source,
            "format": self.image.format,
            "mode": self.image.mode,
            "width": self.image.width,
            "height": self.image.height,
            "n_colors": self.n_colors,
            "requested_colors": self.requested_colors,
            "space": self.space,
            "spatial": self.spatial,
            "deduplicated": self.deduplicated,
            "distinct_colors": self.n_distinct_colors,
            "points_clustered": self.n_points,
            "clustered_pixels": self.n_clustered,
            "transparent_pixels": self.n_transparent,
            "inertia": self.inertia,
            "mean_squared_distance": self.inertia / max(self.n_clustered, 1),
            "n_iter": self.n_iter,
            "random_state": self.random_state,
            "k_chosen_by": None if self.k_selection is None else self.k_selection.reason,
            "notices": [notice.message for notice in self.notices],
            "timings": {name: round(seconds, 4) for name, seconds in self.timings.items()},
        }

    def _repr_html_(self):
        swatches = "".join(
            f'<span title="{hex_} {share:.1%}" style="display:inline-block;width:24px;height:24px;'
            f'background:{hex_}"></span>'
            for hex_, share in zip(self.hex_colors(), self.shares)
        )
        return (
            f"<div><b>ImageSegmentation</b> of {_html_escape(self.source)}: "
            f"{self.image.width} x {self.image.height}, {self.n_colors} colours in {self.space}"
            f"<div>{swatches}</div></div>"
        )


def segment_image(
    image,
    n_colors=8,
    *,
    space="rgb",
    spatial=0.0,
    k_range=DEFAULT_K_RANGE,
    n_init=10,
    max_iter=300,
    tol=1e-4,
    random_state=0,
):
    """Segment an image into ``n_colors`` colour clusters with K-means.

    Parameters
    ----------
    image : str, pathlib.Path, PIL.Image.Image, numpy.ndarray or ImageData
        A file (read with `julei.io.images.read_image`), a PIL image, or an array of shape
        (height, width), (height, width, 3) or (height, width, 4): uint8, uint16, or float
        in 0..1.
    n_colors : int or "auto", default=8
        Number of clusters, 1 to 255, or ``"auto"`` to choose it in ``k_range`` with
        `julei.selection.choose_k` on a weighted sample of the colours.
    space : {"rgb", "lab"}, default="rgb"
        Cluster sRGB values (0..255) or CIELAB (D65), where distances follow perceived
        colour difference more closely.
    spatial : float, default=0.0
        Weight of the pixel position. At 1, crossing the image's longer side counts as much
        as crossing the full range of one colour axis (255 in RGB, 100 L* units in Lab).
        Values around 0.5 to 2 keep regions compact. Disables colour deduplication, so large
        images take longer.
    k_range : tuple of int, default=(2, 12)
        Smallest and largest k tried when ``n_colors="auto"``.
    n_init : int, default=10
        k-means++ runs on the grouped colours; the best one starts the later stages. Cheap,
        because the groups are few.
    max_iter, tol :
        As in `julei.KMeans`, for the final run.
    random_state : int or None, default=0
        Seed of the k-means++ seeding and of the samples; the default makes runs repeatable.

    Returns
    -------
    ImageSegmentation

    Raises
    ------
    InputError
        Unreadable file, unsupported array, invalid option, or no visible pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from julei import segment_image
    >>> pixels = np.zeros((10, 10, 3), np.uint8)
    >>> pixels[:, 5:] = (200, 30, 30)
    >>> result = segment_image(pixels, 2)
    >>> result.hex_colors(), result.shares.tolist()
    (['#000000', '#c81e1e'], [0.5, 0.5])
    """
    _check_options(n_colors, space, spatial, k_range, n_init)
    data = _as_image_data(image)
    started = time.perf_counter()
    notices = list(data.notices)
    timings = {}

    mask = None if data.alpha is None else data.alpha > 0
    n_pixels = data.n_pixels
    n_clustered = n_pixels if mask is None else int(np.count_nonzero(mask))
    if n_clustered == 0:
        raise input_error(
            "image.error.all_transparent",
            f"every pixel of {data.name!r} is fully transparent, so there is no colour to cluster.",
            name=data.name,
        )

    # Distinct colours (always: Lab features and palette statistics use them too).
    distinct = _color.distinct_colors(data.rgb, mask)
    if space == "lab":
        color_features = _color.srgb_to_lab(distinct.colors)
    else:
        color_features = distinct.colors.astype(np.float64)
    weights = distinct.counts.astype(np.float64)
    timings["prepare"] = time.perf_counter() - started

    rng = np.random.default_rng(random_state)
    k_selection = None
    if n_colors == "auto":
        tick = time.perf_counter()
        k_selection, k = _choose_n_colors(color_features, weights, k_range, rng, random_state)
        notices.append(
            Notice("k_chosen", f"{k} colours chosen automatically: {k_selection.reason}", {"k": k})
        )
        timings["choose_k"] = time.perf_counter() - tick
    else:
        k = int(n_colors)

    tick = time.perf_counter()
    if spatial == 0:
        fit = _fit_colors(distinct, color_features, weights, k, n_init, max_iter, tol, random_state, notices)
    else:
        fit = _fit_spatial(data, distinct, color_features, mask, k, spatial, space, n_init, max_iter, tol,
                           random_state, rng, notices)
    timings["fit"] = time.perf_counter() - tick

    # Number clusters by size, largest first (ties by centre order, so runs are repeatable).
    tick = time.perf_counter()
    sizes = np.bincount(fit.labels[fit.labels >= 0] if fit.per_pixel else fit.labels,
                        weights=None if fit.per_pixel else weights, minlength=fit.n_clusters)
    order = np.lexsort((np.arange(fit.n_clusters), -sizes))
    rank = np.empty(fit.n_clusters, dtype=np.int16)
    rank[order] = np.arange(fit.n_clusters, dtype=np.int16)
    centers = fit.centers[order]
    counts = np.rint(sizes[order]).astype(np.int64)

    if fit.per_pixel:
        labels = np.where(fit.labels >= 0, rank[np.maximum(fit.labels, 0)], -1).astype(np.int16)
    else:
        labels = _color.map_labels(distinct, rank[fit.labels], mask=mask)
    labels = labels.reshape(data.height, data.width)
    timings["labels"] = time.perf_counter() - tick

    palette = _palette_from_centers(centers[:, :3], space)
    timings["total"] = time.perf_counter() - started
    logger.info(
        "%s: %d colours (%s) from %d distinct colours in %.2f s",
        data.name, fit.n_clusters, space, distinct.n_colors, timings["total"],
    )
    return ImageSegmentation(
        image=data,
        labels=labels,
        palette=palette,
        centers=centers,
        counts=counts,
        shares=counts / n_clustered,
        n_colors=fit.n_clusters,
        requested_colors=n_colors if n_colors == "auto" else int(n_colors),
        space=space,
        spatial=float(spatial),
        inertia=float(fit.inertia),
        n_iter=int(fit.n_iter),
        n_distinct_colors=distinct.n_colors,
        n_points=fit.n_points,
        n_clustered=n_clustered,
        n_transparent=n_pixels - n_clustered,
        random_state=random_state,
        k_selection=k_selection,
        notices=notices,
        timings=timings,
    )


# --- options and input -------------------------------------------------------------------


def _check_options(n_colors, space, spatial, k_range, n_init):
    if isinstance(n_colors, str):
        if n_colors != "auto":
            raise InputError(f"n_colors={n_colors!r} is not supported; use a number from 1 to {MAX_COLORS} or 'auto'.")
    elif isinstance(n_colors, bool) or not isinstance(n_colors, (int, np.integer)) or not 1 <= n_colors <= MAX_COLORS:
        raise input_error(
            "image.error.n_colors",
            f"n_colors={n_colors!r} is out of range; use a number from 1 to {MAX_COLORS} or 'auto'.",
            value=n_colors, max=MAX_COLORS,
        )
    if space not in SPACES:
        raise InputError(f"space={space!r} is not supported; use one of {list(SPACES)}.")
    if isinstance(spatial, bool) or not isinstance(spatial, (int, float, np.number)) or not np.isfinite(spatial) or spatial < 0:
        raise input_error(
            "image.error.spatial",
            f"spatial={spatial!r} is invalid; use a weight of 0 (colour only) or more, e.g. 1.",
            value=spatial,
        )
    low, high = k_range
    if not (1 <= low <= high <= MAX_COLORS):
        raise InputError(f"k_range={k_range!r} is invalid; use (low, high) with 1 <= low <= high <= {MAX_COLORS}.")
    if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise InputError(f"n_init={n_init!r} is invalid; use an integer of 1 or more.")


def _as_image_data(image):
    if isinstance(image, ImageData):
        return image
    if isinstance(image, (str, Path)):
        return read_image(image)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        Image = None
    if Image is not None and isinstance(image, Image.Image):
        return image_from_pil(image)
    if isinstance(image, np.ndarray) or hasattr(image, "__array__"):
        return image_from_array(image)
    raise TypeError(
        f"image has type {type(image).__name__}; pass a file path, a PIL image or a numpy array."
    )


# --- fitting ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Fit:
    labels: np.ndarray  # per distinct colour, or per pixel (-1 masked) when per_pixel
    centers: np.ndarray
    inertia: float
    n_iter: int
    n_clusters: int
    n_points: int
    per_pixel: bool


def _fit_colors(distinct, features, weights, k, n_init, max_iter, tol, random_state, notices):
    """K-means on the distinct colours weighted by pixel count."""
    n_points = features.shape[0]
    if n_points <= k:
        # Every distinct colour is its own cluster, which is the exact optimum.
        if n_points < k:
            notices.append(
                Notice(
                    "few_colors",
                    f"the image has only {n_points} distinct colours, fewer than the {k} requested; "
                    f"each colour is its own cluster.",
                    {"distinct": n_points, "requested": k},
                )
            )
        return _Fit(np.arange(n_points), features.copy(), 0.0, 0, n_points, n_points, False)

    # Coarse to fine: seed on 15-bit colour groups, refine on 18-bit groups, finish on the
    # exact colours. Each stage starts near its optimum, so the expensive last stage needs few
    # Lloyd iterations.
    stages = []
    if n_points > _SEEDING_GROUPS_ABOVE:
        stages.append(_color.group_colors(distinct.codes, features, weights, 5))
    if n_points > _REFINE_GROUPS_ABOVE:
        stages.append(_color.group_colors(distinct.codes, features, weights, 6))
    stages.append((features, weights))

    seed_features, seed_weights = stages[0]
    if seed_features.shape[0] > k:
        seeding = KMeans(
            k, algorithm=_ALGORITHM, n_init=n_init, max_iter=max_iter, tol=tol, random_state=random_state, n_threads=1
        )
        model = seeding.fit(seed_features, sample_weight=seed_weights)
    else:
        # Fewer colour groups than clusters: seed from the colours themselves.
        stages = [None, (features, weights)]
        model = None
        init = _weighted_choice_init(features, weights, k, random_state)

    for stage_features, stage_weights in stages[1:]:
        if model is not None:
            init = model.cluster_centers_
        n_threads = 1 if stage_features.shape[0] <= _ONE_THREAD_POINTS else None
        model = KMeans(
            k, algorithm=_ALGORITHM, init=init, n_init=1, max_iter=max_iter, tol=tol, n_threads=n_threads
        )
        model.fit(stage_features, sample_weight=stage_weights)
    return _Fit(np.asarray(model.labels_), np.asarray(model.cluster_centers_, np.float64), float(model.inertia_),
                int(model.n_iter_), k, n_points, False)


def _weighted_choice_init(features, weights, k, random_state):
    """Pick ``k`` distinct points with probability proportional to weight."""
    rng = np.random.default_rng(random_state)
    chosen = rng.choice(features.shape[0], size=k, replace=False, p=weights / weights.sum())
    return features[np.sort(chosen)]


def _fit_spatial(data, distinct, color_features, mask, k, spatial, space, n_init, max_iter, tol, random_state,
                 rng, notices):
    """K-means on every clustered pixel with colour and weighted position features."""
    notices.append(
        Notice(
            "spatial_no_dedup",
            "with spatial features every pixel is clustered on its own (no colour deduplication), "
            "so large images take longer.",
        )
    )
    X, pixel_index = _spatial_features(data, distinct, color_features, mask, spatial, space)
    n_points = X.shape[0]
    if n_points <= k:
        raise input_error(
            "image.error.too_few_pixels",
            f"{data.name!r} has {n_points} visible pixels, not more than the {k} clusters requested; "
            "use fewer colours.",
            name=data.name, pixels=n_points, k=k,
        )

    if n_points > _SPATIAL_SEEDING_SAMPLE:
        sample = rng.choice(n_points, size=_SPATIAL_SEEDING_SAMPLE, replace=False)
        seeding = KMeans(
            k, algorithm=_ALGORITHM, n_init=n_init, max_iter=max_iter, tol=tol, random_state=random_state, n_threads=1
        )
        init = seeding.fit(X[np.sort(sample)]).cluster_centers_
        model = KMeans(k, algorithm=_ALGORITHM, init=init, n_init=1, max_iter=max_iter, tol=tol)
    else:
        model = KMeans(
            k,
            algorithm=_ALGORITHM,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            random_state=random_state,
            n_threads=1 if n_points <= _ONE_THREAD_POINTS else None,
        )
    model.fit(X)

    labels = np.full(data.n_pixels, -1, dtype=np.int32)
    labels[pixel_index] = model.labels_
    return _Fit(labels, np.asarray(model.cluster_centers_, np.float64), float(model.inertia_), int(model.n_iter_),
                k, n_points, True)


def _spatial_features(data, distinct, color_features, mask, spatial, space):
    """Build (n_clustered, 5) float32 features: colour, then weighted x and y.

    Returns the features and the flat index of each clustered pixel.
    """
    height, width = data.height, data.width
    scale = spatial * _AXIS_RANGE[space] / max(height, width)
    pixel_index = np.arange(data.n_pixels) if mask is None else np.flatnonzero(mask.reshape(-1))
    X = np.empty((pixel_index.shape[0], 5), dtype=np.float32)
    color_of_pixel = distinct.inverse()[pixel_index]
    X[:, :3] = color_features[color_of_pixel]
    X[:, 3] = (pixel_index % width + 0.5) * scale
    X[:, 4] = (pixel_index // width + 0.5) * scale
    return X, pixel_index


def _choose_n_colors(features, weights, k_range, rng, random_state):
    """Choose k with `choose_k` on a weighted sample of the distinct colours."""
    from julei.selection import choose_k

    total = weights.sum()
    draws = rng.choice(features.shape[0], size=_AUTO_SAMPLE, replace=True, p=weights / total)
    sampled, sample_counts = np.unique(draws, return_counts=True)
    X = features[sampled]
    low, high = k_range
    high = min(high, X.shape[0])
    if high < low:
        raise input_error(
            "image.error.too_few_colors_auto",
            f"the image has {X.shape[0]} distinct colours, too few to choose k in {k_range[0]}..{k_range[1]}; "
            "pass -k with a number.",
            distinct=X.shape[0], low=k_range[0], high=k_range[1],
        )
    selection = choose_k(
        X,
        range(low, high + 1),
        sample_weight=sample_counts.astype(np.float64),
        criteria=_AUTO_CRITERIA,
        random_state=random_state,
    )
    if selection.k is None:
        raise InputError(f"no k in {low}..{high} could be fitted to the colours; pass -k with a number.")
    return selection, int(selection.k)


def _palette_from_centers(centers, space):
    if space == "lab":
        rgb = _color.lab_to_srgb(centers)
    else:
        rgb = centers
    return np.rint(np.clip(rgb, 0, 255)).astype(np.uint8)


def _edge_mask(labels):
    """Mark pixels whose right or lower neighbour has another label."""
    edges = np.zeros(labels.shape, dtype=bool)
    edges[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edges[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edges &= labels >= 0
    return edges


def _html_escape(text):
    from html import escape

    return escape(str(text))
