"""The Study: a model, a fixed set of images and every cached result computed from them.

A façade: it prepares the inputs once into a frozen :class:`~tda_widgets.engine.context.Context`,
fills each method's arguments from a study preset (:func:`tda_widgets.presets.apply`, the one
rule) into frozen specs, and calls the step of the same name (:mod:`tda_widgets.engine.steps`,
where each step's cache key and computation are documented). It holds no step logic.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import presets as _presets
from . import saved as _saved
from ..capture.hooks import DEFAULT_MAX_BYTES
from ..clouds.make import CloudSpec, PointCloud
from ..capture.inputs import model_fingerprint
from ..core.options import NOT_GIVEN, NotGiven, unset
from ..topology.cka import CKASpec
from ..topology.distances import DistanceSpec, check_dims
from ..topology.mapper import MapperGraph, MapperSpec
from ..topology.persistence import PersistenceResult, PersistenceSpec
from ..topology.scaling import SCALES
from ..topology.similarity import SimilaritySpec
from . import DEFAULT_CACHE_BYTES, ResultCache, local_process_pool, steps
from .results import Comparison
from .steps import diagram_maxdim

__all__ = ["Study", "Comparison", "CloudSpec", "model_fingerprint", "local_process_pool", "SCALES", "diagram_maxdim"]

# "Not given" markers that carry the declared defaults (signatures and help() show the defaults).
_CLOUD, _MAPPER = NotGiven(CloudSpec()), NotGiven(None)
_METRIC, _DIMS, _INF = (unset(DistanceSpec, n) for n in ("metric", "dims", "infinite"))
_SCALE, _MAXDIM, _BACKEND = (unset(PersistenceSpec, n) for n in ("scale", "maxdim", "backend"))
_C, _PH = CKASpec(), PersistenceSpec()
_LENS, _CUBES, _OVERLAP, _CLUSTERER, _EPS, _MINS = (unset(MapperSpec, n) for n in MapperSpec.options())


def _chosen(study_preset, preset):
    """The preset a method uses: its own ``preset``, else the study's; ``False``: none at all."""
    return None if preset is False else preset if preset is not None else study_preset


def _fill(study, preset, layers, **given) -> tuple:
    """``(layers, arguments)`` with the chosen preset's values in the arguments left out
    (:func:`tda_widgets.presets.apply`); an explicit ``preset`` also picks its layers."""
    if preset not in (None, False) and layers is None:
        layers = _presets.get(preset).layers
    args = _presets.apply(_chosen(study.preset, preset), given)
    if "dims" in args:
        args["dims"] = check_dims(args["dims"], "Study")
    return layers, args


def _executor_view() -> property:
    return property(lambda self: self.context.executor,
                    lambda self, value: setattr(self, "context", self.context.with_executor(value)),
                    doc="Where persistence and distances run (setting it makes a new context: same cache).")


def _view(name: str) -> property:
    return property(lambda self: getattr(self.context, name), doc=f"The context's ``{name}``.")


