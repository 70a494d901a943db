"""Layer-distance heat map: z equals the matrices, hover names both layers."""

import numpy as np
import pytest

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.figures import layer_distance_figure

NAMES = ["conv1", "conv2", "fc"]
PH = np.array([[0.0, 0.4, 0.9], [0.4, 0.0, 0.5], [0.9, 0.5, 0.0]])
CKA = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.6], [0.3, 0.6, 1.0]])


def trace(fig, name):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def test_z_equals_inputs_and_hover_names_layers():
    fig = layer_distance_figure(PH, CKA, NAMES, metric="wasserstein")
    assert [t.name for t in fig.data] == ["ph", "cka"]
    ph, cka = trace(fig, "ph"), trace(fig, "cka")
    np.testing.assert_array_equal(np.asarray(ph.z, dtype=float), PH)
    # default display: 1 - CKA, labelled as such
    np.testing.assert_allclose(np.asarray(cka.z, dtype=float), 1.0 - CKA)
    assert list(ph.x) == NAMES and list(ph.y) == NAMES
    for i, row_name in enumerate(NAMES):
        for j, col_name in enumerate(NAMES):
            assert row_name in ph.text[i][j] and col_name in ph.text[i][j]
            assert f"{PH[i, j]:.4g}" in ph.text[i][j]
            assert f"{1.0 - CKA[i, j]:.4g}" in cka.text[i][j]
            assert list(ph.customdata[i][j]) == [i, j]
    assert "conv1 vs fc" in ph.text[0][2] and "wasserstein" in ph.text[0][2]
    assert "1 - linear CKA" in cka.text[0][1]
    titles = [a.text for a in fig.layout.annotations]
    assert "1 - linear CKA" in titles


def test_similarity_display():
    fig = layer_distance_figure(PH, CKA, NAMES, cka_display="similarity", cka_name="RBF CKA")
    np.testing.assert_array_equal(np.asarray(trace(fig, "cka").z, dtype=float), CKA)
    assert "RBF CKA" in [a.text for a in fig.layout.annotations]
    assert "1 - RBF CKA" not in trace(fig, "cka").text[0][1]


def test_title_says_metric_dims_scaling_and_correlation():
    fig = layer_distance_figure(PH, CKA, NAMES, metric="bottleneck", rank_correlation=0.7134,
                                dims=(0, 1))
    title = fig.layout.title.text
    assert "bottleneck" in title and "H0, H1" in title
    assert "compare shape, not scale: clouds rescaled to unit median pairwise distance" in title
    assert "Spearman ρ(PH, 1 - CKA) = 0.71" in title
    raw = layer_distance_figure(PH, CKA, NAMES, scale=None).layout.title.text
    assert "not rescaled" in raw and "Spearman" not in raw
    assert "unit diameter" in layer_distance_figure(PH, CKA, NAMES, scale="diameter").layout.title.text


def test_infinite_entries_capped_and_marked():
    ph = PH.copy()
    ph[0, 2] = ph[2, 0] = np.inf
    fig = layer_distance_figure(ph, CKA, NAMES)
    z = np.asarray(trace(fig, "ph").z, dtype=float)
    assert np.isfinite(z).all()
    assert z[0, 2] == pytest.approx(1.1 * 0.5) and z[0, 2] > z[np.isfinite(ph)].max()
    np.testing.assert_array_equal(z[np.isfinite(ph)], ph[np.isfinite(ph)])
    assert "∞" in trace(fig, "ph").text[0][2]
    assert "∞" not in trace(fig, "ph").text[0][1]


def test_missing_cka_keeps_an_empty_trace():
    fig = layer_distance_figure(PH, None, NAMES)
    assert [t.name for t in fig.data] == ["ph", "cka"]
    z = np.asarray(trace(fig, "cka").z, dtype=float)
    assert z.shape == (3, 3) and np.isnan(z).all()
    assert any("CKA not computed" in a.text for a in fig.layout.annotations)
    assert "not computed" in trace(fig, "cka").text[1][2]
    # NaN PH entries (not computed yet) stay NaN, their hover says so
    partial = PH.copy()
    partial[1, 2] = np.nan
    fig = layer_distance_figure(partial, CKA, NAMES)
    assert np.isnan(np.asarray(trace(fig, "ph").z, dtype=float)[1, 2])
    assert "not computed" in trace(fig, "ph").text[1][2]


