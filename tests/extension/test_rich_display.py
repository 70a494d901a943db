"""Rich display of results (issue 12, 4): a plotly mime bundle in a notebook, one line in a
terminal. Everything here is built from numpy (no model): the figures are compared with a
direct call of the package's builders and with the underlying data."""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
import re

import numpy as np
import pytest
from IPython.lib.pretty import pretty

from tda_widgets.checkpoints import CheckpointGrid
from tda_widgets.clouds import CloudSpec, PointCloud
from tda_widgets.compute import Comparison
from tda_widgets.figures import (checkpoint_grid_figure, layer_distance_figure, mapper_graph_figure,
                                 persistence_diagram_figure, point_cloud_figure)
from tda_widgets.figures.results import PLOTLY_MIME
from tda_widgets.topology import mapper_graph, persistence
from tda_widgets.topology.persistence import PersistenceResult

EVIL = ["<img src=x onerror=alert(1)>b1", "</script><script>window.__xss=1</script>b2", "fc 'one' & \"two\""]


def circle(n=40, seed=0):
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    return np.column_stack([np.cos(angles), np.sin(angles)]) + 0.01 * rng.normal(size=(n, 2))


@pytest.fixture(scope="module")
def result():
    return persistence(circle(), maxdim=1)


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(1)
    points = np.column_stack([np.linspace(0, 10, 60), 0.05 * rng.normal(size=(60, 2))])  # a segment
    graph = mapper_graph(points, labels=np.repeat([0, 1], 30), n_cubes=4, min_samples=2)
    assert len(graph.edges) >= 2
    return graph


@pytest.fixture(scope="module")
def comparison():
    ph = np.array([[0.0, 0.2, 0.5], [0.2, 0.0, 0.3], [0.5, 0.3, 0.0]])
    cka = np.array([[1.0, 0.9, 0.6], [0.9, 1.0, 0.8], [0.6, 0.8, 1.0]])
    return Comparison(layers=list(EVIL), ph=ph, cka=cka, spearman=1.0, metric="bottleneck", dims=(0, 1), maxdim=1,
                      scale="median", spec=CloudSpec())


@pytest.fixture(scope="module")
def grid(result):
    consecutive = np.array([[0.4, 0.1], [0.2, np.inf]])
    return CheckpointGrid(layers=EVIL[:2], checkpoints=[0, "<b>1</b>", 3], diagrams={}, consecutive=consecutive,
                          matrices=None, scale_factors={}, n_points={}, metric="bottleneck", dims=(0, 1),
                          scale="median", maxdim=1, infinite="match")


@pytest.fixture(scope="module")
def cloud():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(50, 6)) * np.array([5.0, 2.0, 1.0, 0.5, 0.1, 0.1])
    return PointCloud(points=points, image_index=np.arange(50) * 2, mode="image-avgpool", layer=EVIL[0])


def bundle_figure(obj) -> dict:
    bundle = obj._repr_mimebundle_()
    assert set(bundle) == {PLOTLY_MIME, "text/plain", "text/html"}
    assert bundle["text/plain"] == obj.summary()
    json.dumps(bundle)  # what the kernel sends must be plain JSON
    return bundle[PLOTLY_MIME]


