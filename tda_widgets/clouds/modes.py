"""The point-cloud modes as records: one :class:`Mode` per mode, read by everyone.

A record says what layer outputs the mode accepts, how a capture may reduce each batch for it
(so only ``(N, C)`` is stored), how large its cloud is (the memory budget reads this before
anything is captured) and how its points are built. :func:`~tda_widgets.clouds.make_cloud`,
the budget (:mod:`tda_widgets.engine.budget`), the capture's reducers and the similarity step
(:mod:`tda_widgets.engine.steps`) and the widgets' mode dropdown (through ``CloudSpec``'s
declared choices) all read :data:`MODE_RECORDS`; the older tables (:data:`MODES`,
:data:`POOLED_MODES`, :data:`POSITION_MODES`, :data:`STREAMED_MODES`) are derived from them.
Adding a mode is one record here and its test (see CONTRIBUTING.md). No torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

__all__ = ["Mode", "MODE_RECORDS", "MODES", "POOLED_MODES", "POSITION_MODES", "STREAMED_MODES",
           "ONE_POINT_PER_IMAGE", "top_l2_positions", "random_positions", "split_selection"]


@dataclass(frozen=True)
class Mode:
    """One point-cloud mode.

    Attributes
    ----------
    name : str
        The mode's name (``CloudSpec(mode=name)``).
    description : str
        One line: what a point is.
    accepts : {"conv", "linear", "any"}
        The layer outputs it takes: ``(N, C, H, W)``, ``(N, F)`` or any rank.
    reduction : str or None
        How a capture may reduce each batch for it (``"avg"``, ``"max"``, ``"top-l2"``,
        ``"random-position"``; the engine's reducers), keeping only ``(N, C)``; None: it needs
        the full activations.
    one_point_per_image : bool
        Whether row ``i`` of its cloud is image ``i`` (what a representational-similarity
        measure compares row by row).
    size : callable
        ``size(n_images, per_image_shape) -> (n_points, n_dims)`` before any subsample.
    build : callable
        ``build(arr, sample, seed) -> (points, image_index, position, channel_index)``, where
        ``sample`` is the sorted flat indices of the points to build (a random point budget drawn
        before gathering) or None for every point; ``position`` and ``channel_index`` may be None.
    samples_before_building : bool, default False
        Whether a random point budget is drawn before the points are gathered (a mode whose
        clouds are far larger than the images, ``spatial``): ``build`` then gets the sample.
    """

    name: str
    description: str
    accepts: str
    reduction: Optional[str]
    one_point_per_image: bool
    size: Callable[[int, tuple], tuple]
    build: Callable[..., tuple]
    samples_before_building: bool = False


def top_l2_positions(activations: np.ndarray) -> np.ndarray:
    """For each image, the flat spatial position (``row * W + col``) whose channel vector has
    the largest l2 norm: the study's "top l2-norm" sampling.

    Squared norms are summed in float64 (the squares of float32 values are exact there), so
    the choice is the exact argmax up to float64 rounding; ties go to the first position in
    row-major order, as ``np.argmax`` and ``torch.argmax`` do. (The study's script takes
    ``torch.linalg.norm(...).argmax`` in float32: the two can differ only where two positions'
    norms agree to about 1e-7.)

    Parameters
    ----------
    activations : ndarray of shape (N, C, H, W)

    Returns
    -------
    ndarray of shape (N,), int64
    """
    arr = np.asarray(activations)
    n, c = arr.shape[:2]
    flat = arr.reshape(n, c, -1).astype(np.float64)
    return np.argmax(np.einsum("ncp,ncp->np", flat, flat), axis=1).astype(np.int64)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(state: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele, Lea & Flood 2014) on uint64 arrays (wrapping)."""
    z = state.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def random_positions(image_index: Any, height: int, width: int, seed: int = 0) -> np.ndarray:
    """One random flat spatial position (``row * width + col``) per image, for
    ``image-random-position``.

    Image ``i``'s position is the ``(i + 1)``-th output of a SplitMix64 generator seeded with
    ``seed``, modulo ``height * width``: it depends only on the seed, the image's index and the
    layer's spatial size, never on the batch size, the order the images are fed in or how many
    there are, so a streamed capture and :func:`make_cloud` on the full activations pick the
    same positions. (Layers of the same spatial size get the same position for an image.)

    Parameters
    ----------
    image_index : array-like of int, shape (n,)
    height, width : int
    seed : int, default 0

    Returns
    -------
    ndarray of shape (n,), int64

    Examples
    --------
    >>> random_positions([0, 1, 2], 4, 4, seed=0).tolist() == random_positions([2, 1, 0], 4, 4)[::-1].tolist()
    True
    """
    index = np.asarray(image_index, dtype=np.uint64).reshape(-1)
    state = np.uint64(int(seed) % 2**64) + (index + np.uint64(1)) * _GOLDEN
    return (_splitmix64(state) % np.uint64(int(height) * int(width))).astype(np.int64)


def split_selection(selected: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Split what a streamed one-position capture stores per image into the selected vectors,
    their ``(row, col)`` and the layer's ``(height, width)``.

    The capture (``tda_widgets.engine.steps``) keeps, per image, one float32 row: the ``C``
    values of the selected vector, then the position's row and column and the layer's height
    and width (small integers, exact in float32).

    Returns
    -------
    vectors : ndarray of shape (N, C)
    position : ndarray of shape (N, 2), int64
    spatial_shape : tuple of int
    """
    arr = np.asarray(selected)
    tail = arr[:, -4:].astype(np.int64)
    shape = (int(tail[0, 2]), int(tail[0, 3])) if len(arr) else (0, 0)
    return arr[:, :-4], tail[:, :2], shape


def _every_image(arr, sample, seed):
    return arr.reshape(len(arr), -1), np.arange(len(arr)), None, None


def _avgpool(arr, sample, seed):
    return arr.mean(axis=(2, 3), dtype=np.float64), np.arange(len(arr)), None, None


def _maxpool(arr, sample, seed):
    return arr.max(axis=(2, 3)), np.arange(len(arr)), None, None


def _one_position(rule: str):
    def build(arr, sample, seed):
        n, _, h, w = arr.shape
        image_index = np.arange(n)
        flat = top_l2_positions(arr) if rule == "top-l2" else random_positions(image_index, h, w, seed)
        rows, cols = np.divmod(flat, w)
        return arr[image_index, :, rows, cols], image_index, np.stack([rows, cols], axis=1).astype(np.int64), None

    return build


def _spatial(arr, sample, seed):
    n, _, h, w = arr.shape
    flat = np.arange(n * h * w) if sample is None else sample
    image_index, rem = np.divmod(flat, h * w)
    rows, cols = np.divmod(rem, w)
    return arr[image_index, :, rows, cols], image_index, np.stack([rows, cols], axis=1).astype(np.int64), None


def _channel(arr, sample, seed):
    points = np.moveaxis(arr, 1, 0).reshape(arr.shape[1], -1)
    return points, np.full(points.shape[0], -1), None, np.arange(points.shape[0])


def _per_image(n: int, shape: tuple) -> tuple:
    return n, math.prod(shape)


def _per_image_channels(n: int, shape: tuple) -> tuple:
    return n, shape[0]


#: Every mode, in the order the dropdowns list them.
MODE_RECORDS: dict[str, Mode] = {mode.name: mode for mode in (
    Mode("image-flatten", "image, the whole activation flattened", "any", None, True, _per_image, _every_image),
    Mode("image-avgpool", "image, mean over spatial positions", "conv", "avg", True, _per_image_channels, _avgpool),
    Mode("image-maxpool", "image, max over spatial positions", "conv", "max", True, _per_image_channels, _maxpool),
    Mode("image-top-l2", "image, its channel vector of largest l2 norm", "conv", "top-l2", True,
         _per_image_channels, _one_position("top-l2")),
    Mode("image-random-position", "image, its channel vector at a seeded position", "conv", "random-position", True,
         _per_image_channels, _one_position("random-position")),
    Mode("spatial", "image and spatial position (h, w)", "conv", None, False,
         lambda n, shape: (n * shape[1] * shape[2], shape[0]), _spatial, samples_before_building=True),
    Mode("channel", "channel, over every image and position", "conv", None, False,
         lambda n, shape: (shape[0], n * shape[1] * shape[2]), _channel),
    Mode("linear", "image, for a linear layer's (N, F) output", "linear", None, True, _per_image, _every_image),
)}

#: The modes' names.
MODES = tuple(MODE_RECORDS)
#: Pooled modes and their capture reduction (a capture pools each batch and keeps only (N, C)).
POOLED_MODES = {m.name: m.reduction for m in MODE_RECORDS.values() if m.reduction in ("avg", "max")}
#: One point per image, its channel vector at one spatial position (the study's two modes).
POSITION_MODES = {m.name: m.reduction for m in MODE_RECORDS.values() if m.reduction in ("top-l2", "random-position")}
#: Every mode a capture can reduce batch by batch, and the name of that reduction.
STREAMED_MODES = {**POOLED_MODES, **POSITION_MODES}
#: Modes with one point per image ("auto" resolves to one of them), for the similarity measures.
ONE_POINT_PER_IMAGE = ("auto",) + tuple(m.name for m in MODE_RECORDS.values() if m.one_point_per_image)
