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
import math
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ._progress import CancelEvent, ProgressCallback, check_cancel, report
from .clouds import CloudSpec
from .compute import Study
from .options import NotGiven, add_arguments, unset
from .topology.cka import CKASpec
from .topology.distances import DistanceSpec, check_dims
from .topology.mapper import MapperSpec
from .topology.persistence import PersistenceSpec
from .topology.similarity import SimilaritySpec
from .errors import BudgetExceededError, Cancelled, TDAInputError, TDATypeError
from .markup import escape, markup

_DIST, _PH = DistanceSpec(), PersistenceSpec()  # the declared defaults, shared with Study and widgets
__all__ = ["build_report", "write_report", "layer_purity", "add_report_parser", "add_report_settings",
           "check_report_settings", "write_report_from_args", "run_report"]

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": False}
#: The small per-layer figures: no mode bar (it would cover their titles); drag still zooms.
_SMALL_CONFIG = {"displaylogo": False, "responsive": False, "displayModeBar": False}

_CSS = """
body { font-family: Arial, Helvetica, sans-serif; color: #222; margin: 24px auto; max-width: 1240px;
       padding: 0 16px; line-height: 1.45; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px;
       border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #e4e4e4; border-radius: 4px; padding: 4px; }
.note { background: #f7f9fc; border-left: 3px solid #4c78a8; padding: 8px 14px; }
footer { color: #777; font-size: 12px; margin-top: 32px; }
"""


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
    from . import __version__
    from .figures import layer_distance_figure, mapper_graph_figure, measures_table_figure, persistence_diagram_figure

    from . import presets as _presets

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
    from .capture import describe_layers

    shapes = {entry["name"]: entry["output_shape"] for entry in describe_layers(study.model, study.images)}
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

    model_name = model_name or type(study.model).__name__
    title = title or f"Topology of {model_name} activations"
    n_params = sum(p.numel() for p in study.model.parameters())
    spearman = result["spearman"]
    infinite_pairs = int(np.isinf(result["ph"]).sum() // 2)

    # figures: plotly.js goes inline with the first one only
    distance_fig = layer_distance_figure(result["ph"], result["cka"], layers, metric=metric,
                                         rank_correlation=None if math.isnan(spearman) else spearman,
                                         scale=scale, dims=dims, width=1000, height=480)
    parts = [_figure_html(distance_fig, "layer-distances", first=True)]
    measures_html = _measures_table_html(table) + _figure_html(
        measures_table_figure(table.labels, table.agreement, table.monotonicity, table.depth_correlation,
                              width=1000, height=440), "measures-table", first=False)
    diagram_html = []
    for i, layer in enumerate(layers):
        cloud = clouds[layer]
        fig = persistence_diagram_figure(list(diagrams[layer].diagrams), dims=dims,
                                         title=f"{layer} ({cloud.n_points} points, {cloud.n_dims} dims)",
                                         width=350, height=350)
        diagram_html.append(f"<div class='card'>{_figure_html(fig, f'diagram-{i}', first=False, small=True)}</div>")
    mapper_html, summary_rows = [], []
    for i, layer in enumerate(layers):
        graph = graphs[layer]
        summary = layer_purity(graph)
        fig = mapper_graph_figure(graph, color_by="majority", class_names=study.class_names,
                                  title=f"{layer}: {summary['nodes']} nodes, purity {_fmt(summary['purity'], 2)}",
                                  width=350, height=370)
        mapper_html.append(f"<div class='card'>{_figure_html(fig, f'mapper-{i}', first=False, small=True)}</div>")
        summary_rows.append(
            f"<tr><td>{escape(layer)}</td><td class='num'>{summary['nodes']}</td>"
            f"<td class='num'>{summary['edges']}</td><td class='num'>{summary['components']}</td>"
            f"<td class='num'>{_fmt(100 * summary['covered'], 0)} %</td>"
            f"<td class='num'>{_fmt(summary['eps'])}</td><td class='num'><b>{_fmt(summary['purity'])}</b></td></tr>"
        )
    hierarchy_html = _hierarchy_section(study, layers, spec, graphs, mapper_kwargs, cancel)
    report(progress, total - 1, total, "writing figures")

    first_params = graphs[layers[0]].params if layers else {}
    layer_rows = "".join(
        f"<tr><td>{escape(layer)}</td><td>{escape(shapes.get(layer))}</td>"
        f"<td>{escape(clouds[layer].mode)}</td><td class='num'>{clouds[layer].n_points}</td>"
        f"<td class='num'>{clouds[layer].n_dims}</td></tr>"
        for layer in layers
    )
    settings = [
        ("point clouds", f"mode {spec.mode}, at most {spec.max_points} points ({spec.subsample} subsample, "
                         f"seed {spec.seed}), standardize {spec.standardize}, projection {spec.projection}"
                         + (f" to {spec.n_components} dims" if spec.projection else "")),
        ("persistence", f"Vietoris–Rips, H{'/H'.join(str(d) for d in dims)}, clouds rescaled: {scale}"),
        ("layer distance", f"{metric} on {', '.join(f'H{d}' for d in dims)}; infinite bars matched "
                           "separately (∞ when their counts differ)"),
        ("similarity", "linear CKA on the flattened activations of all images"),
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
    header_table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in header_rows)
    # Every option of every step, its value here and its one-line help, read from the declarations.
    mapper_spec = MapperSpec.from_kwargs(f"{func}(mapper_kwargs=...)", **{
        k: v for k, v in mapper_kwargs.items() if k in MapperSpec.options() and isinstance(v, (str, int, float, type(None)))})
    steps = [("point cloud", spec), ("persistence", PersistenceSpec(maxdim=max(1, max(dims)), scale=scale)),
             ("layer distance", DistanceSpec(metric=metric, dims=dims)), ("similarity", CKASpec(estimator=result["cka_estimator"])),
             ("similarity measures", SimilaritySpec()), ("mapper", mapper_spec)]
    every_setting = "".join(
        f"<tr><td>{escape(step)}</td><td>{escape(name)}</td><td>{escape(value)}</td><td>{escape(help)}</td></tr>"
        for step, step_spec in steps for name, value, help in step_spec.settings()
        if not (isinstance(step_spec, SimilaritySpec) and name == "measure"))  # the report shows every measure
    if chosen is not None:  # where each of the preset's values comes from
        every_setting += "".join(
            f"<tr><td>preset {escape(chosen.name)}</td><td>{escape(name)}</td><td>{escape(value)}</td>"
            f"<td>source: {escape(source)}</td></tr>" for name, value, source in chosen.settings())

    if math.isnan(spearman):
        rho_text = ("The Spearman rank correlation is not defined here (it needs at least 3 layers and "
                    "finite distances).")
    else:
        rho_text = markup("Spearman rank correlation between the {} distances and 1 − CKA over the "
                          "{} layer pairs: <b>ρ = {:.2f}</b>.", metric, n_pairs, spearman)
    if infinite_pairs:
        rho_text += (f" {infinite_pairs} pair(s) have an infinite distance (different numbers of "
                     "infinite bars), drawn at the top of the colour scale.")

    created = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="tda-widgets {escape(__version__)}">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">tda-widgets report: persistent homology and mapper of the activations of each layer.</p>
<table class="header">{header_table}</table>
<details class="settings"><summary>Every setting</summary><table class="settings">
<tr><th>step</th><th>option</th><th>value</th><th>meaning</th></tr>{every_setting}</table></details>
<table class="layers"><tr><th>layer</th><th>output shape (per image)</th><th>cloud mode</th><th>points</th>
<th>dims</th></tr>{layer_rows}</table>

<h2>Layer distances beside CKA</h2>
<p>{rho_text}</p>
{parts[0]}

<h2>Similarity measures beside PH and CKA</h2>
{measures_html}
{extra_html}

<h2>Persistence diagram per layer</h2>
<div class="grid">{''.join(diagram_html)}</div>

<h2>Mapper graph per layer</h2>
<table class="purity"><tr><th>layer</th><th>nodes</th><th>edges</th><th>components</th>
<th>points in a node</th><th>eps</th><th>purity (size-weighted)</th></tr>{''.join(summary_rows)}</table>
<div class="grid">{''.join(mapper_html)}</div>

<h2>The class hierarchy, layer by layer</h2>
{hierarchy_html}

<h2>How to read this</h2>
<div class="note">
<p><b>Layer distances.</b> Each layer's activations become a point cloud (one point per image for the
default modes), rescaled so that layers are compared by shape, not by the size of their activations.
The left heat map is the {escape(metric)} distance between two layers' persistence diagrams; the right one
is 1 − CKA, a standard measure of how differently two layers represent the same images. Darker means
more different in both. When the two agree, ρ is close to 1.</p>
<p><b>Similarity measures.</b> RTD, SVCCA, PWCCA, orthogonal Procrustes and RSA compare the same
layers' clouds (one point per image). The first table gives, for every pair of measures, the Spearman
rank correlation of their values over the layer pairs, each turned into a dissimilarity (1 − s for a
similarity), so ρ near 1 means two measures order the layer pairs alike. <i>Monotonicity</i> is the
ReSi benchmark's sanity check: over every triple of layers i &lt; j &lt; k, the share where the outer
pair (i, k) is at least as different as either inner pair; <i>depth ρ</i> is the Spearman correlation
between the number of layers between two layers and their dissimilarity. A measure that tracks depth
scores near 1 on both.</p>
<p><b>Persistence diagrams.</b> Each point is a topological feature of the cloud: H0 points are
clusters merging, H1 points are loops. A point's height above the diagonal (death − birth) is how long
the feature persists across scales; points near the diagonal are noise, points far from it are
structure. Points on the dashed ∞ line never die (the single connected component of the whole cloud).</p>
<p><b>Mapper graphs.</b> A node is a cluster of images that are close in the layer's activation space
and have similar lens values; edges join clusters that share images. Node size is the number of points
and colour the majority class. Purity is the share of a node's points in its majority class; the table
averages it over nodes, weighted by size. Purity rising with depth means the layers separate the classes.</p>
</div>
<footer>Made with tda-widgets {escape(__version__)} on {escape(created)}; a self-contained file (plotly.js
inline, nothing loaded from the network).</footer>
</body>
</html>
"""
    report(progress, total, total, "done")
    return body


def _group_list(groups: dict, class_names) -> str:
    """``group: class, class; group: ...`` as escaped text, groups in the order of their classes."""
    from .figures._common import label_name

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
    from .figures import class_tree_figure, purity_by_layer_figure
    from .topology.hierarchy import class_affinity, class_tree, confusion_affinity, grouping_agreement
    from .topology.mapper import resolve_class_groups

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
    from .figures import sensitivity_figure

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
    from .crossmodel import MEASURE_LABELS, MEASURES, cross_model_matrix
    from .figures import cross_model_figure, identification_figure
    from .topology.identification import identified_layers

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


def add_report_parser(subparsers) -> Any:
    """Add the ``report`` command to an argparse subparsers object (``python -m tda_widgets``)."""
    parser = subparsers.add_parser(
        "report",
        help="write the study as a standalone HTML report (demo model, or your model and images)",
        description="Write the study (layer distances beside CKA, persistence diagrams, mapper graphs) "
                    "to one self-contained HTML file. Nothing is downloaded.",
    )
    source = parser.add_argument_group("model and images (choose --demo, --model or --model-file)")
    source.add_argument("--demo", action="store_true", help="the embedded digits CNN and held-out digits")
    source.add_argument("--model", metavar="torchvision:NAME",
                        help="a torchvision architecture built with random weights, e.g. torchvision:resnet18")
    source.add_argument("--model-file", metavar="PATH.py:CLASS",
                        help="an nn.Module class in a Python file, instantiated without arguments "
                             "(with num_classes=N when --num-classes is given)")
    source.add_argument("--checkpoint", metavar="FILE", help="weights to load (state dict or training checkpoint)")
    source.add_argument("--num-classes", type=int, default=None,
                        help="classifier outputs of --model (default: the number of class folders)")
    source.add_argument("--images", metavar="DIR",
                        help="an ImageFolder (DIR/<class>/<image>), or cifar10:ROOT / cifar100:ROOT")
    source.add_argument("--image-size", type=int, default=224, help="resize and crop ImageFolder images (224)")
    source.add_argument("--normalize", default=None,
                        help="imagenet, cifar10, cifar100 or none (default: imagenet for folders, the "
                             "dataset's own for CIFAR)")
    source.add_argument("--layers", help="comma-separated layer names (default: the model's children)")
    source.add_argument("--n-images", type=int, default=None,
                        help="class-balanced sample of this many images (default: 500; the demo: all 450)")
    source.add_argument("--seed", type=int, default=0, help="seed of the image sample and the point clouds")
    source.add_argument("--seeds", default=None, metavar="1,2",
                        help="with --demo: also train the digits CNN with these seeds (deterministic, seconds each) "
                             "and add the section 'Across models' (PH and CKA between the layers of the shipped "
                             "model and of each seeded one, and the fraction of layers identified)")
    add_report_settings(parser.add_argument_group("study settings"))
    parser.set_defaults(func=run_report)
    return parser


_MAPPER_FLAGS = ("lens", "n_cubes", "overlap", "min_samples")


def add_report_settings(group) -> None:
    """The report's settings flags (``--metric``, ``--mode``, ``--points``, ``--scale``, the
    mapper's, ``--out``, ``--title``, ``--quiet``) on an argparse parser or group: shared by
    ``python -m tda_widgets report`` and the notebook's ``%tda report``."""
    from .presets import STUDY_PRESETS

    group.add_argument("--preset", choices=list(STUDY_PRESETS), default=None,
                       help="the study's own settings (layers, images, cloud, distance, mapper; flags left at "
                            "their defaults take the preset's values): "
                            + "; ".join(f"{name}: {p.description}" for name, p in STUDY_PRESETS.items()))
    # flags, choices, defaults and help come from the options' declarations (tda_widgets.options)
    # a flag left out parses as a NotGiven marker, which presets.apply fills from --preset
    add_arguments(group, DistanceSpec, only=["metric"], not_given=True)
    add_arguments(group, CloudSpec, only=["mode", "max_points"], aliases={"max_points": ["--points"]}, not_given=True)
    add_arguments(group, PersistenceSpec, only=["scale"], not_given=True)
    add_arguments(group, MapperSpec, only=list(_MAPPER_FLAGS), not_given=True)
    group.add_argument("--out", default="report.html", help="the HTML file to write (report.html)")
    group.add_argument("--title", default=None)
    group.add_argument("--quiet", action="store_true", help="no progress bar")


