"""The study as one standalone HTML file, and the ``python -m tda_widgets report`` command.

The report holds, for every layer of a :class:`~tda_widgets.compute.Study`: the layer-distance
heat map beside CKA with their Spearman rank correlation, a persistence diagram, and a mapper
graph with a purity summary. It is a single self-contained file: plotly.js is embedded once,
inline, and nothing is loaded from the network when it is opened.

Examples
--------
>>> from tda_widgets.data import load_demo
>>> from tda_widgets.compute import Study
>>> demo = load_demo(n_images=100)                                         # doctest: +SKIP
>>> study = Study(demo.model, demo.images, demo.labels, demo.layers,
...               class_names=demo.class_names)                            # doctest: +SKIP
>>> write_report("report.html", study)                                     # doctest: +SKIP

From a terminal::

    python -m tda_widgets report --demo --out report.html
    python -m tda_widgets report --model torchvision:resnet18 --checkpoint weights.pt \\
        --images DIR --layers layer1,layer2,layer3,layer4 --n-images 500 --out report.html
"""

from __future__ import annotations

import datetime
import functools
import math
import os
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from markupsafe import Markup

from ..core._progress import CancelEvent, ProgressCallback, check_cancel, report
from ..clouds.make import CloudSpec
from ..engine.study import Study
from ..core.options import NotGiven, unset
from ..topology.cka import CKASpec
from ..topology.distances import DistanceSpec, check_dims
from ..topology.mapper import MapperSpec
from ..topology.persistence import PersistenceSpec
from ..topology.similarity import SimilaritySpec
from ..core.errors import TDAInputError, TDATypeError
from ..core.markup import escape, markup

_DIST, _PH = DistanceSpec(), PersistenceSpec()  # the declared defaults, shared with Study and widgets
__all__ = ["build_report", "write_report", "layer_purity"]


_PLOTLY_CONFIG = {"displaylogo": False, "responsive": False}
#: The small per-layer figures: no mode bar (it would cover their titles); drag still zooms.
_SMALL_CONFIG = {"displaylogo": False, "responsive": False, "displayModeBar": False}

def render_page(**values: Any) -> str:
    """The report's page from its Jinja2 template (templates/report.html.j2, package data):
    autoescape on, an undefined name an error (``StrictUndefined``), and every plain value
    escaped by the package's one text rule (:func:`tda_widgets.core.markup.escape`); only
    ``markupsafe.Markup`` fragments (figures, sections built with :func:`~tda_widgets.core.markup.markup`)
    go in as they are."""
    return _environment().get_template("report.html.j2").render(**values)


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("tda_widgets.report", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        finalize=lambda value: value if isinstance(value, Markup) else Markup(escape(value)))


def _css() -> str:
    """The report's style sheet, shipped as package data (report/report.css) and inlined."""
    from importlib.resources import files

    return files(__package__).joinpath("report.css").read_text(encoding="utf-8")



def _fmt(value: float, digits: int = 3) -> str:
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}"


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


def _figure_html(fig, div_id: str, first: bool, small: bool = False) -> str:
    import plotly.io as pio

    return pio.to_html(fig, full_html=False, include_plotlyjs="inline" if first else False,
                       div_id=div_id, config=_SMALL_CONFIG if small else _PLOTLY_CONFIG)


