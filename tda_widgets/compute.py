"""The study engine: activations -> clouds -> diagrams -> distances, as cached steps.

A :class:`Study` holds a live model and a fixed set of images. Each step is cached under a key
made of what it depends on:

==============  ==========================================================================
step            key
==============  ==========================================================================
activations     model fingerprint (hash of every parameter and buffer), inputs, layer, reduction,
                activation function (``CloudSpec.activation``), seed of random positions
cloud           activations key + mode and its parameters (standardise, projection, budget, seed)
diagrams        cloud key + scale, maxdim, backend, representatives
distances       the diagrams keys of every layer + metric, dims, infinite-bar policy
CKA             the clouds' keys + kernel, debiased
similarity      the layers + cloud spec + measure and that measure's own options
mapper          cloud key + lens, cover, clusterer settings
==============  ==========================================================================

So changing a view (metric, colour, dimension shown) never recomputes diagrams, and changing
one layer recomputes only that layer. Results are stored only once a step has completed, so a
cancelled or failed run leaves only complete entries behind. The steps themselves live in
:mod:`tda_widgets.engine.steps`; :class:`Study` holds the state and the public API.

Steps over many layers run serially, on a local process pool (``executor="processes"``, both
cores), or on any :class:`concurrent.futures.Executor`, dask.distributed's included
(``client.get_executor()``), which is how a study scales to a cluster.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, Optional, Sequence

import numpy as np
from torch import nn

from ._display import RichDisplay, one_line
from ._progress import CancelEvent, ProgressCallback
from .capture import DEFAULT_MAX_BYTES, resolve_layers
from .clouds import CloudSpec, PointCloud
from .engine import DEFAULT_CACHE_BYTES, DiskStore, ResultCache, local_process_pool
from .engine import steps
from .engine.steps import diagram_maxdim
from .errors import TDAInputError
from .inputs import (ModelKey, count_images, inputs_fingerprint, labels_fingerprint, model_fingerprint, prepare_images,
                     thumbnail_array)
from .layers import expand_layers
from . import presets as _presets
from .topology.cka import CKASpec, rank_correlation
from .topology.distances import DistanceSpec
from .topology.mapper import MapperGraph, MapperSpec
from .topology.persistence import PersistenceResult, PersistenceSpec
from .topology.scaling import SCALES  # SCALES: declared once, with the rescaling
from .topology.agreement import MeasuresTable, measures_table
from .topology.similarity import MEASURE_INFO, MEASURES, SimilaritySpec

__all__ = ["Study", "Comparison", "CloudSpec", "model_fingerprint", "local_process_pool", "SCALES",
           "diagram_maxdim"]

# The declared defaults (tda_widgets.options): the signatures below read them, never repeat them.
_P, _D, _C, _M = PersistenceSpec(), DistanceSpec(), CKASpec(), MapperSpec()
#: The arguments a preset may set, with their declared defaults (an argument still at its
#: default takes the preset's value).
_PRESETTABLE = {"spec": CloudSpec(), "metric": _D.metric, "dims": _D.dims, "infinite": _D.infinite,
                "scale": _P.scale, **{name: getattr(_M, name) for name in MapperSpec.options()}}


@dataclass(frozen=True, repr=False)
class Comparison(RichDisplay):
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
    metric, dims, maxdim, scale, spec, infinite, cka_estimator
        The settings the numbers come from ("exact" or "minibatch" CKA).
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
    cka_estimator: str = "exact"

    _figure_builder = "comparison_figure"

    def summary(self) -> str:
        """One line: layers, metric and dimensions, Spearman rho; also the ``repr``. In a
        notebook the comparison shows as the two heat maps (PH distances beside 1 - CKA)."""
        dims = ", ".join(f"H{d}" for d in self.dims)
        names = list(self.layers)
        shown = ", ".join(map(str, names)) if len(names) <= 4 else f"{names[0]} … {names[-1]}"
        rho = "n/a" if np.isnan(self.spearman) else f"{self.spearman:.2f}"
        return one_line(f"Comparison of {len(names)} layers ({shown}): {self.metric} on {dims}, "
                        f"Spearman rho(PH, 1 - CKA) = {rho}")

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
        Layer names (``model.named_modules()``) or a preset ("blocks", "stages", "conv", "linear",
        "children"; see :func:`tda_widgets.layers.select_layers`); default: the direct children.
    class_names : sequence of str, optional
    executor : None, "processes" or concurrent.futures.Executor
        Where per-layer persistence and per-pair distances run: serially, on a local pool of two
        spawned processes, or on any executor (dask's ``client.get_executor()`` for a cluster).
    batch_size : int, optional
        Images per forward pass; default: derived from the model and the budget (the largest
        batch whose forward pass, measured on one image, fits a quarter of ``max_bytes``; 4 to
        256). A given one wins unless its forward pass alone exceeds ``max_bytes`` (refused).
    max_bytes, max_memory_bytes : int
        Memory budgets of the activation capture and of one persistence computation.
    n_images, seed : int, optional
        Use a seeded sample of this many images (class-balanced when labels are known).
    stream_pooled : bool, default True
        Reduce each batch during capture for the modes that allow it (pooled and one-position
        modes, :data:`tda_widgets.clouds.STREAMED_MODES`) instead of storing full activations.
    cache_bytes : int, default 2 GiB
        Bound of the result cache (:attr:`cache`: least recently used evicted; ``cache.stats``).
    cache : ResultCache, optional
        A cache to keep results in instead of a new one bounded by ``cache_bytes``: the
        explorers pass :func:`~tda_widgets.engine.shared_cache` of their model, so explorers on
        one model reuse each other's results (every key holds the model's and images'
        fingerprints, and the labels' where a result reads them, so studies of other models,
        images or labels never read each other's).
    store : str or Path, optional
        A directory keeping finished diagrams across sessions (:class:`~tda_widgets.engine.DiskStore`;
        a corrupt or foreign file is ignored and recomputed).
    preset : {"ph", "mapper"} or Preset, optional
        The study's own settings (:mod:`tda_widgets.presets`): its layers and number of images
        when ``layers`` / ``n_images`` are not given (at most that many images: all of them when
        there are fewer), and the cloud, persistence, distance and mapper settings of every
        method whose arguments are left at their defaults (an argument given with another value
        wins; an argument given *equal* to its declared default cannot be told from one left out,
        so it takes the preset's value). A method's own ``preset=`` overrides the study's, and
        ``preset=False`` in a method means no preset at all, not even the study's: its arguments
        are used exactly as given (what the explorers pass, so that what they compute is what
        their controls show).
    """

    def __init__(self, model: nn.Module, images: Any, labels: Any = None, layers: Optional[Sequence[str]] = None,
                 *, class_names: Optional[Sequence[str]] = None, executor: Any = None, batch_size: Optional[int] = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, max_memory_bytes: int = 2 * 1024**3,
                 stream_pooled: bool = True, n_images: Optional[int] = None, seed: int = 0,
                 cache_bytes: int = DEFAULT_CACHE_BYTES, store: Any = None, preset: Any = None,
                 cache: Optional[ResultCache] = None):
        self.preset = _presets.get(preset) if preset is not None else None
        if self.preset is not None:
            layers = self.preset.layers if layers is None else layers
            if n_images is None and self.preset.n_images is not None and count_images(images) > self.preset.n_images:
                n_images = self.preset.n_images
        self.model, self.model_key = model, ModelKey(model)
        self.layers = resolve_layers(model, expand_layers(model, layers, images))
        self.images, self.labels = prepare_images(images, labels, n_images, seed)
        self.n_images, self._inputs_key = count_images(self.images), inputs_fingerprint(self.images)
        # the steps that read the labels (a mapper node's classes) add this to their keys; the
        # others do not, so explorers with and without labels share them
        self._labels_key = None if self.labels is None else labels_fingerprint(self.labels)
        self.class_names = list(class_names) if class_names is not None else None
        self.executor, self.requested_batch_size = executor, steps.requested_batch_size(batch_size)
        self.max_bytes = max_bytes
        self.max_memory_bytes, self.stream_pooled = max_memory_bytes, stream_pooled
        if cache is not None and not isinstance(cache, ResultCache):
            raise TDAInputError(f"The 'cache' parameter of Study must be a ResultCache (e.g. "
                                f"tda_widgets.engine.shared_cache(model)) or None. Got {type(cache).__name__}.")
        self.cache = cache if cache is not None else ResultCache(cache_bytes)
        if cache is not None and not self._inputs_key.startswith("tensor:"):
            cache.pin(self.images)  # fingerprinted by identity: that identity stays unique in the cache
        self.store = DiskStore(store) if store is not None else None
        self.stats = {"captures": 0, "persistence": 0, "distance_matrices": 0, "cka": 0, "mapper": 0,
                      "similarity": 0, "sensitivity": 0, "cross_model": 0}

    @property
    def batch_size(self) -> int:
        """Images per forward pass (see the ``batch_size`` parameter)."""
        return steps.batch_size(self)

    def _key(self, step: str, *parts) -> tuple:
        """The one way a cache key is made: the step, the model and input fingerprints, then the
        step's own arguments (layers, frozen specs, options), in that order."""
        return (step, self.model_key(), self._inputs_key) + parts

    def _with_preset(self, preset, layers, given: dict) -> tuple:
        """``(layers, arguments)`` with a preset's settings filled in (:func:`tda_widgets.presets.resolve`):
        the method's ``preset``, else the study's; an explicit ``preset`` also picks its layers
        when ``layers`` is None; ``preset=False``: no preset, not even the study's (the arguments
        as given). The one place where a method's arguments meet a preset."""
        if preset is False:
            return layers, given
        chosen = preset if preset is not None else self.preset
        if chosen is None:
            return layers, given
        if preset is not None and layers is None:
            layers = _presets.get(preset).layers
        return layers, _presets.resolve(chosen, given, _PRESETTABLE)

    def _get(self, key):
        return self.cache.get(key)

    def cache_keys(self) -> list:
        """The keys of every cached result (for tests and debugging)."""
        return self.cache.keys()

    def clear_cache(self) -> None:
        """Empty the result cache (for an explorer's study: the cache every explorer on the same
        model shares, see :func:`tda_widgets.engine.shared_cache`)."""
        self.cache.clear()

    def activations(self, layers=None, *, reduce: Optional[str] = None, activation: Any = None, seed: int = 0,
                    progress: Optional[ProgressCallback] = None,
                    cancel: Optional[CancelEvent] = None) -> dict[str, np.ndarray]:
        """Activations of ``layers`` (only missing layers are captured).

        ``reduce="avg"``/``"max"`` pools 4-D outputs over positions batch by batch, so only
        ``(N, C, 1, 1)`` is stored; ``"top-l2"``/``"random-position"`` keeps one position per
        image (the ``image-top-l2``/``image-random-position`` modes; random positions from
        ``seed``), stored as ``(N, C + 4)``: the vector, then its row and column and the layer's
        height and width (:func:`tda_widgets.clouds.split_selection`). ``activation`` (``"relu"``,
        ... or a callable; see ``CloudSpec.activation``) is applied to each output first."""
        return steps.activations(self, layers, reduce, progress, cancel, activation=activation, seed=seed)

    def predictions(self) -> Optional[np.ndarray]:
        """The model's predicted class per image (from the captured outputs), or None."""
        outputs = steps.outputs(self)
        return outputs.argmax(axis=1) if outputs is not None and outputs.ndim == 2 else None

    def class_probabilities(self) -> Optional[np.ndarray]:
        """The softmax of the model's outputs per image, shape (N, n_outputs), or None (for the
        confusion structure :func:`~tda_widgets.topology.hierarchy.confusion_affinity`)."""
        outputs = steps.outputs(self)
        if outputs is None or outputs.ndim != 2:
            return None
        from scipy.special import softmax

        return softmax(np.asarray(outputs, dtype=np.float64), axis=1)

    def class_ids(self) -> Optional[list]:
        """The classes the study's trees are over: ``range(len(class_names))`` when the data name
        their classes, else the labels' distinct values (None without labels)."""
        if self.labels is None:
            return None
        if self.class_names is not None:
            return list(range(len(self.class_names)))
        return sorted(np.unique(self.labels).tolist())

    def suggested_groups(self) -> Optional[dict]:
        """The class groups the model's own mistakes suggest, for data without named groups:
        :func:`~tda_widgets.topology.hierarchy.confusion_groups` of the labels and
        :meth:`class_probabilities`. None without labels, without class outputs (a model whose
        outputs are not one per class), or when the mistakes suggest fewer than 2 groups. The
        report and the MapperExplorer read the class trees' agreement against these when no
        ``class_groups`` are given."""
        from .topology.hierarchy import confusion_groups

        probabilities = self.class_probabilities() if self.labels is not None else None
        if probabilities is None:
            return None
        try:
            return confusion_groups(self.labels, probabilities, self.class_ids())
        except TDAInputError:  # a single class, or outputs that are not one per class
            return None

    def cloud(self, layer: str, spec: CloudSpec = CloudSpec(), *, preset=None, progress=None,
              cancel=None) -> PointCloud:
        """The point cloud of one layer (pooled modes from a pooled stream, same numbers); a
        default ``spec`` takes the preset's cloud (``preset``, else the study's; ``False``: none)."""
        _, args = self._with_preset(preset, layer, {"spec": spec})
        return steps.cloud(self, layer, args["spec"], progress, cancel)

    def point_labels(self, cloud: PointCloud) -> Optional[np.ndarray]:
        """Each point's label, through the cloud's provenance (None without labels or for channels)."""
        return steps.point_labels(self, cloud)

    def diagrams(self, layers=None, spec: CloudSpec = CloudSpec(), *, maxdim: int = _P.maxdim, scale: str = _P.scale,
                 backend: str = _P.backend, representatives: bool = False, preset=None, progress=None,
                 cancel=None) -> dict[str, PersistenceResult]:
        """Persistence diagrams of every layer's rescaled cloud (in parallel with an executor).

        ``preset`` (default: the study's) fills ``spec`` and ``scale`` left at their defaults;
        ``preset=False``: no preset, the arguments as given."""
        layers, args = self._with_preset(preset, layers, {"spec": spec, "scale": scale})
        return steps.diagrams(self, layers, args["spec"], maxdim, args["scale"], backend, representatives, progress,
                              cancel)

    def distance_matrix(self, layers=None, spec: CloudSpec = CloudSpec(), *, metric: str = _D.metric,
                        dims: Sequence[int] = _D.dims, maxdim: Optional[int] = None, scale: str = _P.scale,
                        backend: str = _P.backend, infinite: str = _D.infinite, preset=None, progress=None,
                        cancel=None) -> np.ndarray:
        """The L x L diagram distances between layers (:func:`~tda_widgets.topology.layer_distance_matrix`).

        ``preset`` (default: the study's) fills the arguments left at their defaults;
        ``preset=False``: no preset, the arguments as given."""
        layers, a = self._with_preset(preset, layers, dict(spec=spec, metric=metric, dims=dims, scale=scale,
                                                           infinite=infinite))
        return steps.distance_matrix(self, layers, a["spec"], a["metric"], a["dims"], maxdim, a["scale"], backend,
                                     a["infinite"], progress, cancel)

    def cka(self, layers=None, *, kernel: str = _C.kernel, debiased: bool = _C.debiased, backend: str = "numpy",
            device: Any = None, estimator: str = _C.estimator, progress=None, cancel=None) -> np.ndarray:
        """CKA between layers, each flattened to one vector per image; ``backend="torch"`` runs
        :func:`tda_widgets.gpu.cka_matrix_torch` on ``device`` (same numbers within 1e-5);
        ``estimator="minibatch"`` streams linear CKA during the capture (see :class:`CKASpec`)."""
        return steps.cka(self, layers, kernel, debiased, backend, device, progress, cancel, estimator)

    def similarity(self, measure: str = SimilaritySpec().measure, layers=None, spec: CloudSpec = CloudSpec(), *,
                   preset=None, progress=None, cancel=None, **options) -> np.ndarray:
        """The layers x layers matrix of a representational-similarity measure
        (:func:`~tda_widgets.topology.similarity.similarity_matrix`), cached.

        Each layer is represented by its point cloud under ``spec``, one point per image: the
        same cloud persistence uses (the default ``auto`` mode pools conv layers over positions,
        so every layer becomes ``(n_images, channels)``; linear layers stay as they are). Why the
        cloud and not the flattened activations (as :meth:`cka` uses): the measures then compare
        exactly what PH compares, on the same images, so their rank correlation with PH is about
        the measures and not about two different representations; and pooled clouds keep
        SVCCA/PWCCA well posed (flattened conv layers have more features than images, which
        PWCCA refuses). Pass ``CloudSpec(mode="image-flatten", max_points=None)`` for the
        flattened activations of all images. Rows are the images present in every layer's
        cloud (all of them with the default random subsample, which keeps the same images in
        every layer). A mode with several points per image ("spatial") or none ("channel") is
        refused.

        Parameters
        ----------
        measure : {"rtd", "svcca", "pwcca", "procrustes", "rsa"}
            See :data:`~tda_widgets.topology.similarity.MEASURE_INFO` for whether larger means
            more alike (similarity) or less alike (distance).
        layers, spec, preset
            As for :meth:`diagrams` (``preset`` fills ``spec``; ``False``: not even the study's).
        **options
            The measure's options, declared once in
            :class:`~tda_widgets.topology.similarity.SimilaritySpec` (``rtd_batch``,
            ``rtd_trials``, ``seed``, ``backend``, ``keep``, ``n_components``, ``epsilon``,
            ``metric``); only the chosen measure's own options enter the cache key.

        Returns
        -------
        ndarray of shape (L, L)
        """
        similarity_spec = SimilaritySpec.from_kwargs("Study.similarity", measure=measure, **options)
        layers, args = self._with_preset(preset, layers, {"spec": spec})
        return steps.similarity(self, layers, args["spec"], similarity_spec, progress, cancel)

    def measures_table(self, layers=None, spec: CloudSpec = CloudSpec(), *, measures: Optional[Sequence[str]] = None,
                       metric: str = _D.metric, dims: Sequence[int] = _D.dims, scale: str = _P.scale,
                       kernel: str = _C.kernel, skip_errors: bool = False, preset=None, progress=None,
                       cancel=None, **options) -> MeasuresTable:
        """Agreement of every pair of measures over the layer pairs and each measure's layer
        monotonicity (:func:`~tda_widgets.topology.agreement.measures_table`), all cached.

        ``measures`` (default: ``"ph"``, ``"cka"`` and every measure of
        :data:`~tda_widgets.topology.similarity.MEASURES`): ``"ph"`` is :meth:`distance_matrix`
        with ``metric``, ``dims`` and ``scale``; ``"cka"`` is :meth:`cka` with ``kernel``; the
        others :meth:`similarity` with ``options``. With ``skip_errors`` a measure that cannot be
        computed here (PWCCA on a layer with more features than images) is left out and named in
        the result's ``skipped`` attribute (a dict measure -> message) instead of raising.
        ``preset`` (default: the study's) fills ``spec``, ``metric``, ``dims`` and ``scale`` left
        at their defaults; ``preset=False``: no preset, the arguments as given.
        """
        layers, a = self._with_preset(preset, layers, dict(spec=spec, metric=metric, dims=dims, scale=scale))
        spec, metric, dims, scale = a["spec"], a["metric"], a["dims"], a["scale"]
        chosen = list(measures) if measures is not None else ["ph", "cka", *MEASURES]
        layers = steps.layers_of(self, layers)
        matrices, kinds, labels, skipped = {}, {}, {}, {}
        for k, name in enumerate(chosen):
            report_progress = None if progress is None else \
                (lambda done, total, msg, k=k: progress(k, len(chosen), f"{name}: {msg}"))
            try:
                if name == "ph":
                    matrix = self.distance_matrix(layers, spec, metric=metric, dims=dims, scale=scale,
                                                  preset=False, progress=report_progress, cancel=cancel)
                    kinds[name], labels[name] = "distance", f"PH ({metric})"
                elif name == "cka":
                    matrix = self.cka(layers, kernel=kernel, progress=report_progress, cancel=cancel)
                    kinds[name], labels[name] = "similarity", f"{kernel} CKA"
                else:
                    matrix = self.similarity(name, layers, spec, preset=False, progress=report_progress,
                                             cancel=cancel, **options)
                    kinds[name], labels[name] = MEASURE_INFO[name].kind, MEASURE_INFO[name].label
            except TDAInputError as exc:
                if not skip_errors or name in ("ph", "cka"):
                    raise
                skipped[name] = str(exc)
                continue
            matrices[name] = matrix
        table = dataclasses.replace(measures_table(matrices, kinds, labels, layers), skipped=skipped)
        if progress is not None:
            progress(len(chosen), len(chosen), "measures table")
        return table

    def estimate(self, spec: CloudSpec = CloudSpec(), layers=None, *, maxdim: int = 1, max_bytes: Optional[int] = None,
                 cka: Optional[str] = _C.estimator):
        """Memory estimate of :meth:`compare` before anything is captured (forward pass, clouds,
        persistence, CKA; :func:`tda_widgets.budget.estimate_study`); with ``max_bytes``, raise
        :class:`~tda_widgets.errors.BudgetExceededError` above it."""
        from .budget import check_budget, estimate_study

        args = (self.model, self.images, steps.layers_of(self, layers), self.n_images, spec)
        kwargs = dict(maxdim=maxdim, stream_pooled=self.stream_pooled, batch_size=self.requested_batch_size,
                      capture_bytes=self.max_bytes, cka=cka)
        if max_bytes is not None:
            return check_budget(*args, max_bytes=max_bytes, **kwargs)
        return estimate_study(*args, **kwargs)

    def compare(self, layers=None, spec: CloudSpec = CloudSpec(), *, metric=_D.metric, dims=_D.dims,
                scale=_P.scale, kernel=_C.kernel, infinite=_D.infinite, estimator=_C.estimator, preset=None,
                progress=None, cancel=None) -> Comparison:
        """PH distances beside CKA and the Spearman rank correlation of PH and 1 - CKA (one forward
        pass when CKA is streamed: clouds, CKA statistics and predictions together).

        ``preset="ph"`` runs the study's own pipeline (:mod:`tda_widgets.presets`): its layers
        (when ``layers`` is None), cloud, metric, dimensions and rescaling; ``preset=False``
        ignores the study's preset (the arguments as given)."""
        layers, a = self._with_preset(preset, layers, dict(spec=spec, metric=metric, dims=dims, scale=scale,
                                                           infinite=infinite))
        spec, metric, dims, scale, infinite = a["spec"], a["metric"], a["dims"], a["scale"], a["infinite"]
        layers = steps.layers_of(self, layers)
        steps.capture_for_compare(self, layers, spec, kernel, estimator, cancel=cancel)
        ph = self.distance_matrix(layers, spec, metric=metric, dims=dims, scale=scale, infinite=infinite,
                                  preset=False, progress=progress, cancel=cancel)  # settled above
        ck = self.cka(layers, kernel=kernel, estimator=estimator, cancel=cancel)
        rho = rank_correlation(ph, 1.0 - ck) if len(layers) >= 3 and np.isfinite(ph).all() else float("nan")
        return Comparison(layers=layers, ph=ph, cka=ck, spearman=rho, metric=metric, dims=tuple(dims),
                          maxdim=diagram_maxdim(dims), scale=scale, spec=spec, infinite=infinite,
                          cka_estimator=steps.cka_estimator(self, layers, kernel, estimator))

    def mapper(self, layer: str, spec: CloudSpec = CloudSpec(), *, lens: Any = _M.lens, n_cubes: int = _M.n_cubes,
               overlap: float = _M.overlap, clusterer: Any = _M.clusterer, eps: Any = _M.eps,
               min_samples: int = _M.min_samples, class_groups: Optional[dict] = None, preset=None,
               cancel=None) -> MapperGraph:
        """The mapper graph of one layer's cloud, with per-node image indices and class make-up.

        ``preset="mapper"`` uses the study's own mapper settings (:mod:`tda_widgets.presets`);
        ``preset=False`` ignores the study's preset (the arguments as given)."""
        _, a = self._with_preset(preset, layer, dict(spec=spec, lens=lens, n_cubes=n_cubes, overlap=overlap,
                                                     clusterer=clusterer, eps=eps, min_samples=min_samples))
        return steps.mapper(self, layer, a["spec"], a["lens"], a["n_cubes"], a["overlap"], a["clusterer"], a["eps"],
                            a["min_samples"], class_groups, cancel)

    def sensitivity(self, layer: str, spec: CloudSpec = CloudSpec(), *, removed: Optional[Sequence[int]] = None,
                    step: int = 4, measures: Sequence[str] = ("ph", "cka"), metric: str = "sliced-wasserstein",
                    dims: Sequence[int] = (1,), remove: str = "lowest", center: bool = False,
                    infinite: str = _D.infinite, preset=None, progress=None, cancel=None):
        """The principal-component sensitivity test of one layer's cloud, cached
        (:func:`~tda_widgets.topology.sensitivity.pc_removal_sensitivity`: the distance between the
        cloud and itself with ``removed`` components gone, PH and 1 - linear CKA).

        The cloud is :meth:`cloud`'s under ``spec`` (``preset`` fills it; ``False``: not even the
        study's preset), unscaled as in the
        study's script; the other arguments are passed on. Returns a ``SensitivityResult``."""
        from .topology.sensitivity import pc_removal_sensitivity

        _, args = self._with_preset(preset, layer, {"spec": spec})
        spec = args["spec"]
        removed_key = None if removed is None else tuple(sorted({int(k) for k in removed}))
        key = self._key("sensitivity", layer, spec, removed_key, int(step), tuple(measures), metric,
                        tuple(sorted({int(d) for d in dims})), remove, bool(center), infinite)

        def compute():
            points = self.cloud(layer, spec, preset=False, cancel=cancel).points  # spec settled above
            return pc_removal_sensitivity(points, removed=removed_key, step=step, measures=tuple(measures),
                                          metric=metric, dims=dims, remove=remove, center=center, infinite=infinite,
                                          progress=progress, cancel=cancel)

        return steps.cached(self, key, compute, "sensitivity")

    def thumbnail_images(self, max_side: int = 32) -> np.ndarray:
        """The images as a float array (N, C, H, W), at most ``max_side`` pixels a side (cached)."""
        key = ("thumbnails", self._inputs_key, max_side)  # images only: no model fingerprint
        return steps.cached(self, key, lambda: thumbnail_array(self.images, max_side))
