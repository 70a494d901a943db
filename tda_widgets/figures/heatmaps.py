"""Layer-by-layer distance heat maps: persistence distances beside CKA.

The left panel shows a diagram distance (bottleneck, Wasserstein, ...) between the layers'
persistence diagrams; the right panel the representational similarity of the same layers
(linear or RBF CKA), shown as ``1 - CKA`` by default so that both panels read "darker = more
different". Infinite distances (different numbers of infinite bars) are capped for the colour
scale and marked ``∞`` in the hover text; NaN entries (not computed yet) are left blank.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..core.errors import TDAInputError, TDATypeError
from ..core.markup import escape, markup
from ._common import MODEBAR_ROW, MULTILINE_LIFT, TITLE_LINE, axis_style, check_choice, fmt, title_below_modebar

__all__ = ["CKA_DISPLAYS", "SCALE_NOTES", "layer_distance_figure", "measures_table_figure"]

#: What the ``scale`` parameter says in the title (the rescaling applied before persistence).
SCALE_NOTES = {
    "median": "compare shape, not scale: clouds rescaled to unit median pairwise distance",
    "diameter": "compare shape, not scale: clouds rescaled to unit diameter",
    "none": "raw clouds, not rescaled: distances also measure activation scale",
}

#: Accepted values of ``cka_display``: show CKA similarity, or ``1 - CKA``.
CKA_DISPLAYS = ("distance", "similarity")


def _square(matrix, name: str, n_layers: int | None, func: str) -> np.ndarray:
    try:
        array = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TDATypeError(
            f"The '{name}' parameter of {func} must be a numeric array of shape "
            f"(n_layers, n_layers). Got an object of type {type(matrix).__name__} that cannot "
            f"be converted to float ({exc})."
        ) from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must be a square array of shape "
            f"(n_layers, n_layers). Got shape {array.shape} instead."
        )
    if n_layers is not None and array.shape[0] != n_layers:
        raise TDAInputError(
            f"The '{name}' parameter of {func} must have one row and column per layer name "
            f"({n_layers} names given). Got shape {array.shape} instead. Pass the matrix and "
            f"the names of the same layers."
        )
    return array


def _hover_text(values: np.ndarray, names: list[str], label: str) -> list[list[str]]:
    out = []
    for i, row_name in enumerate(names):
        row = []
        for j, col_name in enumerate(names):
            value = values[i, j]
            shown = "not computed" if np.isnan(value) else fmt(value)
            if np.isinf(value):
                shown += " (infinite: the diagrams have different numbers of infinite bars)"
            row.append(markup("{} vs {}<br>{}: {}", row_name, col_name, label, shown))
        out.append(row)
    return out


def _capped(values: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Replace +-inf by 1.1 x the largest finite magnitude (1.0 if none) for the colour scale."""
    finite = values[np.isfinite(values)]
    if not np.isinf(values).any():
        return values, None
    cap = 1.1 * float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
    z = values.copy()
    z[np.isposinf(z)] = cap
    z[np.isneginf(z)] = -cap
    return z, cap