def build_report(
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
) -> str:
    """Run the study and return it as one self-contained HTML document.

    Parameters
    ----------
    study : Study
        The model, images, labels and layers (results already cached are reused).
    spec : CloudSpec, default=CloudSpec()
        How each layer becomes a point cloud (for persistence and mapper alike).
    metric : {"bottleneck", "wasserstein-1", "wasserstein-2", "sliced-wasserstein"}, default="bottleneck"
        Distance between the layers' persistence diagrams.
    dims : sequence of int, default=(0, 1)
        Homology dimensions compared and drawn.
    scale : {"median", "diameter", "none"}, default="median"
        Rescaling of each cloud before persistence ("compare shape, not scale").
    mapper_kwargs : dict, optional
        Passed to :meth:`Study.mapper` (``lens``, ``n_cubes``, ``overlap``, ``clusterer``,
        ``eps``, ``min_samples``, ``class_groups``).
    title : str, optional
        The page title; default ``"Topology of <model> activations"``.
    model_name, data_name : str, optional
        How the header names the model (default: its class name) and the images.
    preset : {"ph", "mapper"} or Preset, optional
        The study's own settings (:mod:`tda_widgets.presets`; default: the study's preset):
        ``spec``, ``metric``, ``dims``, ``scale`` and the mapper options left at their defaults
        take the preset's values, and the report lists each value with its source.
    sensitivity : bool, default True
        Add the section "How sensitive is each measure?": per layer, the PH distance (``metric``
        on ``dims``) and 1 - linear CKA between the layer's cloud and itself with 25, 50 and
        75 % of its principal components removed (:meth:`Study.sensitivity`; Ding et al. 2021).
    other_models : list or mapping of label to model, optional
        Models with the study's layer names (other seeds, widths, checkpoints as modules) to
        compare with the study's model on the same images: adds the section "Across models"
        (PH and linear CKA between every layer of the study's model and every layer of each
        other model, and Kornblith et al.'s fraction of layers identified per measure).
    progress : callable, optional
        ``progress(done, total, message)`` after each step.
    cancel : threading.Event, optional
        Checked between steps; raises :class:`~tda_widgets.errors.Cancelled` when set.

    Returns
    -------
    str
        The HTML document. plotly.js is inlined once (in the first figure), so the file opens
        offline; each figure is a ``<div>`` with a stable id: ``layer-distances``,
        ``measures-table`` (:meth:`Study.measures_table`: PH, CKA and the similarity measures'
        agreement and layer monotonicity), ``sensitivity`` (with ``sensitivity=True``),
        ``cross-model``, ``cross-model-ph`` and ``cross-model-cka`` (with ``other_models``),
        ``diagram-<i>`` and ``mapper-<i>`` for the i-th layer.

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
    from ..figures import layer_distance_figure, mapper_graph_figure, measures_table_figure, persistence_diagram_figure

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
    from ..engine.steps import per_image_shapes

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
    extra_html = ""
    if sensitivity:
        extra_html += _sensitivity_html(study, layers, spec, metric, dims, cancel)
    if others:
        extra_html += _cross_model_html(study, others, layers, spec, metric, dims, scale, cancel)

    stored_model = getattr(study, "stored_model", None)  # opened from a file without its model (open_study)
    model_name = model_name or (stored_model["name"] if stored_model else type(study.model).__name__)
    title = title or f"Topology of {model_name} activations"
    n_params = stored_model["parameters"] if stored_model else sum(p.numel() for p in study.model.parameters())
    spearman = result["spearman"]
    infinite_pairs = int(np.isinf(result["ph"]).sum() // 2)

    # figures: plotly.js goes inline with the first one only
    distance_fig = layer_distance_figure(result["ph"], result["cka"], layers, metric=metric,
                                         rank_correlation=None if math.isnan(spearman) else spearman,
                                         scale=scale, dims=dims, width=1000, height=480)
    distance_figure = Markup(_figure_html(distance_fig, "layer-distances", first=True))
    measures_html = Markup(_measures_table_html(table) + _figure_html(
        measures_table_figure(table.labels, table.agreement, table.monotonicity, table.depth_correlation,
                              width=1000, height=440), "measures-table", first=False))
    diagram_figures = []
    for i, layer in enumerate(layers):
        cloud = clouds[layer]
        fig = persistence_diagram_figure(list(diagrams[layer].diagrams), dims=dims,
                                         title=f"{layer} ({cloud.n_points} points, {cloud.n_dims} dims)",
                                         width=350, height=350)
        diagram_figures.append(Markup(_figure_html(fig, f"diagram-{i}", first=False, small=True)))
    mapper_figures, purity_rows = [], []
    for i, layer in enumerate(layers):
        graph = graphs[layer]
        summary = layer_purity(graph)
        fig = mapper_graph_figure(graph, color_by="majority", class_names=study.class_names,
                                  title=f"{layer}: {summary['nodes']} nodes, purity {_fmt(summary['purity'], 2)}",
                                  width=350, height=370)
        mapper_figures.append(Markup(_figure_html(fig, f"mapper-{i}", first=False, small=True)))
        purity_rows.append(dict(layer=layer, nodes=summary["nodes"], edges=summary["edges"],
                                components=summary["components"], covered=_fmt(100 * summary["covered"], 0),
                                eps=_fmt(summary["eps"]), purity=_fmt(summary["purity"])))
    hierarchy_html = Markup(_hierarchy_section(study, layers, spec, graphs, mapper_kwargs, cancel))
    report(progress, total - 1, total, "writing figures")

    first_params = graphs[layers[0]].params if layers else {}
    layer_rows = [dict(layer=layer, shape=shapes.get(layer), mode=clouds[layer].mode, n_points=clouds[layer].n_points,
                       n_dims=clouds[layer].n_dims) for layer in layers]
    settings = [
        ("point clouds", f"mode {spec.mode}, at most {spec.max_points} points ({spec.subsample} subsample, "
                         f"seed {spec.seed}), standardize {spec.standardize}, projection {spec.projection}"
                         + (f" to {spec.n_components} dims" if spec.projection else "")),
        ("persistence", f"Vietoris–Rips, H{'/H'.join(str(d) for d in dims)}, clouds rescaled: {scale}"),
        ("layer distance", f"{metric} on {', '.join(f'H{d}' for d in dims)}; infinite bars matched "
                           "separately (∞ when their counts differ)"),
        ("similarity", f"{CKASpec().kernel} CKA on the flattened activations of all images "
                       f"({result['cka_estimator']} estimator)"),
        ("mapper", f"lens {first_params.get('lens')}, {first_params.get('n_cubes')} intervals, overlap "
                   f"{first_params.get('overlap')}, {first_params.get('clusterer_name')} (min_samples "
                   f"{first_params.get('min_samples')}, eps {first_params.get('eps_source')})"),
    ]
    classes = study.class_names
    header_rows = [
        ("model", f"{model_name} ({n_params:,} parameters)"),
        ("images", f"{study.n_images}" + (f" — {data_name}" if data_name else "")),
        ("classes", ", ".join(map(str, classes)) if classes else
         ("unlabelled" if study.labels is None else f"{len(np.unique(study.labels))} labels")),
        ("layers", ", ".join(layers)),
    ] + settings
    if chosen is not None:
        header_rows.append(("preset", f"{chosen.name}: {chosen.description}"))
    # Every option of every step, its value here and its one-line help, read from the declarations.
    mapper_spec = MapperSpec.from_kwargs(f"{func}(mapper_kwargs=...)", **{
        k: v for k, v in mapper_kwargs.items() if k in MapperSpec.options() and isinstance(v, (str, int, float, type(None)))})
    steps = [("point cloud", spec), ("persistence", PersistenceSpec(maxdim=max(1, max(dims)), scale=scale)),
             ("layer distance", DistanceSpec(metric=metric, dims=dims)), ("similarity", CKASpec(estimator=result["cka_estimator"])),
             ("similarity measures", SimilaritySpec()), ("mapper", mapper_spec)]
    every_setting = [(step, name, value, help) for step, step_spec in steps for name, value, help in step_spec.settings()
                     if not (isinstance(step_spec, SimilaritySpec) and name == "measure")]  # every measure is shown
    if chosen is not None:  # where each of the preset's values comes from
        every_setting += [(f"preset {chosen.name}", name, value, f"source: {source}")
                          for name, value, source in chosen.settings()]

    if math.isnan(spearman):
        rho_text = markup("The Spearman rank correlation is not defined here (it needs at least 3 layers and "
                          "finite distances).")
    else:
        rho_text = markup("Spearman rank correlation between the {} distances and 1 − CKA over the "
                          "{} layer pairs: <b>ρ = {:.2f}</b>.", metric, n_pairs, spearman)
    if infinite_pairs:
        rho_text += markup(" {} pair(s) have an infinite distance (different numbers of "
                           "infinite bars), drawn at the top of the colour scale.", infinite_pairs)

    created = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = render_page(
        version=__version__, title=title, css=Markup(_css()), header_rows=header_rows, every_setting=every_setting,
        layer_rows=layer_rows, rho_text=Markup(rho_text), distance_figure=distance_figure, measures_html=measures_html,
        extra_html=Markup(extra_html), diagram_figures=diagram_figures, purity_rows=purity_rows,
        mapper_figures=mapper_figures, hierarchy_html=hierarchy_html, metric=metric, created=created)
    report(progress, total, total, "done")
    return body


def _group_list(groups: dict, class_names) -> str:
    """``group: class, class; group: ...`` as escaped text, groups in the order of their classes."""
    from ..figures._common import label_name

    members: dict = {}
    for label, group in groups.items():
        members.setdefault(group, []).append(label)
    return "; ".join(markup("<b>{}</b>: {}", group, ", ".join(label_name(c, class_names) for c in classes))
                     for group, classes in members.items())


def _hierarchy_section(study: Study, layers: list, spec: CloudSpec, graphs: dict, mapper_kwargs: dict,
                       cancel) -> str:
    """The report's section on the class hierarchy: class and group purity per layer (figure
    ``purity-by-layer``), each layer's class tree (``class-tree-<i>``) beside the model's
    confusion tree (``confusion-tree``), and each tree's agreement with the groups.

    Groups: ``mapper_kwargs["class_groups"]`` when given (a name such as ``"cifar10"`` or a
    mapping), else the groups the model's mistakes suggest
    (:func:`~tda_widgets.topology.hierarchy.confusion_groups`), said so in the text."""
    from ..figures import class_tree_figure, purity_by_layer_figure
    from ..topology.hierarchy import class_affinity, class_tree, confusion_affinity, grouping_agreement
    from ..topology.mapper import resolve_class_groups

    if study.labels is None:
        return "<p>The class hierarchy needs labels; this study has none.</p>"
    names = study.class_names
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
        groups = dict(given)
        source = "The groups are the ones given (<code>class_groups</code>): " + _group_list(
            {c: groups[c] for c in classes if c in groups}, names) + "."
        grouped = graphs
    else:
        groups = study.suggested_groups() if probabilities is not None else None
        if groups is None:
            source = ("No groups were given (<code>class_groups</code>), and the model's mistakes suggest none "
                      "here (no class probabilities, no confusion between classes, or fewer than 3 classes): only "
                      "class purity is shown, and the trees have no agreement number.")
        else:
            source = ("No groups were given (<code>class_groups</code>), so the groups are the ones the "
                      "model's own mistakes suggest: its confusion tree (the grey one below) cut into "
                      f"{len(set(groups.values()))} groups (at its dashed line): " + _group_list(groups, names) + ".")
        grouped = graphs if groups is None else {
            layer: study.mapper(layer, spec, preset=False, cancel=cancel, **{**mapper_kwargs, "class_groups": groups})
            for layer in layers}
    check_cancel(cancel, "class hierarchy")
    purity_fig = purity_by_layer_figure(grouped, title="class and group purity per layer" if groups else
                                        "class purity per layer", width=520, height=340)
    rows, cards = [], []
    for i, layer in enumerate(layers):
        graph = grouped[layer]
        class_p, group_p = graph.mean_purity("class"), graph.mean_purity("group") if groups else float("nan")
        try:
            tree = class_tree(*class_affinity(graph, classes))
        except TDAInputError as exc:
            tree, why = None, str(exc)
        agreement = float("nan")
        if tree is not None and groups is not None:
            agreement = grouping_agreement(tree, groups)
        rows.append(f"<tr><td>{escape(layer)}</td><td class='num'>{_fmt(class_p)}</td>"
                    f"<td class='num'>{_fmt(group_p)}</td><td class='num'><b>{_fmt(agreement, 2)}</b></td></tr>")
        if tree is None:
            cards.append(f"<div class='card'><p>{escape(layer)}: no class tree ({escape(why)})</p></div>")
            continue
        title = f"{layer}" + ("" if math.isnan(agreement) else f" · agreement {agreement:.2f}")
        fig = class_tree_figure(tree, class_names=names, title=title, width=300, height=260)
        cards.append(f"<div class='card'>{_figure_html(fig, f'class-tree-{i}', first=False, small=True)}</div>")
    if confusion_tree is not None:
        cut = len(set(groups.values())) if groups is not None and given is None else None  # the suggested groups
        fig = class_tree_figure(confusion_tree, class_names=names, title="the model's confusions", width=300,
                                height=260, color="#7f7f7f", cut=cut,
                                subtitle=None if cut is None else f"dashed: the cut into {cut} groups")
        confusion_card = f"<div class='card'>{_figure_html(fig, 'confusion-tree', first=False, small=True)}</div>"
    else:
        confusion_card = "<div class='card'><p>No confusion tree: the model gives no class predictions.</p></div>"
    return f"""<p>{source}</p>
