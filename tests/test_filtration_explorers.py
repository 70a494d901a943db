"""FiltrationExplorer and LayerMap in Python (issue 32): state, callbacks and figures, checked
against direct ripser calls, brute-force counts, scikit-learn's PCA and the study's own cloud."""

import numpy as np
import pytest
from ripser import ripser
from scipy.spatial.distance import pdist, squareform

from tda_widgets import FiltrationExplorer, LayerMap, MapperExplorer, load_demo, load_digits_checkpoints
from tda_widgets.errors import TDAInputError
from tda_widgets.widgets.base import owned_widgets


@pytest.fixture(scope="module")
def demo():
    return load_demo()


def noisy_circle(n=40, seed=0):
    rng = np.random.default_rng(seed)
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[np.cos(theta), np.sin(theta)] + 0.03 * rng.standard_normal((n, 2))


def trace(plot, name):
    return next(t for t in plot.figure.data if t.name == name)


def click(plot, name, index):
    names = [t.name for t in plot.figure.data]
    plot.dispatch("click", [{"trace": names.index(name), "index": int(index), "x": 0, "y": 0}])


def test_filtration_explorer_on_a_plain_array_counts_bars_and_edges_at_every_step():
    points = noisy_circle()
    fe = FiltrationExplorer(points, threaded=False)
    assert fe.state == "done" and fe.points_.shape == (40, 2)
    reference = ripser(points)["dgms"]
    d = squareform(pdist(points))
    for step in (3, 10, 25, 45):
        fe.step_slider.value = step
        value = fe.value
        assert value == fe.steps_[step]
        alive = tuple(int(np.sum((g[:, 0] <= value) & (value < g[:, 1]))) for g in reference)
        assert fe.betti == alive
        edges = np.asarray(trace(fe.filtration_fig, "edges").x, dtype=float)
        assert len(edges) // 3 == int(np.sum(np.triu(d <= value, k=1)))
        assert f"β<sub>1</sub> = {alive[1]}" in fe.readout.value
        # the diagram's shaded region and the barcode's cursor sit at the value
        assert max(trace(fe.diagram_fig, "cursor").x) == pytest.approx(value)
        assert list(trace(fe.barcode_fig, "cursor").x) == pytest.approx([value, value])
        rows = sum(len(g) for g in reference) + 2  # every bar, and two rows between H0 and H1
        assert list(trace(fe.barcode_fig, "cursor").y) == [-1.0, rows]  # crosses every row
    # balls of radius value / 2 for a 2-D cloud
    balls = np.asarray(trace(fe.filtration_fig, "balls").x, dtype=float).reshape(40, 34)
    assert np.nanmax(balls[0]) - np.nanmin(balls[0]) == pytest.approx(fe.value, rel=1e-2)


def test_default_value_shows_the_circles_loop(demo):
    fe = FiltrationExplorer(noisy_circle(), threaded=False)
    assert fe.betti[1] == 1


def test_a_click_on_an_h1_bar_draws_its_cycle():
    points = noisy_circle(50, seed=3)
    fe = FiltrationExplorer(points, threaded=False)
    h1 = fe.result_.diagrams[1]
    longest = int(np.argmax(h1[:, 1] - h1[:, 0]))
    position = list(trace(fe.diagram_fig, "H1").customdata[:, 1]).index(longest)
    click(fe.diagram_fig, "H1", position)
    assert fe.selected_bar == longest
    cycle_x = np.asarray(trace(fe.filtration_fig, "cycle").x, dtype=float)
    loop = fe.cycle(longest)
    assert len(cycle_x) == 3 * len(loop) and len(loop) > 20
    assert all(b == c for (_, b), (c, _) in zip(loop, loop[1:] + loop[:1]))
    birth = np.float32(h1[longest, 0])
    d = squareform(pdist(points))
    assert all(np.float32(d[a, b]) <= birth for a, b in loop)


def test_a_step_seen_before_is_remembered_for_the_page():
    fe = FiltrationExplorer(noisy_circle(), threaded=False)
    fe.step_slider.value = 5
    first = fe.filtration_fig.shown_id
    fe.step_slider.value = 6
    fe.step_slider.value = 5
    assert fe.filtration_fig.shown_id == first
    views = fe.filtration_fig.bindings[fe.step_slider.model_id]["views"]
    assert views["5"] == first and "6" in views


