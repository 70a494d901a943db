"""Thumbnails: uint8 conversion, sprite sheet and composite grid against numpy references."""

import base64
import io
import math

import numpy as np
import pytest
from PIL import Image

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.figures import (
    EMPTY_SELECTION_TEXT,
    sprite_sheet,
    thumbnail_grid_figure,
    tile_index_at,
    to_uint8_images,
)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits  # shipped with scikit-learn, no download

    data = load_digits()
    return data.images[:60], data.target[:60]  # float 0..16, (60, 8, 8)


def reference_uint8(images):
    """Independent min-max scaling of a grey batch to RGB uint8."""
    low, high = images.min(), images.max()
    grey = np.round((images - low) / (high - low) * 255).astype(np.uint8)
    return np.stack([grey] * 3, axis=-1)


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def trace(fig, name):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def test_to_uint8_layouts_agree(digits):
    images, _ = digits
    expected = reference_uint8(images)
    np.testing.assert_array_equal(to_uint8_images(images), expected)
    np.testing.assert_array_equal(to_uint8_images(images[:, None]), expected)
    np.testing.assert_array_equal(to_uint8_images(images[..., None]), expected)
    rgb_first = np.stack([images, images * 0.5, images * 0.25], axis=1)  # (N, 3, H, W)
    out = to_uint8_images(rgb_first)
    assert out.shape == (60, 8, 8, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, to_uint8_images(np.moveaxis(rgb_first, 1, -1)))
    assert out[..., 0].max() == 255 and out[..., 2].max() == 64  # one range for all channels
    raw = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_uint8_images(raw), raw)  # uint8 kept as is
    assert to_uint8_images(np.full((2, 4, 4), 7.0)).max() == 0  # constant -> black


@pytest.mark.parametrize(
    "images, exc, match",
    [
        (np.zeros((8, 8)), TDAInputError, r"images\[None\]"),
        (np.zeros((2, 5, 8, 8)), TDAInputError, "1 or 3 colour channels"),
        (np.zeros((2, 8, 8, 3, 1)), TDAInputError, "5-D"),
        (np.array([[[np.nan]]]), TDAInputError, "NaN"),
        (np.array([[["a"]]]), TDATypeError, "numbers"),
    ],
)
def test_to_uint8_rejects_bad_shapes(images, exc, match):
    with pytest.raises(exc, match=match):
        to_uint8_images(images)


def test_sprite_sheet_decodes_to_expected_grid(digits):
    images, _ = digits
    sheet = sprite_sheet(images)
    assert sheet["n"] == 60 and sheet["tile"] == 32 and sheet["tile_width"] == 32
    assert sheet["cols"] == 8 and sheet["rows"] == 8  # ceil(sqrt(60))
    decoded = decode(sheet["png"])
    assert decoded.shape == (8 * 32, 8 * 32, 3)
    reference = reference_uint8(images)
    for index in (0, 13, 59):
        r, c = divmod(index, 8)
        tile = decoded[r * 32 : (r + 1) * 32, c * 32 : (c + 1) * 32]
        expected = np.kron(reference[index, :, :, 0], np.ones((4, 4), np.uint8))
        np.testing.assert_array_equal(tile[..., 0], expected)
        np.testing.assert_array_equal(tile[..., 1], expected)
    assert decoded[7 * 32 :, 4 * 32 :].max() == 0  # unused cells are black


