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

Every function here takes the :class:`~tda_widgets.compute.Study` it works for (its model,
images, cache, store, executor and budgets) and is what the Study's method of the same name
calls; the Study itself only holds state and documents the public API. Keys are made in one
place (``Study._key``); results enter the cache only once a step has completed (so a cancelled
or failed run leaves only complete entries) and are made read-only there. Steps over many
layers run through one :class:`~tda_widgets.engine.scheduler.Batch` (serial, the local process
pool, or any ``concurrent.futures.Executor``).

This module imports torch (through the capture); :mod:`tda_widgets.engine`'s package import does
not load it, so process-pool workers stay torch-free.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from .._progress import check_cancel, report
from ..capture import capture_activations, resolve_layers
from ..clouds import POSITION_MODES, CloudSpec, PointCloud, make_cloud, random_positions, resolve_mode, \
    split_selection
from ..errors import TDAInputError
from ..layers import expand_layers
from ..topology.cka import CKASpec, cka_matrix
from ..topology.distances import DistanceSpec, layer_distance_matrix
from ..topology.mapper import mapper_graph
from ..topology.persistence import PersistenceResult, PersistenceSpec, check_persistence_budget, persistence, \
    rescaled_persistence
from ..topology.scaling import rescale_points
from ..topology.similarity import SimilaritySpec, similarity_matrix
from .scheduler import Batch, resolve_executor

REDUCTIONS = (None, "avg", "max", "top-l2", "random-position")
#: The one-position reductions and their modes ("top-l2" -> "image-top-l2", ...).
_SELECTION_MODES = {reduce: mode for mode, reduce in POSITION_MODES.items()}
#: Every capture of a study feeds the images in one seeded order (and stores them back in their
#: own): minibatches then mix the classes, as a streamed (minibatch) CKA needs, even for a
#: dataset sorted by class (an ImageFolder); and since every capture batches the images the
#: same way, a layer's numbers never depend on which capture computed them.
CAPTURE_ORDER_SEED = 0


def capture_order(study) -> np.ndarray:
    return np.random.default_rng(CAPTURE_ORDER_SEED).permutation(study.n_images)


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


def activations_key(study, layer: str, reduce: Optional[str], activation: Any = None, seed: int = 0) -> tuple:
    """The cache key of one layer's captured activations: the reduction, the element-wise
    activation function (a name, or a callable by identity) and, for random positions, the seed."""
    return study._key("activations", layer, reduce, activation, int(seed) if reduce == "random-position" else None)


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


def cached(study, key: tuple, compute: Callable[[], Any], count: Optional[str] = None) -> Any:
    """The cached value under ``key``, or ``compute()`` stored there (counted in ``study.stats``)."""
    value = study.cache.get(key)
    if value is None:
        value = compute()
        if count:
            study.stats[count] += 1
        value = study.cache.put(key, read_only(value))
    return value


def diagram_maxdim(dims: Sequence[int]) -> int:
    """The homology computed for distances on ``dims``: H1 at least, even when only H0 is shown,
    so that changing the dimensions shown (or clicking a heat-map cell) reuses the diagrams."""
    return max(1, max(int(d) for d in dims))


def layers_of(study, layers) -> list[str]:
    """The study's layers (None) or the given names / preset, checked against the model."""
    if layers is None:
        return list(study.layers)
    return resolve_layers(study.model, expand_layers(study.model, layers, study.images))


# ----------------------------------------------------------------------- capture and clouds


def activations(study, layers, reduce: Optional[str], progress=None, cancel=None, *, activation: Any = None,
                seed: int = 0) -> dict[str, np.ndarray]:
    if reduce not in REDUCTIONS:
        raise TDAInputError(f"The 'reduce' parameter must be one of {REDUCTIONS}. Got {reduce!r} instead.")
    CloudSpec.check("Study.activations", activation=activation, seed=seed)
    layers = layers_of(study, layers)
    keys = {layer: activations_key(study, layer, reduce, activation, seed) for layer in layers}
    found = {layer: study.cache.get(keys[layer]) for layer in layers}
    missing = [layer for layer in layers if found[layer] is None]
    if not missing:
        report(progress, study.n_images, study.n_images, "activations cached")
        return found
    reducers = {layer: reducer(reduce, layer, seed) for layer in missing} if reduce else None
    acts = capture_activations(study.model, study.images, missing, batch_size=study.batch_size,
                               max_bytes=study.max_bytes, reducers=reducers, progress=progress, cancel=cancel,
                               order=capture_order(study), activation=activation)
    study.stats["captures"] += 1
    for layer in missing:
        found[layer] = study.cache.put(keys[layer], read_only(acts[layer]))
    if acts.outputs is not None:
        study.cache.put(study._key("outputs"), read_only(acts.outputs))
    return found


