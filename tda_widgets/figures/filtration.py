"""Figures of the cloud itself: a Rips filtration at one value, and a layer's 2-D map.

- :func:`filtration_figure`: the points, the balls of radius ``value / 2`` (only for a cloud
  that is itself 2-D, where they are exact), the edges and the filled triangles of the Rips
  complex at ``value``, and optionally one representative cycle drawn over them.
- :func:`filtration_cursor`: the trace that marks ``value`` on a persistence diagram (the
  region ``birth <= value`` shaded, the bars alive at ``value`` in the triangle above) or a
  barcode (a vertical cursor).
- :func:`layer_map_figure`: a 2-D map of a layer's cloud coloured by class, prediction,
  correct/wrong or mapper node, with ringed points.

Trace names are fixed (``"triangles"``, ``"edges"``, ``"balls"``, ``"points"``, ``"cycle"``,
``"ringed"``) whatever the data, so a widget can update them in place.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from ..core.errors import TDAInputError
from ..core.markup import escape
from ._common import MISSING_COLOR, axis_style, class_palette, label_name, layout_defaults

__all__ = ["MAP_COLORINGS", "filtration_cursor", "filtration_figure", "layer_map_figure"]

#: What :func:`layer_map_figure` can colour the points by.
MAP_COLORINGS = ("class", "prediction", "correct", "node")

_EDGE_COLOR = "rgba(80, 80, 80, 0.55)"
_TRIANGLE_COLOR = "rgba(31, 119, 180, 0.18)"
_BALL_COLOR = "rgba(255, 127, 14, 0.12)"
_CYCLE_COLOR = "#d62728"
#: Rings around selected points: a strong magenta, seen on the light and the dark theme alike
#: (black rings vanished on the dark background; no class colour is magenta).
_RING_COLOR = "#e6007e"


def _coords(coords, func: str) -> np.ndarray:
    array = np.asarray(coords, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise TDAInputError(
            f"The 'coords' parameter of {func} must be a finite array of shape (n_points, 2) (a 2-D "
            f"drawing of the cloud, e.g. tda_widgets.topology.embed_2d(points)). Got shape {array.shape}.")
    return array


def _segments(coords: np.ndarray, pairs) -> tuple[np.ndarray, np.ndarray]:
    """x and y of line segments, separated by NaN gaps (one trace draws them all)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    xs = np.full((len(pairs), 3), np.nan)
    ys = np.full((len(pairs), 3), np.nan)
    xs[:, 0], xs[:, 1] = coords[pairs[:, 0], 0], coords[pairs[:, 1], 0]
    ys[:, 0], ys[:, 1] = coords[pairs[:, 0], 1], coords[pairs[:, 1], 1]
    return xs.ravel(), ys.ravel()


