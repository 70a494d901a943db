"""Figures of the filtration and the layer map (issue 32): trace structure against the
complex and the inputs, counted independently."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from tda_widgets.errors import TDAInputError
from tda_widgets.figures.filtration import filtration_cursor, filtration_figure, layer_map_figure
from tda_widgets.topology import rips_complex


def square_with_centre():
    return np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], dtype=float)


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_filtration_figure_draws_every_edge_and_triangle_of_the_complex():
    points = square_with_centre()
    complex_ = rips_complex(points, 1.0)
    fig = filtration_figure(points, complex_, balls=True)
    assert [t.name for t in fig.data] == ["balls", "triangles", "edges", "points", "cycle"]
    # one segment (x, x, gap) per edge; one closed polygon (3 corners, back to the first, gap) per triangle
    d = squareform(pdist(points))
    n_edges = int(np.sum(np.triu(d <= 1.0, k=1)))
    edges_x = np.asarray(trace(fig, "edges").x, dtype=float)
    assert len(edges_x) == 3 * n_edges == 3 * len(complex_.edges) and np.isnan(edges_x[2::3]).all()
    assert len(trace(fig, "triangles").x) == 5 * len(complex_.triangles)
    assert len(complex_.triangles) == 4  # the centre with each side of the square
    # balls of radius value / 2, one 32-gon per point, centred on it
    ball_x = np.asarray(trace(fig, "balls").x, dtype=float).reshape(5, 34)
    ball_y = np.asarray(trace(fig, "balls").y, dtype=float).reshape(5, 34)
    radii = np.hypot(ball_x[:, :33] - points[:, :1], ball_y[:, :33] - points[:, 1:])
    np.testing.assert_allclose(radii, 0.5)
    assert fig.layout.yaxis.scaleanchor == "x"


def test_filtration_figure_draws_the_cycle_closed():
    points = square_with_centre()[:4]
    cycle = [(0, 1), (1, 2), (2, 3), (3, 0)]
    fig = filtration_figure(points, rips_complex(points, 1.0), cycle=cycle)
    xs = np.asarray(trace(fig, "cycle").x, dtype=float)
    assert len(xs) == 12 and np.isnan(xs[2])
    assert len(trace(fig, "balls").x) == 0


def test_filtration_figure_refuses_a_drawing_of_another_cloud():
    points = square_with_centre()
    with pytest.raises(TDAInputError, match="5 points"):
        filtration_figure(points[:3], rips_complex(points, 1.0))


def test_cursor_shades_the_alive_region_and_marks_the_barcode():
    diagram = filtration_cursor(0.4, "diagram", top=2.0)
    assert (min(diagram["x"]), max(diagram["x"]), min(diagram["y"]), max(diagram["y"])) == (0, 0.4, 0.4, 2.0)
    assert diagram["name"] == "cursor" and diagram["fill"] == "toself"
    barcode = filtration_cursor(0.4, "barcode")
    assert barcode["x"] == [0.4, 0.4]
    with pytest.raises(TDAInputError, match="'kind' parameter of filtration_cursor"):
        filtration_cursor(0.4, "heatmap")


def test_layer_map_colours_and_rings():
    xy = np.random.default_rng(0).standard_normal((6, 2))
    labels = np.array([0, 0, 1, 1, 2, 2])
    predictions = np.array([0, 1, 1, 1, 2, 0])
    fig = layer_map_figure(xy, labels=labels, class_names=["zero", "one", "two"], ringed=[1, 4])
    colors = trace(fig, "points").marker.color
    assert colors[0] == colors[1] != colors[2] == colors[3]
    assert list(trace(fig, "ringed").x) == [xy[1, 0], xy[4, 0]]
    assert "zero" in trace(fig, "points").text[0]
    wrong = layer_map_figure(xy, color_by="correct", labels=labels, predictions=predictions)
    assert [c == "#d62728" for c in trace(wrong, "points").marker.color] == list(labels != predictions)
    nodes = layer_map_figure(xy, color_by="node", nodes=[0, 0, -1, 1, 1, -1])
    assert trace(nodes, "points").marker.color[2] == trace(nodes, "points").marker.color[5]
    with pytest.raises(TDAInputError, match="needs 'predictions'"):
        layer_map_figure(xy, color_by="prediction")
    with pytest.raises(TDAInputError, match="'color_by' parameter of layer_map_figure"):
        layer_map_figure(xy, color_by="colour")


def test_layer_map_escapes_names():
    xy = np.zeros((2, 2))
    fig = layer_map_figure(xy, labels=[0, 1], class_names=["<b>x</b>", "y"])
    assert "<b>" not in trace(fig, "points").text[0]