def outputs(study) -> Optional[np.ndarray]:
    """The model's outputs on the images (captured with the last layer when not cached)."""
    found = study.cache.get(study._key("outputs"))
    if found is None:
        acts = capture_activations(study.model, study.images, study.layers[-1:], batch_size=study.batch_size,
                                   max_bytes=study.max_bytes, reducers={study.layers[-1]: _drop},
                                   order=capture_order(study))
        study.stats["captures"] += 1
        found = acts.outputs if acts.outputs is None else study.cache.put(study._key("outputs"),
                                                                          read_only(acts.outputs))
    return found


def reduce_for(study, layer: str, spec: CloudSpec) -> Optional[str]:
    """The capture a cloud needs: reduced in a stream (pooled, or one position per image), or
    the full activations when they are cached."""
    reduce = spec.reduction if study.stream_pooled else None
    if reduce is not None and study.cache.peek(activations_key(study, layer, None, spec.activation)):
        reduce = None
    return reduce


def cloud(study, layer: str, spec: CloudSpec, progress=None, cancel=None) -> PointCloud:
    def compute():
        reduce = reduce_for(study, layer, spec)
        act = activations(study, [layer], reduce, progress, cancel, activation=spec.activation,
                          seed=spec.seed)[layer]
        streamed = spec.reduction if study.stream_pooled else None
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

    return cached(study, study._key("cloud", layer, spec), compute)


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


def diagrams(study, layers, spec: CloudSpec, maxdim: int, scale: str, backend: str, representatives: bool,
             progress=None, cancel=None) -> dict[str, PersistenceResult]:
    PersistenceSpec.check("Study.diagrams", scale=scale, backend=backend)
    layers = layers_of(study, layers)
    keys = {layer: study._key("diagrams", layer, spec, scale, maxdim, backend, representatives) for layer in layers}
    results = {layer: study.cache.get(keys[layer]) for layer in layers}
    # A callable activation is keyed by identity, which means nothing in another session: such
    # diagrams stay in memory only, never on disk.
    disk = study.store if not callable(spec.activation) else None
    if disk is not None:  # finished diagrams from an earlier session: no capture at all
        for layer in layers:
            if results[layer] is None and (stored := disk.get(keys[layer])) is not None:
                results[layer] = study.cache.put(keys[layer], read_only(stored))
    todo = [layer for layer in layers if results[layer] is None]
    # One forward pass for every layer still missing a cloud, not one pass per layer.
    to_capture: dict = {}
    for layer in todo:
        if not study.cache.peek(study._key("cloud", layer, spec)):
            to_capture.setdefault(reduce_for(study, layer, spec), []).append(layer)
    for reduce, group in to_capture.items():
        activations(study, group, reduce, cancel=cancel, activation=spec.activation, seed=spec.seed)
    clouds = {}
    for layer in todo:
        check_cancel(cancel, "point clouds")
        clouds[layer] = cloud(study, layer, spec, cancel=cancel)
    total, done = len(layers), len(layers) - len(todo)
    # what is being computed, in words (a long single-layer run otherwise read only "0/1")
    sizes = ", ".join(f"{layer} ({clouds[layer].n_points} points in {clouds[layer].n_dims} dims)" for layer in todo[:3])
    more = f" and {len(todo) - 3} more layers" if len(todo) > 3 else ""
    report(progress, done, total, f"H0-H{maxdim} persistence of {sizes}{more}" if todo else "persistence")
    executor = resolve_executor(study.executor, "Study")  # validated even when one layer runs here
    executor = executor if len(todo) > 1 else None
    # A process or dask worker gets the torch-free topology function (a spawned worker that
    # imports torch takes seconds); in this process, persistence_task (tests inject faults there).
    task = persistence_task if executor is None else rescaled_persistence

    def store(layer, result_and_factor):
        results[layer] = study.cache.put(keys[layer], read_only(result_and_factor[0]))
        study.stats["persistence"] += 1
        if disk is not None:
            disk.put(keys[layer], results[layer])

    with Batch(executor, "persistence", progress=progress, cancel=cancel, total=total, done=done,
               on_result=store) as batch:
        for layer in todo:
            batch.add(layer, task, clouds[layer].points, scale, maxdim=maxdim, backend=backend,
                      representatives=representatives, max_memory_bytes=study.max_memory_bytes,
                      message=f"persistence of {layer}")
        batch.results()
    return results


