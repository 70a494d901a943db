"""The figure each result shows when it is the last expression of a notebook cell.

One function per result type, each a thin call of the package's own builder (a result's
rich display and a direct call of the builder give the same traces), plus a PCA scatter for a
point cloud and a heat map for a checkpoint grid, which had no builder before. Results are
duck-typed (no import of :mod:`tda_widgets.compute` or :mod:`tda_widgets.checkpoints`, which
need torch).

=====================  ==================================================================
result                 figure
=====================  ==================================================================
PersistenceResult      :func:`persistence_diagram_figure` of its diagrams
MapperGraph            :func:`mapper_graph_figure`
Comparison             :func:`layer_distance_figure`: PH distances beside 1 - CKA
CheckpointGrid         :func:`checkpoint_grid_figure`: how far each layer moved per step
PointCloud             :func:`point_cloud_figure`: the first two principal components
=====================  ==================================================================
"""

from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np
import plotly.graph_objects as go

from ..core.markup import escape, markup
from ._common import MISSING_COLOR, axis_style, class_palette, fmt, label_name, layout_defaults
from .diagrams import persistence_diagram_figure
from .heatmaps import layer_distance_figure
from .mapper import mapper_graph_figure

__all__ = [
    "PLOTLY_MIME",
    "checkpoint_grid_figure",
    "comparison_figure",
    "mapper_result_figure",
    "persistence_result_figure",
    "point_cloud_figure",
    "figure_mimebundle",
    "result_mimebundle",
]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: plotly.js options of the displayed figures.
_CONFIG = {"displaylogo": False}


def persistence_result_figure(result, **kwargs) -> go.Figure:
    """The persistence diagram of a :class:`~tda_widgets.topology.PersistenceResult`."""
    kwargs.setdefault("title", "Persistence diagram")
    kwargs.setdefault("subtitle", f"{result.n_points} points, {result.backend}")
    return persistence_diagram_figure(result.diagrams, **kwargs)


def mapper_result_figure(graph, **kwargs) -> go.Figure:
    """The mapper graph figure of a :class:`~tda_widgets.topology.MapperGraph`."""
    params = graph.params or {}
    kwargs.setdefault("title", f"Mapper graph: lens {params.get('lens', '?')}, {params.get('n_cubes', '?')} "
                               f"intervals, overlap {params.get('overlap', '?')}")
    return mapper_graph_figure(graph, **kwargs)


def comparison_figure(comparison, **kwargs) -> go.Figure:
    """PH distances beside 1 - CKA of a :class:`~tda_widgets.compute.Comparison`."""
    return layer_distance_figure(comparison.ph, comparison.cka, comparison.layers, metric=comparison.metric,
                                 rank_correlation=comparison.spearman, scale=comparison.scale,
                                 dims=comparison.dims, **kwargs)


def checkpoint_grid_figure(grid, *, title: Optional[str] = None, width: int = 640,
                           height: Optional[int] = None) -> go.Figure:
    """How far each layer's topology moved between consecutive checkpoints, as a heat map.

    Parameters
    ----------
    grid : CheckpointGrid
        From :func:`tda_widgets.checkpoint_grid`.
    title : str, optional
        Plain text (escaped); default names the metric and dimensions.
    width, height : int
        Figure size in pixels (height: from the number of layers by default).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Heatmap`` trace ``"consecutive"``: ``z`` = ``grid.consecutive`` (layers x
        steps, rows top-down; infinite distances as None), ``y`` the layer names, ``x`` the
        steps ``"a → b"`` between checkpoint labels (all escaped), ``customdata[i][k] =
        [i, k]``.
    """
    layers = [str(layer) for layer in grid.layers]
    labels = list(grid.checkpoints)
    steps = [f"{labels[k]} → {labels[k + 1]}" for k in range(len(labels) - 1)]
    z = np.asarray(grid.consecutive, dtype=np.float64).reshape(len(layers), len(steps))
    shown = [[float(v) if np.isfinite(v) else None for v in row] for row in z]
    hover = [[markup("{} · checkpoint {}<br>{}: {}", layer, step, grid.metric, fmt(v)) for step, v in zip(steps, row)]
             for layer, row in zip(layers, z)]
    dims = ", ".join(f"H{int(d)}" for d in grid.dims)
    heading = title or f"Topology moved per training step: {grid.metric} on {dims}"
    fig = go.Figure(dict(
        data=[dict(type="heatmap", name="consecutive", z=shown, x=[escape(s) for s in steps],
                   y=[escape(layer) for layer in layers], text=hover, hovertemplate="%{text}<extra></extra>",
                   customdata=[[[i, k] for k in range(len(steps))] for i in range(len(layers))],
                   colorscale="Viridis", hoverongaps=False,
                   colorbar=dict(thickness=14, title=dict(side="right", text=escape(grid.metric))))],
        layout=layout_defaults(title=heading, width=width, height=height or 160 + 36 * len(layers),
                               subtitle=f"{len(layers)} layers x {len(labels)} checkpoints, clouds rescaled: "
                                        f"{grid.scale}"),
    ))
    fig.update_layout(xaxis=axis_style(showgrid=False, type="category", title=dict(text="checkpoints")),
                      yaxis=axis_style(showgrid=False, type="category", autorange="reversed"),
                      margin=dict(l=110, r=40, t=80, b=60))
    if not steps:
        fig.add_annotation(text="one checkpoint: no step to measure", xref="paper", yref="paper", x=0.5, y=0.5,
                           showarrow=False, font=dict(color="#777777", size=13))
    return fig


