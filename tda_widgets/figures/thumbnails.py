"""Image thumbnails: uint8 conversion, a PNG sprite sheet, and a composite thumbnail grid.

Images are composited in numpy and sent as one PNG, so hundreds of thumbnails stay fast in
the browser. No torch import: tensors are read with ``np.asarray`` (call ``.cpu()`` first).
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from ..core.errors import TDAInputError, TDATypeError
from ..core.markup import escape, markup
from ._common import check_positive_int, label_name

__all__ = [
    "EMPTY_SELECTION_TEXT",
    "sprite_sheet",
    "thumbnail_grid_figure",
    "tile_index_at",
    "to_uint8_images",
]

#: Text of the empty-state thumbnail figure.
EMPTY_SELECTION_TEXT = "hover or click a point to see its images"

_MARGIN = dict(l=5, r=5, b=5)


def _as_array(images, func: str) -> np.ndarray:
    try:
        array = np.asarray(images)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TDATypeError(
            f"The 'images' parameter of {func} must be an array of images. Got an object of "
            f"type {type(images).__name__} that numpy cannot read ({exc}). Pass a numpy array "
            f"(for a torch tensor: images.cpu().numpy())."
        ) from exc
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise TDATypeError(
            f"The 'images' parameter of {func} must hold numbers. Got dtype {array.dtype}. "
            f"Pass a numeric array of shape (N, H, W), (N, C, H, W) or (N, H, W, C)."
        )
    return array


def _channels_last(array: np.ndarray, func: str) -> np.ndarray:
    """Return a (N, H, W, C) view with C in (1, 3) or raise."""
    shapes = "(N, H, W), (N, 1, H, W), (N, 3, H, W), (N, H, W, 1) or (N, H, W, 3)"
    if array.ndim == 3:
        return array[..., None]
    if array.ndim == 4:
        if array.shape[-1] in (1, 3):
            return array
        if array.shape[1] in (1, 3):
            return np.moveaxis(array, 1, -1)
        raise TDAInputError(
            f"The 'images' parameter of {func} must have 1 or 3 colour channels, first or "
            f"last: {shapes}. Got shape {array.shape}. Select or convert the channels."
        )
    fix = " For one image, add a leading axis: images[None]." if array.ndim == 2 else ""
    raise TDAInputError(
        f"The 'images' parameter of {func} must be a batch of images of shape {shapes}. Got "
        f"shape {array.shape} ({array.ndim}-D).{fix}"
    )


def to_uint8_images(images, *, value_range=None) -> np.ndarray:
    """Convert a batch of images to RGB uint8 of shape (N, H, W, 3).

    Parameters
    ----------
    images : array_like
        ``(N, H, W)`` grey, ``(N, 1, H, W)`` / ``(N, 3, H, W)`` channels first, or
        ``(N, H, W, 1)`` / ``(N, H, W, 3)`` channels last. ``uint8`` is kept as is; any other
        numeric dtype is min-max scaled over the whole batch to 0..255 (a constant batch
        becomes black). Booleans become 0 / 255.
    value_range : tuple of float, optional
        ``(low, high)`` to scale from instead of the batch's min and max (e.g. the full data
        set's range when converting a subset); values outside are clipped.

    Returns
    -------
    ndarray of shape (N, H, W, 3) and dtype uint8

    Raises
    ------
    TDATypeError
        If ``images`` is not numeric.
    TDAInputError
        If the shape is not one of the above, or the values hold NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> to_uint8_images(np.array([[[0.0, 0.5], [1.0, 1.0]]]))[0, :, :, 0].tolist()
    [[0, 128], [255, 255]]
    """
    func = "to_uint8_images"
    array = _channels_last(_as_array(images, func), func)
    if array.dtype == np.uint8:
        out = array
    elif array.dtype == np.bool_:
        out = array.astype(np.uint8) * 255
    else:
        values = array.astype(np.float64, copy=False)
        if values.size and not np.isfinite(values).all():
            raise TDAInputError(
                f"The 'images' parameter of {func} must hold finite values. Got "
                f"{int((~np.isfinite(values)).sum())} NaN or infinite value(s). Clean the "
                f"images first."
            )
        if value_range is not None:
            low, high = float(value_range[0]), float(value_range[1])
        elif values.size:
            low, high = float(values.min()), float(values.max())
        else:
            low, high = 0.0, 1.0
        if high > low:
            scaled = np.clip((values - low) / (high - low), 0.0, 1.0) * 255.0
        else:
            scaled = np.zeros(values.shape)
        out = np.rint(scaled).astype(np.uint8)
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return np.ascontiguousarray(out)


def _upscale(images: np.ndarray, tile_h: int, tile_w: int) -> np.ndarray:
    """Nearest-neighbour resize of (N, H, W, 3) images to (N, tile_h, tile_w, 3)."""
    height, width = images.shape[1:3]
    rows = (np.arange(tile_h) * height) // tile_h
    cols = (np.arange(tile_w) * width) // tile_w
    return images[:, rows][:, :, cols]


def _default_tile(height: int, width: int) -> int:
    """Tile height: small images upscaled by a whole factor to about 32 px (8 px -> 32 px)."""
    return height * max(1, round(32 / max(height, width)))


def _grid(tiles: np.ndarray, cols: int, gap: int, background: int) -> np.ndarray:
    """Lay (k, th, tw, 3) tiles out row-major in ``cols`` columns with ``gap`` px between."""
    k, tile_h, tile_w = tiles.shape[:3]
    rows = max(1, math.ceil(k / cols))
    canvas = np.full(
        (rows * (tile_h + gap) - gap, cols * (tile_w + gap) - gap, 3), background, np.uint8
    )
    for i in range(k):
        r, c = divmod(i, cols)
        top, left = r * (tile_h + gap), c * (tile_w + gap)
        canvas[top : top + tile_h, left : left + tile_w] = tiles[i]
    return canvas


def _png(canvas: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(canvas, mode="RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def sprite_sheet(images, *, cols=None, tile=None) -> dict:
    """All images in one PNG grid, for a browser thumbnail panel to crop with CSS.

    Parameters
    ----------
    images : array_like
        A batch of images in any layout accepted by :func:`to_uint8_images`.
    cols : int, optional
        Tiles per row; default ``ceil(sqrt(N))``.
    tile : int, optional
        Tile height in px; the width keeps the aspect ratio. Default: the image height times
        ``round(32 / max(H, W))`` (at least 1), so 8x8 digits become 32 px tiles and 32x32
        images stay 32 px. Images are resized with nearest neighbour.

    Returns
    -------
    dict
        ``png`` (bytes), ``tile`` (tile height in px), ``tile_width`` (px), ``cols``, ``rows``,
        ``n``. Image ``i`` sits at row ``i // cols``, column ``i % cols``, with its top-left
        corner at ``(column * tile_width, row * tile)``; no gaps; unused cells are black.

    Raises
    ------
    TDAInputError, TDATypeError
        As :func:`to_uint8_images`; also for an empty batch or a non-positive ``cols``/``tile``.

    Examples
    --------
    >>> import numpy as np
    >>> sheet = sprite_sheet(np.zeros((5, 8, 8)))
    >>> sheet["tile"], sheet["cols"], sheet["rows"], sheet["n"]
    (32, 3, 2, 5)
    """
    func = "sprite_sheet"
    rgb = to_uint8_images(images)
    n = len(rgb)
    if n == 0:
        raise TDAInputError(
            f"The 'images' parameter of {func} must hold at least one image. Got an empty "
            f"batch of shape {rgb.shape}."
        )
    height, width = rgb.shape[1:3]
    cols = math.ceil(math.sqrt(n)) if cols is None else check_positive_int(cols, "cols", func)
    tile_h = _default_tile(height, width) if tile is None else check_positive_int(tile, "tile", func)
    tile_w = max(1, round(width * tile_h / height))
    sheet = _grid(_upscale(rgb, tile_h, tile_w), cols, gap=0, background=0)
    return {
        "png": _png(sheet),
        "tile": tile_h,
        "tile_width": tile_w,
        "cols": cols,
        "rows": math.ceil(n / cols),
        "n": n,
    }


def _labels_for(values, n_images: int, name: str, func: str):
    if values is None:
        return None
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n_images:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must be a 1-D array with one entry per image "
            f"({n_images}). Got shape {array.shape} instead. Pass them for the whole data set, "
            f"not only the selection."
        )
    return array


def tile_index_at(x: float, y: float, *, cols: int, tile: int, tile_width=None, gap: int = 2):
    """Position (in the grid's pixels) -> position in the selection, or None between tiles.

    Parameters
    ----------
    x, y : float
        Pixel coordinates in a :func:`thumbnail_grid_figure` image (x to the right, y down).
    cols, tile, gap : int
        As passed to :func:`thumbnail_grid_figure` (also in its ``layout.meta``).
    tile_width : int, optional
        Tile width (default ``tile``).

    Returns
    -------
    int or None
        ``row * cols + column``; ``None`` in a gap or outside the columns (the caller checks
        the upper bound against the number of selected images).

    Examples
    --------
    >>> tile_index_at(40.0, 5.0, cols=10, tile=32, gap=2)
    1
    """
    tile_width = tile if tile_width is None else tile_width
    if x < 0 or y < 0:
        return None
    col, x_in = divmod(int(x), tile_width + gap)
    row, y_in = divmod(int(y), tile + gap)
    if col >= cols or x_in >= tile_width or y_in >= tile:
        return None
    return row * cols + col


def thumbnail_grid_figure(
    images,
    indices,
    *,
    labels=None,
    predictions=None,
    class_names=None,
    cols: int = 10,
    tile: int = 32,
    gap: int = 2,
    max_captions: int = 100,
    title: str | None = None,
) -> go.Figure:
    """The selected images as one composite image, with "label / prediction" captions.

    Parameters
    ----------
    images : array_like
        The whole data set (any layout accepted by :func:`to_uint8_images`). Non-uint8 images
        are scaled with the whole set's min and max, so a thumbnail looks the same in every
        selection; pass ``to_uint8_images(images)`` once to skip that per call.
    indices : array_like of int
        The selected images (rows of ``images``), in display order. Empty gives an
        empty-state figure saying "hover or click a point to see its images".
    labels, predictions : array_like, optional
        One label / predicted label per image of the whole set.
    class_names : sequence of str or dict, optional
        Display names of the labels.
    cols : int, default=10
        Tiles per row.
    tile : int, default=32
        Tile height in px (nearest-neighbour resize; the width keeps the aspect ratio).
    gap : int, default=2
        White px between tiles.
    max_captions : int, default=100
        Caption annotations are drawn on the tiles only up to this many images (annotations
        are slow in the browser); the hover grid always carries them.
    title : str, optional
        Figure title (plain text: escaped where it enters plotly's markup).

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces: ``"thumbnails"``, a ``go.Image`` whose ``source`` is a PNG data URI of
        the composite (``ceil(k / cols)`` rows of ``cols`` tiles), and ``"tile hover"``, a
        transparent ``go.Heatmap`` with one cell per tile whose ``customdata`` is the data
        set index (-1 for unused cells) and whose ``text`` is the caption. Both are present
        (and empty) when nothing is selected. ``layout.meta`` holds ``indices``, ``cols``,
        ``tile``, ``tile_width`` and ``gap``.

    Raises
    ------
    TDAInputError, TDATypeError
        For malformed images, indices out of range, or labels/predictions not aligned with
        the images.

    Examples
    --------
    >>> import numpy as np
    >>> fig = thumbnail_grid_figure(np.zeros((4, 8, 8)), [0, 2], labels=[0, 1, 2, 3])
    >>> [trace.name for trace in fig.data]
    ['thumbnails', 'tile hover']
    """
    func = "thumbnail_grid_figure"
    cols = check_positive_int(cols, "cols", func)
    tile = check_positive_int(tile, "tile", func)
    gap = check_positive_int(gap, "gap", func, minimum=0)
    array = _channels_last(_as_array(images, func), func)
    n_images = len(array)
    selected = np.asarray(indices if indices is not None else [], dtype=np.float64).ravel()
    if selected.size and (
        not np.all(selected == np.round(selected)) or selected.min() < 0 or selected.max() >= n_images
    ):
        raise TDAInputError(
            f"The 'indices' parameter of {func} must hold integer row numbers in "
            f"0..{n_images - 1}. Got values from {selected.min()!r} to {selected.max()!r}. "
            f"Pass indices into the same images."
        )
    selected = selected.astype(np.int64)
    labels = _labels_for(labels, n_images, "labels", func)
    predictions = _labels_for(predictions, n_images, "predictions", func)

    height, width = array.shape[1:3]
    tile_w = max(1, round(width * tile / height))
    k = len(selected)
    rows = max(1, math.ceil(k / cols))
    canvas_w = cols * (tile_w + gap) - gap
    canvas_h = rows * (tile + gap) - gap
    top_margin = 40 if title else 5

    fig = go.Figure()
    if k:
        value_range = None
        if array.dtype not in (np.uint8, np.bool_):
            value_range = (float(array.min()), float(array.max()))
        rgb = to_uint8_images(array[selected], value_range=value_range)
        canvas = _grid(_upscale(rgb, tile, tile_w), cols, gap=gap, background=255)
        source = "data:image/png;base64," + base64.b64encode(_png(canvas)).decode("ascii")
        fig.add_trace(go.Image(name="thumbnails", source=source, hoverinfo="skip"))
    else:
        fig.add_trace(go.Image(name="thumbnails", hoverinfo="skip"))

    captions = []
    for index in selected:
        parts = []
        if labels is not None:
            parts.append(label_name(labels[index], class_names))
        if predictions is not None:
            parts.append(label_name(predictions[index], class_names))
        captions.append(" / ".join(parts))
    cell_index = np.full((rows, cols), -1, dtype=np.int64)
    cell_text = np.full((rows, cols), "", dtype=object)
    for position, index in enumerate(selected):
        r, c = divmod(position, cols)
        cell_index[r, c] = index
        what = "label / prediction" if labels is not None and predictions is not None else (
            "label" if labels is not None else "prediction"
        )
        caption = markup("<br>{}: {}", what, captions[position]) if captions[position] else ""
        cell_text[r, c] = f"image {int(index)}{caption}"
    fig.add_trace(
        go.Heatmap(
            name="tile hover",
            z=np.where(cell_index >= 0, 1.0, np.nan) if k else None,
            x=(np.arange(cols) * (tile_w + gap) + (tile_w - 1) / 2) if k else None,
            y=(np.arange(rows) * (tile + gap) + (tile - 1) / 2) if k else None,
            customdata=cell_index if k else None,
            text=cell_text.tolist() if k else None,
            hovertemplate="%{text}<extra></extra>",
            opacity=0,
            showscale=False,
            hoverongaps=False,
            colorscale=[[0, "white"], [1, "white"]],
        )
    )

    annotations = []
    if k and k <= max_captions and any(captions):
        for position, (index, caption) in enumerate(zip(selected, captions)):
            if not caption:
                continue
            r, c = divmod(position, cols)
            wrong = (
                labels is not None
                and predictions is not None
                and labels[index] != predictions[index]
            )
            annotations.append(
                dict(
                    text=escape(caption),
                    x=c * (tile_w + gap),
                    y=r * (tile + gap) + tile,
                    xref="x",
                    yref="y",
                    xanchor="left",
                    yanchor="bottom",
                    showarrow=False,
                    font=dict(size=8, color="#c00000" if wrong else "#000000"),
                    bgcolor="rgba(255,255,255,0.75)",
                    borderpad=0,
                )
            )
    if not k:
        annotations.append(
            dict(text=EMPTY_SELECTION_TEXT, xref="paper", yref="paper", x=0.5, y=0.5,
                 showarrow=False, font=dict(size=13, color="#777777"))
        )
        canvas_h = 80

    hidden = dict(showgrid=False, zeroline=False, showticklabels=False, showline=False,
                  ticks="", title=None, fixedrange=True)
    fig.update_layout(
        title=dict(text=escape(title)) if title else None,
        width=canvas_w + _MARGIN["l"] + _MARGIN["r"],
        height=canvas_h + top_margin + _MARGIN["b"],
        margin=dict(_MARGIN, t=top_margin),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hovermode="closest",
        xaxis=dict(hidden, range=[-0.5, canvas_w - 0.5]),
        yaxis=dict(hidden, range=[canvas_h - 0.5, -0.5]),
        annotations=annotations,
        meta=dict(indices=selected.tolist(), cols=cols, tile=tile, tile_width=tile_w, gap=gap),
    )
    return fig