def test_size_defaults():
    fig = layer_distance_figure(PH, CKA, NAMES)
    assert (fig.layout.width, fig.layout.height) == (960, 460)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(ph_matrix=np.zeros((3, 2))), TDAInputError, "square"),
        (dict(cka_matrix=np.eye(2)), TDAInputError, "one row and column per layer"),
        (dict(layer_names=["a", "a", "b"]), TDAInputError, "distinct"),
        (dict(layer_names="abc"), TDATypeError, "sequence of strings"),
        (dict(scale="median-ish"), TDAInputError, "'scale'.*Got 'median-ish'"),
        (dict(cka_display="both"), TDAInputError, "'cka_display'"),
        (dict(metric=""), TDAInputError, "'metric'"),
    ],
)
def test_bad_input_names_the_problem(kwargs, exc, match):
    args = dict(ph_matrix=PH, cka_matrix=CKA, layer_names=NAMES)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        layer_distance_figure(args.pop("ph_matrix"), args.pop("cka_matrix"),
                              args.pop("layer_names"), **args)


def _through_plotly_api(fig):
    """The same figure built the way plotly documents it (make_subplots, add_trace, update_*),
    as layer_distance_figure did before it became one dict: trace values, texts and sizes are
    taken from ``fig``, the structure (subplot domains, anchors, axes, titles) from plotly."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from tda_widgets.figures._common import axis_style

    ph, cka = trace(fig, "ph"), trace(fig, "cka")
    n = len(ph.x)
    layout = fig.layout
    ref = make_subplots(rows=1, cols=2, horizontal_spacing=0.16,
                        subplot_titles=(layout.annotations[0].text, layout.annotations[1].text))
    common = dict(hovertemplate="%{text}<extra></extra>", hoverongaps=False)
    ref.add_trace(go.Heatmap(name="ph", z=ph.z, x=ph.x, y=ph.y, text=ph.text, customdata=ph.customdata,
                             colorscale="Viridis", colorbar=dict(x=0.42, len=0.85, thickness=14, title=dict(side="right", text=ph.colorbar.title.text)),
                             **common), row=1, col=1)
    ref.add_trace(go.Heatmap(name="cka", z=cka.z, x=cka.x, y=cka.y, text=cka.text, customdata=cka.customdata,
                             colorscale=cka.colorscale, zmin=cka.zmin, zmax=cka.zmax, showscale=cka.showscale,
                             colorbar=dict(x=1.0, len=0.85, thickness=14, title=dict(side="right", text=cka.colorbar.title.text)), **common),
                  row=1, col=2)
    ref.update_layout(title=layout.title, width=layout.width, height=layout.height, paper_bgcolor="white",
                      plot_bgcolor="white", margin=layout.margin, font=layout.font, meta=layout.meta)
    for col in (1, 2):
        ref.update_xaxes(axis_style(showgrid=False, tickangle=-45), row=1, col=col)
        ref.update_yaxes(axis_style(showgrid=False, autorange="reversed"), row=1, col=col)
    span = [-0.5, n - 0.5]
    ref.update_xaxes(range=span)
    ref.update_yaxes(range=span[::-1], autorange=None)
    ref.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain", row=1, col=1)
    ref.update_yaxes(scaleanchor="x2", scaleratio=1, constrain="domain", showticklabels=False, row=1, col=2)
    ref.update_yaxes(showticklabels=True, row=1, col=1)
    ref.update_xaxes(constrain="domain", row=1, col=1)
    ref.update_xaxes(constrain="domain", row=1, col=2)
    if len(layout.annotations) > 2:
        ref.add_annotation(text="CKA not computed<br>(pass cka_matrix)", xref="x2 domain", yref="y2 domain",
                           x=0.5, y=0.5, showarrow=False, font=dict(color="#777777", size=13))
    return ref


@pytest.mark.parametrize("case", ["plain", "infinite", "no cka", "similarity"])
def test_figure_equals_the_plotly_api_construction(case):
    ph = PH.copy()
    if case == "infinite":
        ph[0, 1] = ph[1, 0] = np.inf
    fig = layer_distance_figure(ph, None if case == "no cka" else CKA, NAMES, rank_correlation=0.5,
                                cka_display="similarity" if case == "similarity" else "distance")
    assert fig.to_plotly_json() == _through_plotly_api(fig).to_plotly_json()
    assert fig.layout.xaxis2.domain == (0.58, 1.0) and fig.layout.yaxis.range == (2.5, -0.5)
