"""Helpers shared by the figure builders: input checks, colours and number formatting.

Private module: nothing here is part of the public API.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ..core.errors import TDAInputError, TDATypeError
from ..core.markup import escape, markup

__all__: list[str] = []

#: One colour per homology dimension (H0, H1, H2, ...), explicit so ``template=None`` works.
DIM_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")

#: Qualitative palettes for class colours: D3's ten, then 26 for larger label sets.
CLASS_PALETTE_10 = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
CLASS_PALETTE_26 = (
    "#AA0DFE", "#3283FE", "#85660D", "#782AB6", "#565656", "#1C8356", "#16FF32", "#F7E1A0",
    "#E2E2E2", "#1CBE4F", "#C4451C", "#DEA0FD", "#FE00FA", "#325A9B", "#FEAF16", "#F8A19F",
    "#90AD1C", "#F6222E", "#1CFFCE", "#2ED9FF", "#B10DA1", "#C075A6", "#FC1CBF", "#B00068",
    "#FBE426", "#FA0087",
)
#: Colour of nodes or points without a class (no labels, empty node).
MISSING_COLOR = "#bbbbbb"
#: Colour of reference lines (diagonal, infinity line): a mid grey that reads on the white figures
#: and on a dark theme's background alike (#555 all but vanished in JupyterLab Dark).
LINE_COLOR = "#888888"
#: Height of plotly's toolbar (the modebar, top right, shown on hover): every title starts below
#: it, so the toolbar never covers a title (it did, "head · 29 nodes, 19 edges").
MODEBAR_ROW = 32
#: Height of a line of a title (plotly spaces a title's lines by 1.3 of its 16.8 px type, also
#: for a subtitle line in small type).
TITLE_LINE = 22
#: How far plotly.js lifts a title of several lines above the padding it was given.
MULTILINE_LIFT = 12


def title_below_modebar(text: str, *, below: int = MODEBAR_ROW, **extra) -> dict:
    """A layout title whose first line starts ``below`` px from the top (default: under the
    toolbar row, :data:`MODEBAR_ROW`). plotly.js lifts a title of several lines (``<br>``) by
    :data:`MULTILINE_LIFT` px (measured in Chromium, whatever the number of lines): the padding
    gives that back."""
    return dict(text=text, yref="container", y=1.0, yanchor="top",
                pad=dict(t=below + (MULTILINE_LIFT if "<br>" in text else 0)), **extra)


def top_margin(title, subtitle=None, *, lines: int = 0) -> int:
    """The top margin a one-line title needs under the toolbar row, with ``subtitle``'s lines
    (lines apart by ``"\\n"``) or ``lines`` more lines below it."""
    if not title:
        return 30
    extra = max(lines, subtitle.count("\n") + 1 if subtitle else 0)
    return MODEBAR_ROW + TITLE_LINE * (1 + extra) + 8


def without_toolbar(fig: go.Figure) -> go.Figure:
    """``fig`` shown with no plotly toolbar in the explorers' plot widget
    (``layout.meta["tdaw_modebar"]`` False: a figure narrower than the toolbar, which wraps onto
    two rows over the title), its title moved up into the row kept free for the toolbar."""
    layout = fig.layout
    fig.update_layout(meta={**(layout.meta or {}), "tdaw_modebar": False})
    if layout.title.text and layout.title.pad.t is not None and layout.title.pad.t >= MODEBAR_ROW:
        fig.update_layout(title=dict(pad=dict(t=layout.title.pad.t - MODEBAR_ROW + 8)),
                          margin=dict(t=max(8, (layout.margin.t or 0) - MODEBAR_ROW + 8)))
    return fig


def class_palette(n_classes: int) -> tuple[str, ...]:
    """Return a qualitative palette with at least ``min(n_classes, 26)`` distinct colours."""
    return CLASS_PALETTE_10 if n_classes <= len(CLASS_PALETTE_10) else CLASS_PALETTE_26


def fmt(value: float) -> str:
    """Format a number for hover text: 4 significant digits, ``∞`` for +inf."""
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


def check_positive_int(value, name: str, func: str, *, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TDATypeError(
            f"The '{name}' parameter of {func} must be an integer >= {minimum}. "
            f"Got {value!r} of type {type(value).__name__} instead. Pass a whole number."
        )
    if value < minimum:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must be an integer >= {minimum}. "
            f"Got {value!r} instead. Pass a larger value."
        )
    return int(value)


def check_choice(value, choices: Sequence, name: str, func: str):
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    if value not in choices:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must be one of {{{', '.join(map(repr, choices))}}}. "
            f"Got {value!r} instead."
        )
    return value


def as_diagram(diagram, name: str, func: str) -> np.ndarray:
    """Validate one persistence diagram and return it as a float64 array of shape (n, 2).

    Births must be finite; deaths finite or ``+inf``; no NaN. An empty input (``[]`` or an
    array of shape (0,) or (0, 2)) gives an array of shape (0, 2).
    """
    try:
        array = np.asarray(diagram, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TDATypeError(
            f"The '{name}' parameter of {func} must be an array of shape (n_bars, 2) of "
            f"(birth, death) pairs. Got an object of type {type(diagram).__name__} that cannot "
            f"be converted to float ({exc}). Pass a numpy array such as ripser's dgms[d]."
        ) from exc
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must be an array of shape (n_bars, 2) of "
            f"(birth, death) pairs. Got shape {array.shape} instead. Pass one diagram per "
            f"dimension, e.g. ripser's dgms[d]."
        )
    if np.isnan(array).any():
        raise TDAInputError(
            f"The '{name}' parameter of {func} must not contain NaN. Got "
            f"{int(np.isnan(array).sum())} NaN value(s). Remove or recompute those bars."
        )
    if not np.isfinite(array[:, 0]).all():
        raise TDAInputError(
            f"The births (column 0) of the '{name}' parameter of {func} must be finite. Got "
            f"{int((~np.isfinite(array[:, 0])).sum())} infinite birth(s). Only deaths may be "
            f"+inf."
        )
    if np.isneginf(array[:, 1]).any():
        raise TDAInputError(
            f"The deaths (column 1) of the '{name}' parameter of {func} must be finite or "
            f"+inf. Got -inf. Check the diagram's orientation."
        )
    return array


def as_diagram_list(diagrams, name: str, func: str) -> list[np.ndarray]:
    """Validate a list of diagrams (``diagrams[d]`` for H_d)."""
    if isinstance(diagrams, np.ndarray) and diagrams.ndim == 2:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must be a list of diagrams, one per homology "
            f"dimension (diagrams[d] for H_d). Got a single array of shape {diagrams.shape}. "
            f"Wrap it in a list: [{name}]."
        )
    if not isinstance(diagrams, (list, tuple)):
        raise TDATypeError(
            f"The '{name}' parameter of {func} must be a list of arrays of shape (n_bars, 2), "
            f"one per homology dimension. Got {type(diagrams).__name__} instead. Pass e.g. "
            f"ripser(X)['dgms']."
        )
    return [as_diagram(d, f"{name}[{i}]", func) for i, d in enumerate(diagrams)]


def resolve_dims(dims, n_available: int, func: str) -> list[int]:
    """Return the homology dimensions to draw: all available when ``dims`` is None.

    Requested dimensions beyond the diagrams given are kept (they get empty traces), so the
    figure's trace structure depends only on ``dims``.
    """
    if dims is None:
        return list(range(n_available))
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        dims = [dims]
    try:
        out = [int(d) for d in dims]
    except (TypeError, ValueError) as exc:
        raise TDATypeError(
            f"The 'dims' parameter of {func} must be None or a sequence of non-negative "
            f"integers such as (0, 1). Got {dims!r} instead."
        ) from exc
    if any(d < 0 for d in out) or any(float(d) != float(o) for d, o in zip(out, dims)):
        raise TDAInputError(
            f"The 'dims' parameter of {func} must hold non-negative integers such as (0, 1). "
            f"Got {dims!r} instead."
        )
    if len(set(out)) != len(out):
        raise TDAInputError(
            f"The 'dims' parameter of {func} must not repeat a dimension. Got {dims!r} "
            f"instead. List each dimension once."
        )
    return out


def value_range(arrays: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """Return ``(low, high, top)`` for a set of diagrams.

    ``low`` is ``min(0, smallest finite value)``, ``high`` the largest finite value (births and
    finite deaths), and ``top`` the height of the infinity line: 5 % of the span above
    ``high`` (``1.05 * high`` when ``low`` is 0), or ``high + 1`` when the span is 0.
    """
    finite = [a[np.isfinite(a)] for a in arrays if a.size]
    values = np.concatenate(finite) if finite else np.zeros(0)
    if values.size == 0:
        return 0.0, 1.0, 1.0
    low = min(0.0, float(values.min()))
    high = float(values.max())
    span = high - low
    top = high + 0.05 * span if span > 0 else high + 1.0
    return low, high, top


def layout_defaults(*, title, width: int, height: int, subtitle=None) -> dict:
    """The explicit size, white background and title (plain text, escaped, under the toolbar's
    row; ``subtitle``, also plain text, below it in small type, one line per ``"\\n"``) every
    builder uses."""
    text = escape(title) if title else ""
    if title and subtitle:
        text += "".join(markup("<br><span style='font-size:11px'>{}</span>", line) for line in subtitle.split("\n"))
    return dict(
        title=title_below_modebar(text) if title else {},
        width=int(width),
        height=int(height),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=60, r=20, t=top_margin(title, subtitle), b=50),
        hovermode="closest",
        font=dict(family="Arial, sans-serif", size=12, color="#222222"),
    )


def base_layout(fig: go.Figure, *, title, width: int, height: int) -> None:
    """Apply :func:`layout_defaults` to ``fig``."""
    fig.update_layout(**layout_defaults(title=title, width=width, height=height))


def axis_style(**extra) -> dict:
    """Axis settings that look the same with or without a plotly template."""
    style = dict(
        showline=True,
        linecolor="#444444",
        mirror=True,
        ticks="outside",
        showgrid=True,
        gridcolor="#eeeeee",
        zeroline=False,
    )
    style.update(extra)
    return style


def label_name(label, class_names) -> str:
    """Return the display name of a class label using ``class_names`` (sequence or dict).

    Plain text: escape it (:func:`tda_widgets.markup.escape`) where it enters markup.
    """
    if label is None:
        return "none"
    if class_names is None:
        return str(label)
    if isinstance(class_names, dict):
        return str(class_names.get(label, label))
    try:
        index = int(label)
    except (TypeError, ValueError):
        return str(label)
    if 0 <= index < len(class_names) and float(index) == float(label):
        return str(class_names[index])
    return str(label)