def test_filtration_explorer_on_a_layer_uses_the_studys_cloud_and_shows_loop_images(demo):
    fe = FiltrationExplorer(demo.model, demo.images, layer="block3", labels=demo.labels, threaded=False)
    cloud = fe.study.cloud("block3", fe.spec, preset=False)
    np.testing.assert_array_equal(fe.points_, cloud.points)
    assert fe.coords_.shape == (cloud.n_points, 2)
    reference = ripser(np.asarray(cloud.points, dtype=np.float64))["dgms"]
    value = fe.value
    assert fe.betti == tuple(int(np.sum((g[:, 0] <= value) & (value < g[:, 1]))) for g in reference)
    h1 = fe.result_.diagrams[1]
    loop = fe.cycle(int(np.argmax(h1[:, 1] - h1[:, 0])))
    images = sorted({int(cloud.image_index[a]) for a, _ in loop})
    assert list(fe.thumbnails.selected) == images


@pytest.mark.parametrize("bad, match", [
    (np.zeros((500, 3)), "at most 400 points"),
    (None, "needs a point cloud"),
    (np.zeros((2, 2)), "at least 3"),
])
def test_filtration_explorer_rejects_bad_input(bad, match):
    with pytest.raises(TDAInputError, match=match):
        FiltrationExplorer(bad, threaded=False)


def test_layer_map_is_the_pca_of_the_layers_cloud(demo):
    from sklearn.decomposition import PCA

    lm = LayerMap(demo.model, demo.images, demo.labels, layer="block3", threaded=False)
    cloud = lm.study.cloud("block3", lm.spec, preset=False)
    assert cloud.n_points == len(demo.images)  # one point per image
    reference = PCA(n_components=2).fit_transform(np.asarray(cloud.points, dtype=np.float64))
    for k in range(2):
        sign = np.sign(lm.embedding[:, k] @ reference[:, k])
        np.testing.assert_allclose(lm.embedding[:, k], sign * reference[:, k], atol=1e-6)
    colors = trace(lm.map_fig, "points").marker.color
    labels = np.asarray(demo.labels)[lm.image_index_]
    assert len({c for c, l in zip(colors, labels) if l == labels[0]}) == 1


def test_layer_map_links_both_ways_with_a_mapper_explorer(demo):
    lm = LayerMap(demo.model, demo.images, demo.labels, layer="block2", threaded=False)
    me = MapperExplorer(demo.model, demo.images, labels=demo.labels, threaded=False)
    lm.link(me)
    node = me.graphs_[me.layer].nodes[0]
    me.select_node(node.id)
    ringed = trace(lm.map_fig, "ringed")
    positions = np.flatnonzero(np.isin(lm.image_index_, node.image_indices))
    assert len(ringed.x) == len(positions) == len(set(node.image_indices))
    lm.select([3, 7])
    for name, graph in me.graphs_.items():
        assert sorted(me.highlighted_[name]) == sorted(graph.nodes_with_images([3, 7]))
    counts = trace(lm.histogram_fig, "classes")
    assert sum(counts.x) == 2
    assert list(lm.thumbnails.selected) == [3, 7]
    lm.color_by = "node"
    node_of = lm.node_of_images()
    first = np.flatnonzero(node_of == 0)
    assert set(lm.image_index_[first]) <= set(int(i) for i in me.graphs_["block2"].nodes[0].image_indices)


def test_a_layer_map_seen_before_is_remembered_for_the_page(demo):
    """Issue 32, 3: after two layers were mapped, the layer slider is bound in the page to each
    layer's map (swapped in before the kernel answers); the rings another explorer asked for are
    part of a view: a ringed map is bound with its rings, apart from the plain ones."""
    lm = LayerMap(demo.model, demo.images, demo.labels, layer="block2", threaded=False)
    names = list(lm.study.layers)
    shown = {}
    for layer in ("block3", "block2"):
        lm.layer = layer
        shown[layer] = lm.map_fig.shown_id
    assert shown["block2"] != shown["block3"]
    views = lm.map_fig.bindings[lm.layer_slider.model_id]["views"]
    assert views == {str(names.index(layer)): shown[layer] for layer in shown}
    lm.layer = "block3"
    assert lm.map_fig.shown_id == shown["block3"]  # the same state: the page keeps what it drew
    lm.ring([0, 1, 2])
    ringed = {"block3": lm.map_fig.shown_id}
    assert ringed["block3"] != shown["block3"]
    assert lm.map_fig.bindings[lm.layer_slider.model_id]["views"] == {str(names.index("block3")): ringed["block3"]}
    lm.layer = "block2"
    ringed["block2"] = lm.map_fig.shown_id
    assert ringed["block2"] not in shown.values()
    assert lm.map_fig.bindings[lm.layer_slider.model_id]["views"] == {
        str(names.index(layer)): ringed[layer] for layer in ringed}