def layer_distance_figure(
    ph_matrix,
    cka_matrix,
    layer_names,
    *,
    metric: str = "bottleneck",
    rank_correlation=None,
    scale: str | None = "median",
    dims=(0, 1),
    cka_display: str = "distance",
    cka_name: str = "linear CKA",
    cka_kind: str = "similarity",
    rho_label: str | None = None,
    title: str | None = None,
    width: int = 960,
    height: int = 460,
) -> go.Figure:
    """Two heat maps side by side: persistence distances between layers, and CKA.

    Parameters
    ----------
    ph_matrix : ndarray of shape (n_layers, n_layers)
        Diagram distances between layers. ``inf`` entries are drawn at a capped colour and
        say ``∞`` in the hover text; ``NaN`` entries (not computed yet) are blank.
    cka_matrix : ndarray of shape (n_layers, n_layers) or None
        CKA **similarity** between layers (1 on the diagonal). ``None`` leaves the right
        panel empty (all-NaN) with a note.
    layer_names : sequence of str
        One distinct name per layer, in matrix order.
    metric : str, default="bottleneck"
        Name of the diagram distance, shown in the title and the hover text.
    rank_correlation : float, optional
        Spearman rank correlation between the PH distances and ``1 - CKA`` over layer pairs;
        shown in the title as ``Spearman ρ(PH, 1 - CKA) = 0.71``.
    scale : {"median", "diameter", "none"} or None, default="median"
        The rescaling applied to the clouds before persistence, explained in the title.
        ``None`` means ``"none"``.
    dims : sequence of int, default=(0, 1)
        Homology dimensions the distances were computed on (title only).
    cka_display : {"distance", "similarity"}, default="distance"
        Show ``1 - CKA`` (same direction as the PH panel) or CKA itself. The panel title
        says which.
    cka_name : str, default="linear CKA"
        Name of the similarity measure in the panel title and hover text.
    cka_kind : {"similarity", "distance"}, default="similarity"
        Whether the right-hand matrix is a similarity (CKA, SVCCA, PWCCA, RSA: shown as
        ``1 - value`` or as is, per ``cka_display``) or already a distance (RTD, Procrustes:
        always shown as is, titled with ``cka_name`` alone).
    rho_label : str, optional
        What PH is correlated with, in the title line ``Spearman ρ(PH, <rho_label>)``;
        default ``"1 - CKA"``.
    title : str, optional
        First title line (plain text, escaped); default ``"Layer distances: <metric> on H0, H1"``.
    width, height : int, default=960, 460
        Figure size in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Two ``go.Heatmap`` traces, ``"ph"`` (left) and ``"cka"`` (right), with ``x`` and
        ``y`` the layer names, ``z`` the input matrix (``1 - cka_matrix`` for
        ``cka_display="distance"``; infinite entries capped), ``text`` the hover lines with
        both layer names and the value, and ``customdata[i][j] = [i, j]``. Rows go top-down.

    Raises
    ------
    TDAInputError, TDATypeError
        If a matrix is not square, does not match ``layer_names``, the names repeat, or
        ``scale``/``cka_display`` is not an accepted value.

    Examples
    --------
    >>> import numpy as np
    >>> fig = layer_distance_figure(np.zeros((2, 2)), np.eye(2), ["a", "b"])
    >>> [trace.name for trace in fig.data]
    ['ph', 'cka']
    """
    func = "layer_distance_figure"
    if isinstance(layer_names, str) or not hasattr(layer_names, "__len__"):
        raise TDATypeError(
            f"The 'layer_names' parameter of {func} must be a sequence of strings, one per "
            f"layer. Got {layer_names!r} instead."
        )
    names = [str(n) for n in layer_names]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise TDAInputError(
            f"The 'layer_names' parameter of {func} must hold distinct names. Got repeats "
            f"{repeated}. Give each layer a unique label."
        )
    ph = _square(ph_matrix, "ph_matrix", len(names), func)
    cka = None if cka_matrix is None else _square(cka_matrix, "cka_matrix", len(names), func)
    scale = "none" if scale is None else scale
    check_choice(scale, tuple(SCALE_NOTES), "scale", func)
    check_choice(cka_display, CKA_DISPLAYS, "cka_display", func)
    check_choice(cka_kind, ("similarity", "distance"), "cka_kind", func)
    if not isinstance(metric, str) or not metric:
        raise TDAInputError(
            f"The 'metric' parameter of {func} must be a non-empty string such as "
            f"'bottleneck'. Got {metric!r} instead."
        )
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    dims_text = ", ".join(f"H{int(d)}" for d in (dims if dims is not None else ()))

    as_distance = cka_display == "distance" or cka_kind == "distance"  # a distance is never inverted
    cka_label = f"1 - {cka_name}" if cka_display == "distance" and cka_kind == "similarity" else cka_name
    if cka is None:
        cka_values = np.full(ph.shape, np.nan)
    else:
        cka_values = 1.0 - cka if cka_display == "distance" and cka_kind == "similarity" else cka

    ph_z, ph_cap = _capped(ph)
    cka_z, _ = _capped(cka_values)
    index = [[[i, j] for j in range(len(names))] for i in range(len(names))]
    shown_names = [escape(name) for name in names]  # category tick labels are plotly markup

    heading = title or f"Layer distances: {metric}" + (f" on {dims_text}" if dims_text else "")
    lines = [heading, SCALE_NOTES[scale]]
    if rank_correlation is not None:
        lines.append(f"Spearman ρ(PH, {rho_label or '1 - CKA'}) = {float(rank_correlation):.2f}")
    if ph_cap is not None:
        lines.append("∞ = different numbers of infinite bars (top of the colour scale)")

    # One declarative dict, validated once by go.Figure (9 ms for five layers), instead of
    # make_subplots and a dozen update_* calls (60-100 ms): a view change of the explorer
    # rebuilds this figure. The test suite checks it equals that plotly-API construction.
    span = [-0.5, len(names) - 0.5]  # explicit ranges: an all-NaN panel has no autorange
    has_cka = np.isfinite(cka_z).any()

    def heatmap(name, z, hover, col, colorscale, colorbar, **extra):
        return dict(type="heatmap", name=name, z=z, x=shown_names, y=shown_names, text=hover, customdata=index,
                    hovertemplate="%{text}<extra></extra>", colorscale=colorscale, colorbar=colorbar,
                    hoverongaps=False, xaxis="x" if col == 1 else "x2", yaxis="y" if col == 1 else "y2", **extra)

    def axes(col, domain):
        suffix = "" if col == 1 else "2"
        x = axis_style(showgrid=False, tickangle=-45, anchor="y" + suffix, domain=domain, range=span,
                       constrain="domain")
        # the CKA panel's rows are the PH panel's: its labels would sit on the PH colour bar
        y = axis_style(showgrid=False, anchor="x" + suffix, domain=[0.0, 1.0], range=span[::-1],
                       scaleanchor="x" + suffix, scaleratio=1, constrain="domain", showticklabels=col == 1)
        return {"xaxis" + suffix: x, "yaxis" + suffix: y}

    def panel_title(text, x):
        return dict(text=escape(text), x=x, y=1.0, xref="paper", yref="paper", xanchor="center",
                    yanchor="bottom", showarrow=False, font=dict(size=16))

    annotations = [panel_title(f"{metric} distance between diagrams", 0.21), panel_title(cka_label, 0.79)]
    if cka is None:
        annotations.append(dict(text="CKA not computed<br>(pass cka_matrix)", xref="x2 domain", yref="y2 domain",
                                x=0.5, y=0.5, showarrow=False, font=dict(color="#777777", size=13)))
    layout = dict(
        **axes(1, [0.0, 0.42]),
        **axes(2, [0.58, 1.0]),
        annotations=annotations,
        title=dict(
            text=escape(lines[0])
            + "".join(markup("<br><span style='font-size:11px'>{}</span>", line) for line in lines[1:]),
            x=0.5, xanchor="center", yref="container", y=1.0, yanchor="top",
            pad=dict(t=MODEBAR_ROW + (MULTILINE_LIFT if len(lines) > 1 else 0)),  # plotly lifts a multi-line title
        ),
        width=int(width),
        height=int(height),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=90, r=40, t=MODEBAR_ROW + TITLE_LINE * len(lines) + 28, b=90),
        font=dict(family="Arial, sans-serif", size=12, color="#222222"),
        meta=dict(scale=scale, metric=metric, cka_display=cka_display),
    )
    data = [
        heatmap("ph", ph_z, _hover_text(ph, names, metric), 1, "Viridis",
                dict(x=0.42, len=0.85, thickness=14, title=dict(side="right", text=escape(metric)))),
        heatmap("cka", cka_z, _hover_text(cka_values, names, cka_label), 2,
                "Viridis" if as_distance else "Viridis_r",
                dict(x=1.0, len=0.85, thickness=14, title=dict(side="right", text=escape(cka_label))),
                # an all-NaN heat map has no colour range; plotly.js would log an error
                zmin=None if has_cka else 0.0, zmax=None if has_cka else 1.0, showscale=cka is not None),
    ]
    fig = go.Figure(dict(data=data, layout=layout))
    return fig


