"""The study's steps: each a cached call of one pure function on its inputs and frozen spec.

==============  ============================================  =================================
step            pure function                                 cache key after (step, model, images)
==============  ============================================  =================================
activations     :func:`~tda_widgets.capture.capture_activations`  layer, reduction, activation,
                                                              seed (random positions only)
cloud           :func:`~tda_widgets.clouds.make_cloud`         layer, CloudSpec
diagrams        :func:`~tda_widgets.topology.persistence.persistence`  layer, CloudSpec, scale, maxdim,
                                                              backend, representatives
distances       :func:`~tda_widgets.topology.distances.layer_distance_matrix`  layers, CloudSpec, scale,
                                                              maxdim, backend, metric, dims, infinite
cka             :func:`~tda_widgets.topology.cka.cka_matrix`   layers, kernel, debiased, backend, device
mapper          :func:`~tda_widgets.topology.mapper.mapper_graph`  layer, CloudSpec, lens, cover,
                                                              clusterer, eps, min_samples, groups
similarity      :func:`~tda_widgets.topology.similarity.similarity_matrix`  layers, CloudSpec, measure
                                                              and that measure's own options
==============  ============================================  =================================

Every function here takes the frozen :class:`~tda_widgets.engine.context.Context` it works on
(model, images and their keys, cache, store, executor and budgets) and the frozen specs of its
options, and never writes onto the context (only into its cache, store, counters and memo). The
Study (:mod:`tda_widgets.engine.study`) is a façade that fills the specs from a preset and calls
the step of the same name. Keys are made in one place (:meth:`Context.key`); results enter the
cache only once a step has completed (so a cancelled or failed run leaves only complete
entries) and are made read-only there. Steps over many layers run through one
:class:`~tda_widgets.engine.scheduler.Batch` (serial, the local process pool, or any
``concurrent.futures.Executor``). The composite results are steps too: :func:`compare`,
:func:`measures_table`, :func:`sensitivity`, :func:`cross_model`, :func:`thumbnails`.

This module imports torch (through the capture); :mod:`tda_widgets.engine`'s package import does
not load it, so process-pool workers stay torch-free.
"""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from ..core._progress import check_cancel, report
from ..capture.hooks import DEFAULT_MAX_BYTES, capture_activations, resolve_layers
from ..clouds.modes import MODE_RECORDS, ONE_POINT_PER_IMAGE
from ..clouds.make import POSITION_MODES, CloudSpec, PointCloud, make_cloud, random_positions, resolve_mode, \
    split_selection
from ..core.errors import TDAInputError
from ..capture.layers import expand_layers
from ..topology.cka import CKASpec, cka_matrix, rank_correlation
from ..topology.distances import DistanceSpec, check_dims, layer_distance_matrix
from ..topology.agreement import MeasuresTable, measures_table as agreement_table
from ..topology.mapper import MapperGraph, MapperSpec, mapper_graph
from ..topology.persistence import PersistenceResult, PersistenceSpec, check_persistence_budget, persistence, \
    rescaled_persistence
from ..topology.scaling import rescale_points
from ..topology.similarity import MEASURE_INFO, MEASURES, SimilaritySpec, similarity_matrix
from .cache import DEFAULT_CACHE_BYTES
from .context import Context
from .results import Comparison
from ..core.scheduler import Batch, resolve_executor

def build_context(model, images, labels=None, layers=None, *, executor=None, batch_size=None,
                  max_bytes: int = DEFAULT_MAX_BYTES, max_memory_bytes: int = 2 * 1024**3, stream_pooled: bool = True,
                  n_images=None, seed: int = 0, cache_bytes: int = DEFAULT_CACHE_BYTES, store=None, preset=None,
                  cache=None) -> Context:
    """Prepare a study's inputs once into the frozen :class:`~tda_widgets.engine.context.Context`
    every step works on.

    Parameters
    ----------
    model, images, labels, layers
        As for :class:`~tda_widgets.engine.study.Study`.
    executor : None, "processes" or concurrent.futures.Executor
        Where per-layer persistence and per-pair distances run: serially, on a local pool of two
        spawned processes, or on any executor (dask's ``client.get_executor()`` for a cluster).
    batch_size : int, optional
        Images per forward pass; default: derived from the model and the budget (the largest
        batch whose forward pass, measured on one image, fits a quarter of ``max_bytes``; 4 to
        256). A given one wins unless its forward pass alone exceeds ``max_bytes`` (refused).
    max_bytes, max_memory_bytes : int
        Memory budgets of the activation capture and of one persistence computation.
    stream_pooled : bool, default True
        Reduce each batch during capture for the modes that allow it (pooled and one-position
        modes, :data:`tda_widgets.clouds.STREAMED_MODES`) instead of storing full activations.
    n_images, seed : int, optional
        Use a seeded sample of this many images (class-balanced when labels are known).
    cache_bytes : int, default 2 GiB
        Bound of the result cache (least recently used evicted; ``cache.stats``).
    store : str or Path, optional
        A directory keeping finished diagrams across sessions (:class:`~tda_widgets.engine.DiskStore`;
        a corrupt or foreign file is ignored and recomputed).
    preset : Preset, optional
        A study preset: its layers and number of images (at most: all of them when there are
        fewer) when ``layers`` / ``n_images`` are not given.
    cache : ResultCache, optional
        A cache to keep results in instead of a new one bounded by ``cache_bytes``: the
        explorers pass :func:`~tda_widgets.engine.shared_cache` of their model, so explorers on
        one model reuse each other's results (every key holds the model's and images'
        fingerprints, and the labels' where a result reads them).
    """
    from ..capture.inputs import ModelKey, count_images, inputs_fingerprint, labels_fingerprint, prepare_images
    from .cache import ResultCache
    from .store import DiskStore

    if preset is not None:
        layers = preset.layers if layers is None else layers
        if n_images is None and preset.n_images is not None and count_images(images) > preset.n_images:
            n_images = preset.n_images
    if cache is not None and not isinstance(cache, ResultCache):
        raise TDAInputError(f"The 'cache' parameter of Study must be a ResultCache (e.g. tda_widgets.engine."
                            f"shared_cache(model)) or None. Got {type(cache).__name__}.")
    model_key = ModelKey(model)
    layers = resolve_layers(model, expand_layers(model, layers, images))
    images, labels = prepare_images(images, labels, n_images, seed)
    inputs_key = inputs_fingerprint(images)
    if cache is not None and not inputs_key.startswith("tensor:"):
        cache.pin(images)  # fingerprinted by identity: that identity stays unique in the cache
    return Context(model=model, model_key=model_key, images=images, labels=labels, inputs_key=inputs_key,
                   # only the steps that read the labels (a mapper node's classes) add this to their keys
                   labels_key=None if labels is None else labels_fingerprint(labels), layers=tuple(layers),
                   n_images=count_images(images), executor=executor,
                   requested_batch_size=requested_batch_size(batch_size), max_bytes=max_bytes,
                   max_memory_bytes=max_memory_bytes, stream_pooled=stream_pooled,
                   cache=cache if cache is not None else ResultCache(cache_bytes),
                   store=DiskStore(store) if store is not None else None)


