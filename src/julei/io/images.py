"""Read image files into 8-bit sRGB pixel arrays, the way their authors meant them to look.

`read_image` opens JPEG, PNG, WebP, TIFF, BMP and GIF files (and whatever else Pillow reads)
and returns an `ImageData`: an ``(height, width, 3)`` uint8 RGB array and, when the image has
transparency, an ``(height, width)`` uint8 alpha array. On the way it

- applies the EXIF orientation tag, so a phone photo is upright;
- converts grayscale, bilevel, palette (P), CMYK, YCbCr and premultiplied modes to RGB;
- scales 16-bit and 32-bit integer samples to 8 bits (Pillow's own ``convert("L")`` clips
  them at 255, which turns most 16-bit images white);
- converts pixels from an embedded ICC profile (Adobe RGB, Display P3, a CMYK press profile)
  to sRGB when Pillow's colour management is available;
- takes the first frame of an animated image and records a notice saying so.

Each step that changes the picture adds a `Notice`, which the command line shows to the user
in their language. Unreadable, truncated and oversized files raise `InputError` naming the file.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from julei.exceptions import InputError
from julei.io.tables import input_error

logger = logging.getLogger(__name__)

__all__ = [
    "IMAGE_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "ImageData",
    "Notice",
    "read_image",
    "image_from_array",
    "image_from_pil",
    "list_image_files",
]

#: File name suffixes that a folder given to the command line is searched for.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")

#: Default upper bound on width x height. 300 megapixels is about 900 MB of RGB pixels; it
#: replaces Pillow's decompression-bomb limit (about 89 megapixels), which would reject
#: ordinary panoramas and scans.
DEFAULT_MAX_PIXELS = 300_000_000


@dataclasses.dataclass(frozen=True)
class Notice:
    """Something the reader changed or noticed that the user should hear about.

    Attributes
    ----------
    code : str
        Short identifier, e.g. ``"first_frame"``; the command line shows the catalog message
        ``image.notice.<code>`` with ``fields``.
    message : str
        The same notice as one English sentence, for logs and the library user.
    fields : dict
        Format fields of the catalog message.
    """

    code: str
    message: str
    fields: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ImageData:
    """Pixels of one image in 8-bit sRGB, with its alpha channel and where it came from.

    Attributes
    ----------
    rgb : numpy.ndarray of shape (height, width, 3), uint8
        sRGB colour of every pixel, alpha not premultiplied. May be a view into a larger
        RGBA buffer, so it is not necessarily C-contiguous.
    alpha : numpy.ndarray of shape (height, width), uint8, or None
        Opacity, 0 fully transparent to 255 opaque; None when every pixel is opaque.
    name : str
        File name, or ``"<array>"`` / ``"<PIL image>"`` for in-memory input.
    path : pathlib.Path or None
        The file read, None for in-memory input.
    format : str or None
        Pillow's format name (``"JPEG"``, ``"PNG"``, ...), None for arrays.
    mode : str
        The mode the file was stored in (``"RGB"``, ``"P"``, ``"I;16"``, ``"CMYK"``, ...).
    notices : list of Notice
        Conversions and caveats, in the order they happened.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    name: str
    path: Path | None = None
    format: str | None = None
    mode: str = "RGB"
    notices: list = dataclasses.field(default_factory=list)

    @property
    def height(self):
        return self.rgb.shape[0]

    @property
    def width(self):
        return self.rgb.shape[1]

    @property
    def n_pixels(self):
        return self.rgb.shape[0] * self.rgb.shape[1]


