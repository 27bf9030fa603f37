"""Colour science and colour bookkeeping for image segmentation.

- `srgb_to_lab` and `lab_to_srgb` convert between 8-bit sRGB and CIELAB (CIE 1976 L*a*b*)
  under the D65 white point, as defined by IEC 61966-2-1 (sRGB) and CIE 15 (Lab).
- `distinct_colors` reduces an image to its distinct colours and their pixel counts, so that
  K-means on the colours weighted by count is exactly K-means on the pixels.
- `map_labels` paints every pixel with the label of its colour.

Colours are packed as 24-bit integers, ``code = r << 16 | g << 8 | b``. Small images are
deduplicated with `numpy.unique`. Large ones use a count table over all 2**24 codes, which
takes one pass over the pixels instead of a sort.
"""

import numba
import numpy as np

__all__ = [
    "WHITE_D65",
    "srgb_to_lab",
    "lab_to_srgb",
    "pack_rgb",
    "unpack_rgb",
    "DistinctColors",
    "distinct_colors",
    "map_labels",
    "group_colors",
    "to_hex",
]

# sRGB primaries to CIE XYZ under D65 (IEC 61966-2-1, as tabulated by Bruce Lindbloom).
# The rows sum to the D65 white point below, so sRGB white maps to L* = 100, a* = b* = 0.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)

#: CIE XYZ of the D65 reference white, normalised to Y = 1.
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])

_EPSILON = (6.0 / 29.0) ** 3  # CIE's 216/24389: below it f(t) is linear
_KAPPA_SLOPE = 1.0 / (3.0 * (6.0 / 29.0) ** 2)  # slope of the linear part of f

N_CODES = 1 << 24

# Above this many pixels the count table (64 MB of int32) beats sorting with numpy.unique.
_TABLE_MIN_PIXELS = 1 << 20


def _srgb_to_linear(values):
    """Undo the sRGB transfer curve; ``values`` in 0..1."""
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(values):
    """Apply the sRGB transfer curve; ``values`` in 0..1 (clipped first)."""
    values = np.clip(values, 0.0, 1.0)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1.0 / 2.4) - 0.055)


# Linear value of each 8-bit sRGB level, so converting uint8 colours needs no power function.
_LINEAR_OF_LEVEL = _srgb_to_linear(np.arange(256) / 255.0)