def _value(value: Any) -> Any:
    """A flag's value: its default when it was left out (a NotGiven marker)."""
    return value.default if isinstance(value, NotGiven) else value


def check_report_settings(args) -> Path:
    """Check the flags of :func:`add_report_settings` before any computation; returns the
    output path."""
    # the declared rule (CloudSpec's), not one of the command line's own
    CloudSpec.check("the report's --points", max_points=_value(args.max_points))
    out = Path(args.out).expanduser()
    if not out.parent.is_dir():
        raise FileNotFoundError(f"--out: the folder {str(out.parent)!r} does not exist.")
    return out


def write_report_from_args(out: Path, study: Study, args, *, model_name: str, data_name: str,
                           other_models: Any = None) -> Path:
    """Write the report of ``study`` with the settings parsed by :func:`add_report_settings`
    (and ``args.seed``), with a progress bar unless ``--quiet``."""
    from tqdm.auto import tqdm

    from .presets import apply_spec

    preset = getattr(args, "preset", None) or None
    # the preset's cloud (else the declared one) with the fields whose flags were given
    spec = apply_spec(preset, "cloud", CloudSpec, NotGiven(None), mode=args.mode, max_points=args.max_points,
                      seed=args.seed)
    mapper_kwargs = {name: getattr(args, name) for name in _MAPPER_FLAGS}  # markers where a flag was left out
    bar = tqdm(total=1, desc="report", unit="step", disable=args.quiet)

    def progress(done, total, message):
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[:40])
        bar.refresh()

    try:
        return write_report(out, study, spec=spec, metric=args.metric, scale=args.scale, title=args.title,
                            mapper_kwargs=mapper_kwargs, preset=preset, model_name=model_name,
                            data_name=data_name, other_models=other_models, progress=progress)
    finally:
        bar.close()


