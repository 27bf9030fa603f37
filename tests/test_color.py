"""sRGB <-> CIELAB conversion and colour deduplication."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from julei import _color

# CIELAB (D65 white) of sRGB primaries, secondaries and greys, to 4 decimals.
LAB_REFERENCE = [
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((128, 128, 128), (53.5850, 0.0, 0.0)),
    ((255, 255, 0), (97.1393, -21.5537, 94.4780)),
]


@pytest.mark.parametrize("rgb, lab", LAB_REFERENCE, ids=lambda value: str(value))
def test_srgb_to_lab_reference_values(rgb, lab):
    assert_allclose(_color.srgb_to_lab(np.array(rgb, np.uint8)), lab, atol=2e-4)


def test_lab_to_srgb_independent_example():
    # The worked example of Stephen Cobeldick's CIELab_to_sRGB for MATLAB, another implementation
    # of the same standards: L*a*b* (68.18, 2.14, -43.8) is sRGB (109, 169, 245).
    assert_allclose(_color.lab_to_srgb([68.18, 2.14, -43.8]), [109, 169, 245], atol=1e-3)


def test_srgb_to_lab_float_matches_uint8(rng):
    colors = rng.integers(0, 256, size=(500, 3)).astype(np.uint8)
    assert_allclose(_color.srgb_to_lab(colors.astype(np.float64)), _color.srgb_to_lab(colors), atol=1e-10)


def test_lab_round_trip_every_gray_and_random_colors(rng):
    colors = np.vstack([np.repeat(np.arange(256)[:, None], 3, axis=1), rng.integers(0, 256, size=(5000, 3))])
    back = _color.lab_to_srgb(_color.srgb_to_lab(colors.astype(np.uint8)))
    assert_allclose(back, colors, atol=1e-6)


def test_lab_to_srgb_clips_out_of_gamut():
    rgb = _color.lab_to_srgb([[50.0, 120.0, -120.0], [150.0, 0.0, 0.0]])
    assert rgb.min() >= 0.0
    assert rgb.max() <= 255.0


def test_conversion_rejects_wrong_last_axis():
    with pytest.raises(ValueError, match="last axis must hold 3 channels"):
        _color.srgb_to_lab(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="last axis must hold 3 channels"):
        _color.lab_to_srgb(np.zeros((2, 2)))


def test_pack_unpack_round_trip(rng):
    colors = rng.integers(0, 256, size=(7, 9, 3)).astype(np.uint8)
    codes = _color.pack_rgb(colors)
    assert codes.dtype == np.uint32
    assert codes.shape == (7, 9)
    assert int(_color.pack_rgb(np.array([1, 2, 3], np.uint8).reshape(1, 3))[0]) == 0x010203
    assert_array_equal(_color.unpack_rgb(codes), colors)


def test_pack_accepts_rgba_view(rng):
    rgba = rng.integers(0, 256, size=(5, 6, 4)).astype(np.uint8)
    assert_array_equal(_color.pack_rgb(rgba[:, :, :3]), _color.pack_rgb(np.ascontiguousarray(rgba[:, :, :3])))


def _reference_distinct(pixels, mask=None):
    flat = pixels.reshape(-1, 3)
    if mask is not None:
        flat = flat[mask.reshape(-1)]
    return np.unique(flat, axis=0, return_counts=True)


@pytest.mark.parametrize("height", [40, 1100], ids=["sorting", "count-table"])
def test_distinct_colors_match_numpy_unique(height, rng):
    # 1100 x 1000 pixels is above the size where the count table replaces sorting.
    pixels = (rng.integers(0, 6, size=(height, 1000, 3)) * 50).astype(np.uint8)
    distinct = _color.distinct_colors(pixels)
    colors, counts = _reference_distinct(pixels)
    assert_array_equal(distinct.colors, colors)
    assert_array_equal(distinct.counts, counts)
    assert distinct.counts.sum() == pixels.shape[0] * pixels.shape[1]


@pytest.mark.parametrize("height", [40, 1100], ids=["sorting", "count-table"])
def test_distinct_colors_with_mask(height, rng):
    pixels = (rng.integers(0, 4, size=(height, 1000, 3)) * 80).astype(np.uint8)
    mask = rng.random((height, 1000)) < 0.3
    distinct = _color.distinct_colors(pixels, mask)
    colors, counts = _reference_distinct(pixels, mask)
    assert_array_equal(distinct.colors, colors)
    assert_array_equal(distinct.counts, counts)


@pytest.mark.parametrize("height", [40, 1100], ids=["sorting", "count-table"])
def test_inverse_rebuilds_pixels(height, rng):
    pixels = (rng.integers(0, 5, size=(height, 1000, 3)) * 60).astype(np.uint8)
    distinct = _color.distinct_colors(pixels)
    inverse = distinct.inverse()
    assert inverse.min() >= 0
    assert_array_equal(distinct.colors[inverse].reshape(pixels.shape), pixels)


@pytest.mark.parametrize("height", [40, 1100], ids=["sorting", "count-table"])
def test_map_labels_paints_each_colour(height, rng):
    pixels = (rng.integers(0, 3, size=(height, 1000, 3)) * 100).astype(np.uint8)
    mask = rng.random((height, 1000)) < 0.8
    distinct = _color.distinct_colors(pixels, mask)
    color_labels = np.arange(distinct.n_colors) % 4
    labels = _color.map_labels(distinct, color_labels, mask=mask)

    flat = pixels.reshape(-1, 3)
    expected = np.full(flat.shape[0], -1)
    for index, color in enumerate(distinct.colors):
        expected[(flat == color).all(axis=1)] = color_labels[index]
    expected[~mask.reshape(-1)] = -1
    assert labels.dtype == np.int16
    assert_array_equal(labels, expected)


def test_masked_only_colour_has_no_index():
    pixels = np.array([[[1, 1, 1], [2, 2, 2]]], np.uint8)
    distinct = _color.distinct_colors(pixels, np.array([[True, False]]))
    assert distinct.n_colors == 1
    assert_array_equal(distinct.inverse(), [0, -1])


def test_to_hex():
    assert _color.to_hex(np.array([255, 16, 0], np.uint8)) == "#ff1000"


def test_group_colors_weighted_means(rng):
    colors = rng.integers(0, 256, size=(3000, 3)).astype(np.uint8)
    codes = _color.pack_rgb(colors)
    features = _color.srgb_to_lab(colors)
    weights = rng.integers(1, 50, size=3000).astype(np.float64)
    group_features, group_weights = _color.group_colors(codes, features, weights, 2)

    groups = (colors >> 6).astype(np.int64) @ np.array([16, 4, 1])
    present = np.unique(groups)
    expected_weights = np.array([weights[groups == group].sum() for group in present])
    expected_means = np.array([np.average(features[groups == group], axis=0, weights=weights[groups == group])
                               for group in present])
    assert_allclose(group_weights, expected_weights)
    assert_allclose(group_features, expected_means, rtol=1e-10, atol=1e-9)
    assert_allclose(group_weights.sum(), weights.sum())