<table class="hierarchy"><tr><th>layer</th><th>class purity</th><th>group purity</th>
<th>agreement of the layer's class tree with the groups</th></tr>{''.join(rows)}</table>
{_figure_html(purity_fig, "purity-by-layer", first=False)}
<div class="grid" style="flex-wrap: nowrap; align-items: flex-start">
<div><p><b>The model's mistakes</b> (reference)</p>{confusion_card}</div>
<div><p><b>The classes each layer's mapper graph groups together</b></p><div class="grid">{''.join(cards)}</div></div>
</div>
<div class="note">
<p><b>How to read this.</b> <i>Class purity</i> is the share of a node's images in its most common
class, averaged over a layer's mapper nodes (big nodes count more); <i>group purity</i> is the same for
groups of classes. A layer whose group purity is high while its class purity is still low has already
separated the groups but not yet the classes inside them: the hierarchy is learned top down.</p>
<p>Each tree (a dendrogram) joins the classes that share mapper nodes: for every pair of classes, every
node that holds both adds its size times the two classes' shares of it. Classes joined low down (near 0)
share many nodes, so the layer treats them as alike; classes joined only at the top (near 1) never share
a node. The grey tree is built from the model's own mistakes on the same images: for every pair of
classes, the probability it gives to the wrong one of the two (not only its final answers: a good model
rarely errs outright). It is the reference for which classes the network itself finds alike.</p>
<p>The <i>agreement</i> cuts a layer's tree into as many branches as there are groups and compares the
branches with the groups (the adjusted Rand index): 1 means the tree's top branches are exactly the
groups, 0 means no better than chance (it can be slightly negative). Read it along the layers: where it
rises, the layer has started to organise the classes into those groups. A layer whose nodes each hold
a single class has no hierarchy left to show: every class joins at the top, and the agreement is 0.</p>
</div>"""


#: The fractions of principal components the report's sensitivity section removes.
SENSITIVITY_FRACTIONS = (0.0, 0.25, 0.5, 0.75)


def _sensitivity_html(study: Study, layers, spec, metric, dims, cancel) -> str:
    """The section "How sensitive is each measure?" (:meth:`Study.sensitivity` per layer)."""
    from ..figures import sensitivity_figure

    results = {}
    for layer in layers:
        check_cancel(cancel, "sensitivity")
        n = study.cloud(layer, spec, preset=False, cancel=cancel).n_dims
        removed = sorted({int(round(f * n)) for f in SENSITIVITY_FRACTIONS if round(f * n) < n})
        results[layer] = study.sensitivity(layer, spec, removed=removed, metric=metric, dims=dims, preset=False,
                                            cancel=cancel)
    fig = sensitivity_figure(results, width=1000, height=420,
                             title="distance to the original layer as principal components are removed")
    rows = "".join(
        f"<tr><td>{escape(layer)}</td><td class='num'>{r.settings['n_features']}</td>"
        + "".join(f"<td class='num'>{_fmt(ph)} / {_fmt(cka, 2)}</td>"
                  for ph, cka in zip(r.distances["ph"][1:], r.distances["cka"][1:])) + "</tr>"
        for layer, r in results.items())
    head = "".join(f"<th>{int(100 * f)} % removed: PH / 1 − CKA</th>" for f in SENSITIVITY_FRACTIONS[1:])
    return markup("""<h2>How sensitive is each measure?</h2>
