"""Exports the field's tools read (issue 33): mapper graphs to node-link JSON, GraphML and
networkx; diagrams to CSV and .npz; figures to standalone HTML and static images. Each file is
read back by an independent reader (networkx, csv, numpy, kaleido's own bytes) and compared."""

import csv
import json
import re
import shutil

import networkx as nx
import numpy as np
import plotly.graph_objects as go
import pytest
from ripser import ripser

from tda_widgets.errors import TDAInputError
from tda_widgets.figures import write_html, write_image
from tda_widgets.topology import (mapper_graph, read_diagrams, read_node_link, write_diagrams, write_graphml,
                                  write_node_link)


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 2 * np.pi, 200)
    points = np.c_[np.cos(theta), np.sin(theta)] + 0.05 * rng.standard_normal((200, 2))
    labels = (theta > np.pi).astype(int)
    return mapper_graph(points, labels=labels, image_index=np.arange(200) // 2, n_cubes=6, overlap=0.3)


@pytest.fixture(scope="module")
def diagrams():
    rng = np.random.default_rng(1)
    return ripser(rng.standard_normal((60, 3)))["dgms"]  # ripser's own list, an infinite H0 bar included


def test_node_link_round_trip_gives_the_same_graph(graph, tmp_path):
    path = write_node_link(graph, tmp_path / "g.json")
    back = read_node_link(path)
    assert [n.id for n in back.nodes] == [n.id for n in graph.nodes]
    for a, b in zip(graph.nodes, back.nodes):
        np.testing.assert_array_equal(a.members, b.members)
        np.testing.assert_array_equal(a.image_indices, b.image_indices)
        assert a.class_counts == b.class_counts and a.majority == b.majority and a.size == b.size
        assert a.purity == b.purity and a.lens_mean == b.lens_mean
    assert [(a, b) for a, b, _ in back.edges] == [(a, b) for a, b, _ in graph.edges]
    np.testing.assert_array_equal(back.lens, graph.lens)


def test_networkx_reads_the_node_link_file(graph, tmp_path):
    data = json.loads(write_node_link(graph, tmp_path / "g.json").read_text())
    read = nx.node_link_graph(data, edges="links")
    expected = graph.to_networkx()
    assert set(read.nodes) == set(expected.nodes) and {frozenset(e) for e in read.edges} == {frozenset(e) for e in expected.edges}
    assert all(read.nodes[n]["size"] == expected.nodes[n]["size"] for n in expected.nodes)


def test_graphml_is_read_by_networkx(graph, tmp_path):
    read = nx.read_graphml(write_graphml(graph, tmp_path / "g.graphml"))
    assert set(read.nodes) == {n.id for n in graph.nodes}
    for a, b, shared in graph.edges:
        assert read.edges[a, b]["weight"] == len(shared)
    first = graph.nodes[0]
    assert [int(v) for v in read.nodes[first.id]["members"].split()] == first.members.tolist()
    graph.write(tmp_path / "h.graphml")
    assert nx.read_graphml(tmp_path / "h.graphml").number_of_nodes() == len(graph.nodes)


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_diagrams_round_trip_exactly(diagrams, tmp_path, suffix):
    back = read_diagrams(write_diagrams(diagrams, tmp_path / f"d{suffix}"))
    assert len(back) == len(diagrams)
    for ours, theirs in zip(back, diagrams):
        np.testing.assert_array_equal(ours, np.asarray(theirs, dtype=np.float64))


def test_csv_has_the_documented_columns(diagrams, tmp_path):
    with open(write_diagrams(diagrams, tmp_path / "d.csv"), newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["dimension", "birth", "death"]
    assert sum(1 for row in rows[1:] if row[2] == "inf") == int(np.isinf(diagrams[0][:, 1]).sum()) == 1
    assert len(rows) - 1 == sum(len(d) for d in diagrams)


def test_npz_needs_no_pickle(diagrams, tmp_path):
    with np.load(write_diagrams(diagrams, tmp_path / "d.npz"), allow_pickle=False) as stored:
        assert sorted(stored.files) == ["H0", "H1"]


def test_damaged_and_foreign_files_give_clear_errors(graph, tmp_path):
    good = write_node_link(graph, tmp_path / "g.json").read_text()
    (tmp_path / "cut.json").write_text(good[: len(good) // 2])
    with pytest.raises(TDAInputError, match="not a node-link JSON file"):
        read_node_link(tmp_path / "cut.json")
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(TDAInputError, match="not a tda-widgets mapper graph"):
        read_node_link(tmp_path / "other.json")
    newer = json.loads(good)
    newer["graph"]["format"] = 99
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(TDAInputError, match="format 99, newer"):
        read_node_link(tmp_path / "newer.json")
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    with pytest.raises(TDAInputError, match="Cannot read diagrams"):
        read_diagrams(tmp_path / "d.csv")
    with pytest.raises(TDAInputError, match=".npy cannot hold"):
        write_diagrams([np.zeros((1, 2))], tmp_path / "d.npy")


def test_standalone_html_embeds_plotly_and_the_data(tmp_path):
    fig = go.Figure(go.Scatter(name="points", x=[1, 2, 3], y=[3, 1, 2]))
    text = write_html(fig, tmp_path / "f.html").read_text()
    assert re.findall(r"<script[^>]*\bsrc=", text) == []  # offline: no script loaded from anywhere
    assert len(text) > 1_000_000 and '"name":"points"' in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's Chromium for kaleido")
def test_png_and_svg_through_kaleido(tmp_path):
    pytest.importorskip("kaleido")
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout=dict(width=300, height=200))
    png = write_image(fig, tmp_path / "f.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (300, 200)
    svg = write_image(fig, tmp_path / "f.svg").read_text()
    assert svg.lstrip().startswith("<svg") and 'width="300"' in svg


def test_image_format_is_checked():
    with pytest.raises(TDAInputError, match="'format' of write_image"):
        write_image(go.Figure(), "f.gif")
