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
