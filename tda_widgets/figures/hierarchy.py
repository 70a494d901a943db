"""A dendrogram of classes (tda_widgets.topology.hierarchy.ClassTree) as a plotly figure."""

from __future__ import annotations

from typing import Optional

import numpy as np
import plotly.graph_objects as go

from ..core.markup import escape
from ._common import axis_style, label_name, layout_defaults, top_margin

__all__ = ["class_tree_figure"]


def class_tree_figure(tree, *, class_names=None, title: str = "class tree", subtitle: Optional[str] = None,
                      cut: Optional[int] = None, width: int = 380, height: int = 260,
                      color: str = "#1f77b4") -> go.Figure:
    """The tree's dendrogram: classes along the bottom in leaf order, joins at the height
    ``1 - affinity`` at which they merge (low: the classes share many nodes).

    Parameters
    ----------
    tree : ClassTree
    class_names : sequence of str, optional
        Names of the class labels (label k -> class_names[k]); escaped (foreign text).
    title, subtitle : str
        Plain text; the subtitle on a second line in small type (a narrow figure clips a long
        one-line title).
    cut : int, optional
        Draw where the tree is cut into this many groups (:meth:`ClassTree.cut`): a dashed
        line between the joins that leave ``cut`` clusters, named ``"cut"`` in the layout's
        shapes; the classes below it on one branch are one group.

    Returns
    -------
    plotly.graph_objects.Figure
        One line trace ``"joins"``; x tick labels are the class names in leaf order.
    """
    from scipy.cluster.hierarchy import dendrogram

    shape = dendrogram(tree.linkage, no_plot=True, labels=list(range(len(tree.classes))))
    xs, ys = [], []
    for icoord, dcoord in zip(shape["icoord"], shape["dcoord"]):
        xs.extend(list(icoord) + [None])
        ys.extend(list(dcoord) + [None])
    leaves = [tree.classes[int(i)] for i in shape["ivl"]]
    ticks = [5.0 + 10.0 * k for k in range(len(leaves))]
    fig = go.Figure(go.Scatter(name="joins", x=xs, y=ys, mode="lines", line=dict(color=color, width=2),
                               hoverinfo="skip", showlegend=False))
    fig.update_layout(**layout_defaults(title=title, subtitle=subtitle, width=width, height=height))
    fig.update_layout(
        xaxis=axis_style(tickvals=ticks, ticktext=[escape(label_name(c, class_names)) for c in leaves],
                         tickangle=-45, showgrid=False, range=[0, 10.0 * len(leaves)]),
        yaxis=axis_style(title=dict(text="1 - affinity at the join"), range=[0, max(1.0, float(np.max(tree.linkage[:, 2])))]),
        margin=dict(l=60, r=10, t=top_margin(title, subtitle), b=70),
    )
    if cut is not None and 2 <= int(cut) <= len(tree.classes):
        heights = tree.linkage[:, 2]  # ascending: the last join leaves 1 cluster, the one before 2, ...
        below = float(heights[-int(cut)]) if int(cut) <= len(heights) else 0.0  # every class its own cluster
        above = float(heights[-int(cut) + 1])
        fig.add_shape(type="line", name="cut", xref="paper", x0=0, x1=1, y0=(below + above) / 2,
                      y1=(below + above) / 2, line=dict(color="#d62728", width=1.5, dash="dash"))
    return fig