def measures_table_figure(labels, agreement, monotonicity, depth_correlation=None, *, title: str | None = None,
                          width: int = 900, height: int = 420) -> go.Figure:
    """The measures table as a figure: agreement between measures beside each one's layer monotonicity.

    Parameters
    ----------
    labels : sequence of str
        The M measures' labels.
    agreement : ndarray of shape (M, M)
        Spearman ρ between every pair of measures over the layer pairs
        (:func:`tda_widgets.topology.agreement.measure_agreement`).
    monotonicity : ndarray of shape (M,)
        Per measure, the fraction of layer triples ``i < j < k`` with
        ``d(i, k) >= max(d(i, j), d(j, k))``.
    depth_correlation : ndarray of shape (M,), optional
        Per measure, Spearman ρ between layer gap and dissimilarity.
    title : str, optional
    width, height : int

    Returns
    -------
    plotly.graph_objects.Figure
        A ``"agreement"`` heat map (RdBu, -1 to 1, values written in the cells) and a
        ``"monotonicity"`` bar chart (plus ``"depth correlation"`` bars when given), in the order
        of ``labels``.

    Examples
    --------
    >>> fig = measures_table_figure(["a", "b"], [[1, .5], [.5, 1]], [1.0, 0.5])
    >>> [trace.name for trace in fig.data]
    ['agreement', 'monotonicity']
    """
    func = "measures_table_figure"
    names = [str(label) for label in labels]
    rho = _square(agreement, "agreement", len(names), func)
    mono = np.asarray(monotonicity, dtype=np.float64)
    if mono.shape != (len(names),):
        raise TDAInputError(f"The 'monotonicity' parameter of {func} must hold one value per label ({len(names)}). "
                            f"Got shape {mono.shape} instead.")
    shown = [escape(name) for name in names]
    cells = [["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in rho]
    data = [dict(type="heatmap", name="agreement", z=rho, x=shown, y=shown, text=cells, texttemplate="%{text}",
                 hovertemplate="ρ(%{y}, %{x}) = %{z:.2f}<extra></extra>", colorscale="RdBu", zmin=-1, zmax=1,
                 zmid=0, xaxis="x", yaxis="y", colorbar=dict(x=0.5, len=0.85, thickness=12, title=dict(text="ρ")),
                 hoverongaps=False),
            dict(type="bar", name="monotonicity", x=shown, y=mono, xaxis="x2", yaxis="y2",
                 marker=dict(color="#4c72b0"), hovertemplate="%{x}: %{y:.2f} of layer triples<extra></extra>")]
    if depth_correlation is not None:
        data.append(dict(type="bar", name="depth correlation", x=shown,
                         y=np.asarray(depth_correlation, dtype=np.float64), xaxis="x2", yaxis="y2",
                         marker=dict(color="#dd8452"), hovertemplate="%{x}: ρ(gap, d) = %{y:.2f}<extra></extra>"))
    span = [-0.5, len(names) - 0.5]
    layout = dict(
        xaxis=axis_style(domain=[0.0, 0.45], tickangle=-45, range=span, showgrid=False),
        yaxis=axis_style(range=span[::-1], showgrid=False, scaleanchor="x", constrain="domain"),
        xaxis2=axis_style(domain=[0.6, 1.0], tickangle=-45, anchor="y2"),
        yaxis2=axis_style(range=[-1.05, 1.05], anchor="x2", title=dict(text="layer monotonicity")),
        barmode="group", legend=dict(x=0.6, y=1.0, yanchor="bottom", orientation="h"),
        title=title_below_modebar(escape(title or "Agreement between measures (Spearman ρ over layer pairs) and "
                                                  "layer monotonicity"), x=0.5, xanchor="center"),
        width=int(width), height=int(height), paper_bgcolor="white", plot_bgcolor="white",
        margin=dict(l=100, r=30, t=80, b=100), font=dict(family="Arial, sans-serif", size=12, color="#222222"))
    return go.Figure(dict(data=data, layout=layout))
