"""ThumbnailPanel on the Python side: sprite contents, captions, show/clear, validation."""

import io

import numpy as np
import pytest
from PIL import Image

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.widgets.thumbnails import ThumbnailPanel


def decode_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def tile_of(sheet: np.ndarray, index: int, tile: int, cols: int) -> np.ndarray:
    row, col = divmod(index, cols)
    return sheet[row * tile : (row + 1) * tile, col * tile : (col + 1) * tile]


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Independent nearest-neighbour reference: repeat each pixel factor x factor times."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


@pytest.fixture
def grey_images():
    return np.random.default_rng(0).integers(0, 256, size=(23, 8, 8), dtype=np.uint8)


def test_sprite_tiles_equal_the_upscaled_source_images(grey_images):
    panel = ThumbnailPanel.from_images(grey_images, tile=32)
    sheet = decode_png(panel.sprite)
    assert panel.tile == 32 and panel.n_images == 23
    assert panel.cols == 5  # ceil(sqrt(23))
    assert panel.tile_width == 32
    assert sheet.shape == (5 * 32, 5 * 32, 3)  # 5 rows of 5 hold 23 tiles, grey as RGB
    for i, image in enumerate(grey_images):
        expected = np.repeat(upscale(image, 4)[..., None], 3, axis=2)
        np.testing.assert_array_equal(tile_of(sheet, i, 32, panel.cols), expected)
    # the two unused slots stay black
    assert not tile_of(sheet, 23, 32, panel.cols).any()
    assert not tile_of(sheet, 24, 32, panel.cols).any()


def test_rgb_channel_first_float_images_are_scaled_and_transposed():
    rng = np.random.default_rng(1)
    levels = rng.integers(0, 256, size=(4, 3, 6, 6))  # torch layout (n, c, h, w)
    levels[0, 0, 0, 0], levels[1, 1, 1, 1] = 0, 255  # the batch spans 0..255
    images = levels / 255.0 * 4.0 - 2.0  # floats in [-2, 2]: min-max scaled back to 0..255
    panel = ThumbnailPanel.from_images(images, tile=12)
    sheet = decode_png(panel.sprite)
    assert sheet.shape == (2 * 12, 2 * 12, 3)
    for i in range(4):
        expected = upscale(np.transpose(levels[i], (1, 2, 0)).astype(np.uint8), 2)
        np.testing.assert_array_equal(tile_of(sheet, i, 12, panel.cols), expected)


def test_captions_align_with_labels_and_predictions():
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    panel = ThumbnailPanel.from_images(
        images, labels=[3, 1, 4, 1], predictions=np.array([3, 7, 4, 0])
    )
    assert panel.captions == [
        "label 3 · pred 3",
        "label 1 · pred 7",
        "label 4 · pred 4",
        "label 1 · pred 0",
    ]
    named = ThumbnailPanel.from_images(
        images[:2], labels=[0, 1], class_names=["cat", "dog"]
    )
    assert named.captions == ["label cat", "label dog"]
    assert ThumbnailPanel.from_images(images[:2]).captions == ["", ""]


def test_non_square_images_keep_their_aspect_ratio():
    images = np.random.default_rng(2).integers(0, 256, size=(3, 4, 8), dtype=np.uint8)
    panel = ThumbnailPanel.from_images(images, tile=8)
    assert (panel.tile, panel.tile_width, panel.cols) == (8, 16, 2)
    sheet = decode_png(panel.sprite)[..., 0]
    np.testing.assert_array_equal(sheet[8:16, 0:16], upscale(images[2], 2))


def test_show_sets_selected_and_title_exactly_and_clear_empties(grey_images):
    panel = ThumbnailPanel.from_images(grey_images)
    assert panel.selected == [] and panel.title == ""
    panel.show(np.array([5, 0, 22, 5]), title="node cube3_cluster0: 4 images")
    assert panel.selected == [5, 0, 22, 5]
    assert all(type(i) is int for i in panel.selected)
    assert panel.title == "node cube3_cluster0: 4 images"
    panel.clear()
    assert panel.selected == [] and panel.title == ""


def test_show_sends_title_and_selection_in_one_message(grey_images):
    panel = ThumbnailPanel.from_images(grey_images)
    sent = []
    panel.send_state = lambda key=None: sent.append(sorted(key) if key else None)
    panel.show([1, 2], title="two")
    assert sent == [["selected", "title"]]


def test_out_of_range_indices_raise_a_clear_error(grey_images):
    panel = ThumbnailPanel.from_images(grey_images)
    with pytest.raises(TDAInputError, match=r"'indices'.*\[0, 23\).*\[23, -1\]"):
        panel.show([0, 23, -1])
    assert panel.selected == []  # unchanged after the error
    with pytest.raises(TDAInputError, match=r"'selected'.*\[0, 23\)"):
        panel.selected = [99]
    with pytest.raises(TDATypeError, match="integer image indices"):
        panel.show([1.5])
    with pytest.raises(TDATypeError, match="sequence of image indices"):
        panel.show(3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"images": np.zeros((3, 8))}, "shape"),
        ({"images": np.full((2, 4, 4), np.nan)}, "finite"),
        ({"images": np.zeros((2, 4, 4)), "tile": 2}, "'tile'"),
        ({"images": np.zeros((2, 4, 4)), "labels": [1, 2, 3]}, "'labels'.*one entry per image"),
        ({"images": np.zeros((0, 4, 4))}, "at least one"),
    ],
)
def test_from_images_rejects_bad_input(kwargs, match):
    with pytest.raises(TDAInputError, match=match):
        ThumbnailPanel.from_images(**kwargs)


def test_esm_and_css_ship_with_the_package():
    from importlib.resources import files

    folder = files("tda_widgets.widgets")
    source = folder.joinpath("thumbnails.js").read_text()
    assert "export default" in source
    assert "nShown" in source and "renderedAt" in source
    assert folder.joinpath("thumbnails.css").is_file()