def distance_matrix(study, layers, spec: CloudSpec, metric: str, dims, maxdim: Optional[int], scale: str,
                    backend: str, infinite: str, progress=None, cancel=None) -> np.ndarray:
    DistanceSpec.check("Study.distance_matrix", metric=metric, infinite=infinite)
    dims = tuple(sorted({int(d) for d in dims}))
    if not dims:
        raise TDAInputError("dims is empty; choose at least one homology dimension, e.g. dims=(0, 1).")
    layers = layers_of(study, layers)
    maxdim = diagram_maxdim(dims) if maxdim is None else maxdim
    n = len(layers)
    n_pairs = n * (n - 1) // 2
    results = diagrams(study, layers, spec, maxdim, scale, backend, False, cancel=cancel,
                       progress=lambda done, total, msg: report(progress, done, total + n_pairs, msg))
    key = study._key("distances", tuple(layers), spec, scale, maxdim, backend, metric, dims, infinite)
    if study.cache.peek(key):
        report(progress, n + n_pairs, n + n_pairs, "distances cached")
    return cached(study, key, lambda: layer_distance_matrix(
        [list(results[layer].diagrams) for layer in layers], metric, dims=dims, infinite=infinite,
        executor=resolve_executor(study.executor, "Study"), cancel=cancel,
        progress=lambda done, total, msg: report(progress, n + done, n + total, msg)), "distance_matrices").copy()


# ------------------------------------------------------------------------------ CKA, mapper




def per_image_shapes(study) -> dict:
    """Every hookable module's output shape for one image (one probe forward, memoised per model)."""
    memo = getattr(study, "_shapes_memo", None)
    if memo is None or memo[0] != study.model_key():
        from ..capture import describe_layers

        shapes = {entry["name"]: tuple(entry["output_shape"]) for entry in describe_layers(study.model, study.images)
                  if entry.get("output_shape") is not None}
        study._shapes_memo = memo = (study.model_key(), shapes)
    return memo[1]


def forward_bytes(study) -> int:
    """One image's forward-pass peak (:func:`tda_widgets.budget.forward_bytes_per_image`), memoised per model."""
    memo = getattr(study, "_forward_memo", None)
    if memo is None or memo[0] != study.model_key():
        from ..budget import forward_bytes_per_image

        study._forward_memo = memo = (study.model_key(), forward_bytes_per_image(study.model, study.images))
    return memo[1]


def requested_batch_size(batch_size) -> Optional[int]:
    """A Study's ``batch_size`` argument, checked: a positive int, or None (derive it)."""
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise TDAInputError(f"The 'batch_size' parameter of Study must be a positive int, or None to derive it "
                            f"from the budget. Got {batch_size!r} instead.")
    return batch_size


def batch_size(study) -> int:
    """The study's batch size: the one given (refused when its forward pass alone exceeds
    ``max_bytes``), else the largest whose forward pass fits a quarter of ``max_bytes`` (4 to 256)."""
    from ..budget import batch_size_for, check_batch_size

    if study.requested_batch_size is not None:
        return check_batch_size(study.requested_batch_size, forward_bytes(study), study.max_bytes)
    return batch_size_for(forward_bytes(study), study.max_bytes)


def cka_estimator(study, layers, kernel: str, estimator: str, backend: str = "numpy") -> str:
    """``estimator`` with "auto" resolved: exact when the layers' full activations are cached, when
    exact CKA's peak fits the capture budget (``max_bytes``; :func:`tda_widgets.budget.cka_fits_exactly`),
    or for the RBF kernel / torch backend; else minibatch."""
    if estimator != "auto":
        return estimator
    if kernel != "linear" or backend != "numpy":
        return "exact"
    if all(study.cache.peek(activations_key(study, layer, None)) for layer in layers):
        return "exact"
    from ..budget import cka_fits_exactly

    shapes = per_image_shapes(study)
    full = sum(4 * int(np.prod(shapes.get(layer, (1,)))) for layer in layers) * study.n_images
    return "exact" if cka_fits_exactly(full, study.n_images, len(layers), study.max_bytes) else "minibatch"