def read_image(path, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Read an image file into 8-bit sRGB pixels (see the module docstring for the conversions).

    Parameters
    ----------
    path : str or pathlib.Path
        The image file.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Largest width x height accepted. Checked from the file header before any pixel is
        decoded, so an oversized or malicious file costs no memory.

    Returns
    -------
    ImageData

    Raises
    ------
    InputError
        The file is missing, is a folder, is not an image, is truncated or damaged, or has
        more than ``max_pixels`` pixels. The message names the file.

    Examples
    --------
    >>> from julei.io.images import read_image
    >>> image = read_image("photo.jpg")  # doctest: +SKIP
    >>> image.rgb.shape, image.alpha is None  # doctest: +SKIP
    ((3000, 4000, 3), True)
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise input_error("image.error.not_found", f"image file {str(path)!r} not found; check the path.", path=str(path))
    if path.is_dir():
        raise input_error(
            "image.error.is_folder",
            f"{str(path)!r} is a folder, not an image file; pass the image files inside it.",
            path=str(path),
        )

    try:
        data = _open_and_convert(path, max_pixels)
    except InputError:
        raise
    except UnidentifiedImageError as exc:
        raise input_error(
            "image.error.not_image",
            f"{name!r} is not an image file that julei can read; use JPEG, PNG, WebP, TIFF, BMP or GIF.",
            name=name,
        ) from exc
    except Image.DecompressionBombError as exc:
        raise input_error(
            "image.error.bomb", f"{name!r} is too large to decode safely ({exc}).", name=name, detail=str(exc)
        ) from exc
    except PermissionError as exc:
        raise input_error(
            "image.error.permission",
            f"cannot read {name!r}: permission denied; check the file's permissions.",
            name=name,
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated and damaged data as OSError ("image file is truncated",
        # "broken data stream"), and some plugins as SyntaxError or ValueError.
        raise input_error(
            "image.error.damaged",
            f"{name!r} is truncated or damaged and cannot be decoded ({_describe(exc)}); "
            "open and re-save it in an image editor, or download it again.",
            name=name,
            detail=_describe(exc),
        ) from exc
    data.name = name
    data.path = path
    for notice in data.notices:
        logger.info("%s: %s", name, notice.message)
    return data


def image_from_pil(image, *, name="<PIL image>"):
    """Convert a PIL image (any mode) to `ImageData`, applying its EXIF orientation.

    The first frame of an animated image is used.
    """
    return _convert(image, name=name, notices=[], format=image.format)


def image_from_array(array, *, name="<array>"):
    """Convert a numpy array to `ImageData`.

    Accepts ``(height, width)`` grayscale, ``(height, width, 3)`` RGB and
    ``(height, width, 4)`` RGBA arrays of dtype uint8, of uint16 (scaled from 0..65535), or
    of float in 0.0 to 1.0 as scikit-image and matplotlib use. Float values outside that
    range are clipped.
    Boolean arrays become black and white.

    Raises
    ------
    InputError
        Another shape, another dtype, or NaN in a float array.
    """
    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InputError(
            f"image array has shape {array.shape}; expected (height, width), (height, width, 3) "
            "or (height, width, 4)."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"image array has shape {array.shape}, with no pixels.")
    array = _to_uint8(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        rgb = np.repeat(array[:, :, None], 3, axis=2)
        return ImageData(rgb=rgb, alpha=None, name=name, mode="L")
    if array.shape[2] == 3:
        return ImageData(rgb=array, alpha=None, name=name, mode="RGB")
    return ImageData(rgb=array[:, :, :3], alpha=_alpha_or_none(array[:, :, 3]), name=name, mode="RGBA")


def list_image_files(folder):
    """Return the image files directly inside ``folder`` (by suffix, case-insensitive), sorted.

    Hidden files are left out. Sub-folders are not searched.
    """
    folder = Path(folder)
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.is_file() and not entry.name.startswith(".") and entry.suffix.lower() in IMAGE_SUFFIXES
    )


# --- reading ------------------------------------------------------------------------------


def _open_and_convert(path, max_pixels):
    # Pillow's decompression-bomb check compares against a process-wide limit at open time.
    # Our own limit is checked below from the header, so silence Pillow's warning here and
    # raise its error only for images far beyond ours.
    # NOTE: the limit is a module global of Pillow, so threads reading images at the same time
    # may see each other's limit for a moment. Separate processes are unaffected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        previous_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max(int(max_pixels), previous_limit or 0)
        try:
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    megapixels = round(width * height / 1e6)
                    limit = round(max_pixels / 1e6)
                    raise input_error(
                        "image.error.too_large",
                        f"{path.name!r} has {width} x {height} = {megapixels} megapixels, more than "
                        f"the limit of {limit}; raise the limit (--max-megapixels) if the machine "
                        "has the memory, or shrink the image.",
                        name=path.name, width=width, height=height, megapixels=megapixels, limit=limit,
                    )
                return _convert(image, name=path.name, notices=[], format=image.format)
        finally:
            Image.MAX_IMAGE_PIXELS = previous_limit


def _convert(image, *, name, notices, format):
    n_frames = getattr(image, "n_frames", 1)
    if n_frames > 1:
        image.seek(0)
        notices.append(
            Notice(
                "first_frame",
                f"the image has {n_frames} frames; only the first one is used.",
                {"frames": n_frames},
            )
        )

    image.load()
    orientation = _orientation(image)
    if orientation not in (None, 1):
        # exif_transpose copies the pixels, so it is called only when there is work to do.
        image = ImageOps.exif_transpose(image)
        notices.append(
            Notice(
                "exif_orientation",
                f"turned upright by its EXIF orientation tag ({orientation}).",
                {"orientation": orientation},
            )
        )

    source_mode = image.mode
    icc_profile = image.info.get("icc_profile")
    rgba = _to_rgb_or_rgba(image, notices)
    if icc_profile and source_mode in ("RGB", "RGBA", "CMYK", "RGBX"):
        rgba = _to_srgb(rgba, image, icc_profile, notices)

    pixels = np.asarray(rgba)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        rgb, alpha = pixels[:, :, :3], _alpha_or_none(pixels[:, :, 3])
    else:
        rgb, alpha = pixels, None
    return ImageData(rgb=rgb, alpha=alpha, name=name, format=format, mode=source_mode, notices=notices)


_ORIENTATION_TAG = 0x0112


def _orientation(image):
    try:
        return image.getexif().get(_ORIENTATION_TAG)
    except Exception:  # a malformed EXIF block is not worth failing the image over
        return None


def _to_rgb_or_rgba(image, notices):
    """Return ``image`` as a PIL image in mode RGB or RGBA, scaling high bit depths to 8 bits."""
    mode = image.mode
    if mode in ("RGB", "RGBA"):
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = _to_uint8(_high_depth_array(image))
        notices.append(
            Notice("high_bit_depth", f"{mode} samples scaled to 8 bits per channel.", {"mode": mode})
        )
        return Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in ("L", "1"):
        return image.convert("RGB") if "transparency" not in image.info else image.convert("RGBA")
    if mode in ("LA", "La", "RGBa", "RGBX"):
        return image.convert("RGBA") if mode != "RGBX" else image.convert("RGB")
    if mode == "CMYK":
        if "icc_profile" not in image.info:
            notices.append(
                Notice(
                    "cmyk_naive",
                    "CMYK image without a colour profile: converted to RGB with the plain formula, "
                    "so colours may differ from print.",
                )
            )
        return image.convert("RGB")
    return image.convert("RGB")


def _high_depth_array(image):
    """Return a single-channel image with 16-bit or 32-bit samples as a numpy array."""
    array = np.asarray(image)
    if image.mode.startswith("I;16"):
        return array.astype(np.uint16, copy=False)
    if image.mode == "I":
        # 16-bit PNG and TIFF files open as mode I (int32) in some Pillow versions; their
        # values stay within 0..65535.
        if array.size and (array.min() < 0 or array.max() > 65535):
            low, high = float(array.min()), float(array.max())
            scaled = (array.astype(np.float64) - low) / max(high - low, 1.0)
            return scaled
        return array.astype(np.uint16)
    # Mode F: floats. Treat 0..1 as the range when it fits, else scale from min..max.
    array = np.nan_to_num(array.astype(np.float64), nan=0.0)
    low, high = float(array.min()), float(array.max())
    if low >= 0.0 and high <= 1.0:
        return array
    return (array - low) / max(high - low, np.finfo(np.float64).tiny)


def _to_uint8(array):
    """Convert uint8, uint16, bool or float (0..1) sample values to uint8."""
    dtype = array.dtype
    if dtype == np.uint8:
        return array
    if dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if dtype == np.uint16:
        # Exact rounding of v * 255 / 65535, which is v / 257.
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(dtype, np.floating):
        if np.isnan(array).any():
            raise InputError("image array contains NaN values; replace them before segmenting.")
        return np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    if np.issubdtype(dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 255):
            raise InputError(
                f"image array of dtype {dtype} has values from {array.min()} to {array.max()}; "
                "expected 0..255, or pass uint16 (0..65535) or float (0..1) data."
            )
        return array.astype(np.uint8)
    raise InputError(f"image array has dtype {dtype}; expected uint8, uint16, bool or float.")


def _alpha_or_none(alpha):
    """Return ``alpha`` unless every pixel is fully opaque."""
    return None if alpha.size == 0 or int(alpha.min()) == 255 else alpha


def _to_srgb(rgba, image, icc_profile, notices):
    """Convert ``rgba`` (mode RGB or RGBA) from the embedded ICC profile to sRGB."""
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without littlecms
        notices.append(Notice("icc_ignored", "the embedded colour profile was ignored (no colour management).", {}))
        return rgba
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if _is_srgb(source):
            return rgba
        description = (ImageCms.getProfileDescription(source) or "").strip()
        target = ImageCms.createProfile("sRGB")
        if image.mode == "CMYK":
            # Convert from the original CMYK pixels, not from Pillow's plain-formula RGB.
            converted = ImageCms.profileToProfile(image, source, target, outputMode="RGB")
        else:
            alpha = rgba.getchannel("A") if rgba.mode == "RGBA" else None
            converted = ImageCms.profileToProfile(rgba.convert("RGB"), source, target, outputMode="RGB")
            if alpha is not None:
                converted.putalpha(alpha)
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        notices.append(
            Notice("icc_ignored", f"the embedded colour profile could not be applied ({exc}).", {})
        )
        return rgba
    notices.append(
        Notice("icc_converted", f"colours converted from the embedded profile {description!r} to sRGB.",
               {"profile": description})
    )
    return converted


def _is_srgb(profile):
    from PIL import ImageCms

    description = (ImageCms.getProfileDescription(profile) or "").lower()
    return "srgb" in description or "iec61966" in description


def _describe(exc):
    text = str(exc).strip()
    return text if text else type(exc).__name__
