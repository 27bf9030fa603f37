"""segment_image: exactness of colour deduplication, palettes, alpha, options and errors."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image
from sklearn.cluster import KMeans as SklearnKMeans

from julei import _color
from julei.exceptions import InputError
from julei.io.images import read_image
from julei.kmeans import KMeans
from julei.workflows.image import ImageSegmentation, segment_image


def blobs_image(rng, centers=((200, 40, 40), (40, 180, 60), (30, 60, 210)), size=(60, 90), noise=6.0):
    """An image whose pixels come from a few colour blobs, in horizontal bands."""
    height, width = size
    band = np.repeat(np.arange(len(centers)), -(-height // len(centers)))[:height]
    pixels = np.asarray(centers, float)[band][:, None, :] + rng.normal(0, noise, (height, width, 3))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def pixel_inertia(pixels, centers, labels):
    flat = pixels.reshape(-1, 3).astype(np.float64)
    return float(((flat - centers[labels.reshape(-1)]) ** 2).sum())


def test_two_colours_toy_case():
    pixels = np.zeros((10, 10, 3), np.uint8)
    pixels[:, 7:] = (200, 30, 30)
    result = segment_image(pixels, 2)
    assert isinstance(result, ImageSegmentation)
    assert result.hex_colors() == ["#000000", "#c81e1e"]
    assert_allclose(result.shares, [0.7, 0.3])
    assert_array_equal(result.counts, [70, 30])
    assert_array_equal(result.labels[:, :7], 0)
    assert_array_equal(result.labels[:, 7:], 1)
    assert result.inertia == 0.0
    assert result.n_distinct_colors == 2


def test_weighted_distinct_colours_equal_pixel_clustering(rng):
    # The claim that makes the job fast: from the same initial centres, K-means on distinct
    # colours weighted by count gives the centres and inertia of K-means on all pixels.
    pixels = (rng.integers(0, 8, size=(80, 70, 3)) * 32).astype(np.uint8)
    flat = pixels.reshape(-1, 3).astype(np.float64)
    distinct = _color.distinct_colors(pixels)
    init = flat[rng.choice(flat.shape[0], 6, replace=False)]
    init += rng.normal(0, 1, init.shape)  # no centre exactly on a colour, so no ties

    on_pixels = KMeans(6, init=init, n_init=1, tol=0).fit(flat)
    on_colors = KMeans(6, init=init, n_init=1, tol=0).fit(distinct.colors.astype(np.float64), sample_weight=distinct.counts)
    assert_allclose(on_colors.cluster_centers_, on_pixels.cluster_centers_, rtol=1e-9)
    assert_allclose(on_colors.inertia_, on_pixels.inertia_, rtol=1e-9)
    assert_array_equal(on_colors.labels_[distinct.inverse()], on_pixels.labels_)


def test_result_is_pixel_fixed_point(rng):
    pixels = blobs_image(rng, centers=((200, 40, 40), (40, 180, 60), (30, 60, 210), (220, 220, 220)))
    result = segment_image(pixels, 4)
    flat = pixels.reshape(-1, 3).astype(np.float64)
    labels = result.labels.reshape(-1)

    # Each centre is the mean of its pixels, and each pixel is nearest to its own centre.
    for cluster in range(4):
        assert_allclose(result.centers[cluster], flat[labels == cluster].mean(axis=0), rtol=1e-6)
    distances = ((flat[:, None, :] - result.centers[None]) ** 2).sum(axis=2)
    assert_array_equal(distances.argmin(axis=1), labels)
    assert_allclose(result.inertia, pixel_inertia(pixels, result.centers, result.labels), rtol=1e-9)


def test_quality_matches_sklearn_on_real_photo(shared_data):
    with Image.open(shared_data / "images" / "china.jpg") as photo:
        pixels = np.asarray(photo.convert("RGB").resize((213, 142), Image.Resampling.LANCZOS))
    result = segment_image(pixels, 8, random_state=0)
    reference = SklearnKMeans(8, n_init=1, random_state=0).fit(pixels.reshape(-1, 3).astype(np.float64))
    assert result.inertia <= reference.inertia_ * 1.01
    assert_allclose(result.shares.sum(), 1.0)


def test_clusters_numbered_by_size(rng):
    pixels = blobs_image(rng, size=(90, 40))
    pixels[:60] = blobs_image(rng, centers=((200, 40, 40),), size=(60, 40))
    result = segment_image(pixels, 3)
    assert np.all(np.diff(result.counts) <= 0)
    assert_array_equal(np.bincount(result.labels.reshape(-1), minlength=3), result.counts)
    assert result.labels[0, 0] == 0


def test_large_image_path_agrees_with_small(rng):
    # Tiling repeats every colour 256 times, so the weighted problem is the same up to scale.
    # The 1024 x 1024 image takes the count-table path, and the 64 x 64 one the sorting path.
    tile = blobs_image(rng, size=(64, 64), noise=20.0)
    small = segment_image(tile, 5, random_state=3)
    large = segment_image(np.tile(tile, (16, 16, 1)), 5, random_state=3)
    assert_array_equal(large.palette, small.palette)
    assert_allclose(large.shares, small.shares)
    assert_array_equal(large.labels[:64, :64], small.labels)
    assert_allclose(large.inertia, 256 * small.inertia, rtol=1e-6)


def test_fewer_distinct_colours_than_requested():
    pixels = np.zeros((6, 6, 3), np.uint8)
    pixels[:2] = (255, 0, 0)
    pixels[2:3] = (0, 0, 255)
    result = segment_image(pixels, 8)
    assert result.n_colors == 3
    assert result.inertia == 0.0
    assert result.hex_colors() == ["#000000", "#ff0000", "#0000ff"]
    notice = result.notices[-1]
    assert notice.code == "few_colors"
    assert notice.fields == {"distinct": 3, "requested": 8}


def test_lab_space_keeps_exact_colours():
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[:, :3] = (12, 200, 77)
    pixels[:, 3:] = (250, 240, 10)
    result = segment_image(pixels, 2, space="lab")
    assert result.hex_colors() == ["#faf00a", "#0cc84d"]
    assert_allclose(result.centers[0], _color.srgb_to_lab(np.array([250, 240, 10], np.uint8)), atol=1e-9)


def test_lab_and_rgb_differ_where_perception_does(rng):
    # Lab gives dark colours more room than RGB; both still return a valid partition.
    pixels = blobs_image(rng, centers=((5, 5, 5), (25, 25, 25), (200, 200, 200), (230, 230, 230)), noise=2)
    rgb = segment_image(pixels, 2, space="rgb")
    lab = segment_image(pixels, 2, space="lab")
    assert rgb.n_colors == lab.n_colors == 2
    assert lab.space == "lab"
    assert lab.inertia != rgb.inertia


def test_spatial_splits_identical_colours_by_position():
    pixels = np.full((20, 40, 3), 128, np.uint8)
    result = segment_image(pixels[:, :, :], 2, spatial=1.0)
    assert len(np.unique(result.labels[:, :20])) == 1
    assert len(np.unique(result.labels[:, 20:])) == 1
    assert result.labels[0, 0] != result.labels[0, 39]
    assert result.centers.shape == (2, 5)
    assert not result.deduplicated
    assert "spatial_no_dedup" in [notice.code for notice in result.notices]


def test_transparent_pixels_left_out_and_kept_transparent():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = (0, 255, 0)  # the colour hidden under the transparent half
    rgba[:, :5, :3] = (200, 0, 0)
    rgba[:, :5, 3] = 255
    rgba[5:, :5, :3] = (0, 0, 200)
    result = segment_image(rgba, 3)

    assert result.n_transparent == 50
    assert result.n_clustered == 50
    assert_array_equal(result.labels[:, 5:], -1)
    assert "#00ff00" not in result.hex_colors()
    assert result.n_colors == 2
    assert_allclose(result.shares, [0.5, 0.5])

    segmented = result.segmented()
    assert segmented.shape == (10, 10, 4)
    assert_array_equal(segmented[:, 5:, 3], 0)
    assert_array_equal(segmented[:, :5, 3], 255)

    label_image = result.label_image()
    assert label_image.mode == "P"
    assert label_image.info["transparency"] == 2
    assert np.asarray(label_image)[0, 9] == 2


def test_label_image_palette_matches(rng):
    result = segment_image(blobs_image(rng), 3)
    label_image = result.label_image()
    assert_array_equal(np.asarray(label_image), result.labels)
    entries = np.array(label_image.getpalette()[: 3 * 3]).reshape(3, 3)
    assert_array_equal(entries, result.palette)


def test_boundaries_drawn_between_clusters():
    pixels = np.zeros((6, 8, 3), np.uint8)
    pixels[:, 4:] = (250, 250, 250)
    result = segment_image(pixels, 2)
    drawn = result.boundaries()
    # Column 3 (dark side of the edge) turns white; all else is unchanged.
    assert_array_equal(drawn[:, 3], 255)
    assert_array_equal(drawn[:, :3], 0)
    assert_array_equal(drawn[:, 4:], 250)


def test_palette_outputs(rng):
    result = segment_image(blobs_image(rng), 3)
    payload = result.palette_json()
    shares = [color["share"] for color in payload["colors"]]
    assert shares == sorted(shares, reverse=True)
    assert_allclose(sum(shares), 1.0)
    assert payload["colors"][0]["hex"] == result.hex_colors()[0]
    assert payload["colors"][0]["rgb"] == result.palette[0].tolist()
    table = result.palette_table()
    assert list(table["hex"]) == result.hex_colors()
    picture = result.palette_image(swatch=10, bar_height=5, bar_width=300)
    assert picture.shape == (15, 300, 3)
    assert_array_equal(picture[0, 0], result.palette[0])
    assert "ImageSegmentation" in result._repr_html_()


def test_auto_chooses_number_of_blobs(rng):
    pixels = blobs_image(rng, size=(90, 90), noise=5.0)
    result = segment_image(pixels, "auto", k_range=(2, 6))
    assert result.k_selection is not None
    assert result.n_colors == 3
    assert result.requested_colors == "auto"
    assert "k_chosen" in [notice.code for notice in result.notices]


def test_inputs_path_pil_and_float_array(tmp_path, rng):
    pixels = blobs_image(rng)
    path = tmp_path / "blobs.png"
    Image.fromarray(pixels).save(path)
    from_path = segment_image(path, 3)
    from_pil = segment_image(Image.open(path), 3)
    from_float = segment_image(pixels / 255.0, 3)
    from_data = segment_image(read_image(path), 3)
    assert from_path.source == "blobs.png"
    for other in (from_pil, from_float, from_data):
        assert_array_equal(other.palette, from_path.palette)


def test_same_seed_same_result(rng):
    pixels = blobs_image(rng, noise=25)
    first = segment_image(pixels, 5, random_state=7)
    second = segment_image(pixels, 5, random_state=7)
    assert_array_equal(first.labels, second.labels)
    assert_array_equal(first.palette, second.palette)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"n_colors": 0}, "n_colors=0 is out of range"),
        ({"n_colors": 256}, "n_colors=256 is out of range"),
        ({"n_colors": "many"}, "n_colors='many' is not supported"),
        ({"n_colors": 3, "space": "hsv"}, "space='hsv' is not supported"),
        ({"n_colors": 3, "spatial": -1.0}, "spatial=-1.0 is invalid"),
        ({"n_colors": 3, "k_range": (5, 2)}, r"k_range=\(5, 2\) is invalid"),
    ],
    ids=["zero", "too-many", "text", "space", "spatial", "k-range"],
)
def test_invalid_options(options, match):
    with pytest.raises(InputError, match=match):
        segment_image(np.zeros((4, 4, 3), np.uint8), **options)


def test_fully_transparent_image_is_an_error():
    with pytest.raises(InputError, match="every pixel of '<array>' is fully transparent"):
        segment_image(np.zeros((4, 4, 4), np.uint8), 2)


def test_spatial_with_too_few_pixels():
    with pytest.raises(InputError, match="visible pixels, not more than the 8 clusters"):
        segment_image(np.zeros((2, 2, 3), np.uint8), 8, spatial=1.0)


def test_unsupported_input_type():
    with pytest.raises(TypeError, match="pass a file path, a PIL image or a numpy array"):
        segment_image(42, 2)


def test_timings_recorded(rng):
    result = segment_image(blobs_image(rng), 3)
    assert set(result.timings) >= {"prepare", "fit", "labels", "total"}
    assert result.timings["total"] >= result.timings["fit"]
    summary = result.summary()
    assert summary["n_colors"] == 3
    assert summary["deduplicated"] is True
