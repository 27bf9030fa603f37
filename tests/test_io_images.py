"""Reading image files: formats, EXIF orientation, colour modes, alpha and broken files."""

import struct
import zlib

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PIL import Image, ImageCms

from julei.exceptions import InputError
from julei.io.images import image_from_array, image_from_pil, list_image_files, read_image

RED, BLUE = (220, 20, 20), (20, 40, 200)


def two_halves(width=40, height=20, left=RED, right=BLUE):
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = left
    pixels[:, width // 2 :] = right
    return pixels


@pytest.mark.parametrize(
    "suffix, options",
    [(".png", {}), (".bmp", {}), (".tif", {}), (".webp", {"lossless": True}), (".gif", {})],
    ids=["png", "bmp", "tiff", "webp", "gif"],
)
def test_lossless_formats_read_exactly(tmp_path, suffix, options):
    pixels = two_halves()
    path = tmp_path / f"halves{suffix}"
    Image.fromarray(pixels).save(path, **options)
    image = read_image(path)
    assert_array_equal(image.rgb, pixels)
    assert image.alpha is None
    assert image.name == path.name


def test_jpeg_reads_close_to_source(tmp_path):
    pixels = two_halves(64, 32)
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(path, quality=95)
    image = read_image(path)
    assert image.format == "JPEG"
    assert image.rgb.shape == (32, 64, 3)
    assert np.abs(image.rgb.astype(int)[4:-4, 4:28] - RED).max() <= 6


def test_exif_orientation_is_applied(tmp_path):
    # Orientation 6: the stored picture must be turned 90 degrees clockwise to stand upright,
    # so its left half ends up on top.
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.png"
    Image.fromarray(two_halves(40, 20)).save(path, exif=exif)
    image = read_image(path)
    assert image.rgb.shape == (40, 20, 3)
    assert_array_equal(image.rgb[:20].reshape(-1, 3), np.tile(RED, (400, 1)))
    assert_array_equal(image.rgb[20:].reshape(-1, 3), np.tile(BLUE, (400, 1)))
    assert [notice.code for notice in image.notices] == ["exif_orientation"]


def test_exif_orientation_in_jpeg(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "rotated.jpg"
    Image.fromarray(two_halves(40, 20)).save(path, exif=exif, quality=95)
    image = read_image(path)
    assert image.rgb.shape == (40, 20, 3)
    # Orientation 8 turns the picture counter-clockwise: the left half ends up at the bottom.
    assert np.abs(image.rgb.astype(int)[30, 10] - RED).max() <= 8


def test_grayscale_becomes_equal_channels(tmp_path):
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)
    image = read_image(path)
    for channel in range(3):
        assert_array_equal(image.rgb[:, :, channel], gray)


def test_bilevel_image(tmp_path):
    path = tmp_path / "bits.png"
    Image.fromarray(np.eye(8, dtype=bool)).save(path)
    image = read_image(path)
    assert_array_equal(image.rgb[:, :, 0], np.eye(8, dtype=np.uint8) * 255)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    image = read_image(path)
    assert_array_equal(image.rgb[0, :, 0], [0, 1, 128, 255])
    assert "high_bit_depth" in [notice.code for notice in image.notices]


def test_sixteen_bit_tiff(tmp_path):
    values = (np.arange(16, dtype=np.uint16) * 4369).reshape(4, 4)  # 0 .. 65535
    path = tmp_path / "deep.tif"
    Image.fromarray(values).save(path)
    image = read_image(path)
    assert_array_equal(image.rgb[:, :, 1], (values.astype(np.uint32) + 128) // 257)


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def test_sixteen_bit_rgb_png(tmp_path):
    # Pillow cannot write 48-bit PNG files, so build one by hand: 2 x 1 pixels, 16 bits per sample.
    samples = np.array([[[65535, 0, 32896], [4112, 51400, 0]]], dtype=">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in samples)
    header = struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(raw))
    data += _png_chunk(b"IEND", b"")
    path = tmp_path / "rgb48.png"
    path.write_bytes(data)
    image = read_image(path)
    expected = samples.astype(np.float64) / 257
    assert np.abs(image.rgb.astype(np.float64) - expected).max() <= 1.0


def test_palette_image_with_transparency(tmp_path):
    pixels = two_halves(8, 4)
    palette_image = Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    index_of_red = palette_image.getpixel((0, 0))
    palette_image.info["transparency"] = index_of_red
    path = tmp_path / "palette.png"
    palette_image.save(path, transparency=index_of_red)
    image = read_image(path)
    assert image.alpha is not None
    assert_array_equal(image.alpha[:, :4], 0)
    assert_array_equal(image.alpha[:, 4:], 255)
    assert_array_equal(image.rgb[0, 6], BLUE)


def test_rgba_alpha_kept_and_opaque_alpha_dropped(tmp_path):
    rgba = np.dstack([two_halves(8, 4), np.full((4, 8), 255, np.uint8)])
    opaque = tmp_path / "opaque.png"
    Image.fromarray(rgba).save(opaque)
    assert read_image(opaque).alpha is None

    rgba[0, 0, 3] = 0
    rgba[1, 1, 3] = 100
    holes = tmp_path / "holes.png"
    Image.fromarray(rgba).save(holes)
    image = read_image(holes)
    assert image.alpha[0, 0] == 0
    assert image.alpha[1, 1] == 100
    assert_array_equal(image.rgb[1, 1], RED)


def test_grayscale_with_alpha(tmp_path):
    la = np.dstack([np.full((3, 3), 90, np.uint8), np.array([[0, 255, 255]] * 3, np.uint8)])
    path = tmp_path / "la.png"
    Image.fromarray(la).save(path)  # a (h, w, 2) uint8 array becomes mode LA
    image = read_image(path)
    assert_array_equal(image.rgb[0, 1], [90, 90, 90])
    assert_array_equal(image.alpha[:, 0], 0)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)
    image = read_image(path)
    assert image.mode == "CMYK"
    assert np.abs(image.rgb.astype(int)[8, 8] - (255, 0, 0)).max() <= 6
    assert "cmyk_naive" in [notice.code for notice in image.notices]


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    image = read_image(path)
    assert_array_equal(image.rgb[5, 5], (255, 0, 0))
    notice = image.notices[0]
    assert notice.code == "first_frame"
    assert notice.fields == {"frames": 3}
    assert "3 frames" in notice.message


def test_embedded_srgb_profile_changes_nothing(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "tagged.png"
    Image.fromarray(two_halves()).save(path, icc_profile=profile)
    image = read_image(path)
    assert_array_equal(image.rgb, two_halves())
    assert image.notices == []


def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"'cut.jpg' is truncated or damaged") as caught:
        read_image(path)
    assert caught.value.key == "image.error.damaged"


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n")
    with pytest.raises(InputError, match=r"'notes.png' is not an image file"):
        read_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "absent.jpg")
    with pytest.raises(InputError, match="is a folder"):
        read_image(tmp_path)


