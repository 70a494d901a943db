"""Mapper graph figure: layout determinism, sizes, colours, highlight, edges."""

import math

import numpy as np
import pytest

from tda_widgets.errors import TDAInputError
from tda_widgets.figures import mapper_graph_figure, mapper_layout, ringed_nodes
from tda_widgets.figures._common import CLASS_PALETTE_10, MISSING_COLOR
from tda_widgets.topology.mapper import MapperGraph, MapperNode


def make_node(node_id, labels, lens_mean=0.0):
    labels = list(labels)
    counts = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    majority = min(counts, key=lambda k: (-counts[k], k)) if counts else None
    size = len(labels) or 1
    purity = counts[majority] / size if counts else float("nan")
    probs = np.array(list(counts.values()), float) / size if counts else np.zeros(0)
    return MapperNode(
        id=node_id,
        members=np.arange(size),
        image_indices=np.arange(size),
        class_counts=counts,
        majority=majority,
        purity=purity,
        entropy=float(-(probs * np.log2(probs)).sum()) if counts else float("nan"),
        lens_mean=lens_mean,
        group_counts=None,
        size=size,
    )


@pytest.fixture
def graph():
    nodes = [
        make_node("cube0_cluster0", [0] * 4, lens_mean=-1.0),
        make_node("cube1_cluster0", [0] * 10 + [1] * 6, lens_mean=0.0),
        make_node("cube2_cluster0", [1] * 25, lens_mean=1.0),
        make_node("cube3_cluster0", [2], lens_mean=2.0),  # isolated
        make_node("cube2_cluster1", [2] * 9, lens_mean=1.5),
    ]
    edges = [
        ("cube0_cluster0", "cube1_cluster0", np.array([3])),
        ("cube1_cluster0", "cube2_cluster0", np.array([7, 8])),
        ("cube2_cluster0", "cube2_cluster1", np.array([11])),
    ]
    return MapperGraph(nodes=nodes, edges=edges, lens=np.zeros((40, 1)), params={})


def trace(fig, name):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def test_layout_is_deterministic_and_order_free(graph):
    first = mapper_layout(graph, seed=3)
    assert first == mapper_layout(graph, seed=3)
    shuffled = MapperGraph(nodes=graph.nodes[::-1], edges=graph.edges[::-1], lens=graph.lens,
                           params={})
    assert mapper_layout(shuffled, seed=3) == first
    assert set(first) == {n.id for n in graph.nodes}
    coords = np.array(list(first.values()))
    assert np.isfinite(coords).all() and np.abs(coords).max() <= 1.0 + 1e-9
    # different seeds give a different drawing (a check that the seed is used)
    assert mapper_layout(graph, seed=4) != first


def test_layout_small_graphs():
    one = MapperGraph(nodes=[make_node("a", [0])], edges=[], lens=np.zeros((1, 1)), params={})
    assert mapper_layout(one) == {"a": (0.0, 0.0)}
    empty = MapperGraph(nodes=[], edges=[], lens=np.zeros((0, 1)), params={})
    assert mapper_layout(empty) == {}
    fig = mapper_graph_figure(empty)
    assert [t.name for t in fig.data] == ["edges", "nodes", "highlight"]
    assert all(len(t.x) == 0 for t in fig.data)
    two_isolated = MapperGraph(nodes=[make_node("a", [0]), make_node("b", [1])], edges=[],
                               lens=np.zeros((2, 1)), params={})
    layout = mapper_layout(two_isolated)
    assert layout["a"] != layout["b"]


