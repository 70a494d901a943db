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

from ..core._display import RichDisplay, one_line
from ..core.formatting import format_bytes
from .modes import (  # noqa: F401 (the tables, kept importable from here)
    MODE_RECORDS, MODES, POOLED_MODES, POSITION_MODES, STREAMED_MODES, Mode, random_positions, split_selection,
    top_l2_positions)
from ..core.errors import BudgetExceededError, TDAInputError
from ..core.options import Spec, option

__all__ = [
    "MODES",
    "MODE_RECORDS",
    "Mode",
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

PROJECTIONS = (None, "pca", "random")
SUBSAMPLES = ("random", "farthest")
#: Element-wise functions ``CloudSpec.activation`` names (the capture applies them with torch:
#: ``tda_widgets.capture.ELEMENTWISE``); a callable is accepted too.
ACTIVATIONS = (None, "relu", "gelu", "sigmoid", "tanh", "abs")

#: Modes that need a convolutional output (N, C, H, W).
_CONV_MODES = tuple(m.name for m in MODE_RECORDS.values() if m.accepts == "conv")

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
        """Deprecated: read :attr:`reduction`, which the capture uses.

        "avg" or "max" for the pooled modes (``auto`` pools), None for every other mode, also
        the one-position modes that a capture reduces too (where :attr:`reduction` says
        "top-l2" or "random-position"). Nothing in the package read it; it warns and goes in
        the next minor release.
        """
        import warnings

        warnings.warn("CloudSpec.pooling is deprecated and will be removed in the next minor release; read "
                      "CloudSpec.reduction (the capture's reduction: 'avg', 'max', 'top-l2', 'random-position' "
                      "or None) instead.", DeprecationWarning, stacklevel=2)
        return self.reduction if self.reduction in ("avg", "max") else None

    @property
    def reduction(self) -> Optional[str]:
        """The reduction a capture may apply to each batch for this cloud ("avg", "max",
        "top-l2" or "random-position"; ``auto`` pools), keeping only (N, C); None when the
        cloud needs the full activations. Convolutional layers only: other layers are stored as
        they are."""
        return MODE_RECORDS["image-avgpool" if self.mode == "auto" else self.mode].reduction


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
    if MODE_RECORDS[mode].accepts == "linear" and len(shape) != 1:
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


def estimate_cloud_bytes(n_points: int, n_dims: int) -> int:
    """Bytes of the float64 coordinates of a cloud."""
    return int(n_points) * int(n_dims) * 8


_fmt = format_bytes  # the package's one byte formatter (core.formatting)


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
    record = MODE_RECORDS[mode]
    n_points, n_dims = record.size(n, arr.shape[1:]) if not selected else (n, arr.shape[1])

    # A random budget for spatial mode is drawn before gathering, so huge N*H*W clouds are
    # never materialised; the memory check then applies to what is actually built.
    sample_first = (record.samples_before_building and max_points is not None and subsample == "random"
                    and max_points < n_points)
    built_points = int(max_points) if sample_first else n_points
    need = estimate_cloud_bytes(built_points, n_dims)
    if need > max_bytes:
        raise BudgetExceededError(
            f"The {mode!r} cloud of layer {layer!r} would have {built_points} points in {n_dims} "
            f"dimensions, about {_fmt(need)}, over the budget max_bytes={_fmt(int(max_bytes))}. "
            "Lower max_points (the point budget), use a pooled mode ('image-avgpool'), or raise max_bytes."
        )

    rng = np.random.default_rng(seed)
    if selected:  # the vectors a streamed capture selected, with their positions
        points, image_index, channel_index = arr, np.arange(n), None
    else:
        sample = np.sort(rng.choice(n_points, int(max_points), replace=False)) if sample_first else None
        points, image_index, position, channel_index = record.build(arr, sample, seed)
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