def srgb_to_lab(rgb):
    """Convert sRGB colours (0..255) to CIELAB under D65.

    Parameters
    ----------
    rgb : array-like of shape (..., 3)
        sRGB values on the 0..255 scale: uint8, or float for values between levels.

    Returns
    -------
    numpy.ndarray of shape (..., 3), float64
        L* (0..100), a*, b*.

    Examples
    --------
    >>> srgb_to_lab([255, 0, 0]).round(2)
    array([53.24, 80.09, 67.2 ])
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"rgb has shape {rgb.shape}; the last axis must hold 3 channels.")
    if rgb.dtype == np.uint8:
        linear = _LINEAR_OF_LEVEL[rgb]
    else:
        linear = _srgb_to_linear(rgb.astype(np.float64) / 255.0)
    xyz = linear @ _RGB_TO_XYZ.T
    return _xyz_to_lab(xyz)


def lab_to_srgb(lab):
    """Convert CIELAB colours (D65) to sRGB on the 0..255 scale, as float64.

    Colours outside the sRGB gamut are clipped channel by channel. Round and cast the result
    to get 8-bit values: ``np.rint(lab_to_srgb(lab)).astype(np.uint8)``.
    """
    lab = np.asarray(lab, dtype=np.float64)
    if lab.shape[-1:] != (3,):
        raise ValueError(f"lab has shape {lab.shape}; the last axis must hold 3 channels.")
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = np.stack([_f_inverse(fx), _f_inverse(fy), _f_inverse(fz)], axis=-1) * WHITE_D65
    linear = xyz @ _XYZ_TO_RGB.T
    return _linear_to_srgb(linear) * 255.0


def _xyz_to_lab(xyz):
    t = xyz / WHITE_D65
    f = np.where(t > _EPSILON, np.cbrt(t), t * _KAPPA_SLOPE + 4.0 / 29.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def _f_inverse(f):
    return np.where(f > 6.0 / 29.0, f**3, (f - 4.0 / 29.0) / _KAPPA_SLOPE)


def to_hex(rgb):
    """Format one uint8 RGB triple as ``"#rrggbb"``."""
    r, g, b = (int(value) for value in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


# --- packing and deduplication -----------------------------------------------------------


def pack_rgb(rgb):
    """Pack uint8 colours of shape (..., 3) into uint32 codes ``r << 16 | g << 8 | b``."""
    rgb = np.asarray(rgb)
    flat = rgb.reshape(-1, 3)
    codes = np.empty(flat.shape[0], dtype=np.uint32)
    _pack_kernel(flat, codes)
    return codes.reshape(rgb.shape[:-1])


def unpack_rgb(codes):
    """Unpack uint32 codes into uint8 colours of shape (..., 3)."""
    codes = np.asarray(codes, dtype=np.uint32)
    rgb = np.empty(codes.shape + (3,), dtype=np.uint8)
    rgb[..., 0] = codes >> 16
    rgb[..., 1] = (codes >> 8) & 0xFF
    rgb[..., 2] = codes & 0xFF
    return rgb


class DistinctColors:
    """The distinct colours of an image and how many pixels have each.

    Attributes
    ----------
    colors : numpy.ndarray of shape (n_colors, 3), uint8
        Distinct colours in ascending code order.
    codes : numpy.ndarray of shape (n_colors,), uint32
        Their packed codes.
    counts : numpy.ndarray of shape (n_colors,), int64
        Number of counted pixels of each colour; all positive.
    pixel_codes : numpy.ndarray of shape (n_pixels,), uint32
        Packed code of every pixel, row-major, masked pixels included.
    """

    def __init__(self, colors, codes, counts, pixel_codes):
        self.colors = colors
        self.codes = codes
        self.counts = counts
        self.pixel_codes = pixel_codes

    @property
    def n_colors(self):
        return self.codes.shape[0]

    def inverse(self):
        """Return the index into `colors` of every pixel, shape (n_pixels,), int32.

        Masked pixels get the index of their colour too, which may be -1 when no counted
        pixel has that colour.
        """
        if self.pixel_codes.shape[0] < _TABLE_MIN_PIXELS:
            index = np.searchsorted(self.codes, self.pixel_codes).astype(np.int32)
            index = np.minimum(index, max(self.n_colors - 1, 0))
            found = self.codes[index] == self.pixel_codes if self.n_colors else np.zeros(index.shape, bool)
            return np.where(found, index, -1).astype(np.int32)
        table = np.full(N_CODES, -1, dtype=np.int32)
        table[self.codes] = np.arange(self.n_colors, dtype=np.int32)
        out = np.empty(self.pixel_codes.shape[0], dtype=np.int32)
        _gather_kernel(self.pixel_codes, table, out)
        return out


def distinct_colors(rgb, mask=None):
    """Find the distinct colours among the pixels of ``rgb`` where ``mask`` is true.

    Parameters
    ----------
    rgb : numpy.ndarray of shape (height, width, 3) or (n_pixels, 3), uint8
    mask : numpy.ndarray of shape (height, width) or (n_pixels,), bool, optional
        Pixels to count; None counts every pixel.

    Returns
    -------
    DistinctColors
    """
    pixel_codes = pack_rgb(rgb).reshape(-1)
    flat_mask = None if mask is None else np.asarray(mask, dtype=bool).reshape(-1)

    if pixel_codes.shape[0] < _TABLE_MIN_PIXELS:
        counted = pixel_codes if flat_mask is None else pixel_codes[flat_mask]
        codes, counts = np.unique(counted, return_counts=True)
        counts = counts.astype(np.int64)
    else:
        # int32 counts cannot overflow: read_image caps images far below 2**31 pixels.
        table = np.zeros(N_CODES, dtype=np.int32)
        if flat_mask is None:
            _count_kernel(pixel_codes, table)
        else:
            _count_masked_kernel(pixel_codes, flat_mask, table)
        codes = np.flatnonzero(table).astype(np.uint32)
        counts = table[codes].astype(np.int64)
    return DistinctColors(unpack_rgb(codes), codes, counts, pixel_codes)


def map_labels(distinct, color_labels, *, mask=None, fill=-1, dtype=np.int16):
    """Give every pixel the label of its colour.

    Parameters
    ----------
    distinct : DistinctColors
    color_labels : numpy.ndarray of shape (n_colors,), int
        Label of each distinct colour.
    mask : numpy.ndarray of shape (n_pixels,) or (height, width), bool, optional
        Pixels outside the mask get ``fill``.
    fill : int, default=-1
    dtype : numpy dtype, default=int16

    Returns
    -------
    numpy.ndarray of shape (n_pixels,)
    """
    pixel_codes = distinct.pixel_codes
    color_labels = np.asarray(color_labels).astype(dtype)
    if pixel_codes.shape[0] < _TABLE_MIN_PIXELS:
        index = distinct.inverse()
        labels = np.where(index >= 0, color_labels[np.maximum(index, 0)], dtype(fill)).astype(dtype)
    else:
        table = np.full(N_CODES, fill, dtype=dtype)
        table[distinct.codes] = color_labels
        labels = np.empty(pixel_codes.shape[0], dtype=dtype)
        _gather_kernel(pixel_codes, table, labels)
    if mask is not None:
        labels[~np.asarray(mask, dtype=bool).reshape(-1)] = fill
    return labels


def group_colors(codes, features, weights, bits):
    """Merge colours that share the top ``bits`` bits of each RGB channel into their weighted mean.

    Parameters
    ----------
    codes : numpy.ndarray of shape (n_colors,), uint32
        Packed RGB codes of the colours.
    features : numpy.ndarray of shape (n_colors, n_features), float64
        What to average: the RGB values, or the Lab values of the same colours.
    weights : numpy.ndarray of shape (n_colors,), float64
        Pixel count of each colour.
    bits : int, 1 to 8
        Bits kept per channel; at most ``2 ** (3 * bits)`` groups.

    Returns
    -------
    group_features : numpy.ndarray of shape (n_groups, n_features), float64
        Weighted mean of the features of each non-empty group.
    group_weights : numpy.ndarray of shape (n_groups,), float64
        Total weight of each group.
    """
    features = np.ascontiguousarray(features, dtype=np.float64)
    sums = np.zeros((1 << (3 * bits), features.shape[1]), dtype=np.float64)
    totals = np.zeros(1 << (3 * bits), dtype=np.float64)
    _group_kernel(codes, features, np.ascontiguousarray(weights, dtype=np.float64), bits, sums, totals)
    present = np.flatnonzero(totals)
    return sums[present] / totals[present, None], totals[present]


# --- numba kernels ----------------------------------------------------------------------
# Plain loops over the pixels: one pass each, no temporaries the size of the image.


@numba.njit(parallel=True, cache=True, nogil=True)
def _pack_kernel(rgb, codes):
    # rgb (n_pixels, 3) uint8 IN, any strides | codes (n_pixels,) uint32 OUT
    for i in numba.prange(rgb.shape[0]):
        codes[i] = (np.uint32(rgb[i, 0]) << 16) | (np.uint32(rgb[i, 1]) << 8) | np.uint32(rgb[i, 2])


@numba.njit(cache=True, nogil=True)
def _count_kernel(codes, table):
    # codes (n_pixels,) uint32 IN | table (2**24,) int32 INOUT, zeroed by the caller.
    # Serial on purpose: a parallel version needs one 64 MB table per thread.
    for i in range(codes.shape[0]):
        table[codes[i]] += 1


@numba.njit(cache=True, nogil=True)
def _count_masked_kernel(codes, mask, table):
    # as _count_kernel, counting only pixels where mask (n_pixels,) bool is true
    for i in range(codes.shape[0]):
        if mask[i]:
            table[codes[i]] += 1


@numba.njit(parallel=True, cache=True, nogil=True)
def _gather_kernel(codes, table, out):
    # codes (n_pixels,) uint32 IN | table (2**24,) IN | out (n_pixels,) OUT: out[i] = table[codes[i]]
    for i in numba.prange(codes.shape[0]):
        out[i] = table[codes[i]]


@numba.njit(cache=True, nogil=True)
def _group_kernel(codes, features, weights, bits, sums, totals):
    # codes (n_colors,) uint32, features (n_colors, n_features), weights (n_colors,) IN
    # sums (2**(3*bits), n_features), totals (2**(3*bits),) INOUT, zeroed by the caller
    shift = 8 - bits
    mask = (1 << bits) - 1
    for i in range(codes.shape[0]):
        code = np.int64(codes[i])
        group = (((code >> (16 + shift)) & mask) << (2 * bits)) | (((code >> (8 + shift)) & mask) << bits) | (
            (code >> shift) & mask
        )
        totals[group] += weights[i]
        for j in range(features.shape[1]):
            sums[group, j] += weights[i] * features[i, j]