def test_nodes_customdata_sizes_and_colours(graph):
    fig = mapper_graph_figure(graph, class_names=["zero", "one", "two"])
    assert [t.name for t in fig.data] == ["edges", "nodes", "highlight"]
    nodes = trace(fig, "nodes")
    assert list(nodes.customdata) == [n.id for n in graph.nodes]
    layout = mapper_layout(graph)
    np.testing.assert_allclose(nodes.x, [layout[n.id][0] for n in graph.nodes])
    sizes = np.array([n.size for n in graph.nodes])
    diameters = np.asarray(nodes.marker.size, dtype=float)
    order = np.argsort(sizes)
    assert np.all(np.diff(diameters[order]) > 0)  # strictly increasing with member count
    assert diameters.min() == pytest.approx(8.0) and diameters.max() == pytest.approx(30.0)
    # sqrt scaling: 16 members sits at (4 - 1) / (5 - 1) of the range
    assert diameters[1] == pytest.approx(8.0 + 22.0 * 3 / 4)
    expected_colors = [CLASS_PALETTE_10[n.majority] for n in graph.nodes]
    assert list(nodes.marker.color) == expected_colors
    legend = fig.layout.annotations[0].text
    assert all(name in legend for name in ("zero", "one", "two"))
    hover = nodes.text[1]
    assert "node 2 of 5: 16 points" in hover and "majority zero" in hover
    assert "purity 0.625" in hover and "zero: 10, one: 6" in hover
    assert "cube" not in hover  # in words: no kmapper id


def test_majority_without_class_names_and_missing_majority(graph):
    nodes = list(graph.nodes) + [make_node("cube9_cluster0", [])]
    g = MapperGraph(nodes=nodes, edges=graph.edges, lens=graph.lens, params={})
    colors = list(trace(mapper_graph_figure(g), "nodes").marker.color)
    assert colors[:5] == [CLASS_PALETTE_10[k] for k in (0, 0, 1, 2, 2)]
    assert colors[5] == MISSING_COLOR


@pytest.mark.parametrize("color_by", ["purity", "entropy", "lens_mean"])
def test_continuous_colouring(graph, color_by):
    nodes = trace(mapper_graph_figure(graph, color_by=color_by), "nodes")
    np.testing.assert_allclose(np.asarray(nodes.marker.color, dtype=float),
                               [getattr(n, color_by) for n in graph.nodes])
    assert nodes.marker.showscale is True
    assert nodes.marker.colorbar.title.text


def test_highlight_contains_exactly_requested(graph):
    layout = mapper_layout(graph, seed=1)
    wanted = ["cube2_cluster0", "cube3_cluster0"]
    fig = mapper_graph_figure(graph, highlight=wanted, layout=layout)
    hl = trace(fig, "highlight")
    ids = [node.id for node in graph.nodes]
    # a ring at every node, at the node's position, shown (opacity 1) exactly at the wanted ones
    assert list(hl.customdata) == ids
    assert list(hl.x) == [layout[i][0] for i in ids]
    assert list(hl.y) == [layout[i][1] for i in ids]
    assert list(hl.marker.opacity) == [1.0 if i in wanted else 0.0 for i in ids]
    assert ringed_nodes(fig) == [i for i in ids if i in wanted]
    nodes = trace(fig, "nodes")
    np.testing.assert_allclose(hl.marker.size, np.asarray(nodes.marker.size) + 10)
    none = mapper_graph_figure(graph)
    assert list(trace(none, "highlight").marker.opacity) == [0.0] * len(ids)
    assert ringed_nodes(none) == []


def test_edges_join_the_graph_edges(graph):
    layout = mapper_layout(graph)
    edges = trace(mapper_graph_figure(graph, layout=layout), "edges")
    xs, ys = list(edges.x), list(edges.y)
    assert len(xs) == 3 * len(graph.edges)
    assert xs[2::3] == [None] * len(graph.edges)
    for k, (a, b, _) in enumerate(graph.edges):
        assert (xs[3 * k], ys[3 * k]) == layout[a]
        assert (xs[3 * k + 1], ys[3 * k + 1]) == layout[b]


def test_errors_name_the_problem(graph):
    with pytest.raises(TDAInputError, match=r"'color_by'.*'majority'.*Got 'class'"):
        mapper_graph_figure(graph, color_by="class")
    with pytest.raises(TDAInputError, match="'highlight'.*nope"):
        mapper_graph_figure(graph, highlight=["nope"])
    with pytest.raises(TDAInputError, match="'layout'"):
        mapper_graph_figure(graph, layout={"cube0_cluster0": (0, 0)})


