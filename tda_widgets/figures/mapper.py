"""Mapper graph figure and its deterministic layout.

Works on a ``MapperGraph`` from :mod:`tda_widgets.topology.mapper` (duck-typed: any object
with ``nodes`` (each with ``id``, ``size``, ``class_counts``, ``majority``, ``purity``,
``entropy``, ``lens_mean``) and ``edges`` (``(source_id, target_id, shared_members)``)).
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import plotly.graph_objects as go

from ..core.errors import TDAInputError
from ..core.markup import escape, markup
from ._common import (
    MISSING_COLOR,
    axis_style,
    base_layout,
    check_choice,
    class_palette,
    fmt,
    MODEBAR_ROW,
    label_name,
    layout_defaults,
    title_below_modebar,
    top_margin,
)

__all__ = ["COLOR_BY", "mapper_graph_figure", "mapper_layout", "node_marker_sizes", "purity_by_layer_figure",
           "ringed_nodes"]

#: Accepted values of ``color_by`` in :func:`mapper_graph_figure`.
COLOR_BY = ("majority", "purity", "entropy", "lens_mean", "group", "group_purity")
#: Colourings that need the graph built with ``class_groups``.
GROUP_COLORINGS = ("group", "group_purity")

_COLORBAR_TITLES = {"purity": "purity", "entropy": "entropy (bits)", "lens_mean": "lens mean",
                    "group_purity": "group purity"}


def mapper_layout(graph, *, seed: int = 0) -> dict:
    """Deterministic 2-D positions of a mapper graph's nodes (networkx spring layout).

    Nodes are added in sorted id order, so the same nodes and edges with the same ``seed``
    give the same positions whatever the order of ``graph.nodes``.

    Parameters
    ----------
    graph : MapperGraph
        The graph (``nodes`` with ``id``; ``edges`` as ``(source, target, members)``).
    seed : int, default=0
        Seed of the spring layout's initial positions.

    Returns
    -------
    dict
        ``{node_id: (x, y)}`` with coordinates in [-1, 1]; ``{}`` for an empty graph and
        ``{id: (0.0, 0.0)}`` for a single node.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> g = NS(nodes=[NS(id="a"), NS(id="b")], edges=[("a", "b", None)])
    >>> mapper_layout(g) == mapper_layout(g)
    True
    """
    ids = sorted(str(node.id) for node in graph.nodes)
    if not ids:
        return {}
    if len(ids) == 1:
        return {ids[0]: (0.0, 0.0)}
    nx_graph = nx.Graph()
    nx_graph.add_nodes_from(ids)
    nx_graph.add_edges_from(sorted((str(a), str(b)) for a, b, *_ in graph.edges))
    positions = nx.spring_layout(nx_graph, seed=int(seed))
    return {node_id: (float(positions[node_id][0]), float(positions[node_id][1])) for node_id in ids}


def node_marker_sizes(sizes, size_range=(8.0, 30.0)) -> np.ndarray:
    """Marker diameters in px: ``sqrt(size)`` mapped linearly onto ``size_range``.

    The smallest node gets ``size_range[0]`` and the largest ``size_range[1]``; when all nodes
    have the same size they get the middle of the range.

    Parameters
    ----------
    sizes : array_like of int
        Member counts.
    size_range : tuple of float, default=(8.0, 30.0)
        Smallest and largest marker diameter in px.

    Returns
    -------
    ndarray of float
        One diameter per node.

    Examples
    --------
    >>> node_marker_sizes([1, 4, 9]).tolist()
    [8.0, 19.0, 30.0]
    """
    root = np.sqrt(np.asarray(sizes, dtype=np.float64))
    low, high = float(size_range[0]), float(size_range[1])
    if root.size == 0:
        return root
    span = root.max() - root.min()
    if span == 0:
        return np.full(root.shape, (low + high) / 2)
    return low + (high - low) * (root - root.min()) / span


def _class_order(nodes, class_names) -> list:
    if isinstance(class_names, dict):
        return list(class_names)
    if class_names is not None:
        return list(range(len(class_names)))
    labels = set()
    for node in nodes:
        labels.update(node.class_counts or {})
        if node.majority is not None:
            labels.add(node.majority)
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _color_key(label, order: list):
    """Index of ``label`` in ``order``, matching numpy and Python ints alike."""
    for i, known in enumerate(order):
        try:
            if known == label:
                return i
        except (TypeError, ValueError):
            continue
    return None


def _node_hover(node, class_names, number: int, total: int, top: int = 3) -> str:
    """A node's hover text in words: its place in the graph, size, classes and groups (no
    kmapper id: "cube3_cluster0" means nothing to a reader)."""
    counts = sorted((node.class_counts or {}).items(), key=lambda kv: (-kv[1], str(kv[0])))
    top_text = ", ".join(f"{label_name(k, class_names)}: {v}" for k, v in counts[:top])
    if len(counts) > top:
        top_text += ", …"
    text = markup(
        "node {} of {}: {} points<br>majority {} (purity {})<br>classes {}<br>lens mean {}",
        number, total, int(node.size), label_name(node.majority, class_names), fmt(node.purity),
        top_text or "none", fmt(node.lens_mean),
    )
    groups = getattr(node, "group_counts", None)
    if groups:
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0])))
        text += markup("<br>groups {}", ", ".join(f"{g}: {n}" for g, n in ordered))
    return text


def mapper_graph_figure(
    graph,
    *,
    color_by: str = "majority",
    class_names=None,
    highlight=None,
    layout: dict | None = None,
    title: str | None = None,
    size_range=(8.0, 30.0),
    width: int = 560,
    height: int = 480,
    key: bool = True,
    subtitle: str | None = None,
    toolbar: bool = True,
) -> go.Figure:
    """Plot a mapper graph: nodes sized by member count, coloured by class make-up.

    Parameters
    ----------
    graph : MapperGraph
        The graph; see :mod:`tda_widgets.topology.mapper`.
    color_by : {"majority", "purity", "entropy", "lens_mean"}, default="majority"
        ``"majority"`` colours each node by its majority class with a qualitative palette
        (grey for nodes without one) and lists the classes in an annotation; the others use
        a continuous colour scale with a colour bar.
    class_names : sequence of str or dict, optional
        Display names of class labels: a sequence indexed by integer label, or a dict
        ``{label: name}``. The palette follows this order when given (otherwise the sorted
        labels found in the nodes' ``class_counts``).
    highlight : iterable of node ids, optional
        Nodes to ring (e.g. the nodes holding a selected image).
    layout : dict, optional
        ``{node_id: (x, y)}`` positions, e.g. from :func:`mapper_layout` (computed with
        ``seed=0`` when omitted). Pass one to keep positions fixed while recolouring.
    title : str, optional
        Figure title (plain text: escaped, like the class names).
    size_range : tuple of float, default=(8.0, 30.0)
        Marker diameters in px for the smallest and largest node (by ``sqrt(size)``).
    width, height : int, default=560, 480
        Figure size in pixels.
    key : bool, default=True
        Draw the class key (``majority``) or the colour bar (other colourings); a small graph
        beside a large one with the key leaves it out.
    subtitle : str, optional
        A second title line in small type (plain text, escaped).
    toolbar : bool, default=True
        Whether the widget shows plotly's toolbar on hover (``layout.meta["tdaw_modebar"]``);
        the title sits below the toolbar's row when it does, at the top when it does not (a
        small graph has no room for either the toolbar or an empty row).

    Returns
    -------
    plotly.graph_objects.Figure
        Traces, in order: ``"edges"`` (one line trace, ``None`` between edges), ``"nodes"``
        (markers in ``graph.nodes`` order, ``customdata`` = node id) and ``"highlight"``
        (an open ring at every node, in the same order; ``marker.opacity`` is 1 at the
        highlighted nodes and 0 elsewhere, so :func:`ringed_nodes` reads them back).

    Raises
    ------
    TDAInputError
        If ``color_by`` is unknown, or ``highlight`` or ``layout`` name nodes not in the
        graph / miss some of its nodes.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> node = NS(id="n0", size=3, class_counts={1: 3}, majority=1, purity=1.0,
    ...           entropy=0.0, lens_mean=0.5)
    >>> fig = mapper_graph_figure(NS(nodes=[node], edges=[]))
    >>> [trace.name for trace in fig.data]
    ['edges', 'nodes', 'highlight']
    """
    func = "mapper_graph_figure"
    check_choice(color_by, COLOR_BY, "color_by", func)
    nodes = list(graph.nodes)
    ids = [str(node.id) for node in nodes]
    known = set(ids)
    if layout is None:
        layout = mapper_layout(graph)
    else:
        missing = [i for i in ids if i not in layout]
        if missing:
            raise TDAInputError(
                f"The 'layout' parameter of {func} must give a position for every node. "
                f"Got none for {len(missing)} node(s), e.g. {missing[:3]}. Compute it with "
                f"mapper_layout(graph) for this graph."
            )
    highlight_ids = [] if highlight is None else [str(h) for h in highlight]
    unknown = [h for h in highlight_ids if h not in known]
    if unknown:
        raise TDAInputError(
            f"The 'highlight' parameter of {func} must hold node ids of this graph. Got "
            f"{len(unknown)} unknown id(s), e.g. {unknown[:3]}. Clear the highlight when the "
            f"graph changes."
        )
    highlight_ids = list(dict.fromkeys(highlight_ids))  # drop repeats, keep order

    xy = np.array([layout[i] for i in ids], dtype=np.float64).reshape(-1, 2)
    position = dict(zip(ids, xy))
    diameters = node_marker_sizes([node.size for node in nodes], size_range)
    diameter_of = dict(zip(ids, diameters))

    edge_x: list = []
    edge_y: list = []
    for source, target, *_ in graph.edges:
        (x0, y0), (x1, y1) = position[str(source)], position[str(target)]
        edge_x.extend([x0, x1, None])
        edge_y.extend([y0, y1, None])

    # one dict, validated once by plotly (a trace and two layout updates at a time took 3-4 times
    # as long: the MapperExplorer builds a figure per layer)
    traces = []
    traces.append(
        dict(
            type="scatter",
            name="edges",
            x=edge_x,
            y=edge_y,
            mode="lines",
            line=dict(color="#aaaaaa", width=1),
            hoverinfo="skip",
            showlegend=False,
        )
    )

    marker = dict(size=diameters, line=dict(width=0.8, color="#333333"), opacity=0.95)
    annotations = []
    if color_by in GROUP_COLORINGS and nodes and all(getattr(node, "group_counts", None) is None for node in nodes):
        raise TDAInputError(
            f"The 'color_by' parameter of {func} is {color_by!r}, which colours nodes by class group, but "
            "this graph has no groups. Build it with class_groups={class: group} (e.g. "
            "MapperExplorer(..., class_groups=...)) or pick another colouring."
        )
    if color_by == "group":
        groups = sorted({g for node in nodes for g in (node.group_counts or {})}, key=str)
        palette = class_palette(len(groups))
        marker["color"] = [MISSING_COLOR if node.group_majority is None
                           else palette[groups.index(node.group_majority) % len(palette)] for node in nodes]
        if groups and key:
            annotations.append(
                dict(text=" ".join(markup("<span style='color:{}'>●</span> {}", palette[k % len(palette)], group)
                                   for k, group in enumerate(groups)),
                     xref="paper", yref="paper", x=0.0, y=-0.02, xanchor="left", yanchor="top", showarrow=False,
                     align="left", font=dict(size=11)))
    elif color_by == "majority":
        order = _class_order(nodes, class_names)
        palette = class_palette(len(order))
        colors = []
        for node in nodes:
            slot = None if node.majority is None else _color_key(node.majority, order)
            colors.append(MISSING_COLOR if slot is None else palette[slot % len(palette)])
        marker["color"] = colors
        legend = " ".join(
            markup("<span style='color:{}'>●</span> {}", palette[k % len(palette)],
                   label_name(label, class_names))
            for k, label in enumerate(order)
        )
        if legend and key:
            annotations.append(
                dict(text=legend, xref="paper", yref="paper", x=0.0, y=-0.02, xanchor="left",
                     yanchor="top", showarrow=False, align="left", font=dict(size=11))
            )
    else:
        values = np.array([float(getattr(node, color_by)) for node in nodes], dtype=np.float64)
        marker.update(
            color=values,
            colorscale="Viridis",
            showscale=key,
            colorbar=dict(title=dict(text=_COLORBAR_TITLES[color_by]), len=0.8),
        )
        if color_by in ("purity", "group_purity"):
            marker.update(cmin=0.0, cmax=1.0)
    traces.append(
        dict(
            type="scatter",
            name="nodes",
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            marker=marker,
            customdata=ids,
            text=[_node_hover(node, class_names, k + 1, len(nodes)) for k, node in enumerate(nodes)],
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    # A ring at every node, shown (opacity 1) at the highlighted ones: a new highlight is then a
    # style change (per-point opacity), not a new trace that plotly.js must recalculate (a click
    # in the MapperExplorer restyles every layer's graph: ~40 ms each when the points changed).
    ringed = set(highlight_ids)
    traces.append(
        dict(
            type="scatter",
            name="highlight",
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers",
            marker=dict(
                symbol="circle-open",
                size=[diameter_of[i] + 10 for i in ids],
                color="#000000",
                line=dict(width=3),
                opacity=np.array([1.0 if i in ringed else 0.0 for i in ids], dtype=np.float64),
            ),
            customdata=ids,
            hoverinfo="skip",
            showlegend=False,
        )
    )

    hidden = dict(showgrid=False, zeroline=False, showticklabels=False, showline=False,
                  ticks="", title=None)
    figure_layout = layout_defaults(title=title, subtitle=subtitle, width=width, height=height)
    top = top_margin(title, subtitle) if title else 20
    if title and not toolbar:  # no toolbar: no row kept free for it
        figure_layout["title"] = title_below_modebar(figure_layout["title"]["text"], below=8)
        top -= MODEBAR_ROW - 8
    figure_layout.update(
        xaxis=hidden,
        yaxis=hidden,
        margin=dict(l=10, r=10, t=top, b=40 if annotations else 10),
        annotations=annotations,
        meta=dict(color_by=color_by, tdaw_modebar=bool(toolbar)),
    )
    return go.Figure(dict(data=traces, layout=figure_layout))


def ringed_nodes(fig) -> list:
    """The node ids a figure of :func:`mapper_graph_figure` rings (its highlight), in node order.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> nodes = [NS(id=f"n{k}", size=3, class_counts={1: 3}, majority=1, purity=1.0, entropy=0.0,
    ...             lens_mean=0.5) for k in range(3)]
    >>> ringed_nodes(mapper_graph_figure(NS(nodes=nodes, edges=[]), highlight=["n2", "n0"]))
    ['n0', 'n2']
    """
    ring = next((t for t in fig.data if t.name == "highlight"), None)
    if ring is None or ring.customdata is None:
        return []
    shown = np.asarray(ring.marker.opacity if ring.marker.opacity is not None else 1.0, dtype=np.float64)
    shown = np.broadcast_to(shown, (len(ring.customdata),))
    return [str(i) for i, o in zip(ring.customdata, shown) if o > 0]


def purity_by_layer_figure(graphs: dict, *, title: str = "purity of the nodes, per layer", width: int = 380,
                           height: int = 260) -> go.Figure:
    """Class purity and (when the graphs have class groups) group purity per layer, side by
    side: how early a model separates groups of classes (e.g. animals vs vehicles) compared
    with the classes themselves.

    Each value is :meth:`MapperGraph.mean_purity` (node purity weighted by node size).

    Parameters
    ----------
    graphs : dict
        ``{layer: MapperGraph}`` in layer order (names are escaped: they are shown as text).

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``"class purity"`` and, with groups, ``"group purity"``; x = layer names.
    """
    layers = list(graphs)
    has_groups = any(node.group_counts for g in graphs.values() for node in g.nodes)
    fig = go.Figure()
    series = [("class purity", "class", "#1f77b4")] + ([("group purity", "group", "#d62728")] if has_groups else [])
    for name, by, colour in series:
        values = [graphs[layer].mean_purity(by) for layer in layers]
        # layer names are foreign text: plotly draws tick labels as markup, so they go in escaped
        fig.add_trace(go.Scatter(
            name=name, x=[escape(layer) for layer in layers], y=[None if math.isnan(v) else v for v in values],
            mode="lines+markers",
            line=dict(color=colour), hovertemplate="%{x}: %{y:.3f}<extra>" + name + "</extra>"))
    base_layout(fig, title=title, width=width, height=height)
    fig.update_layout(
        yaxis=axis_style(title=dict(text="size-weighted purity"), range=[0, 1.05]),
        xaxis=axis_style(type="category"),
        legend=dict(orientation="h", x=0.0, y=-0.25, xanchor="left", yanchor="top"),
        margin=dict(l=60, r=20, t=top_margin(title), b=70),
    )
    return fig
