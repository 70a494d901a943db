"""Persistence diagram, barcode and matching figures.

Infinite bars are never dropped: they are drawn on an "infinity" line at ``top`` (5 % above the
largest finite value), and their hover text says ``∞``. Every point keeps its original bar index
in ``customdata`` so that a hover or click handler can find the bar.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..core.errors import TDAInputError, TDATypeError
from ..core.markup import escape
from ._common import (
    DIM_COLORS,
    LINE_COLOR,
    as_diagram,
    as_diagram_list,
    axis_style,
    base_layout,
    layout_defaults,
    fmt,
    resolve_dims,
    value_range,
)

__all__ = [
    "CUSTOMDATA_COLUMNS",
    "barcode_figure",
    "diagram_point_to_bar",
    "matching_figure",
    "persistence_diagram_figure",
]

#: Columns of ``customdata`` on diagram and barcode traces.
CUSTOMDATA_COLUMNS = ("dim", "bar_index", "birth", "death", "persistence")


def _bar_customdata(dim: int, diagram: np.ndarray) -> np.ndarray:
    """Return ``[dim, bar_index, birth, death, persistence]`` rows.

    Death and persistence of an infinite bar are ``None`` (JSON ``null``): ``inf`` is not valid
    JSON, and a FigureWidget carrying it printed "Out of range float values are not JSON
    compliant" in the notebook.
    """
    n = len(diagram)
    data = np.empty((n, 5), dtype=np.float64)
    data[:, 0] = dim
    data[:, 1] = np.arange(n)
    data[:, 2] = diagram[:, 0]
    data[:, 3] = diagram[:, 1]
    data[:, 4] = diagram[:, 1] - diagram[:, 0]
    if np.isfinite(data).all():
        return data
    out = data.astype(object)
    out[~np.isfinite(data)] = None
    return out


def _bar_hover(dim: int, diagram: np.ndarray, prefix: str = "") -> list[str]:
    return [
        f"{escape(prefix)}H{dim} bar {i}<br>birth {fmt(b)}<br>death {fmt(d)}<br>persistence {fmt(d - b)}"
        for i, (b, d) in enumerate(diagram)
    ]


def _dim_color(dim: int) -> str:
    return DIM_COLORS[dim % len(DIM_COLORS)]


def persistence_diagram_figure(
    diagrams,
    *,
    dims=None,
    title=None,
    inf_label: str = "∞",
    width: int = 460,
    height: int = 420,
    subtitle=None,
) -> go.Figure:
    """Plot persistence diagrams: one scatter trace per homology dimension.

    Parameters
    ----------
    diagrams : list of ndarray of shape (n_bars, 2)
        ``diagrams[d]`` holds the (birth, death) pairs of H_d, as returned by ripser's
        ``dgms``. Deaths may be ``inf``.
    dims : sequence of int, optional
        Dimensions to draw (default: all given). A dimension beyond ``len(diagrams)`` gets an
        empty trace, so the trace structure depends only on ``dims``.
    title : str, optional
        Figure title (plain text: escaped where it enters plotly's markup).
    subtitle : str, optional
        A second, smaller title line (plain text, escaped), e.g. the settings.
    inf_label : str, default="∞"
        Label of the infinity line.
    width, height : int, default=460, 420
        Figure size in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces, in order: ``"H{d}"`` for each ``d`` in ``dims`` (markers; finite bars at
        (birth, death), infinite bars at (birth, top)), ``"diagonal"`` (the line y = x over the
        plotted range) and ``"infinity"`` (a dashed horizontal line at ``top`` labelled
        ``inf_label``). ``customdata`` rows are ``[dim, bar_index, birth, death, persistence]``
        with the true death (``inf`` for infinite bars); ``top`` is ``1.05`` times the largest
        finite value (1.0 when there is none).

    Raises
    ------
    TDAInputError, TDATypeError
        If a diagram is not an array of shape (n_bars, 2) with finite births and no NaN, or
        ``dims`` is not a sequence of distinct non-negative integers.

    Examples
    --------
    >>> import numpy as np
    >>> fig = persistence_diagram_figure([np.array([[0.0, 0.5], [0.0, np.inf]])])
    >>> [trace.name for trace in fig.data]
    ['H0', 'diagonal', 'infinity']
    """
    func = "persistence_diagram_figure"
    dgms = as_diagram_list(diagrams, "diagrams", func)
    dims = resolve_dims(dims, len(dgms), func)
    shown = [dgms[d] if d < len(dgms) else np.zeros((0, 2)) for d in dims]
    low, high, top = value_range(shown)
    pad = 0.04 * (top - low)
    lo_axis, hi_axis = low - pad, top + pad

    # Plain dicts validated once by go.Figure: 3-4x faster than go.Scatter objects and
    # update_layout (a persistence explorer redraws this figure on every layer change); the
    # tests check it equals that construction.
    data = []
    for dim, dgm in zip(dims, shown):
        data.append(dict(
            type="scatter",
            name=f"H{dim}",
            x=dgm[:, 0],
            y=np.where(np.isfinite(dgm[:, 1]), dgm[:, 1], top),
            mode="markers",
            marker=dict(color=_dim_color(dim), size=7, opacity=0.8, line=dict(width=0.5, color="white")),
            customdata=_bar_customdata(dim, dgm),
            text=_bar_hover(dim, dgm),
            hovertemplate="%{text}<extra></extra>",
        ))
    data.append(dict(type="scatter", name="diagonal", x=[lo_axis, hi_axis], y=[lo_axis, hi_axis], mode="lines",
                     line=dict(color=LINE_COLOR, width=1.5), hoverinfo="skip", showlegend=False))
    data.append(_infinity_line("infinity", [lo_axis, hi_axis], [top, top], inf_label))
    layout = dict(
        layout_defaults(title=title, width=width, height=height, subtitle=subtitle),
        xaxis=axis_style(title=dict(text="Birth"), range=[lo_axis, hi_axis]),
        yaxis=axis_style(title=dict(text="Death"), range=[lo_axis, hi_axis]),
        legend=_LEGEND,
        meta=dict(top=top),
    )
    return go.Figure(dict(data=data, layout=layout))


_LEGEND = dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom", bgcolor="rgba(255,255,255,0.8)")
# the barcode's long H0 bars and H1 bars reach the bottom right: its legend goes above the plot
_LEGEND_ABOVE = dict(orientation="h", x=1.0, y=1.0, xanchor="right", yanchor="bottom", bgcolor="rgba(255,255,255,0)")


def _infinity_line(name: str, x, y, label: str, at_end: str = "middle right") -> dict:
    # the label beside the line's far end, outside the plot area (cliponaxis off): at the start,
    # above the line, it was clipped at the plot's top-left corner
    return dict(type="scatter", name=name, x=x, y=y, mode="lines+text", text=["", escape(label)],
                textposition=at_end, textfont=dict(color=LINE_COLOR, size=16), cliponaxis=False,
                line=dict(color=LINE_COLOR, width=1.5, dash="dash"), hoverinfo="skip", showlegend=False)


def barcode_figure(
    diagrams,
    *,
    dims=None,
    title=None,
    inf_label: str = "∞",
    width: int = 460,
    height: int = 420,
) -> go.Figure:
    """Plot persistence barcodes: one horizontal bar trace per homology dimension.

    Bars are stacked by dimension (H0 at the top), and within a dimension sorted by birth,
    then by length (longest first). Infinite bars extend to ``top`` (the same value as in
    :func:`persistence_diagram_figure`) and end in an arrow marker.

    Parameters
    ----------
    diagrams : list of ndarray of shape (n_bars, 2)
        ``diagrams[d]`` holds the (birth, death) pairs of H_d. Deaths may be ``inf``.
    dims : sequence of int, optional
        Dimensions to draw (default: all given); a dimension beyond ``len(diagrams)`` gets an
        empty trace.
    title : str, optional
        Figure title (plain text: escaped where it enters plotly's markup).
    inf_label : str, default="∞"
        Label of the infinity line.
    width, height : int, default=460, 420
        Figure size in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces, in order: ``"H{d} bars"`` for each ``d`` in ``dims`` (``go.Bar``, horizontal,
        ``base`` = birth, ``x`` = length, i.e. persistence for finite bars and
        ``top - birth`` for infinite ones), ``"infinite ends"`` (arrow markers at ``top`` for
        every infinite bar) and ``"infinity"`` (a dashed vertical line at ``top``).
        ``customdata`` rows are ``[dim, bar_index, birth, death, persistence]`` as in
        :func:`persistence_diagram_figure`.

    Raises
    ------
    TDAInputError, TDATypeError
        As :func:`persistence_diagram_figure`.

    Examples
    --------
    >>> import numpy as np
    >>> fig = barcode_figure([np.array([[0.0, 0.5]]), np.array([[0.2, 0.3]])])
    >>> [trace.name for trace in fig.data]
    ['H0 bars', 'H1 bars', 'infinite ends', 'infinity']
    """
    func = "barcode_figure"
    dgms = as_diagram_list(diagrams, "diagrams", func)
    dims = resolve_dims(dims, len(dgms), func)
    shown = [dgms[d] if d < len(dgms) else np.zeros((0, 2)) for d in dims]
    low, high, top = value_range(shown)

    data = []
    position = 0
    end_x, end_y, end_data, end_text = [], [], [], []
    tick_vals, tick_text = [], []
    for dim, dgm in zip(dims, shown):
        order = np.lexsort((-(dgm[:, 1] - dgm[:, 0]), dgm[:, 0])) if len(dgm) else np.zeros(0, int)
        ordered = dgm[order]
        y = position + np.arange(len(ordered), dtype=np.float64)
        length = np.where(np.isfinite(ordered[:, 1]), ordered[:, 1], top) - ordered[:, 0]
        customdata = _bar_customdata(dim, dgm)[order]
        text = np.asarray(_bar_hover(dim, dgm), dtype=object)[order].tolist() if len(dgm) else []
        data.append(dict(
            type="bar",
            name=f"H{dim} bars",
            orientation="h",
            base=ordered[:, 0],
            x=length,
            y=y,
            width=0.8,
            marker=dict(color=_dim_color(dim), line=dict(width=0)),
            customdata=customdata,
            text=text,
            textposition="none",
            hovertemplate="%{text}<extra></extra>",
        ))
        infinite = ~np.isfinite(ordered[:, 1])
        end_x.extend([top] * int(infinite.sum()))
        end_y.extend(y[infinite].tolist())
        end_data.extend(customdata[infinite].tolist())
        end_text.extend([t for t, inf in zip(text, infinite) if inf])
        if len(ordered):
            tick_vals.append(position + (len(ordered) - 1) / 2)
            tick_text.append(f"H{dim}")
        position += len(ordered) + 2  # a gap of two rows between dimensions
    data.append(dict(
        type="scatter",
        name="infinite ends",
        x=np.asarray(end_x, dtype=np.float64),
        y=np.asarray(end_y, dtype=np.float64),
        mode="markers",
        marker=dict(symbol="triangle-right", size=9, color=LINE_COLOR),
        customdata=np.asarray(end_data, dtype=np.float64).reshape(-1, 5),
        text=end_text,
        hovertemplate="%{text}<extra></extra>",
        showlegend=False,
    ))
    n_rows = max(position - 2, 1)
    data.append(_infinity_line("infinity", [top, top], [float(n_rows), -1.0], inf_label))  # label at the top
    pad = 0.04 * (top - low)
    layout = dict(
        layout_defaults(title=title, width=width, height=height),
        barmode="overlay",
        bargap=0,
        xaxis=axis_style(title=dict(text="Filtration value"), range=[low - pad, top + 2 * pad]),
        yaxis=axis_style(title=dict(text="Bars"), autorange="reversed", showgrid=False,
                         tickvals=tick_vals, ticktext=tick_text),
        legend=_LEGEND_ABOVE,
        meta=dict(top=top),
    )
    return go.Figure(dict(data=data, layout=layout))


def _check_pairs(pairs, n_a: int, n_b: int, func: str) -> np.ndarray:
    try:
        array = np.asarray(pairs)
    except (TypeError, ValueError) as exc:  # pragma: no cover - np.asarray rarely fails
        raise TDATypeError(f"The 'pairs' parameter of {func} must be an integer array.") from exc
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if array.ndim != 2 or array.shape[1] not in (2, 3):
        raise TDAInputError(
            f"The 'pairs' parameter of {func} must be an integer array of shape (k, 2) of row "
            f"indices (i into dgm_a, j into dgm_b; -1 for the diagonal). Got shape "
            f"{array.shape} instead. (A persim matching of shape (k, 3) is accepted; its third "
            f"column is ignored.)"
        )
    array = array[:, :2]
    if not np.all(np.isfinite(array.astype(np.float64))) or not np.all(array == np.round(array)):
        raise TDAInputError(
            f"The 'pairs' parameter of {func} must hold whole-number row indices. Got "
            f"non-integer values. Pass integer indices, -1 for the diagonal."
        )
    array = array.astype(np.int64)
    bad_a = (array[:, 0] < -1) | (array[:, 0] >= n_a)
    bad_b = (array[:, 1] < -1) | (array[:, 1] >= n_b)
    if bad_a.any() or bad_b.any():
        row = int(np.flatnonzero(bad_a | bad_b)[0])
        raise TDAInputError(
            f"The 'pairs' parameter of {func} must index rows of dgm_a (0..{n_a - 1}) and dgm_b "
            f"(0..{n_b - 1}), or be -1 for the diagonal. Got {array[row].tolist()} in row "
            f"{row}. Check that the matching belongs to these diagrams."
        )
    both = (array[:, 0] == -1) & (array[:, 1] == -1)
    if both.any():
        raise TDAInputError(
            f"The 'pairs' parameter of {func} must not match the diagonal to the diagonal. Got "
            f"[-1, -1] in row {int(np.flatnonzero(both)[0])}. Drop those rows."
        )
    return array


def matching_figure(
    dgm_a,
    dgm_b,
    pairs,
    *,
    names=("layer A", "layer B"),
    title=None,
    width: int = 460,
    height: int = 420,
) -> go.Figure:
    """Plot two diagrams and the matching between them (e.g. a bottleneck matching).

    Parameters
    ----------
    dgm_a, dgm_b : ndarray of shape (n_a, 2) and (n_b, 2)
        The two diagrams (one homology dimension each). Infinite deaths are drawn on the
        infinity line, as in :func:`persistence_diagram_figure`.
    pairs : int ndarray of shape (k, 2)
        Row ``[i, j]`` matches ``dgm_a[i]`` to ``dgm_b[j]``; ``i == -1`` or ``j == -1`` matches
        the other point to the diagonal, drawn as a segment to its projection
        ``((b + d) / 2, (b + d) / 2)``. A persim matching of shape (k, 3) is also accepted.
    names : tuple of str, default=("layer A", "layer B")
        Display names of the two diagrams (legend titles and hover text).
    title : str, optional
        Figure title (plain text: escaped where it enters plotly's markup).
    width, height : int, default=460, 420
        Figure size in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces, in order: ``"A"`` and ``"B"`` (markers; ``customdata`` rows
        ``[0 or 1, bar_index, birth, death, persistence]``), ``"diagonal"``, ``"infinity"`` and
        ``"matching"`` (all segments in one line trace, three entries per pair: both ends and
        a ``None`` separator; ``customdata`` holds the row of ``pairs`` for each end).

    Raises
    ------
    TDAInputError, TDATypeError
        If a diagram is malformed, or ``pairs`` has the wrong shape, indices out of range or a
        ``[-1, -1]`` row.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.0, 1.0]]); b = np.array([[0.1, 1.1], [0.5, 0.6]])
    >>> fig = matching_figure(a, b, np.array([[0, 0], [-1, 1]]))
    >>> [trace.name for trace in fig.data]
    ['A', 'B', 'diagonal', 'infinity', 'matching']
    """
    func = "matching_figure"
    a = as_diagram(dgm_a, "dgm_a", func)
    b = as_diagram(dgm_b, "dgm_b", func)
    pairs = _check_pairs(pairs, len(a), len(b), func)
    if (
        not isinstance(names, (list, tuple))
        or len(names) != 2
        or not all(isinstance(n, str) for n in names)
    ):
        raise TDAInputError(
            f"The 'names' parameter of {func} must be a pair of strings such as "
            f"('conv1', 'conv2'). Got {names!r} instead."
        )
    low, high, top = value_range([a, b])
    pad = 0.04 * (top - low)
    lo_axis, hi_axis = low - pad, top + pad

    def plotted(dgm):
        return np.column_stack([dgm[:, 0], np.where(np.isfinite(dgm[:, 1]), dgm[:, 1], top)])

    pa, pb = plotted(a), plotted(b)
    fig = go.Figure()
    for label, which, dgm, pts, symbol, color in (
        ("A", 0, a, pa, "circle", DIM_COLORS[0]),
        ("B", 1, b, pb, "x", DIM_COLORS[1]),
    ):
        data = _bar_customdata(0, dgm)
        data[:, 0] = which
        fig.add_trace(
            go.Scatter(
                name=label,
                x=pts[:, 0],
                y=pts[:, 1],
                mode="markers",
                marker=dict(symbol=symbol, size=8, color=color, opacity=0.85),
                customdata=data,
                text=[
                    t.replace("H0 bar", "bar", 1)
                    for t in _bar_hover(0, dgm, prefix=f"{names[which]} ({label}) ")
                ],
                hovertemplate="%{text}<extra></extra>",
                legendgroup=label,
                legendgrouptitle=dict(text=escape(names[which])),
            )
        )
    fig.add_trace(
        go.Scatter(
            name="diagonal",
            x=[lo_axis, hi_axis],
            y=[lo_axis, hi_axis],
            mode="lines",
            line=dict(color=LINE_COLOR, width=1.5),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            name="infinity",
            x=[lo_axis, hi_axis],
            y=[top, top],
            mode="lines+text",
            text=["", "∞"],
            textposition="middle right",
            textfont=dict(color=LINE_COLOR, size=16),
            cliponaxis=False,
            line=dict(color=LINE_COLOR, width=1.5, dash="dash"),
            hoverinfo="skip",
            showlegend=False,
        )
    )

    xs: list = []
    ys: list = []
    data: list = []
    for row, (i, j) in enumerate(pairs):
        if i >= 0 and j >= 0:
            start, stop = pa[i], pb[j]
        elif j < 0:
            start = pa[i]
            stop = np.full(2, pa[i].sum() / 2)
        else:
            start = pb[j]
            stop = np.full(2, pb[j].sum() / 2)
        xs.extend([start[0], stop[0], None])
        ys.extend([start[1], stop[1], None])
        data.extend([[row, i, j], [row, i, j], [None, None, None]])
    fig.add_trace(
        go.Scatter(
            name="matching",
            x=xs,
            y=ys,
            mode="lines",
            line=dict(color="#888888", width=1),
            customdata=data,
            hoverinfo="skip",
            connectgaps=False,
        )
    )
    base_layout(fig, title=title, width=width, height=height)
    fig.update_layout(
        xaxis=axis_style(title=dict(text="Birth"), range=[lo_axis, hi_axis]),
        yaxis=axis_style(title=dict(text="Death"), range=[lo_axis, hi_axis]),
        legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom",
                    bgcolor="rgba(255,255,255,0.8)"),
        meta=dict(top=top),
    )
    return fig


def diagram_point_to_bar(fig: go.Figure, trace_name: str, point_index: int) -> tuple[int, int]:
    """Return ``(dim, bar_index)`` of a point of a diagram or barcode trace.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure or FigureWidget
        A figure made by :func:`persistence_diagram_figure` or :func:`barcode_figure`.
    trace_name : str
        The trace's name, e.g. ``"H1"`` or ``"H1 bars"`` (as in a hover event's
        ``trace_name``).
    point_index : int
        The point's index within the trace (a hover event's ``point_inds[0]``).

    Returns
    -------
    tuple of int
        The homology dimension and the bar's row in the input ``diagrams[dim]``.

    Raises
    ------
    TDAInputError
        If no trace has that name, it carries no bar customdata, or the index is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> fig = persistence_diagram_figure([np.array([[0.0, 0.5], [0.0, 0.2]])])
    >>> diagram_point_to_bar(fig, "H0", 1)
    (0, 1)
    """
    traces = [t for t in fig.data if t.name == trace_name]
    if not traces or traces[0].customdata is None:
        raise TDAInputError(
            f"The 'trace_name' parameter of diagram_point_to_bar must name a diagram or "
            f"barcode trace ({[t.name for t in fig.data if t.customdata is not None]}). Got "
            f"{trace_name!r} instead."
        )
    data = np.asarray(traces[0].customdata)
    if not 0 <= int(point_index) < len(data):
        raise TDAInputError(
            f"The 'point_index' parameter of diagram_point_to_bar must be in 0..{len(data) - 1} "
            f"for trace {trace_name!r}. Got {point_index!r} instead."
        )
    row = data[int(point_index)]
    return int(row[0]), int(row[1])
