"""Memory estimates of a study before anything is captured.

One forward pass on a single example gives every layer's output shape; from it and the number
of images, :func:`estimate_study` computes, per layer:

- the float32 bytes of the full activations for N images (what a naive "keep every activation"
  capture stores) and of the spatially pooled ones (what :class:`tda_widgets.Study` stores when
  it streams a pooled mode, ``stream_pooled=True``);
- the cloud's size after the point budget and projection (points x dimensions, float64 bytes);
- the bytes of its dense distance matrix and the conservative persistence estimate of
  :func:`tda_widgets.topology.estimate_persistence_cost`.

:func:`check_budget` raises :class:`~tda_widgets.errors.BudgetExceededError` when the study's
peak would exceed a budget, saying the estimate, the budget and which knob to turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from torch import nn

from .clouds import POOLED_MODES, CloudSpec, resolve_mode
from .errors import BudgetExceededError, TDAInputError, TDATypeError

__all__ = ["LayerEstimate", "StudyEstimate", "estimate_study", "check_budget", "format_bytes"]



def format_bytes(n: float) -> str:
    """Bytes in binary units, e.g. ``format_bytes(3 * 1024**2) == '3.0 MiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


@dataclass(frozen=True)
class LayerEstimate:
    """The memory estimate of one layer (see :func:`estimate_study`).

    Attributes
    ----------
    layer : str
    output_shape : tuple of int
        Per-image output shape, e.g. ``(64, 8, 8)``.
    mode : str
        The cloud mode once ``"auto"`` is resolved.
    full_bytes : int
        float32 bytes of the full activations of every image.
    pooled_bytes : int
        float32 bytes of the spatially pooled activations ``(N, C)`` (= ``full_bytes`` for a
        layer whose output is not 4-D).
    captured_bytes : int
        What the study stores for this layer: ``pooled_bytes`` when the mode is pooled and
        streamed, else ``full_bytes``.
    cloud_points, cloud_dims : int
        The cloud's size after the point budget and projection.
    cloud_bytes : int
        float64 bytes of the final cloud.
    build_bytes : int
        float64 bytes of the cloud before subsampling (built transiently).
    distance_matrix_bytes : int
        ``cloud_points**2 * 8``.
    persistence_bytes : int
        The conservative estimate of the persistence computation on the cloud.
    """

    layer: str
    output_shape: tuple
    mode: str
    full_bytes: int
    pooled_bytes: int
    captured_bytes: int
    cloud_points: int
    cloud_dims: int
    cloud_bytes: int
    build_bytes: int
    distance_matrix_bytes: int
    persistence_bytes: int


