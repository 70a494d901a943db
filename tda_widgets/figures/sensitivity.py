"""The sensitivity test's figure: distance to the original against the fraction of principal
components removed (:func:`tda_widgets.topology.sensitivity.pc_removal_sensitivity`)."""

from __future__ import annotations

from typing import Mapping

import plotly.graph_objects as go

from ..core.errors import TDATypeError
from ..core.markup import escape
from ._common import axis_style, class_palette, layout_defaults

__all__ = ["sensitivity_figure"]

_MEASURE_TEXT = {"ph": "PH distance", "cka": "1 - linear CKA"}


def sensitivity_figure(results, *, title: str = "sensitivity to removing principal components", width: int = 560,
                       height: int = 340) -> go.Figure:
    """Distance to the original layer against the fraction of components removed.

    Parameters
    ----------
    results : SensitivityResult or mapping of str to SensitivityResult
        One layer's result, or ``{layer: result}`` (one colour per layer).
    title : str
    width, height : int

    Returns
    -------
    plotly.graph_objects.Figure
        Per layer and measure a trace named ``"<layer>: PH distance"`` / ``"<layer>: 1 - linear
        CKA"`` (just the measure for a single result); PH distances on the left axis (their scale
        is the cloud's), 1 - CKA on the right axis, in [0, 1], dashed.
    """
    if not isinstance(results, Mapping):
        results = {"": results}
    for layer, result in results.items():
        if not hasattr(result, "distances") or not hasattr(result, "fraction"):
            raise TDATypeError("sensitivity_figure takes a SensitivityResult (from pc_removal_sensitivity) or a "
                               f"mapping layer -> SensitivityResult. Got {type(result).__name__} for {layer!r}.")
    colours = class_palette(max(1, len(results)))
    data = []
    for (layer, result), colour in zip(results.items(), colours):
        remove = result.settings.get("remove", "lowest")
        for measure, values in result.distances.items():
            label = _MEASURE_TEXT.get(measure, measure)
            name = f"{layer}: {label}" if layer else label
            data.append(dict(
                type="scatter", name=escape(name), x=result.fraction.tolist(), y=[float(v) for v in values],
                mode="lines+markers", yaxis="y2" if measure == "cka" else "y",
                line=dict(color=colour, dash="dash" if measure == "cka" else "solid"),
                customdata=result.removed.tolist(),
                hovertemplate=("%{customdata} " + f"{remove}-variance components removed "
                               "(%{x:.0%}): %{y:.4g}<extra>" + escape(name) + "</extra>")))
    layout = layout_defaults(title=title, width=width, height=height)
    first = next(iter(results.values()))
    metric = first.settings.get("metric", "")
    dims = ", ".join(f"H{d}" for d in first.settings.get("dims", ()))
    layout.update(
        xaxis=axis_style(title=dict(text="fraction of principal components removed"), tickformat=".0%"),
        # two y axes, so neither mirrors its ticks onto the other's side (the right axis showed the
        # left one's tick positions as odd numbers: 0.261, 0.523, ...); 1 - CKA at quarter steps
        yaxis=axis_style(title=dict(text=escape(f"{metric} on {dims}" if metric else "PH distance")),
                         rangemode="tozero", mirror=False),
        yaxis2=axis_style(title=dict(text="1 - linear CKA"), overlaying="y", side="right", range=[0, 1.05],
                          showgrid=False, mirror=False, tickmode="array", tickvals=[0, 0.25, 0.5, 0.75, 1]),
        legend=dict(orientation="h", x=0.0, y=-0.34, xanchor="left", yanchor="top"),
        # the title sits below the row the toolbar takes on hover (it covered the title's end)
        margin=dict(l=60, r=60, t=80, b=100),
    )
    if title:
        layout["title"].update(yref="container", y=1 - 52 / height, yanchor="middle")
    return go.Figure(data=data, layout=layout)
