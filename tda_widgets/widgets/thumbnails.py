"""A panel of image thumbnails, linked to hover and click in other widgets.

All images travel to the browser once, as one PNG sprite sheet; afterwards a hover only sends
the list of image indices to show (the ``selected`` trait), and the front end
(``thumbnails.js``, an anywidget ES module, no Node build) draws those tiles from the sprite it
already holds. That keeps hover-to-thumbnails latency at one small message.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Iterable, Sequence

import anywidget
import numpy as np
import traitlets

from tda_widgets.core.errors import TDAInputError, TDATypeError
from tda_widgets.figures.thumbnails import sprite_sheet

__all__ = ["ThumbnailPanel"]

_HERE = Path(__file__).parent


def _name_of(value, class_names: Sequence[str] | None) -> str:
    if class_names is not None and isinstance(value, numbers.Integral):
        if 0 <= int(value) < len(class_names):
            return str(class_names[int(value)])
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return str(value)


def _check_per_image(values, n: int, name: str) -> list | None:
    if values is None:
        return None
    values = list(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else list(values)
    if len(values) != n:
        raise TDAInputError(
            f"The '{name}' parameter of ThumbnailPanel.from_images must have one entry per "
            f"image ({n}). Got {len(values)} entries instead."
        )
    return values


def _check_indices(indices, n_images: int, name: str, where: str) -> list[int]:
    """Validated list of image indices (order and repeats kept)."""
    if isinstance(indices, (str, bytes)) or not isinstance(indices, Iterable):
        raise TDATypeError(
            f"The '{name}' parameter of {where} must be a sequence of image indices. "
            f"Got {type(indices).__name__} {indices!r} instead; pass for example [0, 5, 7]."
        )
    result = []
    for value in indices:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TDATypeError(
                f"The '{name}' parameter of {where} must hold integer image indices. "
                f"Got {value!r} ({type(value).__name__}) instead."
            )
        result.append(int(value))
    bad = [i for i in result if not 0 <= i < n_images]
    if bad:
        raise TDAInputError(
            f"The '{name}' parameter of {where} must hold indices in [0, {n_images}) "
            f"(the panel has {n_images} images). Got out-of-range indices {bad[:10]} instead."
        )
    return result


class ThumbnailPanel(anywidget.AnyWidget):
    """A grid of image thumbnails that shows a chosen subset of a fixed image set.

    Build it with :meth:`from_images`; call :meth:`show` from a hover or click handler.

    Attributes
    ----------
    sprite : bytes
        One PNG sprite sheet of all images (sent to the browser once).
    tile : int
        Tile height in the sprite, in pixels.
    tile_width : int
        Tile width in the sprite (the images' aspect ratio is kept).
    cols : int
        Tiles per sprite row; image ``i`` has its top-left corner at
        ``((i % cols) * tile_width, (i // cols) * tile)``.
    n_images : int
        Number of images in the sprite.
    captions : list of str
        One caption per image, e.g. ``"label 3 · pred 3"``.
    selected : list of int
        Indices of the images shown (the only thing sent on hover).
    title : str
        A heading above the grid, e.g. ``"node cube3_cluster0: 42 images, 90% '3'"``.
    max_shown : int
        At most this many tiles are drawn; the rest is counted as "+N more".
    display_scale : float
        Displayed tile size relative to ``tile`` (pixels stay crisp).

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).integers(0, 256, size=(20, 8, 8), dtype=np.uint8)
    >>> panel = ThumbnailPanel.from_images(images, labels=np.arange(20) % 10)
    >>> panel.show([0, 3, 5], title="three images")
    >>> panel.selected
    [0, 3, 5]
    """

    _esm = _HERE / "thumbnails.js"
    _css = _HERE / "thumbnails.css"

    sprite = traitlets.Bytes(b"").tag(sync=True)
    tile = traitlets.Int(32).tag(sync=True)
    tile_width = traitlets.Int(32).tag(sync=True)
    cols = traitlets.Int(1).tag(sync=True)
    n_images = traitlets.Int(0).tag(sync=True)
    captions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    max_shown = traitlets.Int(200).tag(sync=True)
    display_scale = traitlets.Float(1.5).tag(sync=True)
    #: Per shown image, rectangles to outline on it: ``[top, left, height, width, ...]`` as
    #: fractions of the image (4 numbers per rectangle; empty for none): where in the image a
    #: point's activation vector sits (one-position and spatial clouds).
    marks = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    #: A summary of what is shown, drawn between the title and the grid: class bars (``[{"name":
    #: str, "count": int}, ...]``, most common first; names are plain text) and a mean image (PNG
    #: bytes), shown only while :attr:`title` equals :attr:`summary_title` (the title they were
    #: made for: a page that shows a new selection at once hides the old summary).
    bars = traitlets.List(traitlets.Dict()).tag(sync=True)
    mean = traitlets.Bytes(b"").tag(sync=True)
    summary_title = traitlets.Unicode("").tag(sync=True)

    @traitlets.validate("selected")
    def _validate_selected(self, proposal):
        return _check_indices(proposal["value"], self.n_images, "selected", "ThumbnailPanel")

    @traitlets.validate("max_shown")
    def _validate_max_shown(self, proposal):
        if proposal["value"] < 1:
            raise TDAInputError(
                "The 'max_shown' parameter of ThumbnailPanel must be at least 1. "
                f"Got {proposal['value']} instead."
            )
        return proposal["value"]

    @classmethod
    def from_images(
        cls,
        images,
        labels=None,
        predictions=None,
        class_names: Sequence[str] | None = None,
        tile: int | None = 32,
        **kwargs,
    ) -> "ThumbnailPanel":
        """Build a panel holding ``images``, with nothing selected yet.

        Parameters
        ----------
        images : array-like of shape (n, h, w), (n, c, h, w) or (n, h, w, c), c in {1, 3}
            Grey or RGB images, converted by
            :func:`tda_widgets.figures.thumbnails.to_uint8_images` (``uint8`` as is, other
            dtypes min-max scaled over the whole batch) and laid out by
            :func:`~tda_widgets.figures.thumbnails.sprite_sheet` (nearest-neighbour resize).
        labels, predictions : array-like of shape (n,), optional
            True and predicted classes, shown in each caption.
        class_names : sequence of str, optional
            Names of the classes; integer labels and predictions are shown by name.
        tile : int or None, default 32
            Tile height in the sprite, in pixels (4 to 512); the width keeps the images'
            aspect ratio. None: ``sprite_sheet``'s default (small images upscaled by a whole
            factor to about 32 px).
        **kwargs
            Other traits, e.g. ``max_shown=100``, ``display_scale=2.0``, ``layout=...``.

        Returns
        -------
        ThumbnailPanel

        Raises
        ------
        TDAInputError
            Bad shape, non-finite values, no images, a ``tile`` out of range, or ``labels``
            / ``predictions`` of the wrong length.
        TDATypeError
            Non-numeric images.
        """
        if tile is not None and (
            isinstance(tile, bool) or not isinstance(tile, numbers.Integral) or not 4 <= tile <= 512
        ):
            raise TDAInputError(
                "The 'tile' parameter of ThumbnailPanel.from_images must be an integer from 4 "
                f"to 512 (pixels per thumbnail) or None. Got {tile!r} instead."
            )
        sheet = sprite_sheet(images, tile=None if tile is None else int(tile))
        n = sheet["n"]
        label_list = _check_per_image(labels, n, "labels")
        prediction_list = _check_per_image(predictions, n, "predictions")
        captions = []
        for i in range(n):
            parts = []
            if label_list is not None:
                parts.append(f"label {_name_of(label_list[i], class_names)}")
            if prediction_list is not None:
                parts.append(f"pred {_name_of(prediction_list[i], class_names)}")
            captions.append(" · ".join(parts))
        return cls(
            sprite=sheet["png"], tile=sheet["tile"], tile_width=sheet["tile_width"],
            cols=sheet["cols"], n_images=n, captions=captions, **kwargs,
        )

    def show(self, indices, title: str = "", marks=None, bars=None, mean: bytes = b"") -> None:
        """Show the images ``indices`` (in that order) under ``title``.

        Only the indices and the title travel to the browser.

        Parameters
        ----------
        indices : sequence of int
            Image indices in [0, n_images).
        title : str, default ""
            Heading above the thumbnails.
        marks : sequence of sequence of float, optional
            Per image, rectangles to outline: ``[top, left, height, width, ...]`` as fractions
            of the image (see :attr:`marks`).
        bars : sequence of (str, int), optional
            Class names and counts, drawn as a small bar chart under the title (see :attr:`bars`).
        mean : bytes, optional
            A PNG (e.g. the mean of the images), drawn beside the bars.

        Raises
        ------
        TDAInputError
            An index out of range.
        TDATypeError
            ``indices`` is not a sequence of integers, or ``title`` is not a string.
        """
        checked = _check_indices(indices, self.n_images, "indices", "ThumbnailPanel.show")
        if not isinstance(title, str):
            raise TDATypeError(
                "The 'title' parameter of ThumbnailPanel.show must be a string. "
                f"Got {type(title).__name__} {title!r} instead."
            )
        marks = [] if marks is None else [list(map(float, m)) for m in marks]
        if marks and (len(marks) != len(checked) or any(len(m) % 4 or not all(0.0 <= v <= 1.0 for v in m)
                                                         for m in marks)):
            raise TDAInputError(
                "The 'marks' parameter of ThumbnailPanel.show must hold, per image shown, rectangles as "
                "[top, left, height, width, ...] fractions in [0, 1] (4 numbers each). Got "
                f"{len(marks)} entries for {len(checked)} images."
            )
        bars = [{"name": str(name), "count": int(count)} for name, count in (bars or [])]
        with self.hold_sync():
            self.title = title
            self.marks = marks
            self.bars = bars
            self.mean = bytes(mean or b"")
            self.summary_title = title if bars or mean else ""
            self.selected = checked

    def clear(self) -> None:
        """Show no images and no title."""
        with self.hold_sync():
            self.title = ""
            self.marks = []
            self.bars = []
            self.mean = b""
            self.summary_title = ""
            self.selected = []
