"""The persistence-diagram and barcode figures as tda-widgets built them before they became
plain dicts (go.Scatter / go.Bar objects, fig.add_trace, base_layout, update_layout): the
reference the dict builders are checked against (tests/figures/test_figures_as_dicts.py)."""

import numpy as np
import plotly.graph_objects as go

from tda_widgets.figures._common import LINE_COLOR, as_diagram_list, axis_style, base_layout, resolve_dims, value_range
from tda_widgets.figures.diagrams import _bar_customdata, _bar_hover, _dim_color
from tda_widgets.markup import escape


def persistence_diagram_figure(
    diagrams,
    *,
    dims=None,
    title=None,
    inf_label: str = "∞",
    width: int = 460,
    height: int = 420,
) -> go.Figure:
    func = "persistence_diagram_figure"
    dgms = as_diagram_list(diagrams, "diagrams", func)
    dims = resolve_dims(dims, len(dgms), func)
    shown = [dgms[d] if d < len(dgms) else np.zeros((0, 2)) for d in dims]
    low, high, top = value_range(shown)
    pad = 0.04 * (top - low)
    lo_axis, hi_axis = low - pad, top + pad

    fig = go.Figure()
    for dim, dgm in zip(dims, shown):
        y = np.where(np.isfinite(dgm[:, 1]), dgm[:, 1], top)
        fig.add_trace(
            go.Scatter(
                name=f"H{dim}",
                x=dgm[:, 0],
                y=y,
                mode="markers",
                marker=dict(color=_dim_color(dim), size=7, opacity=0.8,
                            line=dict(width=0.5, color="white")),
                customdata=_bar_customdata(dim, dgm),
                text=_bar_hover(dim, dgm),
                hovertemplate="%{text}<extra></extra>",
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
            text=["", escape(inf_label)],
            textposition="middle right",
            textfont=dict(color=LINE_COLOR, size=16),
            cliponaxis=False,
            line=dict(color=LINE_COLOR, width=1.5, dash="dash"),
            hoverinfo="skip",
            showlegend=False,
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


def barcode_figure(
    diagrams,
    *,
    dims=None,
    title=None,
    inf_label: str = "∞",
    width: int = 460,
    height: int = 420,
) -> go.Figure:
    func = "barcode_figure"
    dgms = as_diagram_list(diagrams, "diagrams", func)
    dims = resolve_dims(dims, len(dgms), func)
    shown = [dgms[d] if d < len(dgms) else np.zeros((0, 2)) for d in dims]
    low, high, top = value_range(shown)

    fig = go.Figure()
    position = 0
    end_x, end_y, end_data, end_text = [], [], [], []
    tick_vals, tick_text = [], []
    for dim, dgm in zip(dims, shown):
        order = np.lexsort((-(dgm[:, 1] - dgm[:, 0]), dgm[:, 0])) if len(dgm) else np.zeros(0, int)
        ordered = dgm[order]
        y = position + np.arange(len(ordered), dtype=np.float64)
        length = np.where(np.isfinite(ordered[:, 1]), ordered[:, 1], top) - ordered[:, 0]
        data = _bar_customdata(dim, dgm)[order]
        text = np.asarray(_bar_hover(dim, dgm), dtype=object)[order].tolist() if len(dgm) else []
        fig.add_trace(
            go.Bar(
                name=f"H{dim} bars",
                orientation="h",
                base=ordered[:, 0],
                x=length,
                y=y,
                width=0.8,
                marker=dict(color=_dim_color(dim), line=dict(width=0)),
                customdata=data,
                text=text,
                textposition="none",
                hovertemplate="%{text}<extra></extra>",
            )
        )
        infinite = ~np.isfinite(ordered[:, 1])
        end_x.extend([top] * int(infinite.sum()))
        end_y.extend(y[infinite].tolist())
        end_data.extend(data[infinite].tolist())
        end_text.extend([t for t, inf in zip(text, infinite) if inf])
        if len(ordered):
            tick_vals.append(position + (len(ordered) - 1) / 2)
            tick_text.append(f"H{dim}")
        position += len(ordered) + 2  # a gap of two rows between dimensions
    fig.add_trace(
        go.Scatter(
            name="infinite ends",
            x=np.asarray(end_x, dtype=np.float64),
            y=np.asarray(end_y, dtype=np.float64),
            mode="markers",
            marker=dict(symbol="triangle-right", size=9, color=LINE_COLOR),
            customdata=np.asarray(end_data, dtype=np.float64).reshape(-1, 5),
            text=end_text,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    n_rows = max(position - 2, 1)
    fig.add_trace(
        go.Scatter(
            name="infinity",
            x=[top, top],
            y=[float(n_rows), -1.0],
            mode="lines+text",
            text=["", escape(inf_label)],
            textposition="middle right",
            textfont=dict(color=LINE_COLOR, size=16),
            cliponaxis=False,
            line=dict(color=LINE_COLOR, width=1.5, dash="dash"),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    pad = 0.04 * (top - low)
    base_layout(fig, title=title, width=width, height=height)
    fig.update_layout(
        barmode="overlay",
        bargap=0,
        xaxis=axis_style(title=dict(text="Filtration value"), range=[low - pad, top + 2 * pad]),
        yaxis=axis_style(title=dict(text="Bars"), autorange="reversed", showgrid=False,
                         tickvals=tick_vals, ticktext=tick_text),
        legend=dict(orientation="h", x=1.0, y=1.0, xanchor="right", yanchor="bottom",
                    bgcolor="rgba(255,255,255,0)"),
        meta=dict(top=top),
    )
    return fig
