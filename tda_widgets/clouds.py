"""Point clouds from layer activations (the paper's "modes"), with provenance.

For a layer output of shape ``(N, C, H, W)``:

=========================  =============================================  ===============
mode                       one point per                                  dimensions
=========================  =============================================  ===============
``image-flatten``          image, the whole activation flattened           ``C*H*W``
``image-avgpool``          image, mean over spatial positions              ``C``
``image-maxpool``          image, max over spatial positions               ``C``
``image-top-l2``           image, its channel vector of largest l2 norm    ``C``
``image-random-position``  image, its channel vector at a seeded position  ``C``
``spatial``                image and spatial position ``(h, w)``           ``C``
``channel``                channel, over every image and position          ``N*H*W``
``linear``                 image, for a linear layer's ``(N, F)`` output    ``F``
=========================  =============================================  ===============

``mode="auto"`` picks ``image-avgpool`` for 4-D outputs and ``linear`` for 2-D ones.

The two one-position modes come from the study this package serves (Purvine et al., AAAI 2023):
``image-top-l2`` is its persistent-homology cloud (for each image, the spatial position whose
channel vector has the largest l2 norm; ties go to the first position in row-major order, as
``torch.argmax`` does), ``image-random-position`` its mapper cloud (one random position per
image, drawn by :func:`random_positions` from the seed and the image's index, so the same image
gets the same position whatever the batch size, the image order or the number of images). Their
points keep the image *and* the position (``PointCloud.position``), and a capture can select
them batch by batch, keeping only ``(N, C)`` (see :data:`STREAMED_MODES`).

``activation`` (a :class:`CloudSpec` option: ``"relu"``, ``"gelu"``, ... or a callable) applies
an element-wise function to the layer's output before any of this, during the capture (e.g.
BatchNorm outputs after ReLU, with no change to the model).

Afterwards, in this order and each optional: per-feature standardisation, projection to
``n_components`` dimensions (PCA or a seeded Gaussian random projection), and subsampling to a
point budget (seeded random, or greedy farthest-point). Every choice is recorded in
``PointCloud.params``, and every point keeps its provenance: the image it comes from (and the
spatial position, or the channel). This module imports no torch: it works on numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Optional

import numpy as np

from ._display import RichDisplay, one_line
from .errors import BudgetExceededError, TDAInputError
from .options import Spec, option

__all__ = [
    "MODES",
    "CloudSpec",
    "resolve_mode",
    "PointCloud",
    "make_cloud",
    "top_l2_positions",
    "random_positions",
    "split_selection",
    "farthest_point_sample",
    "estimate_cloud_bytes",
    "DEFAULT_CLOUD_MAX_BYTES",
]

MODES = ("image-flatten", "image-avgpool", "image-maxpool", "image-top-l2", "image-random-position", "spatial",
         "channel", "linear")
_IMAGE_MODES = ("image-flatten", "image-avgpool", "image-maxpool", "linear")
PROJECTIONS = (None, "pca", "random")
SUBSAMPLES = ("random", "farthest")
#: Element-wise functions ``CloudSpec.activation`` names (the capture applies them with torch:
#: ``tda_widgets.capture.ELEMENTWISE``); a callable is accepted too.
ACTIVATIONS = (None, "relu", "gelu", "sigmoid", "tanh", "abs")

#: Pooled modes: a capture can pool each batch as it comes (streaming) and keep only (N, C).
POOLED_MODES = {"image-avgpool": "avg", "image-maxpool": "max"}
#: One point per image, its channel vector at one spatial position (the study's two modes).
POSITION_MODES = {"image-top-l2": "top-l2", "image-random-position": "random-position"}
#: Every mode a capture can reduce batch by batch, and the name of that reduction
#: (``Study.activations(reduce=...)``): only (N, C) per layer is kept, never the full activation.
STREAMED_MODES = {**POOLED_MODES, **POSITION_MODES}
#: Modes that need a convolutional output (N, C, H, W).
_CONV_MODES = ("image-avgpool", "image-maxpool", "image-top-l2", "image-random-position", "spatial", "channel")

#: Default budget for one cloud's float64 coordinates, in bytes.
DEFAULT_CLOUD_MAX_BYTES = 1024**3


@dataclass(frozen=True)
class CloudSpec(Spec):
    """How a layer's activations become a point cloud (see :func:`make_cloud`).

    Every field is declared once here (choices, default, help); the widgets' controls, the
    report and the command line read these declarations.
    """

    mode: str = option("auto", "how activations become points (auto: pooled for conv layers, "
                       "one point per image for linear ones)", choices=("auto",) + MODES, label="point cloud")
    max_points: Optional[int] = option(500, "at most this many points per cloud (a seeded subsample)",
                                       kind=Integral, minimum=1, allow_none=True, label="points",
                                       ui=(20, 3000, 10))
    subsample: str = option("random", "how the point budget is met: seeded random or greedy farthest-point",
                            choices=SUBSAMPLES)
    standardize: bool = option(False, "standardise every feature to zero mean and unit variance first",
                               kind=bool)
    projection: Optional[str] = option(None, "project to n_components dimensions first (PCA or a seeded "
                                       "Gaussian random projection)", choices=PROJECTIONS)
    n_components: Optional[int] = option(None, "target dimension of the projection", kind=Integral,
                                         minimum=1, allow_none=True)
    seed: int = option(0, "seed of the subsample, of the random projection and of image-random-position's "
                       "positions", kind=Integral, minimum=0)
    activation: Any = option(None, "element-wise function applied to the layer's output before the cloud is "
                             "made (e.g. relu after a BatchNorm; the model is not changed); a callable works too",
                             choices=ACTIVATIONS, allow_callable=True)

    def _check(self) -> None:
        self.check_projection(self.projection, self.n_components, "CloudSpec")

    @staticmethod
    def check_projection(projection: Optional[str], n_components: Optional[int], where: str) -> None:
        """The one rule that joins two fields: a projection needs its target dimension."""
        if projection is not None and n_components is None:
            raise TDAInputError(f"{where}(projection={projection!r}) needs n_components, the target "
                                "dimension, e.g. n_components=50.")

    @property
    def pooling(self) -> Optional[str]:
        """"avg" or "max" when this cloud needs only spatially pooled activations of a
        convolutional layer (``auto`` pools them too), so a capture may pool each batch as it
        comes; None when it needs the full activations."""
        return POOLED_MODES.get("image-avgpool" if self.mode == "auto" else self.mode)

    @property
    def reduction(self) -> Optional[str]:
        """The reduction a capture may apply to each batch for this cloud ("avg", "max",
        "top-l2" or "random-position"; ``auto`` pools), keeping only (N, C); None when the
        cloud needs the full activations. Convolutional layers only: other layers are stored as
        they are."""
        return STREAMED_MODES.get("image-avgpool" if self.mode == "auto" else self.mode)


def resolve_mode(mode: str, per_image_shape: tuple, layer: str = "", n_images: Optional[int] = None) -> str:
    """The concrete mode for a layer whose output has ``per_image_shape`` (without the batch
    axis): ``auto`` becomes ``image-avgpool`` for (C, H, W) and ``linear`` for (F,); a mode that
    does not fit the shape raises an error naming the modes that do."""
    shape = tuple(per_image_shape)
    of = f" for layer {layer!r}" if layer else ""
    gave = f"shape {(n_images,) + shape}" if n_images is not None else f"shape {shape} per image"
    if mode == "auto":
        if len(shape) == 3:
            return "image-avgpool"
        if len(shape) == 1:
            return "linear"
        raise TDAInputError(
            f"mode='auto' cannot choose a mode{of}: its output has {gave}; pass "
            f"mode='image-flatten' (works for any rank) or reshape to (N, C, H, W) / (N, F)."
        )
    CloudSpec.options()["mode"].check(mode, "make_cloud")
    if mode in _CONV_MODES and len(shape) != 3:
        raise TDAInputError(
            f"mode {mode!r} needs a convolutional layer's output of shape (N, C, H, W){of}; this "
            f"layer gave {gave}. Use mode='linear' or 'image-flatten' for it."
        )
    if mode == "linear" and len(shape) != 1:
        raise TDAInputError(
            f"mode 'linear' needs a linear layer's output of shape (N, F){of}; this layer gave "
            f"{gave}. Use 'image-flatten' or a pooled mode for it."
        )
    return mode


@dataclass(frozen=True, repr=False)
class PointCloud(RichDisplay):
    """A point cloud made from one layer's activations.

    Attributes
    ----------
    points : ndarray of shape (n_points, n_dims), float64
    image_index : ndarray of shape (n_points,), int64
        The image each point comes from; ``-1`` for ``channel`` mode, where a point is a
        channel over all images.
    position : ndarray of shape (n_points, 2) or None
        ``(row, col)`` of each point for ``spatial`` mode.
    channel_index : ndarray of shape (n_points,) or None
        The channel of each point for ``channel`` mode.
    mode : str
    layer : str
    params : dict
        Every choice that made the cloud (standardise, projection, budget, subsample, seed,
        the source shape).
    """

    points: np.ndarray
    image_index: np.ndarray
    position: Optional[np.ndarray] = None
    channel_index: Optional[np.ndarray] = None
    mode: str = "linear"
    layer: str = ""
    params: dict = field(default_factory=dict)

    _figure_builder = "point_cloud_figure"

    def summary(self) -> str:
        """One line: layer, points, dimensions, mode; also the ``repr``. In a notebook the
        cloud shows as a scatter of its first two principal components."""
        where = f" of {self.layer!r}" if self.layer else ""
        return one_line(f"PointCloud{where}: {self.n_points} points in {self.n_dims} dims ({self.mode})")

    @property
    def n_points(self) -> int:
        return int(self.points.shape[0])

    @property
    def n_dims(self) -> int:
        return int(self.points.shape[1])

    @property
    def provenance(self) -> dict:
        """Per-point provenance arrays: ``image_index`` and, where they apply, ``position`` and
        ``channel_index``."""
        out = {"image_index": self.image_index}
        if self.position is not None:
            out["position"] = self.position
        if self.channel_index is not None:
            out["channel_index"] = self.channel_index
        return out

    def images_of(self, point_indices) -> np.ndarray:
        """Sorted unique image indices behind some points (empty for channel mode)."""
        idx = np.asarray(point_indices, dtype=np.int64)
        images = self.image_index[idx]
        return np.unique(images[images >= 0])


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


def estimate_cloud_bytes(n_points: int, n_dims: int) -> int:
    """Bytes of the float64 coordinates of a cloud."""
    return int(n_points) * int(n_dims) * 8


def _fmt(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB" if n < 1024**3 else f"{n / 1024**3:.2f} GiB"


def farthest_point_sample(points: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Greedy farthest-point subsample: indices of ``k`` points, the first chosen at random.

    Each next point is the one farthest (Euclidean) from those already chosen; O(n k) time and
    O(n) memory.

    Returns
    -------
    ndarray of shape (k,), int64
        Indices in the order they were chosen.
    """
    n = points.shape[0]
    k = int(min(k, n))
    rng = np.random.default_rng(seed)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(n)
    sq_norms = np.einsum("ij,ij->i", points, points)
    nearest = np.full(n, np.inf)
    for i in range(1, k + 1):
        c = points[chosen[i - 1]]
        d2 = sq_norms - 2.0 * points @ c + c @ c
        np.minimum(nearest, np.maximum(d2, 0.0), out=nearest)
        # A chosen point is never chosen again, even when duplicates leave every distance 0.
        nearest[chosen[i - 1]] = -1.0
        if i == k:
            break
        chosen[i] = int(np.argmax(nearest))
    return chosen


