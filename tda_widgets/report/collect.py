"""The report's data: every number, graph, tree and setting the page shows, collected from a
:class:`~tda_widgets.engine.study.Study` into plain dataclasses (:class:`ReportData`). No HTML
and no figure here: :mod:`tda_widgets.report.build` renders the data with the Jinja2 template.

The settings shown come from the steps' specs (their declarations' labels and help) and the
records of the point-cloud modes and similarity measures, never from text written here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..clouds.make import CloudSpec
from ..core._progress import CancelEvent, ProgressCallback, check_cancel, report
from ..core.errors import TDAInputError, TDATypeError
from ..core.options import NotGiven, Spec, unset
from ..engine.study import Study
from ..topology.cka import CKASpec
from ..topology.distances import DistanceSpec, check_dims
from ..topology.mapper import MapperSpec
from ..topology.persistence import PersistenceSpec
from ..topology.similarity import SimilaritySpec

__all__ = ["ReportData", "HierarchyData", "HierarchyRow", "CrossModelData", "collect_report", "layer_purity",
           "SENSITIVITY_FRACTIONS"]

#: The fractions of principal components the report's sensitivity section removes.
SENSITIVITY_FRACTIONS = (0.0, 0.25, 0.5, 0.75)


@dataclass(frozen=True)
class HierarchyRow:
    """One layer's row of the class-hierarchy section.

    Attributes
    ----------
    layer : str
    class_purity, group_purity : float
        Size-weighted mean node purity by class and by group (NaN without groups).
    agreement : float
        Adjusted Rand index of the layer's class tree cut into the groups (NaN without groups or tree).
    tree : ClassTree or None
        The layer's class tree (:func:`~tda_widgets.topology.hierarchy.class_tree`); None with ``why``.
    why : str
        Why the layer has no tree ("" when it has one).
    """

    layer: str
    class_purity: float
    group_purity: float
    agreement: float
    tree: Any
    why: str = ""


@dataclass(frozen=True)
class HierarchyData:
    """The class-hierarchy section's data.

    Attributes
    ----------
    labelled : bool
        Whether the study has labels (without, the section says so and holds nothing else).
    classes : list
        The classes the trees are over (:meth:`Study.class_ids`).
    groups : dict or None
        ``{class: group}``: the given ``class_groups``, else the groups the model's mistakes
        suggest, else None.
    given : bool
        Whether ``groups`` were given (``mapper_kwargs["class_groups"]``).
    graphs : dict
        ``{layer: MapperGraph}`` with the groups (the report's graphs when none).
    rows : list of HierarchyRow
    confusion_tree : ClassTree or None
        The model's confusion tree (None when the model gives no class probabilities).
    cut : int or None
        The number of suggested groups the confusion tree is cut into (None for given groups).
    """

    labelled: bool
    classes: list = field(default_factory=list)
    groups: Optional[dict] = None
    given: bool = False
    graphs: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    confusion_tree: Any = None
    cut: Optional[int] = None


@dataclass(frozen=True)
class CrossModelData:
    """The "Across models" section's data.

    Attributes
    ----------
    models : list of str
        The other models' labels, in order.
    matrices : dict
        ``{measure: {model label: ndarray (L, L)}}`` for ``"ph"`` and ``"cka"``
        (:func:`~tda_widgets.engine.crossmodel.cross_model_matrix`).
    fractions : dict
        ``{measure: {model label: fraction of layers identified}}``.
    """

    models: list
    matrices: dict
    fractions: dict


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed (see :func:`collect_report`).

    Attributes
    ----------
    title, model_name : str
    data_name : str or None
    n_parameters, n_images : int
    class_names : list or None
    n_labels : int or None
        Distinct labels (None without labels).
    layers : list of str
    preset : Preset or None
        The study preset whose values filled the settings left out.
    specs : dict
        ``{step: spec}``: the frozen spec of every step, as computed ("point cloud",
        "persistence", "layer distance", "similarity", "similarity measures", "mapper").
    comparison : Comparison
        PH distances beside CKA and their Spearman correlation (:meth:`Study.compare`).
    shapes : dict
        ``{layer: output shape per image}``.
    clouds, diagrams, graphs : dict
        ``{layer: PointCloud / PersistenceResult / MapperGraph}``.
    purity : dict
        ``{layer: layer_purity(graph)}``.
    table : MeasuresTable
        :meth:`Study.measures_table` on the same clouds.
    sensitivity : dict or None
        ``{layer: SensitivityResult}`` (None when not asked for).
    cross_model : CrossModelData or None
    hierarchy : HierarchyData
    version, created : str
    """

    title: str
    model_name: str
    data_name: Optional[str]
    n_parameters: int
    n_images: int
    class_names: Optional[list]
    n_labels: Optional[int]
    layers: list
    preset: Any
    specs: dict
    comparison: Any
    shapes: dict
    clouds: dict
    diagrams: dict
    graphs: dict
    purity: dict
    table: Any
    sensitivity: Optional[dict]
    cross_model: Optional[CrossModelData]
    hierarchy: HierarchyData
    version: str
    created: str

    @property
    def metric(self) -> str:
        return self.specs["layer distance"].metric

    @property
    def dims(self) -> tuple:
        return tuple(self.specs["layer distance"].dims)

    @property
    def scale(self) -> str:
        return self.specs["persistence"].scale

    @property
    def spec(self) -> CloudSpec:
        return self.specs["point cloud"]

    def summary(self) -> list[tuple[str, str]]:
        """``(step, settings in one line)`` per step, generated from its spec's declarations
        (:meth:`~tda_widgets.core.options.Spec.describe`)."""
        return [(step, spec.describe(skip=("measure",) if step == "similarity measures" else ()))
                for step, spec in self.specs.items()]

    def every_setting(self) -> list[tuple[str, str, str, str]]:
        """``(step, option, value, help)`` for every option of every step (the declarations'
        help), then the preset's values with their sources."""
        rows = [(step, name, value, help) for step, spec in self.specs.items() for name, value, help in spec.settings()
                if not (step == "similarity measures" and name == "measure")]  # every measure is shown
        if self.preset is not None:  # where each of the preset's values comes from
            rows += [(f"preset {self.preset.name}", name, value, f"source: {source}")
                     for name, value, source in self.preset.settings()]
        return rows


def layer_purity(graph) -> dict:
    """Summary numbers of one mapper graph: size, coverage and size-weighted node purity.

    Parameters
    ----------
    graph : MapperGraph
        From :meth:`Study.mapper` or :func:`tda_widgets.topology.mapper.mapper_graph`.

    Returns
    -------
    dict
        ``nodes``, ``edges``, ``components`` (connected components, isolated nodes included),
        ``covered`` (share of the cloud's points in at least one node), ``purity`` (mean node
        purity weighted by node size, ``sum(size * purity) / sum(size)`` over nodes with a
        purity; NaN without labels or nodes) and ``eps`` (the clusterer radius used).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> import numpy as np
    >>> g = NS(nodes=[NS(id="a", size=3, purity=1.0, members=np.arange(3)),
    ...               NS(id="b", size=1, purity=0.0, members=np.array([3]))],
    ...        edges=[], params={"n_points": 5})
    >>> layer_purity(g)["purity"]
    0.75
    """
    nodes = list(graph.nodes)
    sizes = np.array([node.size for node in nodes], dtype=np.float64)
    purity = np.array([node.purity for node in nodes], dtype=np.float64)
    known = np.isfinite(purity) & (sizes > 0)
    weighted = float((sizes[known] * purity[known]).sum() / sizes[known].sum()) if known.any() else float("nan")
    # connected components by union-find over the edges
    parent = {str(node.id): str(node.id) for node in nodes}

    def root(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b, *_ in graph.edges:
        parent[root(str(a))] = root(str(b))
    members = [np.asarray(node.members) for node in nodes]
    covered_points = np.unique(np.concatenate(members)).size if members else 0
    n_points = (graph.params or {}).get("n_points") if hasattr(graph, "params") else None
    return {
        "nodes": len(nodes),
        "edges": len(graph.edges),
        "components": len({root(k) for k in parent}),
        "covered": covered_points / n_points if n_points else float("nan"),
        "purity": weighted,
        "eps": float((getattr(graph, "params", None) or {}).get("eps") or float("nan")),
    }


def collect_report(
    study: Study,
    *,
    spec: CloudSpec = NotGiven(CloudSpec()),
    metric: str = unset(DistanceSpec, "metric"),
    dims: Sequence[int] = unset(DistanceSpec, "dims"),
    scale: str = unset(PersistenceSpec, "scale"),
    mapper_kwargs: Optional[dict] = None,
    title: Optional[str] = None,
    model_name: Optional[str] = None,
    data_name: Optional[str] = None,
    preset: Any = None,
    sensitivity: bool = True,
    other_models: Any = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelEvent] = None,
) -> ReportData:
    """Run the study and collect what the report shows (the parameters are
    :func:`~tda_widgets.report.build_report`'s; see there).

    Returns
    -------
    ReportData

    Raises
    ------
    TDAInputError
        If ``metric``, ``dims``, ``scale``, ``spec`` or ``mapper_kwargs`` are invalid.
    TDATypeError
        If ``study`` is not a :class:`Study`.
    Cancelled
        If ``cancel`` was set.
    """
    from .._version import __version__
    from ..engine.steps import per_image_shapes
    from ..engine import presets as _presets

    func = "build_report"
    if not isinstance(study, Study):
        raise TDATypeError(f"The 'study' parameter of {func} must be a tda_widgets Study. "
                           f"Got {type(study).__name__} instead; build one with Study(model, images, labels).")
    chosen = _presets.get(preset) if preset is not None else study.preset
    # the one rule (presets.apply): what was left out takes the preset's value, what was given wins
    filled = _presets.apply(chosen, {"spec": spec, "metric": metric, "dims": dims, "scale": scale})
    spec, metric, dims, scale = filled["spec"], filled["metric"], filled["dims"], filled["scale"]
    if not isinstance(spec, CloudSpec):
        raise TDATypeError(f"The 'spec' parameter of {func} must be a CloudSpec. Got {type(spec).__name__} instead.")
    DistanceSpec.check(func, metric=metric)
    PersistenceSpec.check(func, scale=scale)
    dims = tuple(sorted(check_dims(dims, func)))
    if mapper_kwargs is not None and not isinstance(mapper_kwargs, dict):
        raise TDAInputError(f"The 'mapper_kwargs' parameter of {func} must be a dict or None. "
                            f"Got {type(mapper_kwargs).__name__} instead.")
    left_out = {name: unset(MapperSpec, name) for name in MapperSpec.options()} if chosen and chosen.mapper else {}
    mapper_kwargs = _presets.apply(chosen, {**left_out, **(mapper_kwargs or {})})
    others = _other_studies(study, other_models, func)

    layers = list(study.layers)
    n_layers = len(layers)
    n_pairs = n_layers * (n_layers - 1) // 2
    compare_total = n_layers + n_pairs
    total = compare_total + n_layers + 2

    def compare_progress(done, _total, message):
        report(progress, done, total, message)

    # the settings are resolved above (the chosen preset's): the study's own preset must not fill them again
    result = study.compare(layers, spec, metric=metric, dims=dims, scale=scale, preset=False,
                           progress=compare_progress, cancel=cancel)
    diagrams = study.diagrams(layers, spec, maxdim=max(1, max(dims)), scale=scale, preset=False, cancel=cancel)
    clouds = {layer: study.cloud(layer, spec, preset=False) for layer in layers}
    # the layers' own output shapes (pooled modes store only (N, C, 1, 1) activations)
    shapes = per_image_shapes(study.context)  # a study opened from a file without its model: the stored probe
    graphs = {}
    for i, layer in enumerate(layers):
        check_cancel(cancel, "mapper")
        graphs[layer] = study.mapper(layer, spec, preset=False, cancel=cancel, **mapper_kwargs)
        report(progress, compare_total + i + 1, total, f"mapper of {layer}")
    # every measure on the same clouds, for the measures table (a measure this data cannot give,
    # e.g. PWCCA on a layer with more features than images, is named instead of failing the report)
    table = study.measures_table(layers, spec, metric=metric, dims=dims, scale=scale, skip_errors=True, preset=False,
                                 cancel=cancel)
    report(progress, compare_total + n_layers + 1, total, "similarity measures")
    sensitivities = _sensitivity(study, layers, spec, metric, dims, cancel) if sensitivity else None
    cross_model = _cross_model(study, others, layers, spec, metric, dims, scale, cancel) if others else None
    hierarchy = _hierarchy(study, layers, spec, graphs, mapper_kwargs, cancel)
    report(progress, total - 1, total, "class hierarchy")

    stored_model = getattr(study, "stored_model", None)  # opened from a file without its model (open_study)
    model_name = model_name or (stored_model["name"] if stored_model else type(study.model).__name__)
    n_parameters = stored_model["parameters"] if stored_model else sum(p.numel() for p in study.model.parameters())
    # the mapper options as run (a lens array or a class-groups mapping is not a setting to list)
    mapper_spec = MapperSpec.from_kwargs(f"{func}(mapper_kwargs=...)", **{
        k: v for k, v in mapper_kwargs.items() if k in MapperSpec.options() and isinstance(v, (str, int, float, type(None)))})
    specs: dict[str, Spec] = {
        "point cloud": spec, "persistence": PersistenceSpec(maxdim=max(1, max(dims)), scale=scale),
        "layer distance": DistanceSpec(metric=metric, dims=dims), "similarity": CKASpec(estimator=result["cka_estimator"]),
        "similarity measures": SimilaritySpec(), "mapper": mapper_spec}
    data = ReportData(
        title=title or f"Topology of {model_name} activations", model_name=model_name, data_name=data_name,
        n_parameters=n_parameters, n_images=study.n_images,
        class_names=study.class_names, n_labels=None if study.labels is None else len(np.unique(study.labels)),
        layers=layers, preset=chosen, specs=specs, comparison=result, shapes=shapes, clouds=clouds,
        diagrams=diagrams, graphs=graphs, purity={layer: layer_purity(graphs[layer]) for layer in layers},
        table=table, sensitivity=sensitivities, cross_model=cross_model, hierarchy=hierarchy,
        version=__version__, created=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    report(progress, total, total, "done")
    return data


def _hierarchy(study: Study, layers: list, spec: CloudSpec, graphs: dict, mapper_kwargs: dict,
               cancel) -> HierarchyData:
    """Class and group purity per layer, each layer's class tree and its agreement with the
    groups, and the model's confusion tree.

    Groups: ``mapper_kwargs["class_groups"]`` when given (a name such as ``"cifar10"`` or a
    mapping), else the groups the model's mistakes suggest
    (:func:`~tda_widgets.topology.hierarchy.confusion_groups`)."""
    from ..topology.hierarchy import class_affinity, class_tree, confusion_affinity, grouping_agreement
    from ..topology.mapper import resolve_class_groups

    if study.labels is None:
        return HierarchyData(labelled=False)
    classes = study.class_ids()
    # the probability the model gives each wrong class, not only its answers: a good model's few
    # outright mistakes leave most of the tree tied at the top
    probabilities = study.class_probabilities()
    confusion_tree = None
    if probabilities is not None:
        try:
            confusion_tree = class_tree(*confusion_affinity(study.labels, probabilities, classes))
        except TDAInputError:  # a single class, or outputs that are not one per class
            probabilities = None
    given = resolve_class_groups(mapper_kwargs.get("class_groups"), "build_report(mapper_kwargs=...)")
    if given is not None:
        groups: Optional[dict] = dict(given)
        grouped = graphs
    else:
        groups = study.suggested_groups() if probabilities is not None else None
        grouped = graphs if groups is None else {
            layer: study.mapper(layer, spec, preset=False, cancel=cancel, **{**mapper_kwargs, "class_groups": groups})
            for layer in layers}
    check_cancel(cancel, "class hierarchy")
    rows = []
    for layer in layers:
        graph = grouped[layer]
        class_p, group_p = graph.mean_purity("class"), graph.mean_purity("group") if groups else float("nan")
        why = ""
        try:
            tree = class_tree(*class_affinity(graph, classes))
        except TDAInputError as exc:
            tree, why = None, str(exc)
        agreement = float("nan")
        if tree is not None and groups is not None:
            agreement = grouping_agreement(tree, groups)
        rows.append(HierarchyRow(layer, class_p, group_p, agreement, tree, why))
    cut = len(set(groups.values())) if groups is not None and given is None else None  # the suggested groups
    return HierarchyData(labelled=True, classes=list(classes), groups=groups, given=given is not None, graphs=grouped, rows=rows,
                         confusion_tree=confusion_tree, cut=cut)


def _sensitivity(study: Study, layers, spec, metric, dims, cancel) -> dict:
    """:meth:`Study.sensitivity` per layer, removing :data:`SENSITIVITY_FRACTIONS` of its components."""
    results = {}
    for layer in layers:
        check_cancel(cancel, "sensitivity")
        n = study.cloud(layer, spec, preset=False, cancel=cancel).n_dims
        removed = sorted({int(round(f * n)) for f in SENSITIVITY_FRACTIONS if round(f * n) < n})
        results[layer] = study.sensitivity(layer, spec, removed=removed, metric=metric, dims=dims, preset=False,
                                           cancel=cancel)
    return results


def _other_studies(study: Study, other_models, where: str) -> dict:
    """``{label: Study}`` of each other model on the study's images and layers."""
    if other_models is None:
        return {}
    from torch import nn

    if isinstance(other_models, nn.Module) or isinstance(other_models, str):
        raise TDATypeError(f"The 'other_models' parameter of {where} must be a list or a mapping label -> model. "
                           f"Got {type(other_models).__name__} instead; wrap one model in a list.")
    items = dict(other_models) if isinstance(other_models, dict) else \
        {f"model {k + 1}": model for k, model in enumerate(other_models)}
    out = {}
    for label, model in items.items():
        if not isinstance(model, nn.Module):
            raise TDATypeError(f"Each entry of 'other_models' in {where} must be an nn.Module. "
                               f"Got {type(model).__name__} for {label!r}.")
        out[str(label)] = Study(model, study.images, study.labels, list(study.layers), class_names=study.class_names)
    return out


#: The measures of the "Across models" section.
CROSS_MODEL_MEASURES = ("ph", "cka")


def _cross_model(study: Study, others: dict, layers, spec, metric, dims, scale, cancel) -> CrossModelData:
    """PH and CKA between every layer of the study's model and of each other model, and the
    fraction of layers identified per measure and model."""
    from ..engine.crossmodel import MEASURES, cross_model_matrix
    from ..topology.identification import identified_layers

    matrices: dict = {}
    fractions: dict = {}
    for measure in CROSS_MODEL_MEASURES:
        for label, other in others.items():
            matrix = cross_model_matrix(study, other, measure, layers, spec=spec, metric=metric, dims=dims,
                                        scale=scale, cancel=cancel)
            matrices.setdefault(measure, {})[label] = matrix
            fractions.setdefault(measure, {})[label] = float(
                np.mean(identified_layers(matrix, MEASURES[measure], layers, layers)))
    return CrossModelData(models=list(others), matrices=matrices, fractions=fractions)