<p>The test of Ding, Denain &amp; Steinhardt (2021), as the study ran it: each layer's cloud (unscaled) is
projected onto its principal components with the lowest-variance ones removed (25, 50 and 75 %), and
compared with the original by the {} distance on {} and by 1 − linear CKA. A useful measure grows as
more of the representation goes; one that stays near 0 does not see the change.</p>
""", metric, ", ".join(f"H{d}" for d in dims)) + (
        f"<table class='measures'><tr><th>layer</th><th>dims</th>{head}</tr>{rows}</table>"
        + _figure_html(fig, "sensitivity", first=False))


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


def _cross_model_html(study: Study, others: dict, layers, spec, metric, dims, scale, cancel) -> str:
    """The section "Across models": PH and CKA between every layer of the study's model and of
    each other model, and the fraction of layers identified per measure."""
    from ..engine.crossmodel import MEASURE_LABELS, MEASURES, cross_model_matrix
    from ..figures import cross_model_figure, identification_figure
    from ..topology.identification import identified_layers

    fractions, figures = {}, []
    for measure in ("ph", "cka"):
        for k, (label, other) in enumerate(others.items()):
            matrix = cross_model_matrix(study, other, measure, layers, spec=spec, metric=metric, dims=dims,
                                        scale=scale, cancel=cancel)
            fractions.setdefault(MEASURE_LABELS[measure], {})[label] = float(
                np.mean(identified_layers(matrix, MEASURES[measure], layers, layers)))
            if k == 0:
                name = MEASURE_LABELS[measure] + (f" ({metric})" if measure == "ph" else "")
                fig = cross_model_figure(matrix, layers, layers, kind=MEASURES[measure], measure=name,
                                         model_a="this model", model_b=label, width=490, height=460)
                figures.append(f"<div class='card'>{_figure_html(fig, f'cross-model-{measure}', False, True)}</div>")
    table = identification_figure(fractions, width=1000, title="fraction of layers identified (Kornblith et al. 2019)")
    return markup("""<h2>Across models</h2>