def make_cloud(
    activations: Any,
    mode: str = "auto",
    *,
    layer: str = "",
    standardize: bool = False,
    projection: Optional[str] = None,
    n_components: Optional[int] = None,
    max_points: Optional[int] = None,
    subsample: str = "random",
    seed: int = 0,
    max_bytes: int = DEFAULT_CLOUD_MAX_BYTES,
    position: Any = None,
) -> PointCloud:
    """Turn one layer's activations into a point cloud.

    Parameters
    ----------
    activations : array-like of shape (N, C, H, W) or (N, F)
        One layer's outputs for N images (numpy; torch tensors are converted).
    mode : str, default "auto"
        One of :data:`MODES` or "auto" (see the module docstring).
    layer : str
        The layer's name, recorded in the cloud.
    standardize : bool, default False
        Z-score every coordinate (constant coordinates are only centred).
    projection : {None, "pca", "random"}
        Project to ``n_components`` dimensions: PCA (SVD of the centred cloud) or a seeded
        Gaussian random projection scaled by ``1/sqrt(n_components)``.
    n_components : int, optional
        Target dimension for ``projection`` (required with it).
    max_points : int, optional
        Point budget; larger clouds are subsampled to it. ``None`` keeps every point. A budget
        larger than the cloud keeps every point and is recorded as such.
    subsample : {"random", "farthest"}
        Seeded uniform sample without replacement, or greedy farthest-point sampling (spreads
        the sample over the cloud, keeps outliers). Applied last, on the final coordinates.
    seed : int, default 0
        Seeds the subsample, the random projection and ``image-random-position``'s positions
        (:func:`random_positions`).
    max_bytes : int, default 1 GiB
        Budget for the cloud's float64 coordinates, checked before the cloud is allocated.
    position : array-like of shape (N, 2), optional
        Only for ``image-top-l2`` / ``image-random-position``: ``activations`` then holds the
        vectors already selected, shape (N, C) (what a streamed capture keeps; see
        :func:`split_selection`), and ``position`` their ``(row, col)``.

    Returns
    -------
    PointCloud

    Raises
    ------
    TDAInputError
        Unknown mode, projection or subsample; a mode that does not fit the layer's shape;
        empty or non-finite activations; bad ``n_components`` / ``max_points``.
    BudgetExceededError
        The cloud would need more than ``max_bytes`` (the message says which knob to turn).
    """
    arr = activations
    if hasattr(arr, "detach"):  # a torch tensor, without importing torch here
        arr = arr.detach().cpu().numpy()
    arr = np.asarray(arr)
    selected = position is not None
    if selected:
        position = np.asarray(position, dtype=np.int64)
        if mode not in POSITION_MODES or arr.ndim != 2 or position.shape != (arr.shape[0], 2):
            raise TDAInputError(
                f"make_cloud(position=...) takes the vectors already selected for one of {list(POSITION_MODES)}: "
                f"activations of shape (N, C) and position of shape (N, 2); got mode={mode!r}, activations "
                f"{arr.shape}, position {position.shape}. Pass the full (N, C, H, W) activations without position."
            )
    if arr.ndim < 2:
        raise TDAInputError(
            f"activations must have a batch axis and at least one feature axis, e.g. (N, F) or "
            f"(N, C, H, W); got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise TDAInputError(f"activations of layer {layer!r} hold no image (shape {arr.shape}); capture at least 2 images.")
    if not selected:
        mode = resolve_mode(mode, arr.shape[1:], layer, n_images=arr.shape[0])
    # CloudSpec's declarations are the rules (make_cloud and CloudSpec accept and refuse the same
    # values); only the default of max_points differs: this pure function keeps every point
    # unless asked, a Study's CloudSpec subsamples to its declared budget.
    CloudSpec.check("make_cloud", projection=projection, subsample=subsample, n_components=n_components,
                    max_points=max_points, seed=seed, standardize=standardize)
    CloudSpec.check_projection(projection, n_components, "make_cloud")

    n = arr.shape[0]
    channel_index = None
    if mode in _IMAGE_MODES or mode in POSITION_MODES:
        n_points = n
        n_dims = int(np.prod(arr.shape[1:])) if mode in ("image-flatten", "linear") else arr.shape[1]
    elif mode == "spatial":
        _, c, h, w = arr.shape
        n_points, n_dims = n * h * w, c
    else:  # channel
        _, c, h, w = arr.shape
        n_points, n_dims = c, n * h * w

    # A random budget for spatial mode is drawn before gathering, so huge N*H*W clouds are
    # never materialised; the memory check then applies to what is actually built.
    sample_first = mode == "spatial" and max_points is not None and subsample == "random" and max_points < n_points
    built_points = int(max_points) if sample_first else n_points
    need = estimate_cloud_bytes(built_points, n_dims)
    if need > max_bytes:
        raise BudgetExceededError(
            f"The {mode!r} cloud of layer {layer!r} would have {built_points} points in {n_dims} "
            f"dimensions, about {_fmt(need)}, over the budget max_bytes={_fmt(int(max_bytes))}. "
            "Lower max_points (the point budget), use a pooled mode ('image-avgpool'), or raise max_bytes."
        )

    rng = np.random.default_rng(seed)
    if mode == "image-flatten" or mode == "linear":
        points = arr.reshape(n, -1)
        image_index = np.arange(n)
    elif mode == "image-avgpool":
        points = arr.mean(axis=(2, 3), dtype=np.float64)
        image_index = np.arange(n)
    elif mode == "image-maxpool":
        points = arr.max(axis=(2, 3))
        image_index = np.arange(n)
    elif mode in POSITION_MODES:
        image_index = np.arange(n)
        if selected:
            points = arr
        else:
            _, c, h, w = arr.shape
            flat = top_l2_positions(arr) if mode == "image-top-l2" else random_positions(image_index, h, w, seed)
            rows, cols = np.divmod(flat, w)
            points = arr[image_index, :, rows, cols]
            position = np.stack([rows, cols], axis=1).astype(np.int64)
    elif mode == "spatial":
        _, c, h, w = arr.shape
        flat = np.arange(n_points) if not sample_first else np.sort(rng.choice(n_points, int(max_points), replace=False))
        image_index, rem = np.divmod(flat, h * w)
        rows, cols = np.divmod(rem, w)
        points = arr[image_index, :, rows, cols]
        position = np.stack([rows, cols], axis=1).astype(np.int64)
    else:  # channel
        points = np.moveaxis(arr, 1, 0).reshape(arr.shape[1], -1)
        image_index = np.full(points.shape[0], -1)
        channel_index = np.arange(points.shape[0])
    points = np.ascontiguousarray(points, dtype=np.float64)
    image_index = np.asarray(image_index, dtype=np.int64)

    bad = points.size - np.count_nonzero(np.isfinite(points))
    if bad:
        raise TDAInputError(
            f"Layer {layer!r} has {bad} non-finite (NaN or infinite) values in its {mode!r} cloud; "
            "check the inputs and the model's weights."
        )

    if standardize:
        mean = points.mean(axis=0)
        std = points.std(axis=0)
        points = (points - mean) / np.where(std > 0, std, 1.0)
    if projection is not None:
        k = int(n_components)
        if projection == "pca":
            k = min(k, points.shape[0], points.shape[1])
            centred = points - points.mean(axis=0)
            _, _, vt = np.linalg.svd(centred, full_matrices=False)
            points = centred @ vt[:k].T
        else:
            matrix = rng.standard_normal((points.shape[1], k)) / np.sqrt(k)
            points = points @ matrix
        points = np.ascontiguousarray(points)

    kept = None
    if max_points is not None and not sample_first and int(max_points) < points.shape[0]:
        if subsample == "random":
            kept = np.sort(rng.choice(points.shape[0], int(max_points), replace=False))
        else:
            kept = farthest_point_sample(points, int(max_points), seed=seed)
        points = points[kept]
        image_index = image_index[kept]
        position = None if position is None else position[kept]
        channel_index = None if channel_index is None else channel_index[kept]

    params = {
        "source_shape": tuple(int(s) for s in arr.shape),
        # What position (row, col) counts in: the layer's spatial size (for marking it on an image).
        "spatial_shape": tuple(int(s) for s in arr.shape[2:]) if arr.ndim == 4 else None,
        "n_points_before_budget": int(n_points),
        "standardize": bool(standardize),
        "projection": projection,
        "n_components": None if projection is None else int(points.shape[1]),
        "max_points": None if max_points is None else int(max_points),
        "subsample": subsample if (kept is not None or sample_first) else None,
        "seed": int(seed),
    }
    return PointCloud(points=points, image_index=image_index, position=position,
                      channel_index=channel_index, mode=mode, layer=layer, params=params)
