"""The study as one standalone HTML file: :func:`build_report` collects the data
(:func:`~tda_widgets.report.collect.collect_report`, a :class:`~tda_widgets.report.collect.ReportData`
with no HTML) and renders it (:func:`render_report`: plotly figures and the Jinja2 template
``templates/report.html.j2`` with ``report.css``).

The report holds, for every layer of a :class:`~tda_widgets.engine.study.Study`: the layer-distance
heat map beside CKA with their Spearman rank correlation, a persistence diagram, and a mapper
graph with a purity summary. It is a single self-contained file: plotly.js is embedded once,
inline, and nothing is loaded from the network when it is opened.

Examples
--------
>>> from tda_widgets.data import load_demo
>>> from tda_widgets.engine.study import Study
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

import functools
import math
import os
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from markupsafe import Markup

from ..clouds.make import CloudSpec
from ..clouds.modes import MODE_RECORDS
from ..core._progress import CancelEvent, ProgressCallback
from ..core.errors import TDATypeError
from ..core.markup import escape
from ..core.options import NotGiven, unset
from ..engine.study import Study
from ..topology.cka import DESCRIPTION as CKA_DESCRIPTION
from ..topology.distances import DistanceSpec
from ..topology.persistence import PersistenceSpec
from ..topology.similarity import MEASURE_INFO
from .collect import SENSITIVITY_FRACTIONS, ReportData, collect_report, layer_purity

__all__ = ["build_report", "write_report", "render_report", "layer_purity"]


_PLOTLY_CONFIG = {"displaylogo": False, "responsive": False}
#: The small per-layer figures: no mode bar (it would cover their titles); drag still zooms.
_SMALL_CONFIG = {"displaylogo": False, "responsive": False, "displayModeBar": False}


def render_page(**values: Any) -> str:
    """The report's page from its Jinja2 template (templates/report.html.j2, package data):
    autoescape on, an undefined name an error (``StrictUndefined``), and every plain value
    escaped by the package's one text rule (:func:`tda_widgets.core.markup.escape`); only
    ``markupsafe.Markup`` fragments (the figures) go in as they are."""
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


def _figure_html(fig, div_id: str, first: bool, small: bool = False) -> Markup:
    import plotly.io as pio

    return Markup(pio.to_html(fig, full_html=False, include_plotlyjs="inline" if first else False,
                              div_id=div_id, config=_SMALL_CONFIG if small else _PLOTLY_CONFIG))


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
        The study preset (:mod:`tda_widgets.presets`; default: the study's preset):
        ``spec``, ``metric``, ``dims``, ``scale`` and the mapper options left out take the
        preset's values, and the report lists each value with its source.
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
    return render_report(collect_report(
        study, spec=spec, metric=metric, dims=dims, scale=scale, mapper_kwargs=mapper_kwargs, title=title,
        model_name=model_name, data_name=data_name, preset=preset, sensitivity=sensitivity,
        other_models=other_models, progress=progress, cancel=cancel))


def render_report(data: ReportData) -> str:
    """The HTML document of collected report data: the figures (plotly.js inlined once, in the
    first) and the Jinja2 template. Computes nothing.

    Parameters
    ----------
    data : ReportData
        From :func:`~tda_widgets.report.collect.collect_report`.

    Returns
    -------
    str
    """
    from ..figures import layer_distance_figure, mapper_graph_figure, measures_table_figure, persistence_diagram_figure

    if not isinstance(data, ReportData):
        raise TDATypeError(f"The 'data' parameter of render_report must be a ReportData (from collect_report). "
                           f"Got {type(data).__name__} instead.")
    result, layers, dims, metric = data.comparison, data.layers, data.dims, data.metric
    spearman = result["spearman"]
    n_pairs = len(layers) * (len(layers) - 1) // 2
    # figures: plotly.js goes inline with the first one only
    distance_figure = _figure_html(layer_distance_figure(
        result["ph"], result["cka"], layers, metric=metric, rank_correlation=None if math.isnan(spearman) else spearman,
        scale=data.scale, dims=dims, width=1000, height=480), "layer-distances", first=True)
    table = data.table
    measures_figure = _figure_html(measures_table_figure(table.labels, table.agreement, table.monotonicity,
                                                         table.depth_correlation, width=1000, height=440),
                                   "measures-table", first=False)
    diagram_figures = [_figure_html(persistence_diagram_figure(
        list(data.diagrams[layer].diagrams), dims=dims,
        title=f"{layer} ({data.clouds[layer].n_points} points, {data.clouds[layer].n_dims} dims)", width=350,
        height=350), f"diagram-{i}", first=False, small=True) for i, layer in enumerate(layers)]
    mapper_figures, purity_rows = [], []
    for i, layer in enumerate(layers):
        summary = data.purity[layer]
        fig = mapper_graph_figure(data.graphs[layer], color_by="majority", class_names=data.class_names,
                                  title=f"{layer}: {summary['nodes']} nodes, purity {_fmt(summary['purity'], 2)}",
                                  width=350, height=370)
        mapper_figures.append(_figure_html(fig, f"mapper-{i}", first=False, small=True))
        purity_rows.append(dict(layer=layer, nodes=summary["nodes"], edges=summary["edges"],
                                components=summary["components"], covered=_fmt(100 * summary["covered"], 0),
                                eps=_fmt(summary["eps"]), purity=_fmt(summary["purity"])))
    layer_rows = [dict(layer=layer, shape=data.shapes.get(layer), mode=data.clouds[layer].mode,
                       meaning=MODE_RECORDS[data.clouds[layer].mode].description if data.clouds[layer].mode in
                       MODE_RECORDS else "", n_points=data.clouds[layer].n_points, n_dims=data.clouds[layer].n_dims)
                  for layer in layers]
    classes = data.class_names
    header_rows = [
        ("model", f"{data.model_name} ({data.n_parameters:,} parameters)"),
        ("images", f"{data.n_images}" + (f" — {data.data_name}" if data.data_name else "")),
        ("classes", ", ".join(map(str, classes)) if classes else
         ("unlabelled" if data.n_labels is None else f"{data.n_labels} labels")),
        ("layers", ", ".join(layers)),
    ] + data.summary()
    if data.preset is not None:
        header_rows.append(("preset", f"{data.preset.name}: {data.preset.description}"))
    return render_page(
        version=data.version, title=data.title, css=Markup(_css()), header_rows=header_rows,
        every_setting=data.every_setting(), layer_rows=layer_rows, metric=metric, n_pairs=n_pairs,
        spearman=None if math.isnan(spearman) else f"{spearman:.2f}",
        infinite_pairs=int(np.isinf(result["ph"]).sum() // 2), distance_figure=distance_figure,
        measures=_measure_rows(table), skipped=list(table.skipped.items()), measures_figure=measures_figure,
        sensitivity=_sensitivity_section(data), cross_model=_cross_model_section(data),
        diagram_figures=diagram_figures, purity_rows=purity_rows, mapper_figures=mapper_figures,
        hierarchy=_hierarchy_section(data), created=data.created,
        similarity_measures=[record.label for record in MEASURE_INFO.values()])


def _measure_meaning(name: str) -> str:
    """What a measure of the table compares: its record's description, or for PH and CKA the
    declarations of their options."""
    if name in MEASURE_INFO:
        return MEASURE_INFO[name].description
    if name == "ph":
        return DistanceSpec.options()["metric"].help
    return CKA_DESCRIPTION


def _measure_rows(table) -> list[dict]:
    return [dict(label=label, meaning=_measure_meaning(name), kind=table.kinds[a],
                 monotonicity=_fmt(table.monotonicity[a], 2), depth=_fmt(table.depth_correlation[a], 2),
                 cells=[_fmt(table.agreement[a, b], 2) for b in range(len(table.labels))])
            for a, (name, label) in enumerate(zip(table.names, table.labels))]


def _sensitivity_section(data: ReportData) -> Optional[dict]:
    """The section "How sensitive is each measure?" (None when not collected)."""
    if data.sensitivity is None:
        return None
    from ..figures import sensitivity_figure

    fig = sensitivity_figure(data.sensitivity, width=1000, height=420,
                             title="distance to the original layer as principal components are removed")
    rows = [dict(layer=layer, n_features=r.settings["n_features"],
                 cells=[f"{_fmt(ph)} / {_fmt(cka, 2)}" for ph, cka in zip(r.distances["ph"][1:], r.distances["cka"][1:])])
            for layer, r in data.sensitivity.items()]
    return dict(rows=rows, removed=[int(100 * f) for f in SENSITIVITY_FRACTIONS[1:]],
                dims=", ".join(f"H{d}" for d in data.dims), figure=_figure_html(fig, "sensitivity", first=False))


def _cross_model_section(data: ReportData) -> Optional[dict]:
    """The section "Across models" (None without other models)."""
    if data.cross_model is None:
        return None
    from ..engine.crossmodel import MEASURE_LABELS, MEASURES
    from ..figures import cross_model_figure, identification_figure

    cross = data.cross_model
    first = cross.models[0]
    fractions = {MEASURE_LABELS[measure]: values for measure, values in cross.fractions.items()}
    cards = []
    for measure, matrices in cross.matrices.items():
        name = MEASURE_LABELS[measure] + (f" ({data.metric})" if measure == "ph" else "")
        fig = cross_model_figure(matrices[first], data.layers, data.layers, kind=MEASURES[measure], measure=name,
                                 model_a="this model", model_b=first, width=490, height=460)
        cards.append(_figure_html(fig, f"cross-model-{measure}", False, True))
    table = identification_figure(fractions, width=1000, title="fraction of layers identified (Kornblith et al. 2019)")
    return dict(models=cross.models, first=first, figure=_figure_html(table, "cross-model", first=False), cards=cards)


def _group_list(groups: dict, class_names) -> list[tuple[str, str]]:
    """``(group, "class, class")`` pairs, groups in the order of their classes."""
    from ..figures._common import label_name

    members: dict = {}
    for label, group in groups.items():
        members.setdefault(group, []).append(label)
    return [(group, ", ".join(label_name(c, class_names) for c in classes)) for group, classes in members.items()]


def _hierarchy_section(data: ReportData) -> dict:
    """The class-hierarchy section: the source of the groups, each layer's purity and tree,
    the model's confusion tree."""
    from ..figures import class_tree_figure, purity_by_layer_figure

    hierarchy = data.hierarchy
    if not hierarchy.labelled:
        return dict(labelled=False)
    names, groups = data.class_names, hierarchy.groups
    if hierarchy.given:
        assert groups is not None
        source, group_list = "given", _group_list({c: groups[c] for c in hierarchy.classes if c in groups}, names)
    elif groups is None:
        source, group_list = "none", []
    else:
        source, group_list = "suggested", _group_list(groups, names)
    purity_fig = purity_by_layer_figure(hierarchy.graphs, title="class and group purity per layer" if groups else
                                        "class purity per layer", width=520, height=340)
    rows, cards = [], []
    for i, row in enumerate(hierarchy.rows):
        rows.append(dict(layer=row.layer, class_purity=_fmt(row.class_purity), group_purity=_fmt(row.group_purity),
                         agreement=_fmt(row.agreement, 2)))
        if row.tree is None:
            cards.append(dict(figure=None, text=f"{row.layer}: no class tree ({row.why})"))
            continue
        title = f"{row.layer}" + ("" if math.isnan(row.agreement) else f" · agreement {row.agreement:.2f}")
        fig = class_tree_figure(row.tree, class_names=names, title=title, width=300, height=260)
        cards.append(dict(figure=_figure_html(fig, f"class-tree-{i}", first=False, small=True), text=""))
    confusion = None
    if hierarchy.confusion_tree is not None:
        cut = hierarchy.cut
        fig = class_tree_figure(hierarchy.confusion_tree, class_names=names, title="the model's confusions",
                                width=300, height=260, color="#7f7f7f", cut=cut,
                                subtitle=None if cut is None else f"dashed: the cut into {cut} groups")
        confusion = _figure_html(fig, "confusion-tree", first=False, small=True)
    return dict(labelled=True, source=source, groups=group_list,
                n_groups=len(set(groups.values())) if groups else 0, rows=rows, cards=cards, confusion=confusion,
                purity_figure=_figure_html(purity_fig, "purity-by-layer", first=False))


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