def test_the_map_carries_what_the_page_needs_to_answer_a_lasso(demo):
    """The page answers a lasso before the kernel (plot.js, onSelect): the map's figure names the
    image of each point, the map's thumbnail panel and the linked mapper's graphs; the title the
    page composes from it is the kernel's."""
    from tda_widgets.core.markup import escape

    lm = LayerMap(demo.model, demo.images, demo.labels, layer="block2", threaded=False)
    me = MapperExplorer(demo.model, demo.images, labels=demo.labels, threaded=False)
    assert lm.map_fig.layout.meta["tdaw_select"]["rings"] == []
    lm.link(me)
    select = lm.map_fig.layout.meta["tdaw_select"]
    assert select["group"] == lm.thumbnails.model_id and select["rings"] == [me.thumbnails.model_id]
    points = [trace.name for trace in lm.map_fig.figure.data].index("points")
    assert select["trace"] == points
    np.testing.assert_array_equal(select["images"], lm.image_index_)
    # the page's selection of points 4 and 9 (what plotly.js reports): their images, sorted
    lm.map_fig.dispatch("selected", [{"trace": points, "index": 9, "x": 0, "y": 0},
                                      {"trace": points, "index": 4, "x": 0, "y": 0}])
    images = sorted({int(np.asarray(select["images"])[4]), int(np.asarray(select["images"])[9])})
    assert list(lm.thumbnails.selected) == images
    head, tail = select["title"]
    assert head == escape("block2: ") and lm.thumbnails.title == f"block2: {len(images)}{tail}"


def test_a_lasso_selects_images(demo):
    lm = LayerMap(demo.model, demo.images, demo.labels, layer="fc1", threaded=False)
    lm.map_fig.dispatch("selected", [{"trace": 0, "index": 4, "x": 0, "y": 0},
                                      {"trace": 0, "index": 9, "x": 0, "y": 0}])
    assert lm.selected == sorted(int(i) for i in lm.image_index_[[4, 9]])


def test_checkpoint_maps_are_aligned_and_never_jump_more_than_unaligned(demo):
    from tda_widgets.topology import embed_2d

    checkpoints = load_digits_checkpoints()
    lm = LayerMap(demo.model, demo.images, demo.labels, layer="fc1", checkpoints=checkpoints, threaded=False)
    for k in range(len(checkpoints)):
        lm.checkpoint = k
    maps = [lm.maps_[("fc1", "pca", k)][1] for k in range(len(checkpoints))]
    for k in range(1, len(maps)):
        study = lm.checkpoints[k][1]
        raw = embed_2d(np.asarray(study.cloud("fc1", lm.spec, preset=False).points, dtype=np.float64))
        aligned_jump = np.mean(np.sum((maps[k] - maps[k - 1]) ** 2, axis=1))
        raw_jump = np.mean(np.sum((raw - raw.mean(0) + maps[k - 1].mean(0) - maps[k - 1]) ** 2, axis=1))
        assert aligned_jump <= raw_jump + 1e-9


def test_layer_map_rejects_bad_options(demo):
    with pytest.raises(TDAInputError, match="'method' parameter of LayerMap"):
        LayerMap(demo.model, demo.images, method="mds", threaded=False, autostart=False)
    with pytest.raises(TDAInputError, match="'color_by' parameter of LayerMap"):
        LayerMap(demo.model, demo.images, color_by="colour", threaded=False, autostart=False)
    lm = LayerMap(demo.model, demo.images, threaded=False, autostart=False)
    with pytest.raises(TDAInputError, match="LayerMap.link takes"):
        lm.link(object())


def test_closing_frees_every_widget(demo):
    for make in (lambda: FiltrationExplorer(noisy_circle(), threaded=False),
                 lambda: LayerMap(demo.model, demo.images, demo.labels, threaded=False)):
        explorer = make()
        widgets = owned_widgets(explorer)
        assert len(widgets) > 10
        explorer.close()
        assert all(w.comm is None for w in widgets)