def test_max_pixels_checked_from_header(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(path)
    with pytest.raises(InputError, match=r"300 x 200 .* more than the limit") as caught:
        read_image(path, max_pixels=50_000)
    assert caught.value.fields["width"] == 300


def test_pillow_bomb_limit_replaced_and_restored(tmp_path, monkeypatch):
    # With Pillow's limit at 100 pixels, a 400-pixel image is a "decompression bomb" to Pillow;
    # julei applies its own limit instead and puts Pillow's back afterwards.
    path = tmp_path / "panorama.png"
    Image.new("RGB", (20, 20), (1, 2, 3)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    image = read_image(path)
    assert image.rgb.shape == (20, 20, 3)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_image_from_array_dtypes():
    assert_array_equal(image_from_array(np.array([[0.0, 0.5, 1.0]])).rgb[0, :, 0], [0, 128, 255])
    assert_array_equal(image_from_array(np.array([[0, 65535]], np.uint16)).rgb[0, :, 2], [0, 255])
    assert_array_equal(image_from_array(np.array([[True, False]])).rgb[0, :, 1], [255, 0])
    rgba = image_from_array(np.zeros((2, 2, 4), np.uint8))
    assert rgba.alpha is not None
    assert rgba.rgb.shape == (2, 2, 3)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((2, 2, 2), np.uint8), r"shape \(2, 2, 2\)"),
        (np.zeros((0, 3, 3), np.uint8), "no pixels"),
        (np.array([[np.nan, 0.0]]), "NaN"),
        (np.array([[300, 0]], np.int64), "values from 0 to 300"),
        (np.array([["a"]]), "dtype"),
    ],
    ids=["channels", "empty", "nan", "range", "dtype"],
)
def test_image_from_array_rejects(array, match):
    with pytest.raises(InputError, match=match):
        image_from_array(array)


def test_image_from_pil_applies_mode():
    image = image_from_pil(Image.new("L", (3, 2), 77))
    assert image.rgb.shape == (2, 3, 3)
    assert_array_equal(image.rgb, 77)


def test_list_image_files(tmp_path):
    for name in ("b.JPG", "a.png", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    assert [path.name for path in list_image_files(tmp_path)] == ["a.png", "b.JPG"]