class Study:
    """A model, a fixed set of images and every cached result computed from them.

    Parameters
    ----------
    model, images, labels, layers, class_names, executor, batch_size, max_bytes, max_memory_bytes, n_images,
    seed, stream_pooled, cache_bytes, cache, store
        The model (never changed), the images every layer is compared on, ... : documented with the context
        they make, :func:`tda_widgets.engine.steps.build_context`.
    preset : {"ph", "mapper"} or Preset, optional
        A study preset (:mod:`tda_widgets.presets`): layers, images and every method argument left out (a given one
        wins, even equal to its default). A method's ``preset=`` overrides it; ``preset=False``: none at all.
    """

    def __init__(self, model, images: Any, labels: Any = None, layers: Optional[Sequence[str]] = None, *,
                 class_names: Optional[Sequence[str]] = None, executor: Any = None, batch_size: Optional[int] = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, max_memory_bytes: int = 2 * 1024**3, stream_pooled: bool = True,
                 n_images: Optional[int] = None, seed: int = 0, cache_bytes: int = DEFAULT_CACHE_BYTES,
                 store: Any = None, preset: Any = None, cache: Optional[ResultCache] = None):
        self.preset = _presets.get(preset) if preset is not None else None
        self.context = steps.build_context(model, images, labels, layers, executor=executor, batch_size=batch_size,
                                           max_bytes=max_bytes, max_memory_bytes=max_memory_bytes,
                                           stream_pooled=stream_pooled, n_images=n_images, seed=seed,
                                           cache_bytes=cache_bytes, store=store, preset=self.preset, cache=cache)
        self.class_names = list(class_names) if class_names is not None else None

    model, model_key, images, labels, n_images, cache, store, stats = map(_view, (
        "model", "model_key", "images", "labels", "n_images", "cache", "store", "stats"))
    max_bytes, max_memory_bytes, stream_pooled, requested_batch_size, batch_size, _inputs_key, _key = map(_view, (
        "max_bytes", "max_memory_bytes", "stream_pooled", "requested_batch_size", "batch_size", "inputs_key", "key"))
    layers = property(lambda self: list(self.context.layers), doc="The study's layers.")
    executor = _executor_view()
    save = _saved.save_study  # study.save(path): one file that tda_widgets.open_study opens without the model
    _get = property(lambda self: self.context.cache.get, doc="The cached value under a key, or None (tests).")

    def cache_keys(self) -> list:
        """The keys of every cached result (for tests and debugging)."""
        return self.context.cache.keys()

    def clear_cache(self) -> None:
        """Empty the result cache (for an explorer's study: the one every explorer on the model shares)."""
        self.context.cache.clear()

    def activations(self, layers=None, *, reduce: Optional[str] = None, activation: Any = None, seed: int = 0,
                    progress=None, cancel=None) -> dict[str, np.ndarray]:
        """Activations of ``layers`` (only missing ones captured); see :func:`steps.activations`."""
        return steps.activations(self.context, layers, reduce, progress, cancel, activation=activation, seed=seed)

    def predictions(self) -> Optional[np.ndarray]:
        """The model's predicted class per image, or None (:func:`steps.predictions`)."""
        return steps.predictions(self.context)

    def class_probabilities(self) -> Optional[np.ndarray]:
        """The softmax of the model's outputs per image, shape (N, n_outputs), or None."""
        return steps.class_probabilities(self.context)

    def class_ids(self) -> Optional[list]:
        """The classes the trees are over: ``range(len(class_names))``, else the labels' values (None without)."""
        return steps.class_ids(self.context, self.class_names)

    def suggested_groups(self) -> Optional[dict]:
        """The class groups the model's own mistakes suggest (:func:`steps.suggested_groups`), or None."""
        return steps.suggested_groups(self.context, self.class_names)

    def cloud(self, layer: str, spec: CloudSpec = _CLOUD, *, preset=None, progress=None, cancel=None) -> PointCloud:
        """The point cloud of one layer under ``spec`` (left out: the preset's cloud)."""
        spec = _fill(self, preset, layer, spec=spec)[1]["spec"]
        return steps.cloud(self.context, layer, spec, progress, cancel)

    def point_labels(self, cloud: PointCloud) -> Optional[np.ndarray]:
        """Each point's label, through the cloud's provenance (None without labels or for channels)."""
        return steps.point_labels(self.context, cloud)

    def diagrams(self, layers=None, spec: CloudSpec = _CLOUD, *, maxdim: int = _MAXDIM, scale: str = _SCALE,
                 backend: str = _BACKEND, representatives: bool = False, preset=None, progress=None,
                 cancel=None) -> dict[str, PersistenceResult]:
        """Persistence diagrams of every layer's rescaled cloud (:func:`steps.diagrams`)."""
        layers, a = _fill(self, preset, layers, spec=spec, scale=scale, maxdim=maxdim, backend=backend)
        return steps.diagrams(self.context, layers, a["spec"], a["maxdim"], a["scale"], a["backend"], representatives,
                              progress, cancel)

    def distance_matrix(self, layers=None, spec: CloudSpec = _CLOUD, *, metric: str = _METRIC,
                        dims: Sequence[int] = _DIMS, maxdim: Optional[int] = None, scale: str = _SCALE,
                        backend: str = _BACKEND, infinite: str = _INF, preset=None, progress=None,
                        cancel=None) -> np.ndarray:
        """The L x L diagram distances between layers (:func:`steps.distance_matrix`)."""
        layers, a = _fill(self, preset, layers, spec=spec, metric=metric, dims=dims, scale=scale, infinite=infinite,
                          backend=backend)
        return steps.distance_matrix(self.context, layers, a["spec"], a["metric"], a["dims"], maxdim, a["scale"],
                                     a["backend"], a["infinite"], progress, cancel)

    def cka(self, layers=None, *, kernel: str = _C.kernel, debiased: bool = _C.debiased, backend: str = "numpy",
            device: Any = None, estimator: str = _C.estimator, progress=None, cancel=None) -> np.ndarray:
        """CKA between layers, each flattened to one vector per image (:func:`steps.cka`)."""
        return steps.cka(self.context, layers, kernel, debiased, backend, device, progress, cancel, estimator)

    def similarity(self, measure: str = SimilaritySpec().measure, layers=None, spec: CloudSpec = _CLOUD, *,
                   preset=None, progress=None, cancel=None, **options) -> np.ndarray:
        """A similarity measure between the layers' clouds (:func:`steps.similarity`; ``options``: SimilaritySpec's)."""
        similarity_spec = SimilaritySpec.from_kwargs("Study.similarity", measure=measure, **options)
        layers, a = _fill(self, preset, layers, spec=spec)
        return steps.similarity(self.context, layers, a["spec"], similarity_spec, progress, cancel)

    def measures_table(self, layers=None, spec: CloudSpec = _CLOUD, *, measures: Optional[Sequence[str]] = None,
                       metric: str = _METRIC, dims: Sequence[int] = _DIMS, scale: str = _SCALE,
                       kernel: str = _C.kernel, skip_errors: bool = False, preset=None, progress=None, cancel=None,
                       **options):
        """Agreement of every pair of measures over the layer pairs (:func:`steps.measures_table`)."""
        layers, a = _fill(self, preset, layers, spec=spec, metric=metric, dims=dims, scale=scale, infinite=_INF)
        distance = DistanceSpec(metric=a["metric"], dims=a["dims"], infinite=a["infinite"])
        return steps.measures_table(self.context, layers, a["spec"], measures, distance, a["scale"], kernel,
                                    skip_errors, options, progress, cancel)

    def estimate(self, spec=CloudSpec(), layers=None, *, maxdim=_PH.maxdim, max_bytes=None, cka=_C.estimator):
        """Memory estimate of :meth:`compare` before anything is captured (:func:`steps.estimate`)."""
        return steps.estimate(self.context, spec, layers, maxdim, max_bytes, cka)

    def compare(self, layers=None, spec: CloudSpec = _CLOUD, *, metric=_METRIC, dims=_DIMS, scale=_SCALE,
                kernel=_C.kernel, infinite=_INF, estimator=_C.estimator, preset=None, progress=None,
                cancel=None) -> Comparison:
        """PH distances beside CKA and their Spearman rank correlation (:func:`steps.compare`)."""
        layers, a = _fill(self, preset, layers, spec=spec, metric=metric, dims=dims, scale=scale, infinite=infinite)
        distance = DistanceSpec(metric=a["metric"], dims=a["dims"], infinite=a["infinite"])
        return steps.compare(self.context, layers, a["spec"], distance, a["scale"], kernel, estimator, progress, cancel)

    def mapper(self, layer: str, spec: CloudSpec = _CLOUD, *, cloud: CloudSpec = NOT_GIVEN,
               mapper: MapperSpec = _MAPPER, lens: Any = _LENS, n_cubes: int = _CUBES, overlap: float = _OVERLAP,
               clusterer: Any = _CLUSTERER, eps: Any = _EPS, min_samples: int = _MINS,
               class_groups: Optional[dict] = None, preset=None, cancel=None) -> MapperGraph:
        """The mapper graph of one layer's cloud (:func:`steps.mapper`): ``cloud`` (or ``spec``) and ``mapper``
        are the specs; the mapper keywords are sugar that replace fields of ``mapper`` (or of the preset's)."""
        cloud_spec = _fill(self, preset, layer, spec=cloud if cloud is not NOT_GIVEN else spec)[1]["spec"]
        array = None if isinstance(lens, (str, tuple, NotGiven)) else lens  # a lens of the caller's own values
        mapper_spec = _presets.apply_spec(_chosen(self.preset, preset), "mapper", MapperSpec, mapper, **dict(
            lens=_LENS if array is not None else lens, n_cubes=n_cubes, overlap=overlap, clusterer=clusterer, eps=eps,
            min_samples=min_samples))
        return steps.mapper(self.context, layer, cloud_spec, mapper_spec, class_groups, cancel, lens_values=array)

    def sensitivity(self, layer: str, spec: CloudSpec = _CLOUD, *, removed: Optional[Sequence[int]] = None,
                    step: int = 4, measures: Sequence[str] = ("ph", "cka"), metric: str = "sliced-wasserstein",
                    dims: Sequence[int] = (1,), remove: str = "lowest", center: bool = False, infinite: str = _INF,
                    preset=None, progress=None, cancel=None):
        """The principal-component sensitivity test of one layer's cloud (:func:`steps.sensitivity`)."""
        _, a = _fill(self, preset, layer, spec=spec, infinite=infinite)
        return steps.sensitivity(self.context, layer, a["spec"], removed, step, measures, metric, dims, remove, center,
                                 a["infinite"], progress, cancel)

    def thumbnail_images(self, max_side: int = 32) -> np.ndarray:
        """The images as a float array (N, C, H, W), at most ``max_side`` pixels a side (cached)."""
        return steps.thumbnails(self.context, max_side)