def decode(value):
    """An array as plotly's JSON writes it: a list, or base64 typed-array data (plotly >= 6)."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return array.reshape([int(n) for n in shape.split(",")]) if shape else array
    return np.array([np.nan if v is None else v for v in value], dtype=np.float64) \
        if value and not isinstance(value[0], (list, str)) else value


def traces(figure: dict) -> dict:
    return {trace["name"]: trace for trace in figure["data"]}


# ----------------------------------------------------------------------------- one-line summaries


def test_summaries_are_one_line_and_say_what_the_result_holds(result, graph, comparison, grid, cloud):
    objects = {"result": result, "graph": graph, "comparison": comparison, "grid": grid, "cloud": cloud}
    texts = {key: obj.summary() for key, obj in objects.items()}
    for key, obj in objects.items():
        text = texts[key]
        assert "\n" not in text and len(text) < 240, text
        assert repr(obj) == text and pretty(obj) == text  # terminal Python and IPython
        assert text.startswith(type(obj).__name__)
    h0, h1 = result.diagrams
    assert texts["result"] == (f"PersistenceResult: 40 points, H0 {len(h0)} bars (1 infinite), H1 {len(h1)} bars; "
                             f"{result.backend}")
    assert f"{len(graph.nodes)} nodes, {len(graph.edges)} edges over 60 points" in texts["graph"]
    purity = graph.mean_purity()
    assert texts["graph"].endswith(f"purity {purity:.2f}") and purity < 1  # nodes straddle the two classes
    assert texts["comparison"].endswith("bottleneck on H0, H1, Spearman rho(PH, 1 - CKA) = 1.00")
    assert "2 layers x 3 checkpoints" in texts["grid"] and "largest move 0.4 (" in texts["grid"]
    assert texts["cloud"] == f"PointCloud of {EVIL[0]!r}: 50 points in 6 dims (image-avgpool)"


def test_a_newline_in_a_layer_name_stays_on_one_line():
    cloud = PointCloud(points=np.zeros((3, 2)), image_index=np.arange(3), layer="a\nb")
    assert "\n" not in repr(cloud)


def test_fields_equality_and_pickling_are_kept(result, comparison, cloud):
    assert result.diagrams[0].shape[1] == 2 and comparison.metric == "bottleneck" and comparison["ph"] is comparison.ph
    copy = pickle.loads(pickle.dumps(result))
    assert copy.summary() == result.summary()
    assert copy.n_points == result.n_points and copy.backend == result.backend
    # the dataclass equality still compares the fields
    assert result == dataclasses.replace(result) and result != dataclasses.replace(result, backend="other")
    assert [f.name for f in dataclasses.fields(cloud)][:2] == ["points", "image_index"]


# ----------------------------------------------------------------------------- the figures


def test_persistence_result_shows_its_diagram(result):
    figure = bundle_figure(result)
    direct = persistence_diagram_figure(result.diagrams)
    assert [t["name"] for t in figure["data"]] == [t.name for t in direct.data] == ["H0", "H1", "diagonal", "infinity"]
    shown = traces(figure)
    for dim, diagram in enumerate(result.diagrams):
        rows = np.asarray(decode(shown[f"H{dim}"]["customdata"]), dtype=np.float64)  # [dim, bar, birth, death, pers.]
        deaths = np.where(np.isnan(rows[:, 3]), np.inf, rows[:, 3])  # the builder writes an infinite death as None
        np.testing.assert_array_equal(np.column_stack([rows[:, 2], deaths]), diagram)
        finite = np.isfinite(diagram[:, 1])
        np.testing.assert_allclose(decode(shown[f"H{dim}"]["y"])[finite], diagram[finite, 1])
        np.testing.assert_allclose(decode(shown[f"H{dim}"]["x"]), diagram[:, 0])
    assert len(result.diagrams[1]) >= 1  # a circle has its loop


def test_mapper_graph_shows_its_nodes_and_edges(graph):
    shown = traces(bundle_figure(graph))
    direct = mapper_graph_figure(graph, title="x")
    assert shown["nodes"]["customdata"] == [node.id for node in graph.nodes]
    np.testing.assert_allclose(decode(shown["nodes"]["x"]), direct.data[1].x)
    assert len(shown["edges"]["x"]) == 3 * len(graph.edges)  # x0, x1, None per edge
    # a ring at every node (a highlight is a style change), none of them shown
    assert shown["highlight"]["customdata"] == [node.id for node in graph.nodes]
    assert list(decode(shown["highlight"]["marker"]["opacity"])) == [0.0] * len(graph.nodes)


def test_comparison_shows_both_heat_maps(comparison):
    shown = traces(bundle_figure(comparison))
    np.testing.assert_allclose(decode(shown["ph"]["z"]), comparison.ph)
    np.testing.assert_allclose(decode(shown["cka"]["z"]), 1.0 - comparison.cka)
    direct = layer_distance_figure(comparison.ph, comparison.cka, comparison.layers, rank_correlation=1.0)
    assert shown["ph"]["x"] == list(direct.data[0].x)
    assert "1.00" in bundle_figure(comparison)["layout"]["title"]["text"]


def test_checkpoint_grid_shows_the_moves_per_step(grid):
    shown = traces(bundle_figure(grid))["consecutive"]
    assert shown["z"] == [[0.4, 0.1], [0.2, None]]  # an infinite move is a gap, said in the hover text
    assert shown["x"] == ["0 → &lt;b&gt;1&lt;/b&gt;", "&lt;b&gt;1&lt;/b&gt; → 3"]
    assert len(shown["y"]) == 2 and "∞" in shown["text"][1][1]
    one = checkpoint_grid_figure(CheckpointGrid(layers=["a"], checkpoints=[0], diagrams={},
                                                consecutive=np.zeros((1, 0)), matrices=None, scale_factors={},
                                                n_points={}, metric="bottleneck", dims=(0,), scale="median",
                                                maxdim=0, infinite="match"))
    assert "one checkpoint" in one.layout.annotations[0].text


def test_point_cloud_shows_its_first_two_principal_components(cloud):
    from sklearn.decomposition import PCA

    shown = traces(bundle_figure(cloud))["points"]
    reference = PCA(n_components=2).fit(cloud.points)
    projected = reference.transform(cloud.points)
    for axis, key in enumerate("xy"):  # a principal axis is defined up to its sign
        values = decode(shown[key])
        sign = np.sign(values @ projected[:, axis])
        np.testing.assert_allclose(sign * values, projected[:, axis], atol=1e-9)
    np.testing.assert_array_equal(decode(shown["customdata"])[:, 1], cloud.image_index)
    share = reference.explained_variance_ratio_
    layout = bundle_figure(cloud)["layout"]
    assert f"{share[0]:.0%}" in layout["xaxis"]["title"]["text"] and f"{share[1]:.0%}" in layout["yaxis"]["title"]["text"]


def test_point_cloud_figure_colours_points_by_label(cloud):
    labels = np.arange(50) % 3
    fig = point_cloud_figure(cloud, labels=labels, class_names=["cat", "dog", "<i>x</i>"])
    colours = fig.data[0].marker.color
    assert len(set(colours)) == 3 and colours[0] == colours[3] != colours[1]
    assert fig.data[0].text[2].endswith("&lt;i&gt;x&lt;/i&gt;")


def test_include_and_exclude_are_honoured(result):
    assert set(result._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(result._repr_mimebundle_(exclude=["text/html"])) == {PLOTLY_MIME, "text/plain"}


def test_a_figure_that_cannot_be_drawn_still_shows_the_summary():
    broken = PersistenceResult(diagrams=(np.array([[np.nan, 1.0]]),), maxdim=0, backend="ripser", n_points=1)
    bundle = broken._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    assert bundle["text/plain"].startswith("PersistenceResult: 1 points") and "no figure" in bundle["text/plain"]


# ----------------------------------------------------------------------------- untrusted text

OUR_TAGS = re.compile(r"<br>|<span style='[^'<>]*'>|</span>|<extra></extra>|<b>|</b>")


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("name", ["comparison", "grid", "cloud"])
def test_layer_and_checkpoint_names_stay_text(name, request):
    obj = request.getfixturevalue(name)
    figure = bundle_figure(obj)
    for text in strings(figure):
        assert "<" not in OUR_TAGS.sub("", text), text
    html = obj._repr_mimebundle_()["text/html"]
    assert "window.__xss" not in html.replace("window.__xss=1&lt;", "")  # only in its escaped form
    assert "<img" not in html and "</script><script>window" not in html