def test_sprite_sheet_explicit_cols_and_tile(digits):
    images, _ = digits
    sheet = sprite_sheet(images[:7], cols=3, tile=16)
    assert (sheet["cols"], sheet["rows"], sheet["tile"]) == (3, 3, 16)
    decoded = decode(sheet["png"])
    assert decoded.shape == (48, 48, 3)
    expected = np.repeat(np.repeat(reference_uint8(images[:7])[5], 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(decoded[16:32, 32:48], expected)
    big = sprite_sheet(np.zeros((2, 3, 32, 32)))
    assert big["tile"] == 32  # 32 px images are not upscaled
    with pytest.raises(TDAInputError, match="at least one image"):
        sprite_sheet(np.zeros((0, 8, 8)))
    with pytest.raises(TDAInputError, match="'cols'"):
        sprite_sheet(images, cols=0)


def composite_of(fig) -> np.ndarray:
    source = trace(fig, "thumbnails").source
    assert source.startswith("data:image/png;base64,")
    return decode(base64.b64decode(source.split(",", 1)[1]))


@pytest.mark.parametrize("gap", [0, 2])
def test_thumbnail_grid_composite_matches_sources(digits, gap):
    images, labels = digits
    selection = [5, 0, 17, 42, 3, 9, 11, 30, 31, 58, 2, 7, 8]  # 13 images, cols=5 -> 3 rows
    fig = thumbnail_grid_figure(images, selection, labels=labels, cols=5, tile=24, gap=gap)
    assert [t.name for t in fig.data] == ["thumbnails", "tile hover"]
    canvas = composite_of(fig)
    rows = math.ceil(len(selection) / 5)
    assert canvas.shape == (rows * (24 + gap) - gap, 5 * (24 + gap) - gap, 3)
    reference = reference_uint8(images)  # scaled over the whole set, not the selection
    for position, index in enumerate(selection):
        r, c = divmod(position, 5)
        top, left = r * (24 + gap), c * (24 + gap)
        expected = np.kron(reference[index], np.ones((3, 3, 1), np.uint8))
        np.testing.assert_array_equal(canvas[top : top + 24, left : left + 24], expected)
    meta = fig.layout.meta
    assert meta["indices"] == selection and meta["cols"] == 5 and meta["gap"] == gap


def test_thumbnail_hover_grid_and_captions(digits):
    images, labels = digits
    predictions = labels.copy()
    predictions[17] = (labels[17] + 1) % 10
    names = [f"digit {k}" for k in range(10)]
    selection = [5, 17, 42]
    fig = thumbnail_grid_figure(images, selection, labels=labels, predictions=predictions,
                                class_names=names, cols=2, tile=32, gap=2)
    hover = trace(fig, "tile hover")
    np.testing.assert_array_equal(np.asarray(hover.customdata), [[5, 17], [42, -1]])
    assert "image 17" in hover.text[0][1]
    assert f"digit {labels[17]} / digit {predictions[17]}" in hover.text[0][1]
    assert hover.text[1][1] == ""
    np.testing.assert_allclose(hover.x, [15.5, 49.5])  # tile centres
    captions = [a for a in fig.layout.annotations]
    assert len(captions) == 3
    wrong = [a for a in captions if a.font.color == "#c00000"]
    assert [a.text for a in wrong] == [f"digit {labels[17]} / digit {predictions[17]}"]
    assert tile_index_at(40.0, 5.0, cols=2, tile=32, gap=2) == 1
    assert tile_index_at(33.0, 5.0, cols=2, tile=32, gap=2) is None  # in the gap
    assert tile_index_at(40.0, 40.0, cols=2, tile=32, gap=2) == 3


def test_empty_selection_keeps_traces(digits):
    images, labels = digits
    fig = thumbnail_grid_figure(images, [], labels=labels)
    assert [t.name for t in fig.data] == ["thumbnails", "tile hover"]
    assert trace(fig, "thumbnails").source is None
    assert [a.text for a in fig.layout.annotations] == [EMPTY_SELECTION_TEXT]
    assert fig.layout.meta["indices"] == []


def test_thumbnail_errors(digits):
    images, labels = digits
    with pytest.raises(TDAInputError, match="'indices'.*0..59"):
        thumbnail_grid_figure(images, [60])
    with pytest.raises(TDAInputError, match="'labels'.*one entry per image"):
        thumbnail_grid_figure(images, [0], labels=labels[:3])
    with pytest.raises(TDAInputError, match="'cols'"):
        thumbnail_grid_figure(images, [0], cols=0)
