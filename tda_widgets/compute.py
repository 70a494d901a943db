"""The study engine: activations -> clouds -> diagrams -> distances, as cached steps.

A :class:`Study` holds a live model and a fixed set of images. Each step is cached under a key
made of what it depends on:

==============  ==========================================================================
step            key
==============  ==========================================================================
activations     model fingerprint (hash of every parameter and buffer), inputs, layer
cloud           activations key + mode and its parameters (standardise, projection, budget, seed)
diagrams        cloud key + scale, maxdim, backend, representatives
distances       the diagrams keys of every layer + metric, dims, infinite-bar policy
CKA             the clouds' keys + kernel, debiased
mapper          cloud key + lens, cover, clusterer settings
==============  ==========================================================================

So changing a view (metric, colour, dimension shown) never recomputes diagrams, and changing
one layer recomputes only that layer. Results are stored only once a step has completed, so a
cancelled or failed run leaves only complete entries behind.

Steps over many layers run serially, on a local process pool (``executor="processes"``, both
cores), or on any :class:`concurrent.futures.Executor`, dask.distributed's included
(``client.get_executor()``), which is how a study scales to a cluster.
"""

from __future__ import annotations

import hashlib
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, fields
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ._progress import CancelEvent, ProgressCallback, check_cancel, report
from .capture import DEFAULT_MAX_BYTES, Activations, as_labels, capture_activations, resolve_layers
from .clouds import CloudSpec, PointCloud, make_cloud
from .errors import TDAInputError
from .inputs import (balanced_subsample, count_images, inputs_fingerprint, labels_from_dataset, model_fingerprint,
                     thumbnail_array)
from .engine import DEFAULT_CACHE_BYTES, ResultCache
from .engine.scheduler import Batch, local_process_pool, resolve_executor
from .engine.store import DiskStore
from .layers import expand_layers
from .topology.cka import CKASpec, cka_matrix, rank_correlation
from .topology.distances import DistanceSpec, layer_distance_matrix
from .topology.mapper import MapperGraph, MapperSpec, mapper_graph
from .topology.persistence import (PersistenceResult, PersistenceSpec, check_persistence_budget, persistence,
                                   rescaled_persistence)
from .topology.scaling import SCALES, rescale_points  # SCALES: declared once, with the rescaling

__all__ = ["Study", "Comparison", "CloudSpec", "model_fingerprint", "local_process_pool", "SCALES"]

REDUCTIONS = (None, "avg", "max")
# The declared defaults (tda_widgets.options): the signatures below read them, never repeat them.
_P, _D, _C, _M = PersistenceSpec(), DistanceSpec(), CKASpec(), MapperSpec()


def _avg_pool(t: torch.Tensor) -> torch.Tensor:
    return t.mean(dim=(2, 3), keepdim=True) if t.ndim == 4 else t


def _max_pool(t: torch.Tensor) -> torch.Tensor:
    return t.amax(dim=(2, 3), keepdim=True) if t.ndim == 4 else t


_POOLERS = {"avg": _avg_pool, "max": _max_pool}


def _read_only(value: Any) -> Any:
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


def diagram_maxdim(dims: Sequence[int]) -> int:
    """The homology computed for distances on ``dims``: H1 at least, even when only H0 is shown,
    so that changing the dimensions shown (or clicking a heat-map cell) reuses the diagrams."""
    return max(1, max(int(d) for d in dims))