def point_cloud_figure(cloud, *, labels=None, class_names=None, title: Optional[str] = None, width: int = 520,
                       height: int = 460) -> go.Figure:
    """A point cloud's first two principal components as a scatter plot.

    Parameters
    ----------
    cloud : PointCloud
        From :func:`tda_widgets.make_cloud` or :meth:`tda_widgets.Study.cloud`.
    labels : array-like of shape (n_points,), optional
        A class label per point (e.g. :meth:`Study.point_labels`): colours the points.
    class_names : sequence or dict, optional
        Display names of the labels (plain text, escaped).
    title : str, optional
        Plain text (escaped); default names the layer and the mode.
    width, height : int, default=520, 460

    Returns
    -------
    plotly.graph_objects.Figure
        One scatter trace ``"points"``: ``x``, ``y`` the projections on the first two
        principal axes of the centred points (``y`` zero for a one-dimensional cloud),
        ``customdata`` rows ``[point index, image index]``; axis titles give the share of
        variance each axis explains.
    """
    points = np.asarray(cloud.points, dtype=np.float64)
    n = points.shape[0]
    centred = points - points.mean(axis=0) if n else points
    coords = np.zeros((n, 2))
    share = [0.0, 0.0]
    if n >= 2 and points.shape[1] >= 1:
        _, singular, axes = np.linalg.svd(centred, full_matrices=False)
        k = min(2, axes.shape[0])
        coords[:, :k] = centred @ axes[:k].T
        total = float((singular ** 2).sum())
        if total > 0:
            share[:k] = [float(s ** 2 / total) for s in singular[:k]]
    image_index = np.asarray(cloud.image_index).reshape(-1)
    marker: dict = dict(size=6, color="#1f77b4", opacity=0.8, line=dict(width=0))
    texts = [f"point {i} · image {int(img)}" if img >= 0 else f"point {i}" for i, img in enumerate(image_index)]
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        order = sorted({label.item() if hasattr(label, "item") else label for label in labels}, key=str)
        palette = class_palette(len(order))
        colour = {label: palette[i % len(palette)] for i, label in enumerate(order)}
        marker["color"] = [colour.get(label.item() if hasattr(label, "item") else label, MISSING_COLOR)
                           for label in labels]
        texts = [f"{text} · {label_name(label, class_names)}" for text, label in zip(texts, labels)]
    heading = title or f"Point cloud of {cloud.layer or 'a layer'} ({cloud.mode})"
    fig = go.Figure(dict(
        data=[dict(type="scattergl" if n > 5000 else "scatter", name="points", mode="markers", x=coords[:, 0],
                   y=coords[:, 1], marker=marker, text=[escape(t) for t in texts],
                   customdata=np.column_stack([np.arange(n), image_index]) if n else np.zeros((0, 2)),
                   hovertemplate="%{text}<extra></extra>")],
        layout=layout_defaults(title=heading, width=width, height=height,
                               subtitle=f"{n} points in {points.shape[1]} dims, first two principal components"),
    ))
    fig.update_layout(xaxis=axis_style(title=dict(text=f"PC1 ({share[0]:.0%} of variance)")),
                      yaxis=axis_style(title=dict(text=f"PC2 ({share[1]:.0%} of variance)")),
                      margin=dict(l=60, r=20, t=80, b=50))
    return fig


def figure_mimebundle(fig: go.Figure, text: str, *, include=None, exclude=None, html: bool = True) -> dict:
    """A display bundle of a figure: plotly's mime type, ``text/plain`` and (``html``) a
    ``text/html`` fallback that loads plotly.js from its CDN.

    Front ends that know ``application/vnd.plotly.v1+json`` (JupyterLab, Notebook 7, VS Code)
    draw it without a kernel; nbconvert's HTML export and nbviewer know only ``text/html``.
    """
    import plotly.io as pio

    figure = json.loads(pio.to_json(fig, validate=False, remove_uids=True))
    bundle = {PLOTLY_MIME: {**figure, "config": dict(_CONFIG)}, "text/plain": text}
    if html:
        bundle["text/html"] = pio.to_html(fig, include_plotlyjs="cdn", full_html=False, config=_CONFIG,
                                          validate=False)
    if include is not None:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude is not None:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle


def result_mimebundle(result: Any, *, include=None, exclude=None) -> dict:
    """The display bundle of a result (see :class:`tda_widgets._display.RichDisplay`).

    The figure is drawn with its builder's defaults; a result whose figure cannot be drawn
    still shows its one-line summary (display never raises).
    """
    text = result.summary()
    try:
        fig = result.figure()
    except Exception as exc:  # display must not fail: the summary says why there is no figure
        return {"text/plain": f"{text}\n(no figure: {type(exc).__name__}: {exc})"}
    return figure_mimebundle(fig, text, include=include, exclude=exclude)