def _polygons(corners_x: np.ndarray, corners_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed polygons (rows of corners) as one NaN-separated outline per row."""
    rows, k = corners_x.shape
    xs = np.full((rows, k + 2), np.nan)
    ys = np.full((rows, k + 2), np.nan)
    xs[:, :k], ys[:, :k] = corners_x, corners_y
    xs[:, k], ys[:, k] = corners_x[:, 0], corners_y[:, 0]
    return xs.ravel(), ys.ravel()


_BALL_SIDES = 32


def filtration_figure(coords, complex_, *, balls: bool = False, cycle: Optional[Sequence] = None,
                      colors: Optional[Sequence[str]] = None, hover: Optional[Sequence[str]] = None,
                      title: Optional[str] = None, width: int = 420, height: int = 420) -> go.Figure:
    """The Rips complex at one value, drawn over a 2-D drawing of its points.

    Parameters
    ----------
    coords : array_like of shape (n_points, 2)
        Where each point is drawn: the cloud itself if 2-D, else a projection (the complex was
        built from distances in the full space).
    complex_ : RipsComplex
        From :func:`tda_widgets.topology.rips_complex`.
    balls : bool, default=False
        Draw balls of radius ``value / 2`` (only true to the complex for a 2-D cloud).
    cycle : sequence of (int, int), optional
        Edges of a representative cycle (:func:`tda_widgets.topology.representative_cycle`).
    colors : sequence of str, optional
        A colour per point (default one colour).
    hover : sequence of str, optional
        Plain-text hover line per point (escaped).
    title : str, optional
        Plain text; default says the value and the complex's size.
    width, height : int

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``"balls"`` (32-gons, NaN-separated), ``"triangles"``, ``"edges"`` (NaN-separated
        segments), ``"points"`` (``customdata`` = point index) and ``"cycle"``; equal axis scales,
        so balls are round.
    """
    xy = _coords(coords, "filtration_figure")
    n = len(xy)
    if complex_.n_points != n:
        raise TDAInputError(
            f"filtration_figure got {n} coordinates for a complex of {complex_.n_points} points; pass the "
            "drawing of the same cloud the complex was built from.")
    value = float(complex_.value)
    triangles = np.asarray(complex_.triangles, dtype=np.int64).reshape(-1, 3)
    tri_x, tri_y = _polygons(xy[triangles, 0], xy[triangles, 1])
    edge_x, edge_y = _segments(xy, complex_.edges)
    cycle_x, cycle_y = _segments(xy, cycle if cycle is not None else [])
    if balls:
        angle = np.linspace(0.0, 2 * np.pi, _BALL_SIDES, endpoint=False)
        r = value / 2.0
        ball_x, ball_y = _polygons(xy[:, :1] + r * np.cos(angle), xy[:, 1:] + r * np.sin(angle))
    else:
        ball_x = ball_y = np.zeros(0)
    texts = [escape(t) for t in hover] if hover is not None else [f"point {i}" for i in range(n)]
    data = [
        dict(type="scatter", name="balls", x=ball_x, y=ball_y, mode="lines", fill="toself",
             fillcolor=_BALL_COLOR, line=dict(width=0), hoverinfo="skip", showlegend=False),
        dict(type="scatter", name="triangles", x=tri_x, y=tri_y, mode="lines", fill="toself",
             fillcolor=_TRIANGLE_COLOR, line=dict(width=0), hoverinfo="skip", showlegend=False),
        dict(type="scatter", name="edges", x=edge_x, y=edge_y, mode="lines",
             line=dict(color=_EDGE_COLOR, width=1), hoverinfo="skip", showlegend=False),
        dict(type="scatter", name="points", x=xy[:, 0], y=xy[:, 1], mode="markers",
             marker=dict(size=7, color=list(colors) if colors is not None else "#1f77b4",
                         line=dict(width=0.5, color="white")),
             text=texts, customdata=np.arange(n), hovertemplate="%{text}<extra></extra>", showlegend=False),
        dict(type="scatter", name="cycle", x=cycle_x, y=cycle_y, mode="lines+markers",
             line=dict(color=_CYCLE_COLOR, width=3), marker=dict(size=8, color=_CYCLE_COLOR),
             hoverinfo="skip", showlegend=False),
    ]
    heading = title or f"Rips complex at edge length {value:.3g}"
    subtitle = (f"{len(complex_.edges)} edges, {len(complex_.triangles)} triangles"
                + (f"; balls of radius {value / 2:.3g}" if balls else ""))
    layout = dict(layout_defaults(title=heading, width=width, height=height, subtitle=subtitle),
                  xaxis=axis_style(showgrid=False, zeroline=False),
                  yaxis=axis_style(showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1))
    layout["margin"] = dict(l=40, r=20, t=80, b=40)
    return go.Figure(dict(data=data, layout=layout))


def filtration_cursor(value: float, kind: str, *, top: Optional[float] = None) -> dict:
    """A trace named ``"cursor"`` marking ``value`` on a diagram (``kind="diagram"``) or a
    barcode (``"barcode"``); add it with ``fig.add_trace`` and move it with a restyle of its
    ``x`` and ``y``.

    On a diagram the bars alive at ``value`` are the points with ``birth <= value < death``:
    the trace shades the rectangle ``0 <= x <= value``, ``value < y <= top`` (``top``: the
    infinity line). On a barcode, a vertical line at ``x = value`` crosses exactly those bars
    (its ``y`` spans ``[-1, top]``, the bars' rows).
    """
    value = float(value)
    upper = float(top) if top is not None else value * 2 + 1
    if kind == "diagram":
        return dict(type="scatter", name="cursor", x=[0.0, value, value, 0.0, 0.0],
                    y=[value, value, upper, upper, value], mode="lines", fill="toself",
                    fillcolor="rgba(255, 127, 14, 0.15)", line=dict(color="#ff7f0e", width=1, dash="dot"),
                    hoverinfo="skip", showlegend=False)
    if kind == "barcode":
        return dict(type="scatter", name="cursor", x=[value, value], y=[-1.0, upper], mode="lines",
                    line=dict(color="#ff7f0e", width=2), hoverinfo="skip", showlegend=False)
    raise TDAInputError(f"The 'kind' parameter of filtration_cursor must be 'diagram' or 'barcode'. Got {kind!r}.")


def layer_map_figure(embedding, *, color_by: str = "class", labels=None, predictions=None, nodes=None,
                     class_names=None, hover: Optional[Sequence[str]] = None, ringed: Optional[Sequence[int]] = None,
                     title: Optional[str] = None, axis_titles=("PC1", "PC2"), width: int = 520,
                     height: int = 460) -> go.Figure:
    """A 2-D map of a layer's cloud, one point per image, coloured and ringed.

    Parameters
    ----------
    embedding : array_like of shape (n_points, 2)
        From :func:`tda_widgets.topology.embed_2d`.
    color_by : {"class", "prediction", "correct", "node"}, default="class"
        ``"class"`` needs ``labels``; ``"prediction"`` needs ``predictions``; ``"correct"`` both
        (green right, red wrong); ``"node"``: ``nodes``, the mapper node of each point (-1: none).
    labels, predictions, nodes : array_like of shape (n_points,), optional
    class_names : sequence or dict, optional
        Display names (plain text, escaped).
    hover : sequence of str, optional
        Plain-text hover line per point (escaped).
    ringed : sequence of int, optional
        Points to ring (a selection elsewhere: a mapper node, an H1 bar).
    title : str, optional
    axis_titles : (str, str)
    width, height : int

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``"points"`` (``customdata`` = point index; lasso and box select enabled) and
        ``"ringed"``.
    """
    xy = _coords(embedding, "layer_map_figure")
    n = len(xy)
    if color_by not in MAP_COLORINGS:
        raise TDAInputError(
            f"The 'color_by' parameter of layer_map_figure must be one of {set(MAP_COLORINGS)}. Got {color_by!r} instead.")
    need = {"class": ("labels",), "prediction": ("predictions",), "correct": ("labels", "predictions"),
            "node": ("nodes",)}[color_by]
    given = {"labels": labels, "predictions": predictions, "nodes": nodes}
    for name in need:
        if given[name] is None or len(np.asarray(given[name]).reshape(-1)) != n:
            raise TDAInputError(
                f"layer_map_figure(color_by={color_by!r}) needs '{name}' with one entry per point ({n}). "
                f"Pass {name}=..., or choose another color_by.")
    if color_by == "correct":
        right = np.asarray(labels).reshape(-1) == np.asarray(predictions).reshape(-1)
        colors = np.where(right, "#2ca02c", "#d62728").tolist()
        legend = f"{int(right.sum())} right, {int((~right).sum())} wrong"
    else:
        values = np.asarray(given[need[0]]).reshape(-1)
        order = sorted({v.item() for v in values}, key=lambda v: (str(type(v)), v))
        palette = class_palette(max(1, len(order)))
        colour = {v: palette[i % len(palette)] for i, v in enumerate(order)}
        colors = [MISSING_COLOR if (color_by == "node" and v.item() < 0) else colour[v.item()] for v in values]
        legend = f"{len(order)} {'nodes' if color_by == 'node' else 'classes'}"
    texts = [escape(t) for t in hover] if hover is not None else [
        escape(f"image {i}" + (f" · {label_name(labels[i], class_names)}" if labels is not None else ""))
        for i in range(n)]
    ring = np.asarray(list(ringed) if ringed is not None else [], dtype=np.int64)
    data = [
        dict(type="scattergl" if n > 5000 else "scatter", name="points", x=xy[:, 0], y=xy[:, 1], mode="markers",
             marker=dict(size=6, color=colors, opacity=0.85, line=dict(width=0)), text=texts,
             customdata=np.arange(n), hovertemplate="%{text}<extra></extra>", showlegend=False),
        dict(type="scatter", name="ringed", x=xy[ring, 0] if len(ring) else [], y=xy[ring, 1] if len(ring) else [],
             mode="markers", marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(width=2.5, color=_RING_COLOR)),
             hoverinfo="skip", showlegend=False),
    ]
    layout = dict(layout_defaults(title=title or "Layer map", width=width, height=height,
                                  subtitle=f"{n} images, coloured by {color_by} ({legend})"),
                  dragmode="lasso",
                  xaxis=axis_style(title=dict(text=escape(axis_titles[0]))),
                  yaxis=axis_style(title=dict(text=escape(axis_titles[1]))))
    layout["margin"] = dict(l=60, r=20, t=80, b=50)
    return go.Figure(dict(data=data, layout=layout))

