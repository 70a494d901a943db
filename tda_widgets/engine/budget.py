"""Memory estimates of a study before anything is captured.

One forward pass on a single example gives every layer's output shape; from it and the number
of images, :func:`estimate_study` computes, per layer:

- the float32 bytes of the full activations for N images (what a naive "keep every activation"
  capture stores) and of the spatially pooled ones (what :class:`tda_widgets.Study` stores when
  it streams a pooled mode, ``stream_pooled=True``; a one-position mode, ``image-top-l2`` or
  ``image-random-position``, stores ``(N, C + 4)``: the vector, its position, the layer's size);
- the cloud's size after the point budget and projection (points x dimensions, float64 bytes);
- the bytes of its dense distance matrix and the conservative persistence estimate of
  :func:`tda_widgets.topology.estimate_persistence_cost`.

:func:`check_budget` raises :class:`~tda_widgets.errors.BudgetExceededError` when the study's
peak would exceed a budget, saying the estimate, the budget and which knob to turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from torch import nn

from ..clouds.make import CloudSpec, resolve_mode
from ..clouds.modes import MODE_RECORDS, POOLED_MODES, POSITION_MODES, STREAMED_MODES
from ..core.errors import BudgetExceededError, TDAInputError, TDATypeError
from ..core.formatting import format_bytes  # also this module's name, as before
from ..topology.cka import CKASpec
from ..topology.persistence import PersistenceSpec

_P, _C = PersistenceSpec(), CKASpec()  # the declared defaults

__all__ = ["LayerEstimate", "StudyEstimate", "estimate_study", "check_budget", "format_bytes"]



#: The share of the capture budget (``max_bytes``) one forward pass may use, and the bounds of a
#: batch size derived from it (4: the smallest minibatch with an unbiased HSIC).
FORWARD_SHARE = 0.25
MIN_BATCH, MAX_BATCH = 4, 256
#: Resident memory of a capture of several batches over one batch's forward pass: the allocator
#: does not hand all of a batch's memory back before the next reuses it. Measured on ResNet-18 at
#: 224 px (2 to 7 batches of 38-76 images): +15 to +33 %; a single batch: +0 %.
MULTI_BATCH_OVERHEAD = 1.25


def forward_bytes_per_image(model: nn.Module, example: Any) -> int:
    """The peak memory of one image's forward pass (eval, no_grad): the most bytes of module
    outputs alive at once, measured on one image.

    Every leaf module's output is counted from the moment it is produced until Python frees it
    (a weak-reference finaliser); an in-place op (ReLU(inplace=True), ``out += identity``)
    adds nothing. Measured this way: ResNet-18 at 224 px 6.7 MiB per image, ResNet-50 10.5 MiB;
    the resident memory of real batches grew by 6.1 and 11.2 MiB per image.
    """
    import weakref

    import torch

    from ..capture.hooks import _eval_mode, _first_tensor, _iter_batches, model_device

    batches, _ = _iter_batches(example, 1)
    image = _first_tensor(next(iter(batches)))
    device = model_device(model)
    param = next((p for p in model.parameters() if p.is_floating_point()), None)
    # a copy: a batch of one is a view whose storage is the whole input tensor
    image = image.to(device, param.dtype if param is not None and image.is_floating_point() else image.dtype,
                     copy=True)
    state = {"live": 0, "peak": 0, "seen": set()}

    def free(ptr: int, n: int) -> None:
        state["live"] -= n
        state["seen"].discard(ptr)

    def track(t: Any) -> None:
        if not isinstance(t, torch.Tensor):
            return
        ptr = t.untyped_storage().data_ptr()
        if ptr in state["seen"]:
            return
        n = t.untyped_storage().nbytes()
        state["seen"].add(ptr)
        state["live"] += n
        state["peak"] = max(state["peak"], state["live"])
        weakref.finalize(t, free, ptr, n)

    leaves = [m for name, m in model.named_modules() if name and not any(True for _ in m.children())] or [model]
    handles = [m.register_forward_hook(lambda module, args, out: track(out)) for m in leaves]
    try:
        with _eval_mode(model):
            track(image)
            model(image)
    finally:
        for handle in handles:
            handle.remove()
    return int(state["peak"])


def exact_cka_bytes(full_bytes: int, n_images: int, n_layers: int) -> int:
    """The peak of exact CKA after its capture: the stored full activations (``full_bytes``),
    their float64 copies while computing, and one n x n Gram matrix per layer."""
    return int(3 * full_bytes + n_layers * n_images * n_images * 8)


def cka_fits_exactly(full_bytes: int, n_images: int, n_layers: int, capture_bytes: int) -> bool:
    """The rule of ``estimator="auto"``: exact CKA when its peak fits the capture budget."""
    return exact_cka_bytes(full_bytes, n_images, n_layers) <= capture_bytes


def batch_size_for(per_image_bytes: int, max_bytes: int) -> int:
    """The batch size whose forward pass fits ``FORWARD_SHARE`` of ``max_bytes``, within
    ``[MIN_BATCH, MAX_BATCH]``."""
    fit = int(FORWARD_SHARE * max_bytes // max(int(per_image_bytes), 1))
    return max(MIN_BATCH, min(MAX_BATCH, fit))


def check_batch_size(batch_size: int, per_image_bytes: int, max_bytes: int, where: str = "Study") -> int:
    """A user-given batch size, refused (naming the knobs) when its forward pass alone exceeds
    ``max_bytes``."""
    need = int(batch_size) * int(per_image_bytes)
    if need > max_bytes:
        raise BudgetExceededError(
            f"The forward pass of batch_size={batch_size} needs about {format_bytes(need)} "
            f"({format_bytes(per_image_bytes)} per image) but the budget max_bytes of {where} is "
            f"{format_bytes(max_bytes)}. Lower batch_size (about {max(1, int(max_bytes // max(per_image_bytes, 1)))} "
            f"fits; leave it out to derive it from the budget) or raise max_bytes.")
    return int(batch_size)


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
        streamed, ``4 N (C + 4)`` for a streamed one-position mode, else ``full_bytes``.
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
        CKA between the layers (:meth:`tda_widgets.Study.cka`): the exact estimator flattens the
        full activations of every layer and keeps one N x N Gram matrix per layer; the streamed
        (minibatch) one keeps one batch's Gram matrices.
    forward_bytes : int
        One forward pass of ``batch_size`` images (measured on one image, see
        :func:`forward_bytes_per_image`), times :data:`MULTI_BATCH_OVERHEAD` when there are
        several batches.
    batch_size : int
    cka_estimator : str
        "exact", "minibatch", or "none" (CKA left out of the peak).

    ``peak_bytes`` is the largest of the capture (stored activations + one forward pass +
    streamed CKA), the topology (stored activations + clouds + the largest single step) and,
    for exact CKA, the CKA step.
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
    forward_bytes: int = 0
    batch_size: int = 0
    cka_estimator: str = "none"

    def as_dict(self) -> dict:
        """Plain dict: ``{"layers": [dict, ...], totals...}`` (e.g. for ``pandas.DataFrame``)."""
        out = {k: getattr(self, k) for k in ("n_images", "naive_capture_bytes", "capture_bytes", "clouds_bytes",
                                              "peak_bytes", "naive_peak_bytes", "cka_bytes", "forward_bytes",
                                              "batch_size", "cka_estimator")}
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
            f"(naive: {format_bytes(self.naive_peak_bytes)}); forward pass {format_bytes(self.forward_bytes)} "
            f"(batches of {self.batch_size}); CKA ({self.cka_estimator}) needs {format_bytes(self.cka_bytes)}."
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _layer_estimate(layer: str, shape: tuple, n: int, spec, maxdim: int, stream_pooled: bool) -> LayerEstimate:
    from ..topology.persistence import estimate_persistence_cost

    mode = resolve_mode(spec.mode, shape, layer)
    full = 4 * n * math.prod(shape)
    pooled = 4 * n * shape[0] if len(shape) == 3 else full
    if stream_pooled and mode in POSITION_MODES:  # the vector, its row and column, the layer's size
        captured = 4 * n * (shape[0] + 4)
    else:
        captured = pooled if (stream_pooled and mode in POOLED_MODES) else full
    record = MODE_RECORDS[mode]  # the same size make_cloud builds (one record per mode)
    points, dims = record.size(n, tuple(shape))
    sampled_first = record.samples_before_building and spec.max_points is not None and spec.subsample == "random"
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
                   spec: Any = None, *, maxdim: int = _P.maxdim, stream_pooled: bool = True,
                   batch_size: Optional[int] = None, capture_bytes: int = 2 * 1024**3,
                   cka: Optional[str] = _C.estimator) -> StudyEstimate:
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
    batch_size : int, optional
        Images per forward pass; default: derived from ``capture_bytes`` as the Study does.
    capture_bytes : int, default 2 GiB
        The Study's capture budget (its ``max_bytes``).
    cka : {"auto", "exact", "minibatch"} or None, default "auto"
        Include CKA (as :meth:`tda_widgets.Study.compare` computes it) in the peak; None leaves it out.

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
    shapes, per_image, n_images, spec = _study_inputs(model, example, layers, n_images, spec)
    return _estimate_from(shapes, per_image, n_images, spec, maxdim=maxdim, stream_pooled=stream_pooled,
                          batch_size=batch_size, capture_bytes=capture_bytes, cka=cka)


def _study_inputs(model, example, layers, n_images, spec) -> tuple[dict, int, int, CloudSpec]:
    """What an estimate needs from the model, checked: ``({layer: output shape per image},
    forward bytes per image, n_images, spec)`` (one forward pass on one image)."""
    from ..capture.hooks import describe_layers, resolve_layers
    from ..capture.layers import expand_layers

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
    for name in names:
        if shapes.get(name) is None:
            raise TDAInputError(
                f"Layer {name!r} did not return a tensor in a forward pass on the example (or did not run); "
                "choose layers listed by tda_widgets.describe_layers(model, example)."
            )
    return {name: tuple(shapes[name]) for name in names}, forward_bytes_per_image(model, example), n_images, spec


def _estimate_from(shapes: dict, per_image: int, n_images: int, spec: CloudSpec, *, maxdim: int,
                   stream_pooled: bool, batch_size: Optional[int], capture_bytes: int,
                   cka: Optional[str]) -> StudyEstimate:
    """:func:`estimate_study` from the layers' output shapes (``{name: shape per image}``) and
    the forward pass's bytes per image: arithmetic only, so :func:`check_budget` can ask it
    for other image counts without running the model again."""
    rows = [_layer_estimate(name, shape, n_images, spec, maxdim, stream_pooled) for name, shape in shapes.items()]
    naive = sum(r.full_bytes for r in rows)
    captured = sum(r.captured_bytes for r in rows)
    clouds = sum(r.cloud_bytes for r in rows)
    transient = max(max(r.build_bytes, r.persistence_bytes) for r in rows)
    batch = batch_size_for(per_image, capture_bytes) if batch_size is None else int(batch_size)
    forward = min(batch, n_images) * per_image * (MULTI_BATCH_OVERHEAD if n_images > batch else 1.0)
    if cka == "auto":
        cka = "exact" if cka_fits_exactly(naive, n_images, len(rows), capture_bytes) else "minibatch"
    if cka == "exact":
        cka_bytes = exact_cka_bytes(naive, n_images, len(rows))
    elif cka == "minibatch":  # one batch's U-centred Gram matrices, float64, and their flattened stack
        cka_bytes = 2 * len(rows) * min(batch, n_images) ** 2 * 8
    else:
        cka, cka_bytes = "none", 0
    in_batch = min(batch, n_images) / n_images  # a batch's copies of what is stored, before it is written
    phases = [captured * (1 + in_batch) + forward + (cka_bytes if cka == "minibatch" else 0),
              captured + clouds + transient]
    if cka == "exact":  # its own capture of every full activation, then float64 copies while computing
        phases += [naive * (1 + in_batch) + forward, cka_bytes + clouds]
    return StudyEstimate(layers=rows, n_images=n_images, naive_capture_bytes=int(naive),
                         capture_bytes=int(captured), clouds_bytes=int(clouds), peak_bytes=int(max(phases)),
                         naive_peak_bytes=int(max([naive * (1 + in_batch) + forward, naive + clouds + transient] + phases[2:])),
                         cka_bytes=int(cka_bytes), spec=spec,
                         forward_bytes=int(forward), batch_size=int(batch), cka_estimator=cka)


def check_budget(model: nn.Module, example: Any, layers: Any = None, n_images: Optional[int] = None,
                 spec: Any = None, *, max_bytes: int, maxdim: int = _P.maxdim, stream_pooled: bool = True,
                 batch_size: Optional[int] = None, capture_bytes: int = 2 * 1024**3,
                 cka: Optional[str] = _C.estimator) -> StudyEstimate:
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
    shapes, per_image_forward, n_images, spec = _study_inputs(model, example, layers, n_images, spec)

    def estimate(n: int) -> StudyEstimate:
        return _estimate_from(shapes, per_image_forward, n, spec, maxdim=maxdim, stream_pooled=stream_pooled,
                              batch_size=batch_size, capture_bytes=capture_bytes, cka=cka)

    est = estimate(n_images)
    if est.peak_bytes <= max_bytes:
        return est
    spec = est.spec
    biggest = max(est.layers, key=lambda r: r.captured_bytes)
    transient = max(max(r.build_bytes, r.persistence_bytes) for r in est.layers)
    knobs = []
    if est.forward_bytes > 0.25 * est.peak_bytes:
        knobs.append(f"lower batch_size (batches of {est.batch_size} need {format_bytes(est.forward_bytes)} "
                     "for the forward pass)")
    if est.cka_estimator == "exact" and est.cka_bytes > 0.5 * est.peak_bytes:
        knobs.append("stream CKA (estimator='minibatch' keeps no activation)")
    # the most images that fit: the same estimate at other image counts (the peak grows with them)
    fit = _largest_fitting(lambda n: estimate(n).peak_bytes <= max_bytes, est.n_images)
    if fit:
        knobs.append(f"use fewer images (n_images={fit} fits)")
    largest = max(est.layers, key=lambda r: r.persistence_bytes)
    if largest.persistence_bytes > 0.25 * est.peak_bytes:  # the point budget's own cost, not the cloud's build
        knobs.append(f"lower the point budget (max_points={spec.max_points}: layer {largest.layer!r} has "
                     f"{largest.cloud_points} points, a {format_bytes(largest.distance_matrix_bytes)} distance matrix)")
    if any(r.mode not in STREAMED_MODES and len(r.output_shape) == 3 for r in est.layers):
        knobs.append("use a pooled mode or a one-position mode (CloudSpec(mode='image-avgpool') or 'image-top-l2' "
                     "is streamed: only (N, C) is kept)")
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


def _largest_fitting(fits, n_images: int) -> int:
    """The largest n < ``n_images`` with ``fits(n)`` (the peak grows with the image count), or 0
    when not even one image fits."""
    if not fits(1):
        return 0
    low, high = 1, n_images - 1  # fits(low); the answer is in [low, high]
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return low