def streamed_cka(study, layers, progress=None, cancel=None, reducers=None):
    """Minibatch linear CKA of ``layers`` accumulated during one capture that stores nothing of
    them (or, with ``reducers``, their pooled outputs, returned too): ``(matrix, Activations)``."""
    from ..topology.minibatch_cka import MinibatchCKA

    acc = MinibatchCKA(layers)
    drop = {layer: _drop for layer in layers}
    acts = capture_activations(study.model, study.images, layers, batch_size=study.batch_size,
                               max_bytes=study.max_bytes, reducers=dict(drop, **(reducers or {})),
                               progress=progress, cancel=cancel, observer=acc, order=capture_order(study))
    study.stats["captures"] += 1
    if acts.outputs is not None:
        study.cache.put(study._key("outputs"), read_only(acts.outputs))
    return acc.result(), acts


def _drop(t: torch.Tensor) -> torch.Tensor:
    """A reducer that keeps nothing: (m, 0) per batch (the layer is only observed)."""
    return t.new_empty((t.shape[0], 0))


def cka(study, layers, kernel: str, debiased: bool, backend: str, device: Any, progress=None,
        cancel=None, estimator: str = "auto") -> np.ndarray:
    if backend not in ("numpy", "torch"):
        raise TDAInputError(f"The 'backend' parameter of Study.cka must be one of ('numpy', 'torch'). "
                            f"Got {backend!r} instead.")
    CKASpec.check("Study.cka", kernel=kernel, debiased=debiased, estimator=estimator)
    layers = layers_of(study, layers)
    estimator = cka_estimator(study, layers, kernel, estimator, backend)
    if estimator == "minibatch":
        if kernel != "linear" or backend != "numpy":
            raise TDAInputError(f"Study.cka: estimator='minibatch' computes linear CKA in this process; got "
                                f"kernel={kernel!r}, backend={backend!r}. Use kernel='linear', backend='numpy', "
                                "or estimator='exact'.")
        key = study._key("cka", tuple(layers), kernel, "minibatch", study.batch_size, CAPTURE_ORDER_SEED)
        return cached(study, key, lambda: streamed_cka(study, layers, progress, cancel)[0], "cka").copy()
    if backend == "torch":
        from ..gpu import default_device

        device = default_device(device)  # checked before the cache: a missing GPU is an error

    def compute():
        acts = activations(study, layers, None, cancel=cancel)
        features = [acts[layer].reshape(study.n_images, -1) for layer in layers]
        if backend == "torch":
            from ..gpu import cka_matrix_torch

            return cka_matrix_torch(features, kernel=kernel, debiased=debiased, device=device, progress=progress,
                                    cancel=cancel)
        return cka_matrix(features, kernel=kernel, debiased=debiased, progress=progress, cancel=cancel)

    where = str(device) if backend == "torch" else None
    return cached(study, study._key("cka", tuple(layers), kernel, debiased, backend, where), compute, "cka").copy()


#: Cloud modes with one point per image, which a representational-similarity measure compares
#: row by row ("auto" resolves to one of them).
ONE_POINT_PER_IMAGE = ("auto", "image-flatten", "image-avgpool", "image-maxpool", "image-top-l2",
                       "image-random-position", "linear")


def similarity_representations(study, layers, spec: CloudSpec, cancel=None) -> tuple[list, np.ndarray]:
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
        if not study.cache.peek(study._key("cloud", layer, spec)):
            missing.setdefault(reduce_for(study, layer, spec), []).append(layer)
    for reduce, group in missing.items():  # one forward pass per reduction, not one per layer
        activations(study, group, reduce, cancel=cancel, activation=spec.activation, seed=spec.seed)
    clouds = []
    for layer in layers:
        check_cancel(cancel, "point clouds")
        clouds.append(cloud(study, layer, spec, cancel=cancel))
    shared = clouds[0].image_index
    for c in clouds[1:]:
        shared = np.intersect1d(shared, c.image_index)
    shared = np.sort(shared)
    arrays = []
    for c in clouds:
        row = {int(image): k for k, image in enumerate(c.image_index)}
        arrays.append(c.points[[row[int(image)] for image in shared]])
    return arrays, shared


