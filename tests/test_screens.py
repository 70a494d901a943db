"""Issue 29's screens, in Python: what each explorer shows, checked against the data it shows.

The mapper node's header, class bars and mean image are recomputed from the node's members and
the images (numpy, not the explorer); ringing a class is checked against the nodes whose members
carry that label; the points slider's top against each layer's output shape; the figures' titles
against the toolbar's row. The same screens in a browser: tests/browser/test_screens.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from tda_widgets import Dashboard, LayerDistanceExplorer, MapperExplorer, PersistenceExplorer, load_demo
from tda_widgets.clouds import CloudSpec
from tda_widgets.core.errors import TDAInputError
from tda_widgets.figures import persistence_diagram_figure
from tda_widgets.figures._common import MODEBAR_ROW, TITLE_LINE
from tda_widgets.figures.hierarchy import class_tree_figure


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=90)


@pytest.fixture(scope="module")
def mapper(demo):
    w = MapperExplorer(demo.model, demo.images, labels=demo.labels, class_names=demo.class_names, n_cubes=6,
                       max_points=90, threaded=False)
    yield w
    w.close()


def _point_labels(w, layer, node):
    """The labels of a node's points, through the cloud's provenance (image of each point)."""
    cloud = w.study.cloud(layer, w.spec, preset=False)
    return np.asarray(w.study.labels)[cloud.image_index[node.members]]


def test_a_mapper_node_reads_as_one_header_with_its_classes_and_mean_image(demo, mapper):
    layer = "head"
    graph = mapper.graphs_[layer]
    k = int(np.argmax([n.size for n in graph.nodes]))
    node = graph.nodes[k]
    mapper.select_node(node.id, layer=layer)

    labels = _point_labels(mapper, layer, node)
    values, counts = np.unique(labels, return_counts=True)
    top = values[np.argmax(counts)]
    share = counts.max() / counts.sum()
    n_images = len(np.unique(mapper.study.cloud(layer, mapper.spec, preset=False).image_index[node.members]))
    # one header: layer, node k of n, images, the majority's share and name ("class 2" for a bare digit)
    assert mapper.thumbnails.title == (f"{layer} · node {k + 1} of {len(graph.nodes)} · {n_images} images · "
                                       f"{share:.0%}".replace("%", " %") + f" class {demo.class_names[int(top)]}")
    assert "node" not in mapper.info.value  # said once
    # the bars: every class of its points, most common first, counted directly
    want = sorted(((demo.class_names[int(v)], int(c)) for v, c in zip(values, counts)), key=lambda t: (-t[1], t[0]))
    assert [(b["name"], b["count"]) for b in mapper.thumbnails.bars] == want
    assert mapper.thumbnails.summary_title == mapper.thumbnails.title
    # the mean image: numpy's mean of the node's images, and the PNG the panel shows is that picture
    images = np.asarray(mapper.study.thumbnail_images(), dtype=np.float64)
    reference = images[np.asarray(node.image_indices)].mean(axis=0)
    np.testing.assert_allclose(mapper.node_mean_, reference, rtol=1e-12, atol=1e-12)
    png = np.asarray(Image.open(io.BytesIO(mapper.thumbnails.mean)).convert("L"), dtype=np.float64)
    low, high = images.min(), images.max()
    expected = np.rint((reference[0] - low) / (high - low) * 255)
    factor = png.shape[0] // expected.shape[0]
    np.testing.assert_allclose(png[::factor, ::factor], expected, atol=1.0)


def test_finding_a_class_rings_the_nodes_holding_it_in_every_layer(demo, mapper):
    label = int(demo.labels[0])
    found = mapper.find_class(label)
    assert set(found) == set(mapper.graphs_)
    for layer, graph in mapper.graphs_.items():
        holding = [n.id for n in graph.nodes if np.any(_point_labels(mapper, layer, n) == label)]
        assert sorted(found[layer]) == sorted(holding), layer
    assert any(found.values())
    assert mapper.thumbnails.selected == np.flatnonzero(np.asarray(demo.labels) == label).tolist()
    assert mapper.thumbnails.bars == []  # no node's summary over a class's images
    # through the dropdown, as a person does it; "—" clears
    mapper.class_dropdown.value = label
    assert mapper.highlighted_ == found
    mapper.class_dropdown.value = None
    assert not any(mapper.highlighted_.values())


def test_finding_an_image_rings_exactly_the_nodes_holding_it(demo, mapper):
    index = 7
    mapper.image_box.value = str(index)
    for layer, graph in mapper.graphs_.items():
        cloud = mapper.study.cloud(layer, mapper.spec, preset=False)
        holding = [n.id for n in graph.nodes if index in set(cloud.image_index[n.members].tolist())]
        assert sorted(mapper.highlighted_[layer]) == sorted(holding), layer
    assert mapper.thumbnails.selected == [index] and mapper.thumbnails.title.startswith(f"image {index} (")
    mapper.image_box.value = "seven"  # a clear error in the status line, not a traceback
    assert mapper.state == "error" and "find image #" in mapper.status and "'seven'" in mapper.status
    with pytest.raises(TDAInputError, match="'index' parameter of MapperExplorer.find_image"):
        mapper.find_image(len(demo.images))
    mapper.image_box.value = ""
    assert not any(mapper.highlighted_.values())


def test_small_graph_titles_keep_the_layer_name_whole_and_have_no_toolbar(mapper):
    for name, plot in mapper.layer_figs.items():
        title = plot.layout.title.text
        assert title.startswith(name + "<br>") and f"{len(mapper.graphs_[name].nodes)} nodes" in title
        assert plot.layout.meta["tdaw_modebar"] is False  # narrower than plotly's toolbar
    assert mapper.main_fig.layout.meta["tdaw_modebar"] is True


def test_the_class_tree_title_says_what_agrees_with_what(mapper):
    tree, agreement = mapper.class_tree("head")
    mapper.layer = "head"
    text = mapper.tree_fig.layout.title.text
    assert f"the model&#39;s confusions: {agreement:.2f}" in text
    assert "0: no better than chance" in text and "join low" in text
    # the title's lines fit above the plot: the margin holds the toolbar row and four lines
    assert mapper.tree_fig.layout.margin.t >= 4 * TITLE_LINE
    # at 260 px plotly's toolbar wraps onto two rows over the title: these figures go without it
    for fig in (mapper.tree_fig, mapper.purity_fig, mapper.confusion_fig):
        assert fig.layout.meta["tdaw_modebar"] is False


def test_every_title_starts_below_the_toolbar_row():
    fig = persistence_diagram_figure([np.array([[0.0, 1.0], [0.0, np.inf]])], title="a diagram")
    title = fig.layout.title
    assert title.yref == "container" and title.y == 1 and title.yanchor == "top" and title.pad.t == MODEBAR_ROW
    assert fig.layout.margin.t >= MODEBAR_ROW + TITLE_LINE
    # the infinity label beside the line's right end, outside the plot area (it was clipped at
    # the top-left corner): drawn unclipped, on the second point
    infinity = next(t for t in fig.data if t.name == "infinity")
    assert list(infinity.text) == ["", "∞"] and infinity.textposition == "middle right"
    assert infinity.cliponaxis is False and infinity.x[1] == fig.layout.xaxis.range[1]


def test_the_points_slider_ends_at_the_clouds_size(demo):
    """450 images made the slider run to 3000: its top is now the most points the mode's clouds
    have (one per image; images x positions for spatial), from the layers' output shapes."""
    w = PersistenceExplorer(demo.model, demo.images, labels=demo.labels, max_points=50, autostart=False)
    n = len(demo.images)
    assert w.points_slider.max == n
    with torch.no_grad():  # the layers' spatial sizes, from a forward pass of our own
        shapes = {}

        def keep(name):
            def hook(module, inputs, output):
                shapes[name] = tuple(output.shape[1:])  # returns None: the output stays as it is
            return hook

        hooks = [dict(demo.model.named_modules())[layer].register_forward_hook(keep(layer)) for layer in demo.layers]
        try:
            demo.model(torch.as_tensor(np.asarray(demo.images[:1])))
        finally:
            for hook in hooks:
                hook.remove()
    spatial = max(n * s[1] * s[2] for s in shapes.values() if len(s) == 3)
    declared_top = CloudSpec.options()["max_points"].ui[1]
    w.mode = "spatial"
    assert w.points_slider.max == min(declared_top, spatial)
    w.mode = "image-avgpool"
    assert w.points_slider.max == n and w.max_points == 50
    w.close()


def test_the_distances_explorer_compare_label_is_whole_and_the_placeholder_is_text(demo):
    w = LayerDistanceExplorer(demo.model, demo.images, max_points=40, autostart=False)
    assert w.compare_dropdown.style.description_width == "initial"  # the fixed 80 px read "compare ..."
    assert w.matching_box.layout.display == "none" and "click a cell" in w.matching_hint.value
    w.close()


def test_reading_a_dashboard_tab_from_code_does_not_switch_tabs(demo):
    d = Dashboard(demo.model, demo.images, labels=demo.labels, max_points=40, threaded=False)
    assert d.distances.result_ is not None
    assert d.selected_index == 0
    d.close()


def test_class_tree_subtitle_lines_each_get_a_line():
    from types import SimpleNamespace

    tree = SimpleNamespace(linkage=np.array([[0.0, 1.0, 0.4, 2.0]]), classes=[0, 1])
    fig = class_tree_figure(tree, title="t", subtitle="one\ntwo")
    assert fig.layout.title.text.count("<br>") == 2
