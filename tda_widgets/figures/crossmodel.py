"""Figures of the cross-model comparison: one measure between the layers of model A and the
layers of model B (each row's best match marked), and Kornblith et al.'s fraction of layers
identified per measure and model."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from ..core.errors import TDAInputError, TDATypeError
from ..core.markup import escape, markup
from ..topology.identification import best_matches, identified_layers
from ._common import axis_style, fmt, layout_defaults

__all__ = ["cross_model_figure", "identification_figure"]

#: Marker of a row's best match: a star where it is the corresponding layer (identified), else a cross.
IDENTIFIED_SYMBOL, MISSED_SYMBOL = "star", "x"


def _names(names, what: str, func: str) -> list[str]:
    if isinstance(names, str) or not hasattr(names, "__len__") or len(names) == 0:
        raise TDATypeError(f"The '{what}' parameter of {func} must be a non-empty sequence of layer names. "
                           f"Got {names!r} instead.")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise TDAInputError(f"The '{what}' parameter of {func} must hold distinct names. Got {names}.")
    return names


def cross_model_figure(matrix, layers_a: Sequence[str], layers_b: Sequence[str], *, kind: str = "distance",
                       measure: str = "PH distance", model_a: str = "A", model_b: str = "B",
                       selected: Optional[int] = None, subtitle: Optional[str] = None, title: Optional[str] = None,
                       width: int = 780, height: int = 480) -> go.Figure:
    """Heat map of one measure between every layer of model A (rows) and of model B (columns).

    Parameters
    ----------
    matrix : array_like of shape (L_A, L_B)
        NaN entries (not computed) are blank.
    layers_a, layers_b : sequence of str
    kind : {"distance", "similarity"}
        A distance is drawn as is; a similarity too, with the colour scale reversed, so darker
        means more different in both.
    measure : str
        How the hover text and the colour bar name the measure.
    model_a, model_b : str
        The models' labels (axis titles).
    selected : int, optional
        A row of A outlined (the explorer's layer).
    subtitle, title : str, optional
    width, height : int

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``"matrix"`` (a heat map: ``x`` B's names, ``y`` A's names, ``customdata[i][j] =
        [i, j]``) and ``"best"`` (one marker per row at its best column: a star when it is the
        layer of the same name and no other column ties, Kornblith et al.'s "identified", else
        a cross; ``customdata`` ``[row, column, identified]``). The title counts the layers identified.
    """
    func = "cross_model_figure"
    a, b = _names(layers_a, "layers_a", func), _names(layers_b, "layers_b", func)
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (len(a), len(b)):
        raise TDAInputError(f"The 'matrix' parameter of {func} must have shape (len(layers_a), len(layers_b)) = "
                            f"{(len(a), len(b))}. Got {m.shape}.")
    best, unique = best_matches(m, kind, func)
    hits = identified_layers(m, kind, a, b)
    has_best = best >= 0
    shown_a, shown_b = [escape(n) for n in a], [escape(n) for n in b]
    hover = [[markup("{} {} vs {} {}<br>{}: {}", model_a, row, model_b, col,
                     measure, "not computed" if np.isnan(m[i, j]) else fmt(m[i, j]))
              for j, col in enumerate(b)] for i, row in enumerate(a)]
    rows = np.flatnonzero(has_best)
    best_hover = [markup("{}: best match in {} is {} ({})", a[i], model_b, b[best[i]],
                         "identified" if hits[i] else ("a tie" if not unique[i] else "not the same layer"))
                  for i in rows]
    n_shared = sum(name in set(b) for name in a)
    line = f"{int(hits.sum())} of {n_shared} layers identified" if n_shared else "no layer names in common"
    finite = np.isfinite(m)
    data = [
        dict(type="heatmap", name="matrix", z=np.where(finite, m, np.nan), x=shown_b, y=shown_a, text=hover,
             customdata=[[[i, j] for j in range(len(b))] for i in range(len(a))],
             hovertemplate="%{text}<extra></extra>", colorscale="Viridis" if kind == "distance" else "Viridis_r",
             hoverongaps=False, colorbar=dict(thickness=14, title=dict(side="right", text=escape(measure))),
             **({} if finite.any() else dict(zmin=0.0, zmax=1.0))),
        dict(type="scatter", name="best", mode="markers", x=[shown_b[best[i]] for i in rows],
             y=[shown_a[i] for i in rows], text=best_hover, hovertemplate="%{text}<extra></extra>",
             customdata=[[int(i), int(best[i]), bool(hits[i])] for i in rows], showlegend=False,
             marker=dict(symbol=[IDENTIFIED_SYMBOL if hits[i] else MISSED_SYMBOL for i in rows], size=16,
                         color="white", line=dict(color="#222222", width=1.5))),
    ]
    heading = title or f"{measure}: layers of {model_a} x layers of {model_b}"
    layout = layout_defaults(title=heading, width=width, height=height,
                             subtitle=" · ".join(filter(None, [subtitle, f"★ best match per row: {line}"])))
    span_x, span_y = [-0.5, len(b) - 0.5], [len(a) - 0.5, -0.5]
    layout.update(
        xaxis=axis_style(title=dict(text=escape(f"layers of {model_b}")), showgrid=False, tickangle=-45,
                         range=span_x, type="category"),
        yaxis=axis_style(title=dict(text=escape(f"layers of {model_a}")), showgrid=False, range=span_y,
                         type="category"),
        margin=dict(l=110, r=40, t=80, b=110),
        shapes=[] if selected is None else [dict(
            type="rect", xref="paper", yref="y", x0=0, x1=1, y0=int(selected) - 0.5, y1=int(selected) + 0.5,
            line=dict(color="#d62728", width=2.5), fillcolor="rgba(0,0,0,0)", name="selected")],
        meta=dict(identified=int(hits.sum()), kind=kind),
    )
    return go.Figure(dict(data=data, layout=layout))


def identification_figure(fractions: Mapping[str, Mapping[str, float]], *,
                          title: str = "fraction of layers identified (Kornblith et al. 2019)", width: int = 780,
                          height: Optional[int] = None) -> go.Figure:
    """A small table as a heat map: per measure (rows) and model (columns), the fraction of A's
    layers whose most similar layer in that model is the corresponding one, with a column
    "all" (over every model) when there are several.

    Parameters
    ----------
    fractions : mapping of measure label to mapping of model label to float
        NaN (or a missing model) for a pair not computed.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace ``"identified"``: ``z`` the fractions in [0, 1], ``y`` the measures, ``x`` the models.
    """
    func = "identification_figure"
    if not isinstance(fractions, Mapping) or not fractions:
        raise TDATypeError(f"The 'fractions' parameter of {func} must be a non-empty mapping measure -> "
                           f"{{model: fraction}}. Got {type(fractions).__name__} instead.")
    models: list = []
    for row in fractions.values():
        if not isinstance(row, Mapping):
            raise TDATypeError(f"Each value of 'fractions' in {func} must be a mapping model -> fraction. "
                               f"Got {type(row).__name__}.")
        models += [str(k) for k in row if str(k) not in models]
    measures = [str(k) for k in fractions]
    z = np.array([[float({str(k): v for k, v in row.items()}.get(model, np.nan)) for model in models]
                  for row in fractions.values()])
    if np.any((z < 0) | (z > 1)):
        raise TDAInputError(f"The fractions given to {func} must lie in [0, 1]. Got {z[np.isfinite(z)].tolist()}.")
    columns = list(models)
    if len(models) > 1:
        with np.errstate(invalid="ignore"):
            mean = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in z])
        z, columns = np.c_[z, mean], columns + ["all"]
    text = [["" if np.isnan(v) else f"{v:.0%}" for v in r] for r in z]
    hover = [[markup("{} · model {}: {}", measure, col, "not computed" if np.isnan(v) else f"{v:.0%} identified")
              for col, v in zip(columns, r)] for measure, r in zip(measures, z)]
    layout = layout_defaults(title=title, width=width, height=height or 120 + 34 * len(measures))
    layout.update(xaxis=dict(type="category", side="top", showgrid=False),
                  yaxis=dict(type="category", autorange="reversed", showgrid=False),
                  margin=dict(l=130, r=20, t=90, b=20))
    data = [dict(type="heatmap", name="identified", z=z, x=[escape(c) for c in columns],
                 y=[escape(m) for m in measures], text=text, texttemplate="%{text}", customdata=hover,
                 hovertemplate="%{customdata}<extra></extra>", zmin=0.0, zmax=1.0, colorscale="Blues",
                 showscale=False, hoverongaps=False, xgap=2, ygap=2)]
    return go.Figure(dict(data=data, layout=layout))
