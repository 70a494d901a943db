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

from ._progress import check_cancel, report
from .clouds import CloudSpec
from .errors import TDAInputError, TDATypeError
from .topology.cka import linear_cka
from .topology.distances import DistanceSpec, diagrams_distance
from .topology.persistence import PersistenceSpec

__all__ = ["CrossModelComparison", "cross_model_comparison", "MEASURES", "identified_layers"]

#: The measures, and whether each is a distance (smaller: more similar) or a similarity.
MEASURES = {"ph": "distance", "cka": "similarity"}
_D, _P = DistanceSpec(), PersistenceSpec()


def identified_layers(matrix, kind: str) -> np.ndarray:
    """For each row i of a square layers-by-layers matrix: is column i strictly the best?

    Parameters
    ----------
    matrix : array_like of shape (L, L)
        Rows: the layers of model A; columns: the same layers of model B.
    kind : {"distance", "similarity"}
        Smaller is better (a distance) or larger is better (a similarity).

    Returns
    -------
    ndarray of bool, shape (L,)

    Examples
    --------
    >>> identified_layers([[0.0, 1.0], [0.5, 0.5]], "distance").tolist()
    [True, False]
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise TDAInputError(f"identified_layers needs a square matrix (the same layers in both models). "
                            f"Got shape {m.shape}.")
    if kind not in ("distance", "similarity"):
        raise TDAInputError(f"The 'kind' parameter of identified_layers must be 'distance' or 'similarity'. "
                            f"Got {kind!r} instead.")
    m = m if kind == "distance" else -m
    out = np.zeros(m.shape[0], dtype=bool)
    for i, row in enumerate(m):
        best = np.min(row)
        out[i] = row[i] == best and np.count_nonzero(row == best) == 1
    return out


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


def _as_models(models) -> tuple[list, list]:
    if isinstance(models, Mapping):
        labels, items = list(models.keys()), list(models.values())
    elif isinstance(models, (str, nn.Module)) or not isinstance(models, Sequence):
        raise TDATypeError("The 'models' parameter of cross_model_comparison must be a list (or a mapping label -> "
                           "model) of at least two models or checkpoints, the first a model. "
                           f"Got {type(models).__name__} instead.")
    else:
        labels, items = list(range(len(models))), list(models)
    if len(items) < 2:
        raise TDAInputError("The 'models' parameter of cross_model_comparison needs at least two models (A and one "
                            f"to compare it with). Got {len(items)}.")
    if not isinstance(items[0], nn.Module):
        raise TDATypeError("The first entry of 'models' in cross_model_comparison must be an nn.Module (the "
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
    measures : sequence of {"ph", "cka"}, default ("ph", "cka")
    preset : {"ph", "mapper"} or Preset, optional
        The study's settings (:mod:`tda_widgets.presets`) for every argument left at its default;
        ``preset="ph"`` is the study's own cross mode (every Conv2d, top-l2 clouds, sliced
        Wasserstein on H1, no rescaling).
    n_images, seed : int, optional
        A seeded sample of the images (the same for every model).
    progress : callable, optional
        ``progress(done, total, message)`` after each model.
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
    from .compute import Study
    from .engine.steps import diagram_maxdim

    where = "cross_model_comparison"
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or not measures:
        raise TDAInputError(f"The 'measures' parameter of {where} must hold some of {list(MEASURES)}. "
                            f"Got {list(measures)!r} instead.")
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

    studies = [Study(model, images, labels, layers, preset=preset, n_images=n_images, seed=seed) for model in loaded]
    names = list(studies[0].layers)
    for label, study in zip(model_labels[1:], studies[1:]):
        if list(study.layers) != names:
            raise TDAInputError(f"Model {label!r} has layers {list(study.layers)}, model A has {names}; "
                                "cross-model comparison pairs layers by name. Pass layers= names every model has.")
    total = len(studies) + len(studies) - 1
    diagrams, features = [], []
    for k, study in enumerate(studies):
        check_cancel(cancel, "cross-model comparison")
        if "ph" in measures:
            results = study.diagrams(names, spec, maxdim=diagram_maxdim(dims), scale=scale, cancel=cancel)
            diagrams.append([results[name] for name in names])
        if "cka" in measures:
            acts = study.activations(names, cancel=cancel)
            features.append([acts[name].reshape(study.n_images, -1) for name in names])
        report(progress, k + 1, total, f"model {model_labels[k]!r}")

    matrices: dict = {m: [] for m in measures}
    for k in range(1, len(studies)):
        check_cancel(cancel, "cross-model comparison")
        if "ph" in measures:
            matrices["ph"].append(np.array([[diagrams_distance(a, b, metric, dims=dims, infinite=infinite)
                                             for b in diagrams[k]] for a in diagrams[0]]))
        if "cka" in measures:
            matrices["cka"].append(np.array([[linear_cka(x, y) for y in features[k]] for x in features[0]]))
        report(progress, len(studies) + k, total, f"{model_labels[0]!r} x {model_labels[k]!r}")
    identified = {m: np.array([identified_layers(mat, MEASURES[m]) for mat in mats]) for m, mats in matrices.items()}
    settings = {"spec": spec, "metric": metric, "dims": dims, "scale": scale, "infinite": infinite,
                "n_images": studies[0].n_images, "preset": None if preset is None else _presets.get(preset).name}
    return CrossModelComparison(layers=names, models=model_labels, matrices=matrices, identified=identified,
                                settings=settings)
