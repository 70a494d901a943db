"""Cross-model comparison: the layers of model A against the layers of models B, C, ...

Each model (a differently seeded run, a wider one, a later checkpoint) sees the same images;
every layer of A is compared with every layer of each other model by the PH distance (the
diagrams of the two layers' clouds, e.g. sliced Wasserstein on H1 as in the study's
``SW_dist_cross_model``) and by linear CKA (Kornblith et al. 2019, on each layer's flattened
activations). The result holds one ``L_A x L_B`` matrix per measure and model, and the summary
of Kornblith et al. (2019, section 6.1): for each layer of A, is the most similar layer of B the
corresponding one (the layer of the same name)? — the fraction of layers identified, per measure.
A layer counts as identified only when the corresponding layer is strictly the most similar (a
tie with another layer is not an identification).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from torch import nn

from ..core._progress import check_cancel, report
from ..clouds.make import CloudSpec
from ..core.errors import TDAInputError, TDATypeError
from ..topology.distances import DistanceSpec
from ..topology.identification import identified_layers
from ..topology.persistence import PersistenceSpec
from ..topology.similarity import MEASURE_INFO, SimilaritySpec, MEASURES as SIMILARITY_MEASURES

__all__ = ["CrossModelComparison", "cross_model_comparison", "cross_model_matrix", "MEASURES", "MEASURE_LABELS",
           "identified_layers"]

#: The measures, and whether each is a distance (smaller: more similar) or a similarity: PH
#: distances, linear CKA, and every representational-similarity measure of
#: :mod:`tda_widgets.topology.similarity` (their kinds read from its ``MEASURE_INFO``).
MEASURES = {"ph": "distance", "cka": "similarity", **{m: MEASURE_INFO[m].kind for m in SIMILARITY_MEASURES}}
#: How figures and tables name each measure.
MEASURE_LABELS = {"ph": "PH", "cka": "linear CKA", **{m: MEASURE_INFO[m].label for m in SIMILARITY_MEASURES}}
_D, _P = DistanceSpec(), PersistenceSpec()


@dataclass(frozen=True)
class CrossModelComparison:
    """What :func:`cross_model_comparison` returns.

    Attributes
    ----------
    layers : list of str
        The layers compared, the same names in every model (rows: model A; columns: model B).
    models : list
        The labels of the models: the first is A, the others are compared with it.
    matrices : dict of str to list of ndarray
        ``matrices[measure][k]``: the ``L x L`` matrix between A and the (k+1)-th model;
        ``"ph"``: diagram distances, ``"cka"``: linear CKA (a similarity).
    identified : dict of str to ndarray of bool, shape (n_models - 1, L)
        Whether layer i of A finds layer i of each other model as its most similar layer.
    settings : dict
        The cloud spec, metric, dims, scale, infinite-bar policy and number of images used.
    """

    layers: list
    models: list
    matrices: dict
    identified: dict
    settings: dict = field(default_factory=dict)

    @property
    def fraction_identified(self) -> dict:
        """``{measure: fraction}``: the share of (model, layer) pairs whose corresponding layer is
        the most similar one (Kornblith et al. 2019's summary across seeds)."""
        return {measure: float(np.mean(hits)) for measure, hits in self.identified.items()}

    def table(self) -> list[dict]:
        """One row per other model: its label and the fraction identified per measure."""
        return [{"model": label, **{m: float(np.mean(self.identified[m][k])) for m in self.identified}}
                for k, label in enumerate(self.models[1:])]


def _check_measures(measures, where: str) -> tuple:
    if isinstance(measures, str):
        measures = (measures,)
    measures = tuple(measures)
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or not measures:
        import difflib

        close = difflib.get_close_matches(str(unknown[0]), list(MEASURES), n=1) if unknown else []
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TDAInputError(f"The 'measures' parameter of {where} must hold some of {list(MEASURES)}. "
                            f"Got {list(measures)!r} instead.{hint}")
    return measures


def cross_model_matrix(study_a, study_b, measure: str = "ph", layers: Any = None, layers_b: Any = None, *,
                       spec: CloudSpec = CloudSpec(), metric: str = _D.metric, dims: Sequence[int] = _D.dims,
                       scale: str = _P.scale, infinite: str = _D.infinite, progress=None, cancel=None,
                       **options) -> np.ndarray:
    """One measure between every layer of model A and every layer of model B, cached in A's study.

    Parameters
    ----------
    study_a, study_b : Study
        The two models' studies, on the same images (same fingerprint, same order). Their
        study presets are not applied: the settings are used as given (:func:`cross_model_comparison`
        fills them from its ``preset``).
    measure : str, default "ph"
        One of :data:`MEASURES`: ``"ph"``: the diagram distance ``metric`` on ``dims`` between
        the layers' clouds under ``spec`` (rescaled by ``scale``; each study's cached diagrams);
        ``"cka"``: linear CKA of the flattened activations (Kornblith et al. 2019); the others:
        :func:`~tda_widgets.topology.similarity.representation_similarity` of the layers'
        one-point-per-image clouds under ``spec`` (as :meth:`Study.similarity`), rows aligned by image.
    layers, layers_b : sequence of str, optional
        Rows (A's layers; default all of ``study_a.layers``) and columns (default: ``layers``).
    spec, metric, dims, scale, infinite
        The cloud and the PH distance (see :meth:`tda_widgets.Study.compare`).
    progress, cancel
        ``progress(done_rows, n_rows, message)``; a ``threading.Event``.
    **options
        The similarity measure's options (:class:`~tda_widgets.topology.similarity.SimilaritySpec`).

    Returns
    -------
    ndarray of shape (len(layers), len(layers_b))
        A distance (``"ph"``, ``"rtd"``, ``"procrustes"``) or a similarity (the others):
        ``MEASURES[measure]``.
    """
    from . import steps
    from .study import Study

    where = "cross_model_matrix"
    if not isinstance(study_a, Study) or not isinstance(study_b, Study):
        raise TDATypeError(f"The 'study_a' and 'study_b' parameters of {where} must be Study objects. "
                           f"Got {type(study_a).__name__} and {type(study_b).__name__} instead.")
    (measure,) = _check_measures((measure,), where)
    if study_a.context.inputs_key != study_b.context.inputs_key:
        raise TDAInputError(f"{where} compares two models image by image, so both studies must see the same images "
                            "(the same ones, in the same order, with the same n_images and seed). Build both with the "
                            "same images, labels, n_images and seed.")
    if measure == "ph":
        DistanceSpec.check(where, metric=metric, infinite=infinite)
        PersistenceSpec.check(where, scale=scale)
        similarity_spec = None
    elif measure == "cka":
        similarity_spec = None
        if options:
            raise TDAInputError(f"{where}: linear CKA takes no options. Got {sorted(options)}.")
    else:
        similarity_spec = SimilaritySpec.from_kwargs(where, measure=measure, **options)
    return steps.cross_model(study_a.context, study_b.context, measure, layers, layers_b, spec, metric, dims, scale,
                             infinite, similarity_spec, MEASURE_LABELS[measure], progress, cancel)


def _as_models(models, where: str = "cross_model_comparison") -> tuple[list, list]:
    if isinstance(models, Mapping):
        labels, items = list(models.keys()), list(models.values())
    elif isinstance(models, (str, nn.Module)) or not isinstance(models, Sequence):
        raise TDATypeError(f"The 'models' parameter of {where} must be a list (or a mapping label -> "
                           "model) of at least two models or checkpoints, the first a model. "
                           f"Got {type(models).__name__} instead.")
    else:
        labels, items = list(range(len(models))), list(models)
    if len(items) < 2:
        raise TDAInputError(f"The 'models' parameter of {where} needs at least two models (A and one "
                            f"to compare it with). Got {len(items)}.")
    if not isinstance(items[0], nn.Module):
        raise TDATypeError(f"The first entry of 'models' in {where} must be an nn.Module (the "
                           "architecture the checkpoints that follow are loaded into). "
                           f"Got {type(items[0]).__name__} instead.")
    from .checkpoints import _load

    loaded = [items[0]] + [item if isinstance(item, nn.Module) else _load(items[0], item, label)
                           for label, item in zip(labels[1:], items[1:])]
    return labels, loaded


def cross_model_comparison(
    models,
    images: Any,
    layers: Any = None,
    *,
    labels: Any = None,
    spec: CloudSpec = CloudSpec(),
    metric: str = _D.metric,
    dims: Sequence[int] = _D.dims,
    scale: str = _P.scale,
    infinite: str = _D.infinite,
    measures: Sequence[str] = ("ph", "cka"),
    preset: Any = None,
    n_images: Optional[int] = None,
    seed: int = 0,
    options: Optional[dict] = None,
    progress=None,
    cancel=None,
) -> CrossModelComparison:
    """Compare every layer of model A with every layer of each other model, by PH and CKA.

    Parameters
    ----------
    models : list or mapping
        ``[A, B, ...]`` or ``{label: model}``: the first an ``nn.Module``; the others models of
        any architecture with the same layer names, or checkpoints of A's architecture (state
        dicts or file paths, loaded into copies of A; A is never changed).
    images : tensor, ndarray, Dataset or DataLoader
        The images every model sees (the same ones, in the same order).
    layers : sequence of str or str, optional
        Layer names or a layer preset ("conv", ...); default: the preset's, else the children.
    labels : array-like, optional
        One label per image (used only to sample ``n_images`` class-balanced).
    spec, metric, dims, scale, infinite
        The cloud and the PH distance (see :meth:`tda_widgets.Study.compare`).
    measures : sequence of str, default ("ph", "cka")
        Any of :data:`MEASURES`: ``"ph"``, ``"cka"``, and the similarity measures ``"rtd"``,
        ``"svcca"``, ``"pwcca"``, ``"procrustes"``, ``"rsa"`` (on each layer's one-point-per-image
        cloud, see :func:`cross_model_matrix`).
    preset : {"ph", "mapper"} or Preset, optional
        A study preset (:mod:`tda_widgets.presets`): its settings for every argument left out;
        ``preset="ph"`` is the study's own cross mode (every Conv2d, top-l2 clouds, sliced
        Wasserstein on H1, no rescaling).
    n_images, seed : int, optional
        A seeded sample of the images (the same for every model).
    options : dict, optional
        The similarity measures' options (:class:`~tda_widgets.topology.similarity.SimilaritySpec`).
    progress : callable, optional
        ``progress(done, total, message)`` after each measure of each other model.
    cancel : threading.Event, optional

    Returns
    -------
    CrossModelComparison

    Raises
    ------
    TDAInputError
        On an unknown measure, fewer than two models, or a checkpoint that does not fit.
    """
    from . import presets as _presets
    from .study import Study

    where = "cross_model_comparison"
    measures = _check_measures(measures, where)
    if preset is not None:
        filled = _presets.resolve(preset, dict(spec=spec, metric=metric, dims=tuple(dims), scale=scale,
                                               infinite=infinite),
                                  dict(spec=CloudSpec(), metric=_D.metric, dims=_D.dims, scale=_P.scale,
                                       infinite=_D.infinite))
        spec, metric, dims, scale, infinite = (filled[k] for k in ("spec", "metric", "dims", "scale", "infinite"))
    DistanceSpec.check(where, metric=metric, infinite=infinite)
    PersistenceSpec.check(where, scale=scale)
    dims = tuple(sorted({int(d) for d in dims}))
    model_labels, loaded = _as_models(models)
    if options:
        SimilaritySpec.from_kwargs(f"{where}(options=...)", **options)

    studies = [Study(model, images, labels, layers, preset=preset, n_images=n_images, seed=seed) for model in loaded]
    names = list(studies[0].layers)
    for label, study in zip(model_labels[1:], studies[1:]):
        if list(study.layers) != names:
            raise TDAInputError(f"Model {label!r} has layers {list(study.layers)}, model A has {names}; "
                                "cross-model comparison pairs layers by name. Pass layers= names every model has.")
    n_other = len(studies) - 1
    matrices: dict = {m: [] for m in measures}
    for k in range(1, len(studies)):
        for j, measure in enumerate(measures):
            check_cancel(cancel, "cross-model comparison")
            done = (k - 1) * len(measures) + j
            step = None if progress is None else \
                (lambda d, t, msg, done=done: report(progress, done, n_other * len(measures), msg))
            matrices[measure].append(cross_model_matrix(
                studies[0], studies[k], measure, names, spec=spec, metric=metric, dims=dims, scale=scale,
                infinite=infinite, progress=step, cancel=cancel,
                **((options or {}) if measure in SIMILARITY_MEASURES else {})))
        report(progress, k * len(measures), n_other * len(measures), f"{model_labels[0]!r} x {model_labels[k]!r}")
    identified = {m: np.array([identified_layers(mat, MEASURES[m]) for mat in mats]) for m, mats in matrices.items()}
    settings = {"spec": spec, "metric": metric, "dims": dims, "scale": scale, "infinite": infinite,
                "n_images": studies[0].n_images, "preset": None if preset is None else _presets.get(preset).name}
    return CrossModelComparison(layers=names, models=model_labels, matrices=matrices, identified=identified,
                                settings=settings)