def _persistence_task(points: np.ndarray, scale: str, maxdim: int, backend: str,
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


@dataclass(frozen=True)
class Comparison:
    """What :meth:`Study.compare` returns: PH distances beside 1 - CKA, with the settings used.

    Dict-style access (``result["ph"]``, ``result.keys()``) is kept for older notebooks.

    Attributes
    ----------
    layers : list of str
    ph : ndarray of shape (L, L)
        Diagram distances between layers.
    cka : ndarray of shape (L, L)
        CKA similarity between layers (1 on the diagonal).
    spearman : float
        Rank correlation of ``ph`` and ``1 - cka`` over layer pairs (nan with fewer than 3 layers
        or infinite distances).
    metric, dims, maxdim, scale, spec, infinite
        The settings the numbers come from.
    """

    layers: list
    ph: np.ndarray
    cka: np.ndarray
    spearman: float
    metric: str
    dims: tuple
    maxdim: int
    scale: str
    spec: CloudSpec
    infinite: str = _D.infinite

    def keys(self):
        return [f.name for f in fields(self)]

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(f"{key!r}: a Comparison has {self.keys()}")
        return getattr(self, key)

    def __contains__(self, key) -> bool:
        return key in self.keys()


class Study:
    """A model, a fixed set of images and every cached result computed from them.

    Parameters
    ----------
    model : torch.nn.Module
        A live model; never changed (see :func:`tda_widgets.capture_activations`).
    images : tensor, ndarray, Dataset or DataLoader
        The images every layer is compared on.
    labels : array-like, optional
        One label per image (taken from a Dataset's ``(image, label)`` items when omitted).
    layers : sequence of str or str, optional
        Layer names (``model.named_modules()``) or a preset name ("blocks", "stages", "conv",
        "linear", "children"; see :func:`tda_widgets.layers.select_layers`); default: the
        model's direct children.
    class_names : sequence of str, optional
    executor : None, "processes" or concurrent.futures.Executor
        Where per-layer persistence and per-pair distances run: serially (None), on a local
        pool of two spawned processes ("processes"), or on any executor (dask's
        ``client.get_executor()`` for a cluster).
    batch_size : int, default 256
    max_bytes : int
        Memory budget of the activation capture.
    n_images : int, optional
        Use a seeded sample of this many images, class-balanced when labels are known
        (round-robin over classes), instead of all of them.
    seed : int, default 0
        Seed of that sample.
    stream_pooled : bool, default True
        For pooled modes, pool each batch on the model's device during capture instead of
        storing full activations (same clouds, a fraction of the memory).
    cache_bytes : int, default 2 GiB
        Bound of the result cache (:attr:`cache`, least recently used evicted first; its
        ``stats`` count hits, misses and evictions).
    store : str or Path, optional
        A directory where finished diagrams are also kept (plain arrays and JSON, keyed by the
        model and image fingerprints and every option; see :class:`tda_widgets.engine.DiskStore`),
        so a re-opened notebook or a re-run report reuses them; a corrupt or foreign file is
        ignored and recomputed.
    """

    def __init__(self, model: nn.Module, images: Any, labels: Any = None, layers: Optional[Sequence[str]] = None,
                 *, class_names: Optional[Sequence[str]] = None, executor: Any = None, batch_size: int = 256,
                 max_bytes: int = DEFAULT_MAX_BYTES, max_memory_bytes: int = 2 * 1024**3,
                 stream_pooled: bool = True, n_images: Optional[int] = None, seed: int = 0,
                 cache_bytes: int = DEFAULT_CACHE_BYTES, store: Any = None):
        self.model = model
        if isinstance(images, torch.utils.data.DataLoader) and n_images is not None:
            images = images.dataset
        self.layers = resolve_layers(model, expand_layers(model, layers, images))
        total = count_images(images)
        if total == 0:
            raise TDAInputError("images is empty (0 images); pass at least 2 images.")
        if labels is None:
            labels = labels_from_dataset(images)
        labels = as_labels(labels, total)
        if n_images is not None:
            images, labels = balanced_subsample(images, labels, int(n_images), seed)
        self.images = images
        self.n_images = count_images(images)
        self.labels = labels
        self.class_names = list(class_names) if class_names is not None else None
        self.executor = executor
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self.max_memory_bytes = max_memory_bytes
        self.stream_pooled = stream_pooled
        self.cache = ResultCache(cache_bytes)
        self.store = DiskStore(store) if store is not None else None
        self._inputs_key = inputs_fingerprint(images)
        self.stats = {"captures": 0, "persistence": 0, "distance_matrices": 0, "cka": 0, "mapper": 0}

    def _key(self, step: str, *parts) -> tuple:
        """The one way a cache key is made: the step, the model and input fingerprints, then the
        step's own arguments (layers, frozen specs, options), in that order."""
        return (step, self.model_key(), self._inputs_key) + parts

    def _get(self, key):
        return self.cache.get(key)

    def _put(self, key, value):
        return self.cache.put(key, _read_only(value))

    def cache_keys(self) -> list:
        """The keys of every cached result (for tests and debugging)."""
        return self.cache.keys()

    def clear_cache(self) -> None:
        self.cache.clear()

    def _executor(self) -> Optional[Executor]:
        return resolve_executor(self.executor, "Study")

    def _check_layers(self, layers) -> list[str]:
        if layers is None:
            return list(self.layers)
        chosen = resolve_layers(self.model, expand_layers(self.model, layers, self.images))
        return chosen

    # ------------------------------------------------------------------ steps

    def model_key(self) -> str:
        """The model fingerprint: a hash of every parameter and buffer.

        Re-hashed only when a tensor was replaced or modified in place (torch's per-tensor
        version counters), so a model trained further between two calls gets a new key.
        """
        state = self.model.state_dict(keep_vars=True)
        versions = tuple((name, id(t), t._version) for name, t in state.items())
        memo = getattr(self, "_model_key_memo", None)
        if memo is None or memo[0] != versions:
            self._model_key_memo = (versions, model_fingerprint(self.model))
        return self._model_key_memo[1]

    def activations(self, layers: Optional[Sequence[str]] = None, *, reduce: Optional[str] = None,
                    progress: Optional[ProgressCallback] = None,
                    cancel: Optional[CancelEvent] = None) -> dict[str, np.ndarray]:
        """Activations of ``layers`` (cached per layer; only missing layers are captured).

        ``reduce="avg"`` or ``"max"`` pools 4-D outputs over their spatial positions on the
        model's device, batch by batch, so only ``(N, C, 1, 1)`` is ever stored (streaming);
        other outputs are stored as they are.
        """
        if reduce not in REDUCTIONS:
            raise TDAInputError(f"The 'reduce' parameter must be one of {REDUCTIONS}. Got {reduce!r} instead.")
        layers = self._check_layers(layers)
        keys = {layer: self._key("activations", layer, reduce) for layer in layers}
        found = {layer: self._get(keys[layer]) for layer in layers}
        missing = [layer for layer in layers if found[layer] is None]
        if missing:
            reducers = {layer: _POOLERS[reduce] for layer in missing} if reduce else None
            acts: Activations = capture_activations(
                self.model, self.images, missing, batch_size=self.batch_size, max_bytes=self.max_bytes,
                reducers=reducers, progress=progress, cancel=cancel)
            self.stats["captures"] += 1
            for layer in missing:
                found[layer] = self._put(keys[layer], acts[layer])
            if acts.outputs is not None:
                self._put(self._key("outputs"), acts.outputs)
        else:
            report(progress, self.n_images, self.n_images, "activations cached")
        return found

    def predictions(self) -> Optional[np.ndarray]:
        """The model's predicted class per image (from the captured outputs), or None."""
        outputs = self._outputs()
        if outputs is None or outputs.ndim != 2:
            return None
        return outputs.argmax(axis=1)

    def cloud(self, layer: str, spec: CloudSpec = CloudSpec(), *, progress=None, cancel=None) -> PointCloud:
        """The point cloud of one layer.

        Pooled modes use spatially pooled activations captured in a stream (``stream_pooled``)
        unless the full activations are cached already; both give the same cloud.
        """
        key = self._key("cloud", layer, spec)
        cached = self._get(key)
        if cached is not None:
            return cached
        reduce = self._reduce_for(layer, spec)
        act = self.activations([layer], reduce=reduce, progress=progress, cancel=cancel)[layer]
        streamed = spec.pooling if self.stream_pooled else None
        if reduce is None and streamed is not None and act.ndim == 4:
            # Pool the cached full activations exactly as the stream does (torch, float32), so
            # a cloud's numbers never depend on which capture happened to run first.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The given NumPy array is not writable")
                act = _POOLERS[streamed](torch.from_numpy(act)).numpy()
        return self._put(key, make_cloud(act, layer=layer, **spec.kwargs()))

    def _reduce_for(self, layer: str, spec: CloudSpec) -> Optional[str]:
        """The capture a cloud needs: pooled in a stream, or the full activations when cached."""
        reduce = spec.pooling if self.stream_pooled else None
        if reduce is not None and self.cache.peek(self._key("activations", layer, None)):
            reduce = None
        return reduce

    def _outputs(self) -> Optional[np.ndarray]:
        """The model's outputs on the images (captured with the last layer when not cached)."""
        outputs = self._get(self._key("outputs"))
        if outputs is None:
            acts = capture_activations(self.model, self.images, self.layers[-1:], batch_size=self.batch_size,
                                       max_bytes=self.max_bytes, reducers={self.layers[-1]: _avg_pool})
            self.stats["captures"] += 1
            outputs = acts.outputs if acts.outputs is None else self._put(self._key("outputs"), acts.outputs)
        return outputs

    def point_labels(self, cloud: PointCloud) -> Optional[np.ndarray]:
        """Each point's label, through the cloud's provenance (None without labels or for channels)."""
        if self.labels is None or (cloud.image_index < 0).any():
            return None
        return self.labels[cloud.image_index]

    def diagrams(self, layers: Optional[Sequence[str]] = None, spec: CloudSpec = CloudSpec(), *,
                 maxdim: int = _P.maxdim, scale: str = _P.scale, backend: str = _P.backend,
                 representatives: bool = False,
                 progress: Optional[ProgressCallback] = None, cancel: Optional[CancelEvent] = None
                 ) -> dict[str, PersistenceResult]:
        """Persistence diagrams of every layer's (rescaled) cloud, computed in parallel when an
        executor is set."""
        PersistenceSpec.check("Study.diagrams", scale=scale, backend=backend)
        layers = self._check_layers(layers)
        keys = {layer: self._key("diagrams", layer, spec, scale, maxdim, backend, representatives)
                for layer in layers}
        results = {layer: self._get(keys[layer]) for layer in layers}
        if self.store is not None:  # finished diagrams from an earlier session: no capture at all
            for layer in layers:
                if results[layer] is None and (stored := self.store.get(keys[layer])) is not None:
                    results[layer] = self._put(keys[layer], stored)
        needed = [layer for layer in layers if results[layer] is None]
        # One forward pass for every layer still missing a cloud, not one pass per layer.
        to_capture: dict = {}
        for layer in needed:
            if not self.cache.peek(self._key("cloud", layer, spec)):
                to_capture.setdefault(self._reduce_for(layer, spec), []).append(layer)
        for reduce, group in to_capture.items():
            self.activations(group, reduce=reduce, cancel=cancel)
        clouds = {}
        for layer in needed:
            check_cancel(cancel, "point clouds")
            clouds[layer] = self.cloud(layer, spec, cancel=cancel)
        todo = [layer for layer in layers if results[layer] is None]
        total, done = len(layers), len(layers) - len(todo)
        report(progress, done, total, "persistence")
        executor = self._executor()  # validated even when one layer runs here
        executor = executor if len(todo) > 1 else None
        # A process or dask worker gets the torch-free topology function (a spawned worker that
        # imports torch takes seconds); in this process, _persistence_task (tests inject faults there).
        task = _persistence_task if executor is None else rescaled_persistence

        def store(layer, result_and_factor):
            results[layer] = self._put(keys[layer], result_and_factor[0])
            self.stats["persistence"] += 1
            if self.store is not None:
                self.store.put(keys[layer], results[layer])

        with Batch(executor, "persistence", progress=progress, cancel=cancel, total=total, done=done,
                   on_result=store) as batch:
            for layer in todo:
                batch.add(layer, task, clouds[layer].points, scale, maxdim=maxdim, backend=backend,
                          representatives=representatives, max_memory_bytes=self.max_memory_bytes,
                          message=f"persistence of {layer}")
            batch.results()
        return results

    def distance_matrix(self, layers: Optional[Sequence[str]] = None, spec: CloudSpec = CloudSpec(), *,
                        metric: str = _D.metric, dims: Sequence[int] = _D.dims, maxdim: Optional[int] = None,
                        scale: str = _P.scale, backend: str = _P.backend, infinite: str = _D.infinite,
                        progress: Optional[ProgressCallback] = None, cancel: Optional[CancelEvent] = None
                        ) -> np.ndarray:
        """The L x L matrix of diagram distances between layers (see
        :func:`tda_widgets.topology.distances.layer_distance_matrix`)."""
        DistanceSpec.check("Study.distance_matrix", metric=metric, infinite=infinite)
        dims = tuple(sorted({int(d) for d in dims}))
        if not dims:
            raise TDAInputError("dims is empty; choose at least one homology dimension, e.g. dims=(0, 1).")
        layers = self._check_layers(layers)
        maxdim = diagram_maxdim(dims) if maxdim is None else maxdim
        n = len(layers)
        n_pairs = n * (n - 1) // 2

        def stage_one(done, total, msg):
            report(progress, done, total + n_pairs, msg)

        results = self.diagrams(layers, spec, maxdim=maxdim, scale=scale, backend=backend,
                                progress=stage_one, cancel=cancel)
        key = self._key("distances", tuple(layers), spec, scale, maxdim, backend, metric, dims, infinite)
        cached = self._get(key)
        if cached is not None:
            report(progress, n + n_pairs, n + n_pairs, "distances cached")
            return cached.copy()

        def stage_two(done, total, msg):
            report(progress, n + done, n + total, msg)

        matrix = layer_distance_matrix([list(results[layer].diagrams) for layer in layers], metric, dims=dims,
                                       infinite=infinite, executor=self._executor(), progress=stage_two,
                                       cancel=cancel)
        self.stats["distance_matrices"] += 1
        return self._put(key, matrix).copy()

    def cka(self, layers: Optional[Sequence[str]] = None, *, kernel: str = _C.kernel, debiased: bool = _C.debiased,
            backend: str = "numpy", device: Any = None,
            progress: Optional[ProgressCallback] = None, cancel: Optional[CancelEvent] = None) -> np.ndarray:
        """CKA between layers on the same images, each layer flattened to one vector per image.

        ``backend="torch"`` computes it with :func:`tda_widgets.gpu.cka_matrix_torch` (float64,
        on ``device``: a GPU when one is available for ``device=None``); same numbers within 1e-5.
        """
        if backend not in ("numpy", "torch"):
            raise TDAInputError(f"The 'backend' parameter of Study.cka must be one of ('numpy', 'torch'). "
                                f"Got {backend!r} instead.")
        layers = self._check_layers(layers)
        if backend == "torch":
            from .gpu import default_device

            device = default_device(device)  # checked before the cache: a missing GPU is an error
        where = str(device) if backend == "torch" else None
        key = self._key("cka", tuple(layers), kernel, debiased, backend, where)
        cached = self._get(key)
        if cached is not None:
            return cached.copy()
        acts = self.activations(layers, cancel=cancel)
        features = [acts[layer].reshape(self.n_images, -1) for layer in layers]
        if backend == "torch":
            from .gpu import cka_matrix_torch

            matrix = cka_matrix_torch(features, kernel=kernel, debiased=debiased, device=device,
                                      progress=progress, cancel=cancel)
        else:
            matrix = cka_matrix(features, kernel=kernel, debiased=debiased, progress=progress, cancel=cancel)
        self.stats["cka"] += 1
        return self._put(key, matrix).copy()

    def estimate(self, spec: CloudSpec = CloudSpec(), layers: Optional[Sequence[str]] = None, *,
                 maxdim: int = 1, max_bytes: Optional[int] = None):
        """Memory estimate of this study before anything is captured (see
        :func:`tda_widgets.budget.estimate_study`); with ``max_bytes``, raise
        :class:`~tda_widgets.errors.BudgetExceededError` when the estimated peak exceeds it."""
        from .budget import check_budget, estimate_study

        layers = self._check_layers(layers)
        if max_bytes is not None:
            return check_budget(self.model, self.images, layers, self.n_images, spec, max_bytes=max_bytes,
                                maxdim=maxdim, stream_pooled=self.stream_pooled)
        return estimate_study(self.model, self.images, layers, self.n_images, spec, maxdim=maxdim,
                              stream_pooled=self.stream_pooled)

    def compare(self, layers=None, spec: CloudSpec = CloudSpec(), *, metric=_D.metric, dims=_D.dims,
                scale=_P.scale, kernel=_C.kernel, infinite=_D.infinite, progress=None, cancel=None) -> Comparison:
        """PH distances beside 1 - CKA and their Spearman rank correlation."""
        layers = self._check_layers(layers)
        ph = self.distance_matrix(layers, spec, metric=metric, dims=dims, scale=scale, infinite=infinite,
                                  progress=progress, cancel=cancel)
        ck = self.cka(layers, kernel=kernel, cancel=cancel)
        rho = rank_correlation(ph, 1.0 - ck) if len(layers) >= 3 and np.isfinite(ph).all() else float("nan")
        return Comparison(layers=layers, ph=ph, cka=ck, spearman=rho, metric=metric, dims=tuple(dims),
                          maxdim=diagram_maxdim(dims), scale=scale, spec=spec, infinite=infinite)

    def mapper(self, layer: str, spec: CloudSpec = CloudSpec(), *, lens: Any = _M.lens, n_cubes: int = _M.n_cubes,
               overlap: float = _M.overlap, clusterer: Any = _M.clusterer, eps: Optional[float] = _M.eps,
               min_samples: int = _M.min_samples,
               class_groups: Optional[dict] = None, cancel=None) -> MapperGraph:
        """The mapper graph of one layer's cloud, with per-node image indices and class make-up."""
        cloud = self.cloud(layer, spec, cancel=cancel)
        lens_key = lens if isinstance(lens, (str, tuple)) else ("array", hashlib.sha1(np.asarray(lens).tobytes()).hexdigest())
        groups_key = tuple(sorted(class_groups.items())) if class_groups else None
        key = self._key("mapper", layer, spec, lens_key, n_cubes, overlap, repr(clusterer), eps, min_samples,
                        groups_key)
        cached = self._get(key)
        if cached is not None:
            return cached
        check_cancel(cancel, "mapper")
        if isinstance(lens, tuple) and lens and lens[0] == "logit":
            lens = self._outputs()[cloud.image_index, int(lens[1])]
        graph = mapper_graph(cloud.points, labels=self.point_labels(cloud),
                             image_index=cloud.image_index if (cloud.image_index >= 0).all() else None,
                             lens=lens, n_cubes=n_cubes, overlap=overlap, clusterer=clusterer, eps=eps,
                             min_samples=min_samples, class_groups=class_groups)
        self.stats["mapper"] += 1
        return self._put(key, graph)

    def thumbnail_images(self, max_side: int = 32) -> np.ndarray:
        """The study's images as a float array (N, C, H, W), downsampled to at most
        ``max_side`` pixels a side (for thumbnails; cached)."""
        key = ("thumbnails", self._inputs_key, max_side)  # images only: no model fingerprint
        cached = self._get(key)
        return cached if cached is not None else self._put(key, thumbnail_array(self.images, max_side))