<p>The same images through {} other model(s) ({}). For each layer of this model, is the most similar layer
of the other model the corresponding one (the layer of the same name)? Kornblith et al. (2019) asked
this of differently seeded networks; a measure that finds every partner gives 100 %. The heat maps
compare this model with {}; a star marks a row's best match where it is the corresponding layer, a
cross where it is another.</p>
""", len(others), ", ".join(others), next(iter(others))) + (
        _figure_html(table, "cross-model", first=False) + f"<div class='grid'>{''.join(figures)}</div>")


def _measures_table_html(table) -> str:
    """The measures table as HTML: one row per measure, its monotonicity and its ρ with every other."""
    head = "".join(f"<th>ρ with {escape(label)}</th>" for label in table.labels)
    rows = []
    for a, label in enumerate(table.labels):
        cells = "".join(f"<td class='num'>{_fmt(table.agreement[a, b], 2)}</td>" for b in range(len(table.labels)))
        rows.append(f"<tr><td>{escape(label)}</td><td>{escape(table.kinds[a])}</td>"
                    f"<td class='num'><b>{_fmt(table.monotonicity[a], 2)}</b></td>"
                    f"<td class='num'>{_fmt(table.depth_correlation[a], 2)}</td>{cells}</tr>")
    skipped = "".join(f"<li>{escape(name)}: {escape(why)}</li>" for name, why in table.skipped.items())
    return (f"<table class='measures'><tr><th>measure</th><th>kind</th><th>monotonicity</th><th>depth ρ</th>"
            f"{head}</tr>{''.join(rows)}</table>" + (f"<p>Not computed here:</p><ul>{skipped}</ul>" if skipped else ""))


def write_report(path, study: Study, **kwargs) -> Path:
    """Run the study and write the report to ``path`` (see :func:`build_report`).

    Parameters
    ----------
    path : str or os.PathLike
        The HTML file to write; its folder must exist.
    study : Study
    **kwargs
        Passed to :func:`build_report`.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist (checked before any computation).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TDATypeError(f"The 'path' parameter of write_report must be a file path. Got {path!r} instead.")
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder of the report {str(path)!r} does not exist; create {str(path.parent)!r} "
            "first or choose another --out path."
        )
    document = build_report(study, **kwargs)
    path.write_text(document, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- command line