#: The capture's reductions, one per streamed mode (the modes' records say which).
REDUCTIONS = (None,) + tuple(dict.fromkeys(m.reduction for m in MODE_RECORDS.values() if m.reduction))
#: The one-position reductions and their modes ("top-l2" -> "image-top-l2", ...).
_SELECTION_MODES = {reduce: mode for mode, reduce in POSITION_MODES.items()}
#: Every capture of a study feeds the images in one seeded order (and stores them back in their
#: own): minibatches then mix the classes, as a streamed (minibatch) CKA needs, even for a
#: dataset sorted by class (an ImageFolder); and since every capture batches the images the
#: same way, a layer's numbers never depend on which capture computed them.
CAPTURE_ORDER_SEED = 0


def capture_order(ctx) -> np.ndarray:
    return np.random.default_rng(CAPTURE_ORDER_SEED).permutation(ctx.n_images)


def _avg_pool(t: torch.Tensor) -> torch.Tensor:
    return t.mean(dim=(2, 3), keepdim=True) if t.ndim == 4 else t


def _max_pool(t: torch.Tensor) -> torch.Tensor:
    return t.amax(dim=(2, 3), keepdim=True) if t.ndim == 4 else t


POOLERS = {"avg": _avg_pool, "max": _max_pool}


class PositionSelector:
    """A capture reducer for the one-position modes: per image, the channel vector at one
    spatial position (the largest l2 norm, or a seeded random position), computed on the
    model's device batch by batch, so only ``(N, C + 4)`` float32 is kept: the vector, then the
    position's row and column and the layer's height and width (read back by
    :func:`tda_widgets.clouds.split_selection`).

    The same rule as :func:`tda_widgets.clouds.make_cloud` on the full activations: squared
    norms summed in float64 (first position in row-major order on ties;
    :func:`~tda_widgets.clouds.top_l2_positions`), random positions from
    :func:`~tda_widgets.clouds.random_positions` of each image's index.
    """

    needs_image_index = True  # the capture passes each batch's image indices

    def __init__(self, reduce: str, layer: str = "", seed: int = 0):
        self.reduce, self.layer, self.seed = reduce, layer, int(seed)

    def __call__(self, t: torch.Tensor, image_index) -> torch.Tensor:
        resolve_mode(_SELECTION_MODES[self.reduce], tuple(t.shape[1:]), self.layer)  # (N, C, H, W) only
        m, c, h, w = t.shape
        flat_t = t.reshape(m, c, h * w)
        if self.reduce == "top-l2":
            x = flat_t if t.device.type != "mps" else flat_t.cpu()  # no float64 on MPS
            x = x.to(torch.float64)
            flat = (x * x).sum(dim=1).argmax(dim=1).to(t.device)
        else:
            flat = torch.as_tensor(random_positions(image_index, h, w, self.seed), device=t.device)
        vectors = flat_t[torch.arange(m, device=t.device), :, flat]
        tail = torch.stack([flat // w, flat % w, torch.full_like(flat, h), torch.full_like(flat, w)], dim=1)
        return torch.cat([vectors.to(torch.float32), tail.to(torch.float32)], dim=1)


def reducer(reduce: Optional[str], layer: str = "", seed: int = 0):
    """The capture reducer of a reduction name (None: keep the full activations)."""
    if reduce is None:
        return None
    if reduce in POOLERS:
        return POOLERS[reduce]
    return PositionSelector(reduce, layer, seed)


def activations_key(ctx, layer: str, reduce: Optional[str], activation: Any = None, seed: int = 0) -> tuple:
    """The cache key of one layer's captured activations: the reduction, the element-wise
    activation function (a name, or a callable by identity) and, for random positions, the seed."""
    return ctx.key("activations", layer, reduce, activation, int(seed) if reduce == "random-position" else None)


def read_only(value: Any) -> Any:
    """Make the arrays of a cached result read-only, so that a caller editing what a Study
    returned gets an error instead of silently changing every later result."""
    arrays: list = []
    if isinstance(value, np.ndarray):
        arrays = [value]
    elif isinstance(value, PointCloud):
        arrays = [value.points, value.image_index, value.position, value.channel_index]
    elif isinstance(value, PersistenceResult):
        arrays = list(value.diagrams) + [rep for dim in (value.representatives or ()) for rep in dim]
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.setflags(write=False)
    return value


def cached(ctx, key: tuple, compute: Callable[[], Any], count: Optional[str] = None) -> Any:
    """The cached value under ``key``, or ``compute()`` stored there (counted in ``ctx.stats``)."""
    value = ctx.cache.get(key)
    if value is None:
        value = compute()
        if count:
            ctx.stats[count] += 1
        value = ctx.cache.put(key, read_only(value))
    return value


def diagram_maxdim(dims: Sequence[int]) -> int:
    """The homology computed for distances on ``dims``: H1 at least, even when only H0 is shown,
    so that changing the dimensions shown (or clicking a heat-map cell) reuses the diagrams."""
    return max(1, max(int(d) for d in dims))


def needs_model(ctx) -> None:
    """Raise the clear error of a study opened from a file without its model
    (:class:`~tda_widgets.engine.saved.NeedsModelError`) before a step would use the model or images."""
    if getattr(ctx.model, "missing_model", False):
        raise ctx.model.error()


def layers_of(ctx, layers) -> list[str]:
    """The study's layers (None) or the given names / preset, checked against the model."""
    if layers is None:
        return list(ctx.layers)
    if getattr(ctx.model, "missing_model", False):  # a study opened from a file without its model
        names = [layers] if isinstance(layers, str) else list(layers)
        unknown = [name for name in names if name not in ctx.layers]
        if unknown:
            raise ctx.model.error(f"Layer {', '.join(map(repr, unknown))} (the file holds {list(ctx.layers)})")
        return names
    return resolve_layers(ctx.model, expand_layers(ctx.model, layers, ctx.images))


# ----------------------------------------------------------------------- capture and clouds


def activations(ctx, layers, reduce: Optional[str], progress=None, cancel=None, *, activation: Any = None,
                seed: int = 0) -> dict[str, np.ndarray]:
    if reduce not in REDUCTIONS:
        raise TDAInputError(f"The 'reduce' parameter must be one of {REDUCTIONS}. Got {reduce!r} instead.")
    CloudSpec.check("Study.activations", activation=activation, seed=seed)
    layers = layers_of(ctx, layers)
    keys = {layer: activations_key(ctx, layer, reduce, activation, seed) for layer in layers}
    found = {layer: ctx.cache.get(keys[layer]) for layer in layers}
    missing = [layer for layer in layers if found[layer] is None]
    if not missing:
        report(progress, ctx.n_images, ctx.n_images, "activations cached")
        return found
    needs_model(ctx)
    reducers = {layer: reducer(reduce, layer, seed) for layer in missing} if reduce else None
    acts = capture_activations(ctx.model, ctx.images, missing, batch_size=ctx.batch_size,
                               max_bytes=ctx.max_bytes, reducers=reducers, progress=progress, cancel=cancel,
                               order=capture_order(ctx), activation=activation)
    ctx.stats["captures"] += 1
    for layer in missing:
        found[layer] = ctx.cache.put(keys[layer], read_only(acts[layer]))
    if acts.outputs is not None:
        ctx.cache.put(ctx.key("outputs"), read_only(acts.outputs))
    return found


def outputs(ctx) -> Optional[np.ndarray]:
    """The model's outputs on the images (captured with the last layer when not cached)."""
    found = ctx.cache.get(ctx.key("outputs"))
    if found is None:
        needs_model(ctx)
        acts = capture_activations(ctx.model, ctx.images, ctx.layers[-1:], batch_size=ctx.batch_size,
                                   max_bytes=ctx.max_bytes, reducers={ctx.layers[-1]: _drop},
                                   order=capture_order(ctx))
        ctx.stats["captures"] += 1
        found = acts.outputs if acts.outputs is None else ctx.cache.put(ctx.key("outputs"),
                                                                          read_only(acts.outputs))
    return found


def reduce_for(ctx, layer: str, spec: CloudSpec) -> Optional[str]:
    """The capture a cloud needs: reduced in a stream (pooled, or one position per image), or
    the full activations when they are cached."""
    reduce = spec.reduction if ctx.stream_pooled else None
    if reduce is not None and ctx.cache.peek(activations_key(ctx, layer, None, spec.activation)):
        reduce = None
    return reduce


def cloud(ctx, layer: str, spec: CloudSpec, progress=None, cancel=None) -> PointCloud:
    def compute():
        reduce = reduce_for(ctx, layer, spec)
        act = activations(ctx, [layer], reduce, progress, cancel, activation=spec.activation,
                          seed=spec.seed)[layer]
        streamed = spec.reduction if ctx.stream_pooled else None
        if reduce is None and streamed is not None and act.ndim == 4:
            # Reduce the cached full activations exactly as the stream does (torch, float32), so
            # a cloud's numbers never depend on which capture happened to run first.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The given NumPy array is not writable")
                full = torch.from_numpy(act)
                act = (POOLERS[streamed](full) if streamed in POOLERS else
                       reducer(streamed, layer, spec.seed)(full, image_index=np.arange(len(act)))).numpy()
        kwargs = spec.kwargs()
        del kwargs["activation"]  # applied during the capture
        if streamed in _SELECTION_MODES and act.ndim == 2:  # selected in the stream: vectors and positions
            vectors, position, spatial_shape = split_selection(act)
            result = make_cloud(vectors, layer=layer, position=position, **kwargs)
            result.params["spatial_shape"] = spatial_shape
            return result
        return make_cloud(act, layer=layer, **kwargs)

    return cached(ctx, ctx.key("cloud", layer, spec), compute)


# ------------------------------------------------------------------------------ persistence


def persistence_task(points: np.ndarray, scale: str, maxdim: int, backend: str,
                     representatives: bool, max_memory_bytes: int) -> tuple[PersistenceResult, float]:
    """One layer's diagrams; the budget is checked before rescaling builds a distance matrix.

    Calls this module's ``persistence`` (tests inject faults there); process pools run the
    torch-free :func:`~tda_widgets.topology.persistence.rescaled_persistence` instead.
    """
    check_persistence_budget(points.shape[0], points.shape[1], maxdim, max_memory_bytes)
    scaled, factor = rescale_points(points, scale)
    result = persistence(scaled, maxdim=maxdim, backend=backend, representatives=representatives,
                         max_memory_bytes=max_memory_bytes)
    return result, factor


def diagrams(ctx, layers, spec: CloudSpec, maxdim: int, scale: str, backend: str, representatives: bool,
             progress=None, cancel=None) -> dict[str, PersistenceResult]:
    PersistenceSpec.check("Study.diagrams", scale=scale, backend=backend)
    layers = layers_of(ctx, layers)
    keys = {layer: ctx.key("diagrams", layer, spec, scale, maxdim, backend, representatives) for layer in layers}
    results = {layer: ctx.cache.get(keys[layer]) for layer in layers}
    # A callable activation is keyed by identity, which means nothing in another session: such
    # diagrams stay in memory only, never on disk.
    disk = ctx.store if not callable(spec.activation) else None
    if disk is not None:  # finished diagrams from an earlier session: no capture at all
        for layer in layers:
            if results[layer] is None and (stored := disk.get(keys[layer])) is not None:
                results[layer] = ctx.cache.put(keys[layer], read_only(stored))
    todo = [layer for layer in layers if results[layer] is None]
    # One forward pass for every layer still missing a cloud, not one pass per layer.
    to_capture: dict = {}
    for layer in todo:
        if not ctx.cache.peek(ctx.key("cloud", layer, spec)):
            to_capture.setdefault(reduce_for(ctx, layer, spec), []).append(layer)
    for reduce, group in to_capture.items():
        activations(ctx, group, reduce, cancel=cancel, activation=spec.activation, seed=spec.seed)
    clouds = {}
    for layer in todo:
        check_cancel(cancel, "point clouds")
        clouds[layer] = cloud(ctx, layer, spec, cancel=cancel)
    total, done = len(layers), len(layers) - len(todo)
    # what is being computed, in words (a long single-layer run otherwise read only "0/1")
    sizes = ", ".join(f"{layer} ({clouds[layer].n_points} points in {clouds[layer].n_dims} dims)" for layer in todo[:3])
    more = f" and {len(todo) - 3} more layers" if len(todo) > 3 else ""
    report(progress, done, total, f"H0-H{maxdim} persistence of {sizes}{more}" if todo else "persistence")
    executor = resolve_executor(ctx.executor, "Study")  # validated even when one layer runs here
    executor = executor if len(todo) > 1 else None
    # A process or dask worker gets the torch-free topology function (a spawned worker that
    # imports torch takes seconds); in this process, persistence_task (tests inject faults there).
    task = persistence_task if executor is None else rescaled_persistence

    def store(layer, result_and_factor):
        results[layer] = ctx.cache.put(keys[layer], read_only(result_and_factor[0]))
        ctx.stats["persistence"] += 1
        if disk is not None:
            disk.put(keys[layer], results[layer])

    with Batch(executor, "persistence", progress=progress, cancel=cancel, total=total, done=done,
               on_result=store) as batch:
        for layer in todo:
            batch.add(layer, task, clouds[layer].points, scale, maxdim=maxdim, backend=backend,
                      representatives=representatives, max_memory_bytes=ctx.max_memory_bytes,
                      message=f"persistence of {layer}")
        batch.results()
    return results


def distance_matrix(ctx, layers, spec: CloudSpec, metric: str, dims, maxdim: Optional[int], scale: str,
                    backend: str, infinite: str, progress=None, cancel=None) -> np.ndarray:
    DistanceSpec.check("Study.distance_matrix", metric=metric, infinite=infinite)
    dims = tuple(sorted(check_dims(dims, "Study.distance_matrix")))
    layers = layers_of(ctx, layers)
    maxdim = diagram_maxdim(dims) if maxdim is None else maxdim
    n = len(layers)
    n_pairs = n * (n - 1) // 2
    results = diagrams(ctx, layers, spec, maxdim, scale, backend, False, cancel=cancel,
                       progress=lambda done, total, msg: report(progress, done, total + n_pairs, msg))
    key = ctx.key("distances", tuple(layers), spec, scale, maxdim, backend, metric, dims, infinite)
    if ctx.cache.peek(key):
        report(progress, n + n_pairs, n + n_pairs, "distances cached")
    return cached(ctx, key, lambda: layer_distance_matrix(
        [list(results[layer].diagrams) for layer in layers], metric, dims=dims, infinite=infinite,
        executor=resolve_executor(ctx.executor, "Study"), cancel=cancel,
        progress=lambda done, total, msg: report(progress, n + done, n + total, msg)), "distance_matrices").copy()


# ------------------------------------------------------------------------------ CKA, mapper




def per_image_shapes(ctx) -> dict:
    """Every hookable module's output shape for one image (one probe forward, memoised per model)."""
    key = ("shapes", ctx.model_key())
    if key not in ctx.memo:
        from ..capture.hooks import describe_layers

        needs_model(ctx)
        ctx.memo[key] = {entry["name"]: tuple(entry["output_shape"]) for entry in describe_layers(ctx.model, ctx.images)
                         if entry.get("output_shape") is not None}
    return ctx.memo[key]


def forward_bytes(ctx) -> int:
    """One image's forward-pass peak (:func:`tda_widgets.budget.forward_bytes_per_image`), memoised per model."""
    key = ("forward bytes", ctx.model_key())
    if key not in ctx.memo:
        from .budget import forward_bytes_per_image

        needs_model(ctx)
        ctx.memo[key] = forward_bytes_per_image(ctx.model, ctx.images)
    return ctx.memo[key]


def requested_batch_size(batch_size) -> Optional[int]:
    """A Study's ``batch_size`` argument, checked: a positive int, or None (derive it)."""
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise TDAInputError(f"The 'batch_size' parameter of Study must be a positive int, or None to derive it "
                            f"from the budget. Got {batch_size!r} instead.")
    return batch_size


def batch_size(ctx) -> int:
    """The study's batch size: the one given (refused when its forward pass alone exceeds
    ``max_bytes``), else the largest whose forward pass fits a quarter of ``max_bytes`` (4 to 256)."""
    from .budget import batch_size_for, check_batch_size

    if ctx.requested_batch_size is not None:
        return check_batch_size(ctx.requested_batch_size, forward_bytes(ctx), ctx.max_bytes)
    return batch_size_for(forward_bytes(ctx), ctx.max_bytes)


def cka_estimator(ctx, layers, kernel: str, estimator: str, backend: str = "numpy") -> str:
    """``estimator`` with "auto" resolved: exact when the layers' full activations are cached, when
    exact CKA's peak fits the capture budget (``max_bytes``; :func:`tda_widgets.budget.cka_fits_exactly`),
    or for the RBF kernel / torch backend; else minibatch."""
    if estimator != "auto":
        return estimator
    if kernel != "linear" or backend != "numpy":
        return "exact"
    if all(ctx.cache.peek(activations_key(ctx, layer, None)) for layer in layers):
        return "exact"
    from .budget import cka_fits_exactly

    shapes = per_image_shapes(ctx)
    full = sum(4 * int(np.prod(shapes.get(layer, (1,)))) for layer in layers) * ctx.n_images
    return "exact" if cka_fits_exactly(full, ctx.n_images, len(layers), ctx.max_bytes) else "minibatch"


def streamed_cka(ctx, layers, progress=None, cancel=None, reducers=None):
    """Minibatch linear CKA of ``layers`` accumulated during one capture that stores nothing of
    them (or, with ``reducers``, their pooled outputs, returned too): ``(matrix, Activations)``."""
    from ..topology.minibatch_cka import MinibatchCKA

    needs_model(ctx)
    acc = MinibatchCKA(layers)
    drop = {layer: _drop for layer in layers}
    acts = capture_activations(ctx.model, ctx.images, layers, batch_size=ctx.batch_size,
                               max_bytes=ctx.max_bytes, reducers=dict(drop, **(reducers or {})),
                               progress=progress, cancel=cancel, observer=acc, order=capture_order(ctx))
    ctx.stats["captures"] += 1
    if acts.outputs is not None:
        ctx.cache.put(ctx.key("outputs"), read_only(acts.outputs))
    return acc.result(), acts


def _drop(t: torch.Tensor) -> torch.Tensor:
    """A reducer that keeps nothing: (m, 0) per batch (the layer is only observed)."""
    return t.new_empty((t.shape[0], 0))


def cka(ctx, layers, kernel: str, debiased: bool, backend: str, device: Any, progress=None,
        cancel=None, estimator: str = "auto") -> np.ndarray:
    if backend not in ("numpy", "torch"):
        raise TDAInputError(f"The 'backend' parameter of Study.cka must be one of ('numpy', 'torch'). "
                            f"Got {backend!r} instead.")
    CKASpec.check("Study.cka", kernel=kernel, debiased=debiased, estimator=estimator)
    layers = layers_of(ctx, layers)
    estimator = cka_estimator(ctx, layers, kernel, estimator, backend)
    if estimator == "minibatch":
        if kernel != "linear" or backend != "numpy":
            raise TDAInputError(f"Study.cka: estimator='minibatch' computes linear CKA in this process; got "
                                f"kernel={kernel!r}, backend={backend!r}. Use kernel='linear', backend='numpy', "
                                "or estimator='exact'.")
        key = ctx.key("cka", tuple(layers), kernel, "minibatch", ctx.batch_size, CAPTURE_ORDER_SEED)
        return cached(ctx, key, lambda: streamed_cka(ctx, layers, progress, cancel)[0], "cka").copy()
    if backend == "torch":
        from ..topology.gpu import default_device

        device = default_device(device)  # checked before the cache: a missing GPU is an error

    def compute():
        acts = activations(ctx, layers, None, cancel=cancel)
        features = [acts[layer].reshape(ctx.n_images, -1) for layer in layers]
        if backend == "torch":
            from ..topology.gpu import cka_matrix_torch

            return cka_matrix_torch(features, kernel=kernel, debiased=debiased, device=device, progress=progress,
                                    cancel=cancel)
        return cka_matrix(features, kernel=kernel, debiased=debiased, progress=progress, cancel=cancel)

    where = str(device) if backend == "torch" else None
    return cached(ctx, ctx.key("cka", tuple(layers), kernel, debiased, backend, where), compute, "cka").copy()


def similarity_representations(ctx, layers, spec: CloudSpec, cancel=None) -> tuple[list, np.ndarray]:
    """Each layer's cloud as an ``(n_images, n_dims)`` array, rows aligned by image.

    The clouds are :func:`cloud`'s (the ones PH uses: cached, pooled in the stream for conv
    layers); their rows are restricted to the images present in every layer's cloud, sorted by
    image index (a random subsample keeps the same images in every layer, so that is all of
    them; farthest-point subsamples differ per layer). Returns ``(arrays, image_index)``.
    """
    if spec.mode not in ONE_POINT_PER_IMAGE:
        raise TDAInputError(f"Study.similarity compares two layers image by image, so it needs a cloud with one point "
                            f"per image; got mode={spec.mode!r}. Use one of {list(ONE_POINT_PER_IMAGE)}, e.g. "
                            "CloudSpec(mode='image-avgpool').")
    missing: dict = {}
    for layer in layers:
        if not ctx.cache.peek(ctx.key("cloud", layer, spec)):
            missing.setdefault(reduce_for(ctx, layer, spec), []).append(layer)
    for reduce, group in missing.items():  # one forward pass per reduction, not one per layer
        activations(ctx, group, reduce, cancel=cancel, activation=spec.activation, seed=spec.seed)
    clouds = []
    for layer in layers:
        check_cancel(cancel, "point clouds")
        clouds.append(cloud(ctx, layer, spec, cancel=cancel))
    shared = clouds[0].image_index
    for c in clouds[1:]:
        shared = np.intersect1d(shared, c.image_index)
    shared = np.sort(shared)
    arrays = []
    for c in clouds:
        row = {int(image): k for k, image in enumerate(c.image_index)}
        arrays.append(c.points[[row[int(image)] for image in shared]])
    return arrays, shared


def similarity(ctx, layers, spec: CloudSpec, similarity_spec: SimilaritySpec, progress=None,
               cancel=None) -> np.ndarray:
    """The layers x layers matrix of ``similarity_spec.measure`` on the layers' clouds (cached
    under the measure and only its own options, so changing RTD's batch keeps SVCCA's entry)."""
    layers = layers_of(ctx, layers)
    measure, options = similarity_spec.measure, similarity_spec.measure_kwargs()
    key = ctx.key("similarity", tuple(layers), spec, measure, tuple(sorted(options.items())))
    n_pairs = len(layers) * (len(layers) - 1) // 2
    if ctx.cache.peek(key):
        report(progress, n_pairs, n_pairs, f"{measure} cached")

    def compute():
        arrays, _ = similarity_representations(ctx, layers, spec, cancel)
        return similarity_matrix(arrays, measure, progress=progress, cancel=cancel, **options)

    return cached(ctx, key, compute, "similarity").copy()


def point_labels(ctx, points: PointCloud) -> Optional[np.ndarray]:
    """Each point's label, through the cloud's provenance (None without labels or for channels)."""
    if ctx.labels is None or (points.image_index < 0).any():
        return None
    return ctx.labels[points.image_index]


def mapper(ctx, layer: str, spec: CloudSpec, mapper_spec: MapperSpec, class_groups=None, cancel=None,
           lens_values: Any = None) -> MapperGraph:
    """The mapper graph of one layer's cloud under ``spec`` with ``mapper_spec``'s settings
    (``lens_values``: the caller's own lens array instead of ``mapper_spec.lens``)."""
    lens = mapper_spec.lens if lens_values is None else lens_values
    lens_key = lens if isinstance(lens, (str, tuple)) else ("array", hashlib.sha1(np.asarray(lens).tobytes()).hexdigest())
    from ..topology.mapper import resolve_class_groups

    class_groups = resolve_class_groups(class_groups, "Study.mapper")  # "cifar10" -> its mapping
    groups_key = tuple(sorted(class_groups.items())) if class_groups else None
    m = mapper_spec
    key = ctx.key("mapper", layer, spec, lens_key, m.n_cubes, m.overlap, repr(m.clusterer), m.eps, m.min_samples,
                  groups_key, ctx.labels_key)  # a node's classes come from the labels

    def compute():
        check_cancel(cancel, "mapper")
        points = cloud(ctx, layer, spec, cancel=cancel)  # here: a cached graph needs no cloud
        values = lens
        if isinstance(lens, tuple) and lens and lens[0] == "logit":
            values = outputs(ctx)[points.image_index, int(lens[1])]
        kwargs = dict(m.kwargs(), lens=values)
        return mapper_graph(points.points, labels=point_labels(ctx, points),
                            image_index=points.image_index if (points.image_index >= 0).all() else None,
                            class_groups=class_groups, **kwargs)

    return cached(ctx, key, compute, "mapper")


# ------------------------------------------------------- tables and tests built on the steps


def measures_table(ctx, layers, spec: CloudSpec, measures: Optional[Sequence[str]], distance: DistanceSpec,
                   scale: str, kernel: str, skip_errors: bool, options: dict, progress=None,
                   cancel=None) -> MeasuresTable:
    """Agreement of every pair of measures over the layer pairs and each measure's layer
    monotonicity (:func:`~tda_widgets.topology.agreement.measures_table`) from the cached
    distance, CKA and similarity steps; the table itself is cached too."""
    chosen = list(measures) if measures is not None else ["ph", "cka", *MEASURES]
    layers = layers_of(ctx, layers)
    metric, dims = distance.metric, distance.dims
    similarity_specs = {name: SimilaritySpec.from_kwargs("Study.measures_table", measure=name, **options)
                        for name in chosen if name not in ("ph", "cka")}
    key = ctx.key("measures-table", tuple(layers), spec, tuple(chosen), distance, scale, kernel, bool(skip_errors),
                  tuple((name, tuple(sorted(s.measure_kwargs().items()))) for name, s in similarity_specs.items()))

    def compute() -> MeasuresTable:
        matrices, kinds, labels, skipped = {}, {}, {}, {}
        for k, name in enumerate(chosen):
            step_progress = None if progress is None else \
                (lambda done, total, msg, k=k, name=name: progress(k, len(chosen), f"{name}: {msg}"))
            try:
                if name == "ph":
                    matrix = distance_matrix(ctx, layers, spec, metric, dims, None, scale, PersistenceSpec().backend,
                                             distance.infinite, step_progress, cancel)
                    kinds[name], labels[name] = "distance", f"PH ({metric})"
                elif name == "cka":
                    matrix = cka(ctx, layers, kernel, CKASpec().debiased, "numpy", None, step_progress, cancel)
                    kinds[name], labels[name] = "similarity", f"{kernel} CKA"
                else:
                    matrix = similarity(ctx, layers, spec, similarity_specs[name], step_progress, cancel)
                    kinds[name], labels[name] = MEASURE_INFO[name].kind, MEASURE_INFO[name].label
            except TDAInputError as exc:
                if not skip_errors or name in ("ph", "cka"):
                    raise
                skipped[name] = str(exc)
                continue
            matrices[name] = matrix
        return dataclasses.replace(agreement_table(matrices, kinds, labels, layers), skipped=skipped)

    table = cached(ctx, key, compute, "measures_tables")
    report(progress, len(chosen), len(chosen), "measures table")
    return table


def sensitivity(ctx, layer: str, spec: CloudSpec, removed, step: int, measures, metric: str, dims, remove: str,
                center: bool, infinite: str, progress=None, cancel=None):
    """The principal-component sensitivity test of one layer's cloud
    (:func:`~tda_widgets.topology.sensitivity.pc_removal_sensitivity`), cached."""
    from ..topology.sensitivity import pc_removal_sensitivity

    removed_key = None if removed is None else tuple(sorted({int(k) for k in removed}))
    key = ctx.key("sensitivity", layer, spec, removed_key, int(step), tuple(measures), metric,
                  tuple(sorted({int(d) for d in dims})), remove, bool(center), infinite)

    def compute():
        points = cloud(ctx, layer, spec, cancel=cancel).points
        return pc_removal_sensitivity(points, removed=removed_key, step=step, measures=tuple(measures),
                                      metric=metric, dims=dims, remove=remove, center=center, infinite=infinite,
                                      progress=progress, cancel=cancel)

    return cached(ctx, key, compute, "sensitivity")


def thumbnails(ctx, max_side: int = 32) -> np.ndarray:
    """The images as a float array (N, C, H, W), at most ``max_side`` pixels a side, cached under
    the images alone (no model fingerprint: every model's study of these images shares them)."""
    from ..capture.inputs import thumbnail_array

    def compute():
        needs_model(ctx)
        return thumbnail_array(ctx.images, max_side)

    return cached(ctx, ("thumbnails", ctx.inputs_key, max_side), compute, "thumbnails")


def capture_for_compare(ctx, layers, spec: CloudSpec, kernel: str, estimator: str, progress=None,
                        cancel=None) -> None:
    """One forward pass for a whole :meth:`Study.compare`: the reduced (pooled or one-position)
    activations of the layers whose clouds are missing, the streamed CKA and the model's outputs,
    when CKA is streamed (minibatch) and the clouds are reduced in a stream; otherwise nothing
    (the steps capture what they need). Not with an ``activation`` function: CKA compares the
    layers' own outputs, so the clouds' activated outputs take a pass of their own."""
    reduction = spec.reduction if ctx.stream_pooled else None
    if reduction is None or spec.activation is not None or \
            cka_estimator(ctx, layers, kernel, estimator) != "minibatch":
        return
    cka_key = ctx.key("cka", tuple(layers), kernel, "minibatch", ctx.batch_size, CAPTURE_ORDER_SEED)
    if ctx.cache.peek(cka_key):
        return
    keys = {layer: activations_key(ctx, layer, reduction, None, spec.seed) for layer in layers}
    missing = [layer for layer in layers if not ctx.cache.peek(ctx.key("cloud", layer, spec))
               and not ctx.cache.peek(keys[layer])]
    matrix, acts = streamed_cka(ctx, layers, progress, cancel,
                                reducers={layer: reducer(reduction, layer, spec.seed) for layer in missing})
    for layer in missing:
        ctx.cache.put(keys[layer], read_only(acts[layer]))
    ctx.stats["cka"] += 1
    ctx.cache.put(cka_key, read_only(matrix))


def compare(ctx, layers, spec: CloudSpec, distance: DistanceSpec, scale: str, kernel: str, estimator: str,
            progress=None, cancel=None) -> Comparison:
    """PH distances beside CKA and their Spearman rank correlation (one forward pass when CKA is
    streamed: clouds, CKA statistics and predictions together; :func:`capture_for_compare`)."""
    layers = layers_of(ctx, layers)
    capture_for_compare(ctx, layers, spec, kernel, estimator, cancel=cancel)
    ph = distance_matrix(ctx, layers, spec, distance.metric, distance.dims, None, scale, PersistenceSpec().backend,
                         distance.infinite, progress, cancel)
    ck = cka(ctx, layers, kernel, CKASpec().debiased, "numpy", None, None, cancel, estimator)
    rho = rank_correlation(ph, 1.0 - ck) if len(layers) >= 3 and np.isfinite(ph).all() else float("nan")
    return Comparison(layers=layers, ph=ph, cka=ck, spearman=rho, metric=distance.metric,
                      dims=tuple(distance.dims), maxdim=diagram_maxdim(distance.dims), scale=scale, spec=spec,
                      infinite=distance.infinite, cka_estimator=cka_estimator(ctx, layers, kernel, estimator))


# ------------------------------------------------------------------- the model's own outputs


def predictions(ctx) -> Optional[np.ndarray]:
    """The model's predicted class per image (from the captured outputs), or None."""
    found = outputs(ctx)
    return found.argmax(axis=1) if found is not None and found.ndim == 2 else None


def class_probabilities(ctx) -> Optional[np.ndarray]:
    """The softmax of the model's outputs per image, shape (N, n_outputs), or None (for the
    confusion structure :func:`~tda_widgets.topology.hierarchy.confusion_affinity`)."""
    found = outputs(ctx)
    if found is None or found.ndim != 2:
        return None
    from scipy.special import softmax

    return softmax(np.asarray(found, dtype=np.float64), axis=1)


def class_ids(ctx, class_names) -> Optional[list]:
    """The classes the study's trees are over: ``range(len(class_names))`` when the data name
    their classes, else the labels' distinct values (None without labels)."""
    if ctx.labels is None:
        return None
    if class_names is not None:
        return list(range(len(class_names)))
    return sorted(np.unique(ctx.labels).tolist())


def suggested_groups(ctx, class_names) -> Optional[dict]:
    """The class groups the model's own mistakes suggest, for data without named groups:
    :func:`~tda_widgets.topology.hierarchy.confusion_groups` of the labels and
    :func:`class_probabilities`. None without labels, without class outputs (a model whose
    outputs are not one per class), or when the mistakes suggest fewer than 2 groups. The
    report and the MapperExplorer read the class trees' agreement against these when no
    ``class_groups`` are given."""
    from ..topology.hierarchy import confusion_groups

    probabilities = class_probabilities(ctx) if ctx.labels is not None else None
    if probabilities is None:
        return None
    try:
        return confusion_groups(ctx.labels, probabilities, class_ids(ctx, class_names))
    except TDAInputError:  # a single class, or outputs that are not one per class
        return None


def estimate(ctx, spec: CloudSpec, layers, maxdim: int, max_bytes: Optional[int], cka_estimator_name):
    """Memory estimate of a comparison before anything is captured (forward pass, clouds,
    persistence, CKA; :func:`tda_widgets.budget.estimate_study`); with ``max_bytes``, raise
    :class:`~tda_widgets.errors.BudgetExceededError` above it."""
    from .budget import check_budget, estimate_study

    needs_model(ctx)
    args = (ctx.model, ctx.images, layers_of(ctx, layers), ctx.n_images, spec)
    kwargs = dict(maxdim=maxdim, stream_pooled=ctx.stream_pooled, batch_size=ctx.requested_batch_size,
                  capture_bytes=ctx.max_bytes, cka=cka_estimator_name)
    if max_bytes is not None:
        return check_budget(*args, max_bytes=max_bytes, **kwargs)
    return estimate_study(*args, **kwargs)


def cross_model(ctx_a, ctx_b, measure: str, layers, layers_b, spec: CloudSpec, metric: str, dims, scale: str,
                infinite: str, similarity_spec: Optional[SimilaritySpec], label: str, progress=None,
                cancel=None) -> np.ndarray:
    """The layers of model A x the layers of model B matrix of one measure on the same images
    (:func:`tda_widgets.crossmodel.cross_model_matrix` validates the arguments), cached in A's
    cache under both models' fingerprints; every piece (diagrams, activations, clouds) comes
    from each model's own cached steps."""
    from ..topology.cka import linear_cka
    from ..topology.distances import diagrams_distance
    from ..topology.similarity import representation_similarity

    rows = layers_of(ctx_a, layers)
    cols = layers_of(ctx_b, layers_b if layers_b is not None else rows)
    dims = tuple(sorted(check_dims(dims, "cross_model_matrix")))
    if measure == "ph":
        settings: tuple = (spec, metric, dims, scale, infinite)
    elif measure == "cka":
        settings = ()
    else:
        kwargs = similarity_spec.measure_kwargs()
        settings = (spec, tuple(sorted(kwargs.items())))
    key = ctx_a.key("cross-model", ctx_b.model_key(), tuple(rows), tuple(cols), measure, settings)

    def compute() -> np.ndarray:
        if measure == "ph":
            maxdim, backend = diagram_maxdim(dims), PersistenceSpec().backend
            a = diagrams(ctx_a, rows, spec, maxdim, scale, backend, False, cancel=cancel)
            b = diagrams(ctx_b, cols, spec, maxdim, scale, backend, False, cancel=cancel)
            pair = lambda x, y: diagrams_distance(a[x], b[y], metric, dims=dims, infinite=infinite)
        elif measure == "cka":
            a = {k: v.reshape(ctx_a.n_images, -1) for k, v in activations(ctx_a, rows, None, cancel=cancel).items()}
            b = {k: v.reshape(ctx_b.n_images, -1) for k, v in activations(ctx_b, cols, None, cancel=cancel).items()}
            pair = lambda x, y: linear_cka(a[x], b[y])
        else:
            arrays_a, images_a = similarity_representations(ctx_a, rows, spec, cancel)
            arrays_b, images_b = similarity_representations(ctx_b, cols, spec, cancel)
            shared = np.intersect1d(images_a, images_b)
            keep_a, keep_b = np.isin(images_a, shared), np.isin(images_b, shared)
            a = {name: x[keep_a] for name, x in zip(rows, arrays_a)}
            b = {name: y[keep_b] for name, y in zip(cols, arrays_b)}
            pair = lambda x, y: representation_similarity(a[x], b[y], measure, **kwargs)
        out = np.empty((len(rows), len(cols)))
        for i, x in enumerate(rows):
            check_cancel(cancel, "cross-model comparison")
            out[i] = [pair(x, y) for y in cols]
            report(progress, i + 1, len(rows), f"{label}: {x}")
        return out

    return cached(ctx_a, key, compute, "cross_model").copy()


def checkpoint_diagrams(checkpoints, layers: Sequence[str], spec: CloudSpec, scale: str, maxdim: int, backend: str,
                        executor=None, progress=None, cancel=None, *, total: Optional[int] = None,
                        where: str = "checkpoint_grid") -> dict:
    """The persistence diagrams of ``layers`` at every checkpoint, through the same cache, scheduler,
    progress and cancel as the other steps: ``{(layer, label): (PersistenceResult, factor, n_points)}``.

    ``checkpoints`` is a sequence of ``(label, make_context)``; each context is made when its turn
    comes (one checkpoint's model and activations at a time), its clouds come from :func:`cloud`
    (one forward pass for its missing layers), and its cells are submitted to one
    :class:`~tda_widgets.engine.scheduler.Batch` over every checkpoint (the pool works while the
    next checkpoint loads). A cell is cached under its checkpoint's key (that model's fingerprint)
    with the layer, the cloud spec, the rescaling, ``maxdim`` and the backend, so a second grid
    over the same checkpoints computes nothing. ``total`` and the first ``len(checkpoints)`` units
    of progress are the caller's (one per checkpoint's clouds).
    """
    from ..topology.persistence import rescaled_persistence

    results: dict = {}
    pending: dict = {}  # a submitted cell -> (its context's cache, its key, its number of points)

    def store(cell, result_and_factor):
        cache, key, n_points = pending[cell]
        result, factor = result_and_factor
        cached_value = cache.put(key, (read_only(result), float(factor), n_points))
        results[cell] = cached_value

    with Batch(executor, f"{where} (persistence)", progress=progress, cancel=cancel, total=total,
               on_result=store) as batch:
        for label, make_context in checkpoints:
            check_cancel(cancel, f"{where} (checkpoint {label!r})")
            ctx = make_context()
            keys = {layer: ctx.key("checkpoint-diagrams", layer, spec, scale, maxdim, backend) for layer in layers}
            for layer in layers:
                found = ctx.cache.get(keys[layer])
                if found is not None:
                    results[(layer, label)] = found
            missing = [layer for layer in layers if (layer, label) not in results]
            if missing:  # one forward pass for every layer of this checkpoint
                activations(ctx, missing, spec.reduction if ctx.stream_pooled else None, cancel=cancel,
                            activation=spec.activation, seed=spec.seed)
                clouds = {layer: cloud(ctx, layer, spec, cancel=cancel) for layer in missing}
            batch.done += 1
            report(progress, batch.done, total, f"clouds of checkpoint {label!r}")
            for layer in missing:  # submitted now: the pool works while the next checkpoint loads
                pending[(layer, label)] = (ctx.cache, keys[layer], clouds[layer].n_points)
                batch.add((layer, label), rescaled_persistence, clouds[layer].points, scale, maxdim=maxdim,
                          backend=backend, max_memory_bytes=ctx.max_memory_bytes,
                          message=f"persistence of {layer!r} at checkpoint {label!r}")
                ctx.stats["persistence"] += 1
            del ctx
        batch.results()
    return results