def similarity(study, layers, spec: CloudSpec, similarity_spec: SimilaritySpec, progress=None,
               cancel=None) -> np.ndarray:
    """The layers x layers matrix of ``similarity_spec.measure`` on the layers' clouds (cached
    under the measure and only its own options, so changing RTD's batch keeps SVCCA's entry)."""
    layers = layers_of(study, layers)
    measure, options = similarity_spec.measure, similarity_spec.measure_kwargs()
    key = study._key("similarity", tuple(layers), spec, measure, tuple(sorted(options.items())))
    n_pairs = len(layers) * (len(layers) - 1) // 2
    if study.cache.peek(key):
        report(progress, n_pairs, n_pairs, f"{measure} cached")

    def compute():
        arrays, _ = similarity_representations(study, layers, spec, cancel)
        return similarity_matrix(arrays, measure, progress=progress, cancel=cancel, **options)

    return cached(study, key, compute, "similarity").copy()


def point_labels(study, points: PointCloud) -> Optional[np.ndarray]:
    """Each point's label, through the cloud's provenance (None without labels or for channels)."""
    if study.labels is None or (points.image_index < 0).any():
        return None
    return study.labels[points.image_index]


def mapper(study, layer: str, spec: CloudSpec, lens, n_cubes, overlap, clusterer, eps, min_samples, class_groups,
           cancel=None):
    points = cloud(study, layer, spec, cancel=cancel)
    lens_key = lens if isinstance(lens, (str, tuple)) else ("array", hashlib.sha1(np.asarray(lens).tobytes()).hexdigest())
    from ..topology.mapper import resolve_class_groups

    class_groups = resolve_class_groups(class_groups, "Study.mapper")  # "cifar10" -> its mapping
    groups_key = tuple(sorted(class_groups.items())) if class_groups else None
    key = study._key("mapper", layer, spec, lens_key, n_cubes, overlap, repr(clusterer), eps, min_samples, groups_key,
                     study._labels_key)  # a node's classes come from the labels

    def compute():
        check_cancel(cancel, "mapper")
        values = lens
        if isinstance(lens, tuple) and lens and lens[0] == "logit":
            values = outputs(study)[points.image_index, int(lens[1])]
        return mapper_graph(points.points, labels=point_labels(study, points),
                            image_index=points.image_index if (points.image_index >= 0).all() else None,
                            lens=values, n_cubes=n_cubes, overlap=overlap, clusterer=clusterer, eps=eps,
                            min_samples=min_samples, class_groups=class_groups)

    return cached(study, key, compute, "mapper")


def capture_for_compare(study, layers, spec: CloudSpec, kernel: str, estimator: str, progress=None,
                        cancel=None) -> None:
    """One forward pass for a whole :meth:`Study.compare`: the reduced (pooled or one-position)
    activations of the layers whose clouds are missing, the streamed CKA and the model's outputs,
    when CKA is streamed (minibatch) and the clouds are reduced in a stream; otherwise nothing
    (the steps capture what they need). Not with an ``activation`` function: CKA compares the
    layers' own outputs, so the clouds' activated outputs take a pass of their own."""
    reduction = spec.reduction if study.stream_pooled else None
    if reduction is None or spec.activation is not None or \
            cka_estimator(study, layers, kernel, estimator) != "minibatch":
        return
    cka_key = study._key("cka", tuple(layers), kernel, "minibatch", study.batch_size, CAPTURE_ORDER_SEED)
    if study.cache.peek(cka_key):
        return
    keys = {layer: activations_key(study, layer, reduction, None, spec.seed) for layer in layers}
    missing = [layer for layer in layers if not study.cache.peek(study._key("cloud", layer, spec))
               and not study.cache.peek(keys[layer])]
    matrix, acts = streamed_cka(study, layers, progress, cancel,
                                reducers={layer: reducer(reduction, layer, spec.seed) for layer in missing})
    for layer in missing:
        study.cache.put(keys[layer], read_only(acts[layer]))
    study.stats["cka"] += 1
    study.cache.put(cka_key, read_only(matrix))