def _load_model_file(spec: str, num_classes: Optional[int]):
    import difflib
    import importlib.util

    from torch import nn

    if ":" not in spec:
        raise TDAInputError(f"--model-file must look like path/to/model.py:ClassName. Got {spec!r}.")
    file, class_name = spec.rsplit(":", 1)
    path = Path(file).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--model-file: the file {str(path)!r} does not exist.")
    module_spec = importlib.util.spec_from_file_location(f"_tda_user_model_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise TDAInputError(f"--model-file: running {str(path)!r} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent.resolve()))
    cls = getattr(module, class_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        candidates = [n for n, v in vars(module).items()
                      if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module.__name__]
        close = difflib.get_close_matches(class_name, candidates, n=3)
        raise TDAInputError(
            f"--model-file: {str(path)!r} has no nn.Module class {class_name!r}; its classes are "
            f"{candidates or 'none'}" + (f" (did you mean {close[0]!r}?)" if close else "") + "."
        )
    try:
        return cls() if num_classes is None else cls(num_classes=num_classes)
    except Exception as exc:
        raise TDAInputError(f"--model-file: {class_name}({'' if num_classes is None else f'num_classes={num_classes}'}) "
                            f"failed: {type(exc).__name__}: {exc}") from exc


def _user_study(args):
    """Model, dataset and Study from the --model/--model-file/--images arguments."""
    from .presets import get as get_preset
    from .data.loaders import (
        TORCHVISION_MODELS,
        balanced_subset,
        cifar10,
        cifar100,
        image_folder,
        load_checkpoint,
        torchvision_model,
    )

    if args.images is None:
        raise TDAInputError("--images is required with --model/--model-file: an ImageFolder directory "
                            "(DIR/<class>/<image>) or cifar10:ROOT.")
    kind, _, rest = args.images.partition(":")
    if kind in ("cifar10", "cifar100") and rest:
        loader = cifar10 if kind == "cifar10" else cifar100
        dataset = loader(rest, train=False, normalize=args.normalize or kind)
        data_name = f"{kind.upper()} test set in {rest}"
    else:
        dataset = image_folder(args.images, image_size=args.image_size, normalize=args.normalize or "imagenet")
        data_name = f"image folder {args.images}"
    classes = list(getattr(dataset, "classes", []) or [])
    preset_images = get_preset(args.preset).n_images if getattr(args, "preset", None) else None
    n = (preset_images or 500) if args.n_images is None else args.n_images
    if n < 2:
        raise TDAInputError(f"--n-images must be at least 2. Got {n}.")
    if n < len(dataset):
        dataset = balanced_subset(dataset, n, seed=args.seed)
        data_name += f", class-balanced sample (seed {args.seed})"

    num_classes = args.num_classes or (len(classes) if classes else None)
    if args.model is not None:
        name = args.model.split(":", 1)[1] if args.model.startswith("torchvision:") else args.model
        if not args.model.startswith("torchvision:") and name not in TORCHVISION_MODELS:
            raise TDAInputError(f"--model must be torchvision:NAME with NAME one of {list(TORCHVISION_MODELS)}, "
                                f"or use --model-file path.py:ClassName. Got {args.model!r}.")
        model = torchvision_model(name, num_classes=num_classes or 1000)
        model_name = name
    else:
        model = _load_model_file(args.model_file, args.num_classes)
        model_name = args.model_file.rsplit(":", 1)[1]
    if args.checkpoint is not None:
        load_checkpoint(model, args.checkpoint)
        model_name += f", weights {Path(args.checkpoint).name}"
    else:
        print("note: no --checkpoint given; the model has random weights.", file=sys.stderr)
    model.eval()
    layers = [s.strip() for s in args.layers.split(",") if s.strip()] if args.layers else None
    labels = getattr(dataset, "targets", None)
    study = Study(model, dataset, labels, layers, class_names=classes or None, preset=getattr(args, "preset", None))
    return study, model_name, data_name


def _parse_seeds(text: Optional[str], demo: bool) -> list:
    """``--seeds 1,2`` as ``[1, 2]`` (only with ``--demo``); a clear error otherwise."""
    if not text:
        return []
    if not demo:
        raise TDAInputError("--seeds trains seeded copies of the demo's digits CNN, so it needs --demo. For your own "
                            "models, call build_report(study, other_models=[...]) from Python.")
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise TDAInputError(f"--seeds must be comma-separated whole numbers such as 1,2. Got {text!r}.") from None
    if not seeds or min(seeds) < 0:
        raise TDAInputError(f"--seeds must be comma-separated whole numbers >= 0 such as 1,2. Got {text!r}.")
    return seeds


def run_report(args) -> int:
    """The ``report`` command: returns 0 on success, 2 (with a one-line message) on bad input."""
    chosen = [flag for flag, on in (("--demo", args.demo), ("--model", args.model), ("--model-file", args.model_file))
              if on]
    try:
        if len(chosen) != 1:
            raise TDAInputError("choose exactly one of --demo, --model torchvision:NAME or --model-file PATH.py:CLASS"
                                + (f" (got {' and '.join(chosen)})" if chosen else "") + ".")
        out = check_report_settings(args)
        seeds = _parse_seeds(getattr(args, "seeds", None), args.demo)
        other_models = None
        if args.demo:
            from .data import load_demo

            demo = load_demo(n_images=args.n_images, seed=args.seed)
            layers = [s.strip() for s in args.layers.split(",") if s.strip()] if args.layers else \
                (None if args.preset else demo.layers)
            study = Study(demo.model, demo.images, demo.labels, layers, class_names=demo.class_names,
                          preset=args.preset)
            model_name = "digits CNN (shipped weights)"
            data_name = f"held-out scikit-learn digits ({demo.subset} split)"
            if seeds:
                from .data.train_digits import train_seeds

                other_models = {f"seed {s}": model for s, model in train_seeds(seeds).items()}
        else:
            study, model_name, data_name = _user_study(args)
        write_report_from_args(out, study, args, model_name=model_name, data_name=data_name,
                               other_models=other_models)
    except (TDAInputError, TDATypeError, FileNotFoundError, BudgetExceededError, Cancelled) as exc:
        message = " ".join(str(exc).split())
        print(f"python -m tda_widgets report: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("python -m tda_widgets report: interrupted; no report written.", file=sys.stderr)
        return 130
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
