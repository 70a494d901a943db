"""The explorers' control factories: every control is built from its option's declaration
(:mod:`tda_widgets.options`): choices, label and tooltip are read there, never repeated here."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import ipywidgets as W

from ..clouds import CloudSpec
from ..core.errors import TDAInputError
from ..core.options import Option
from .plot import control_values

__all__ = ["MODE_OPTIONS", "FIT_WIDTH", "LABEL_STYLE", "dropdown", "slider", "row", "layer_slider", "number_or_auto",
           "parse_number_or_auto", "control_values"]

#: The cloud modes a dropdown offers: the declaration's choices (tda_widgets.clouds.CloudSpec).
MODE_OPTIONS = CloudSpec.options()["mode"].choices




#: Labels at their natural width: ipywidgets' fixed 80 px cut "min samples" to "min samp...".
LABEL_STYLE = {"description_width": "initial"}
_LABEL_STYLE = LABEL_STYLE


def dropdown(spec: Any, name: str, *, labels: Optional[dict] = None, width: str = "220px") -> W.Dropdown:
    """A dropdown of the declared choices of option ``name`` of ``spec`` (a spec class);
    ``labels`` maps some choices to friendlier text."""
    opt: Option = spec.options()[name]
    labels = labels or {}
    options = [(labels.get(c, str(c)), c) for c in opt.choices]
    return W.Dropdown(options=options, description=opt.text, tooltip=opt.help, layout=W.Layout(width=width),
                      style=_LABEL_STYLE)


def slider(spec: Any, name: str, *, width: str = "260px") -> W.Widget:
    """An int or float slider over the declared ``ui`` range of option ``name`` of ``spec``."""
    opt: Option = spec.options()[name]
    low, high, step = opt.ui
    cls = W.FloatSlider if isinstance(step, float) else W.IntSlider
    return cls(min=low, max=high, step=step, description=opt.text, tooltip=opt.help,
               continuous_update=False, layout=W.Layout(width=width), style=_LABEL_STYLE)


#: Sizes that fit an 800 px output (JupyterLab at 1280 px with the file browser open); rows of
#: controls and figures wrap instead of overflowing, and use a wider output when there is one.
FIT_WIDTH = 780


def row(children, **layout) -> W.HBox:
    """A row that wraps its children onto the next line when the output is too narrow."""
    return W.HBox(list(children), layout=W.Layout(**{"flex_flow": "row wrap", "align_items": "center", **layout}))


def layer_slider(names: Sequence[str], *, width: str = "340px") -> W.SelectionSlider:
    """The explorer's one layer control: a slider over the layer names, in model order.

    One control, not a dropdown beside an index slider: it shows the layer's name, the arrow
    keys step through the layers in order, and a click on the track jumps to any of them."""
    return W.SelectionSlider(options=list(names), description="layer", continuous_update=False,
                             tooltip="the layer shown (arrow keys step through the layers in model order)",
                             layout=W.Layout(width=width), style=_LABEL_STYLE)


def number_or_auto(spec: Any, name: str, *, width: str = "200px") -> W.Text:
    """A text box for a number option whose ``None`` means "chosen from the data" (shown as the
    placeholder "auto"); see :func:`parse_number_or_auto`."""
    opt: Option = spec.options()[name]
    return W.Text(value="" if opt.default is None else str(opt.default), placeholder="auto", description=opt.text,
                  tooltip=f"{opt.help} (leave empty for auto)", continuous_update=False,
                  layout=W.Layout(width=width), style=_LABEL_STYLE)


def parse_number_or_auto(spec: Any, name: str, text: str, where: str) -> Optional[float]:
    """The value typed in a :func:`number_or_auto` box: empty or "auto" is None; anything else
    must pass the option's declaration (a clear error naming the option otherwise)."""
    text = (text or "").strip()
    if text.lower() in ("", "auto", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = text
    try:
        spec.check(where, **{name: value})
    except TDAInputError as exc:
        raise TDAInputError(f"{exc} Type a number, or leave the box empty for auto.") from None
    return value