@dataclass(frozen=True)
class StudyEstimate:
    """The memory estimate of a study: one :class:`LayerEstimate` per layer and totals.

    Attributes
    ----------
    layers : list of LayerEstimate
    n_images : int
    naive_capture_bytes : int
        Every layer's full activations (keep every activation).
    capture_bytes : int
        What the study stores (pooled where streamed).
    clouds_bytes : int
        Every final cloud.
    peak_bytes : int
        ``capture_bytes + clouds_bytes`` plus the largest transient step (building one cloud,
        or one layer's persistence): the study's estimated peak.
    naive_peak_bytes : int
        The same with every full activation kept.
    cka_bytes : int
        Linear CKA between the layers (:meth:`tda_widgets.Study.cka`) flattens the full
        activations of every layer and keeps one N x N Gram matrix per layer.
    """

    layers: list
    n_images: int
    naive_capture_bytes: int
    capture_bytes: int
    clouds_bytes: int
    peak_bytes: int
    naive_peak_bytes: int
    cka_bytes: int
    spec: Any = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """Plain dict: ``{"layers": [dict, ...], totals...}`` (e.g. for ``pandas.DataFrame``)."""
        out = {k: getattr(self, k) for k in ("n_images", "naive_capture_bytes", "capture_bytes", "clouds_bytes",
                                              "peak_bytes", "naive_peak_bytes", "cka_bytes")}
        out["layers"] = [dict(vars(row)) for row in self.layers]
        return out

    def table(self) -> str:
        """A plain-text table, one row per layer, then the totals."""
        header = ("layer", "output", "mode", "full", "stored", "cloud", "cloud bytes", "dist. matrix")
        rows = [header]
        for r in self.layers:
            rows.append((r.layer, "x".join(map(str, r.output_shape)), r.mode, format_bytes(r.full_bytes),
                         format_bytes(r.captured_bytes), f"{r.cloud_points} x {r.cloud_dims}",
                         format_bytes(r.cloud_bytes), format_bytes(r.distance_matrix_bytes)))
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
        lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(
            f"{self.n_images} images: activations stored {format_bytes(self.capture_bytes)} "
            f"(keeping every activation: {format_bytes(self.naive_capture_bytes)}), clouds "
            f"{format_bytes(self.clouds_bytes)}, estimated peak {format_bytes(self.peak_bytes)} "
            f"(naive: {format_bytes(self.naive_peak_bytes)}); CKA needs {format_bytes(self.cka_bytes)}."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _layer_estimate(layer: str, shape: tuple, n: int, spec, maxdim: int, stream_pooled: bool) -> LayerEstimate:
    from .topology.persistence import estimate_persistence_cost

    mode = resolve_mode(spec.mode, shape, layer)
    full = 4 * n * math.prod(shape)
    pooled = 4 * n * shape[0] if len(shape) == 3 else full
    captured = pooled if (stream_pooled and mode in POOLED_MODES) else full
    if mode in ("image-flatten", "linear"):
        points, dims = n, math.prod(shape)
    elif mode in POOLED_MODES:
        points, dims = n, shape[0]
    elif mode == "spatial":
        points, dims = n * shape[1] * shape[2], shape[0]
    else:  # channel
        points, dims = shape[0], n * shape[1] * shape[2]
    sampled_first = mode == "spatial" and spec.max_points is not None and spec.subsample == "random"
    build_points = min(points, spec.max_points) if sampled_first else points
    build = build_points * dims * 8
    if spec.projection == "pca":
        dims = min(int(spec.n_components), build_points, dims)
    elif spec.projection == "random":
        dims = int(spec.n_components)
    if spec.max_points is not None:
        points = min(points, int(spec.max_points))
    cost = estimate_persistence_cost(points, dims, maxdim)
    return LayerEstimate(layer=layer, output_shape=tuple(shape), mode=mode, full_bytes=int(full),
                         pooled_bytes=int(pooled), captured_bytes=int(captured), cloud_points=int(points),
                         cloud_dims=int(dims), cloud_bytes=int(points * dims * 8), build_bytes=int(build),
                         distance_matrix_bytes=int(points * points * 8),
                         persistence_bytes=int(cost["estimated_bytes"]))


def estimate_study(model: nn.Module, example: Any, layers: Any = None, n_images: Optional[int] = None,
                   spec: Any = None, *, maxdim: int = 1, stream_pooled: bool = True) -> StudyEstimate:
    """Estimate the memory of a study of ``layers`` on ``n_images`` images, before capturing.

    Parameters
    ----------
    model : torch.nn.Module
        Run once on one image (eval mode, no_grad, left unchanged).
    example : tensor, ndarray, Dataset or DataLoader
        Images batch-first; only the first is used. With ``n_images=None`` its length is the
        number of images.
    layers : str, sequence of str or None
        Layer names, a preset name (see :mod:`tda_widgets.layers`), or None for the model's
        direct children.
    n_images : int, optional
        How many images the study will use (default: ``len(example)``).
    spec : CloudSpec, optional
        How each layer becomes a cloud (default ``CloudSpec()``: ``mode="auto"``, 500 points).
    maxdim : int, default 1
        Highest homology dimension of the persistence estimate.
    stream_pooled : bool, default True
        Whether pooled modes are streamed (as :class:`tda_widgets.Study` does by default).

    Returns
    -------
    StudyEstimate
        Per-layer rows and totals; ``print(estimate)`` shows a table.

    Raises
    ------
    TDAInputError
        Unknown layers, ``n_images`` < 1, or a mode that does not fit a layer.

    Examples
    --------
    >>> est = estimate_study(model, images[:1], "blocks", n_images=1000,
    ...                      spec=CloudSpec(mode="image-avgpool"))      # doctest: +SKIP
    >>> print(est)                                                      # doctest: +SKIP
    """
    from .capture import describe_layers, resolve_layers
    from .layers import expand_layers

    if not isinstance(model, nn.Module):
        raise TDATypeError(f"The 'model' parameter of estimate_study must be a torch.nn.Module. "
                           f"Got {type(model).__name__} instead.")
    spec = CloudSpec() if spec is None else spec
    if n_images is None:
        if not hasattr(example, "__len__"):
            raise TDAInputError("estimate_study needs n_images when example has no length; pass n_images=N.")
        n_images = len(example)
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1:
        raise TDAInputError(f"The 'n_images' parameter of estimate_study must be an int >= 1. Got {n_images!r} instead.")
    names = resolve_layers(model, expand_layers(model, layers, example))
    shapes = {entry["name"]: entry["output_shape"] for entry in describe_layers(model, example)}
    rows = []
    for name in names:
        shape = shapes.get(name)
        if shape is None:
            raise TDAInputError(
                f"Layer {name!r} did not return a tensor in a forward pass on the example (or did not run); "
                "choose layers listed by tda_widgets.describe_layers(model, example)."
            )
        rows.append(_layer_estimate(name, tuple(shape), n_images, spec, maxdim, stream_pooled))
    naive = sum(r.full_bytes for r in rows)
    captured = sum(r.captured_bytes for r in rows)
    clouds = sum(r.cloud_bytes for r in rows)
    transient = max(max(r.build_bytes, r.persistence_bytes) for r in rows)
    cka = naive + len(rows) * n_images * n_images * 8
    return StudyEstimate(layers=rows, n_images=n_images, naive_capture_bytes=int(naive),
                         capture_bytes=int(captured), clouds_bytes=int(clouds),
                         peak_bytes=int(captured + clouds + transient),
                         naive_peak_bytes=int(naive + clouds + transient), cka_bytes=int(cka), spec=spec)


def check_budget(model: nn.Module, example: Any, layers: Any = None, n_images: Optional[int] = None,
                 spec: Any = None, *, max_bytes: int, maxdim: int = 1, stream_pooled: bool = True) -> StudyEstimate:
    """Estimate a study (see :func:`estimate_study`) and refuse it when its peak exceeds ``max_bytes``.

    Parameters
    ----------
    model, example, layers, n_images, spec, maxdim, stream_pooled
        As :func:`estimate_study`.
    max_bytes : int
        The memory budget, in bytes.

    Returns
    -------
    StudyEstimate
        When the study fits.

    Raises
    ------
    BudgetExceededError
        The message gives the estimate, the budget, the largest layer and the knobs that help
        most: fewer images (with the number that would fit), a smaller point budget
        (``max_points``), a pooled mode, or fewer layers.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float)) or max_bytes <= 0:
        raise TDAInputError(f"The 'max_bytes' parameter of check_budget must be a positive number of bytes. "
                            f"Got {max_bytes!r} instead.")
    est = estimate_study(model, example, layers, n_images, spec, maxdim=maxdim, stream_pooled=stream_pooled)
    if est.peak_bytes <= max_bytes:
        return est
    spec = est.spec
    biggest = max(est.layers, key=lambda r: r.captured_bytes)
    transient = est.peak_bytes - est.capture_bytes - est.clouds_bytes
    knobs = []
    # Activations and clouds grow linearly with the number of images; the rest does not.
    per_image = (est.capture_bytes + est.clouds_bytes) / est.n_images
    if per_image > 0 and max_bytes > transient:
        fit = int((max_bytes - transient) // per_image)
        if 1 <= fit < est.n_images:
            knobs.append(f"use fewer images (n_images about {fit} fits)")
    if transient > 0.25 * est.peak_bytes:
        largest = max(est.layers, key=lambda r: r.persistence_bytes)
        knobs.append(f"lower the point budget (max_points={spec.max_points}: layer {largest.layer!r} has "
                     f"{largest.cloud_points} points, a {format_bytes(largest.distance_matrix_bytes)} distance matrix)")
    if any(r.mode not in POOLED_MODES and len(r.output_shape) == 3 for r in est.layers):
        knobs.append("use a pooled mode (CloudSpec(mode='image-avgpool') is streamed: only (N, C) is kept)")
    elif not stream_pooled:
        knobs.append("stream the pooled mode (stream_pooled=True)")
    if len(est.layers) > 1:
        knobs.append(f"choose fewer layers (the largest, {biggest.layer!r}, stores {format_bytes(biggest.captured_bytes)})")
    knobs.append("or raise max_bytes")
    raise BudgetExceededError(
        f"The study of {len(est.layers)} layers on {est.n_images} images needs about "
        f"{format_bytes(est.peak_bytes)} (activations {format_bytes(est.capture_bytes)}, clouds "
        f"{format_bytes(est.clouds_bytes)}, largest single step {format_bytes(transient)}) but the budget "
        f"max_bytes is {format_bytes(max_bytes)}. To fit: " + "; ".join(knobs) + "."
    )