def test_works_on_a_kmapper_graph():
    """A real graph from the topology layer (kmapper) renders with consistent traces."""
    from tda_widgets.topology.mapper import mapper_graph

    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * math.pi, 120)
    points = np.column_stack([np.cos(angles), np.sin(angles)]) + rng.normal(0, 0.03, (120, 2))
    labels = (angles > math.pi).astype(int)
    g = mapper_graph(points, labels=labels, lens=points[:, :1], n_cubes=6, overlap=0.3)
    fig = mapper_graph_figure(g, highlight=[g.nodes[0].id])
    assert len(trace(fig, "nodes").x) == len(g.nodes) > 0
    assert len(trace(fig, "edges").x) == 3 * len(g.edges)


def _grouped(graph, groups):
    """The same graph with group_counts made from each node's class counts and ``groups``."""
    import dataclasses

    nodes = []
    for node in graph.nodes:
        counts = {}
        for label, n in node.class_counts.items():
            counts[groups[label]] = counts.get(groups[label], 0) + n
        nodes.append(dataclasses.replace(node, group_counts=counts))
    return MapperGraph(nodes=nodes, edges=graph.edges, lens=graph.lens, params={})


def test_group_colourings_and_hover(graph):
    grouped = _grouped(graph, {0: "round", 1: "straight", 2: "round"})
    fig = mapper_graph_figure(grouped, color_by="group")
    nodes = trace(fig, "nodes")
    # groups in sorted order take the palette's colours: round 0, straight 1
    expected = [CLASS_PALETTE_10[0], CLASS_PALETTE_10[0], CLASS_PALETTE_10[1], CLASS_PALETTE_10[0],
                CLASS_PALETTE_10[0]]
    assert list(nodes.marker.color) == expected
    assert "round" in fig.layout.annotations[0].text and "straight" in fig.layout.annotations[0].text
    assert "groups round: 10, straight: 6" in nodes.text[1]
    purity = trace(mapper_graph_figure(grouped, color_by="group_purity"), "nodes").marker
    np.testing.assert_allclose(np.asarray(purity.color, float), [1.0, 10 / 16, 1.0, 1.0, 1.0])
    assert (purity.cmin, purity.cmax) == (0.0, 1.0)
    with pytest.raises(TDAInputError, match="class_groups"):
        mapper_graph_figure(graph, color_by="group")


def test_purity_by_layer_figure_is_the_size_weighted_mean(graph):
    from tda_widgets.figures import purity_by_layer_figure

    grouped = _grouped(graph, {0: "small", 1: "small", 2: "large"})
    fig = purity_by_layer_figure({"conv": graph, "fc": grouped})
    assert [t.name for t in fig.data] == ["class purity", "group purity"]
    # by hand: node sizes 4, 16, 25, 1, 9 with majority counts 4, 10, 25, 1, 9 (55 points)
    assert list(fig.data[0].x) == ["conv", "fc"]
    np.testing.assert_allclose(fig.data[0].y, [49 / 55, 49 / 55])
    # the one mixed node (classes 0 and 1) is pure in its group; conv has no groups: no value
    assert fig.data[1].y[0] is None and fig.data[1].y[1] == pytest.approx(1.0)
    only_classes = purity_by_layer_figure({"conv": graph})
    assert [t.name for t in only_classes.data] == ["class purity"]


def test_a_small_graph_leaves_out_the_key(graph):
    """key=False (the explorer's strip of small graphs): no class key, no colour bar."""
    assert len(mapper_graph_figure(graph).layout.annotations) == 1
    assert len(mapper_graph_figure(graph, key=False).layout.annotations) == 0
    assert trace(mapper_graph_figure(graph, color_by="purity", key=False), "nodes").marker.showscale is False
    grouped = _grouped(graph, {0: "a", 1: "b", 2: "a"})
    assert len(mapper_graph_figure(grouped, color_by="group", key=False).layout.annotations) == 0
