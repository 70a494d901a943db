"""Explorers driven from Python: traits in, figures out, linked thumbnails, progress, cancel.

References are independent of the widget code: diagrams from a direct ripser call, mapper
membership from the topology layer, distance matrices from the Study engine.
"""

import html
import json
import threading
import time

import numpy as np
import pytest
import ripser
import torch

from tda_widgets import Dashboard, LayerDistanceExplorer, MapperExplorer, PersistenceExplorer, Study, load_demo
from tda_widgets.compute import CloudSpec
from tda_widgets.errors import Cancelled
from tda_widgets.topology.persistence import persistence
from tda_widgets.topology.scaling import rescale_points
from tda_widgets.widgets.base import JobRunner


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=120)


@pytest.fixture
def study(demo):
    return Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)


def model_state(model):
    return ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()],
            {k: v.clone() for k, v in model.state_dict().items()})


def assert_model_unchanged(model, before):
    after = model_state(model)
    assert after[0] == before[0] and after[1] == before[1]
    for k, v in before[2].items():
        assert torch.equal(after[2][k], v), k
    for name, module in model.named_modules():
        assert not module._forward_hooks, name


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def fire(plot, name, index, kind="hover"):
    """What the page sends when the mouse is over (or clicks) point ``index`` of trace ``name``:
    plotly.js's event, as plot.js forwards it to the kernel."""
    assert kind in plot.events, f"no {kind} callback on the plot of trace {name!r}"
    names = [t.name for t in plot.data]
    tr = plot.data[names.index(name)]
    x, y = tr.x[index], tr.y[index]
    plot.dispatch(kind, [{"trace": names.index(name), "index": int(index), "x": x, "y": y}])


# ------------------------------------------------------------------ persistence


def test_persistence_explorer_draws_the_direct_ripser_diagram(demo, study):
    before = model_state(demo.model)
    w = PersistenceExplorer(study=study, layer="block2", max_points=80).wait()
    assert w.state == "done", w.status
    cloud = study.cloud("block2", CloudSpec(max_points=80))
    scaled, _ = rescale_points(cloud.points, "median")
    ref = ripser.ripser(scaled, maxdim=1)["dgms"]
    h1 = trace(w.diagram_fig, "H1")
    assert len(h1.x) == len(ref[1])
    np.testing.assert_allclose(sorted(h1.x), sorted(ref[1][:, 0]), atol=1e-6)
    h0 = trace(w.diagram_fig, "H0")
    assert len(h0.x) == len(ref[0])  # the infinite bar is drawn on the top line, not dropped
    assert_model_unchanged(demo.model, before)


def test_changing_a_trait_redraws_in_place(study):
    w = PersistenceExplorer(study=study, layer="block1", max_points=60).wait()
    fig_id = id(w.diagram_fig)
    h1_before = list(trace(w.diagram_fig, "H1").x)
    w.layer = "fc1"
    w.wait()
    assert id(w.diagram_fig) == fig_id  # the same plot widget, updated in place
    assert "fc1" in w.diagram_fig.layout.title.text
    assert list(trace(w.diagram_fig, "H1").x) != h1_before
    assert w.layer_slider.value == "fc1"
    w.layer_slider.value = "block1"  # the slider drives the trait too
    w.wait()
    assert w.layer == "block1"


def test_hover_on_a_bar_shows_exactly_its_images(study):
    w = PersistenceExplorer(study=study, layer="block3", max_points=100).wait()
    h1 = trace(w.diagram_fig, "H1")
    assert len(h1.x) > 0
    k = int(np.argmax(np.asarray(h1.y) - np.asarray(h1.x)))
    dim, bar = int(h1.customdata[k][0]), int(h1.customdata[k][1])
    fire(w.diagram_fig, "H1", k)
    # reference: the representative from the topology layer, mapped through provenance
    cloud = study.cloud("block3", CloudSpec(max_points=100))
    result = persistence(rescale_points(cloud.points, "median")[0], maxdim=1, representatives=True, backend="ripser")
    birth, death = w.result_.diagrams[dim][bar]
    row = int(np.flatnonzero((result.diagrams[1][:, 0] == birth) & (result.diagrams[1][:, 1] == death))[0])
    expected = sorted(set(cloud.image_index[result.representatives[1][row]].tolist()))
    assert w.thumbnails.selected == expected
    assert f"H1 bar {bar}" in w.thumbnails.title
    # a click on an H0 point shows the two images of the merging edge
    h0 = trace(w.diagram_fig, "H0")
    finite = int(np.flatnonzero(np.isfinite(np.asarray(h0.customdata, dtype=float)[:, 3]))[-1])
    fire(w.diagram_fig, "H0", finite, "click")
    dim, bar = int(h0.customdata[finite][0]), int(h0.customdata[finite][1])
    assert dim == 0
    edge = result.representatives[0][bar] if np.array_equal(result.diagrams[0], w.result_.diagrams[0]) else None
    assert edge is not None and len(edge) == 2
    assert w.thumbnails.selected == sorted(set(cloud.image_index[edge].tolist()))


def test_a_quick_job_sends_no_progress_and_a_slow_one_shows_it(study):
    """A view from the cache is a few ms of work: its job never shows the progress bar or the
    status (no messages, nothing flickers, issue 17); a job that runs longer than SHOW_AFTER_S shows both."""
    w = PersistenceExplorer(study=study, layer="block1", max_points=50)
    w.wait()
    w.layer = "fc1"
    w.wait()
    w.SHOW_AFTER_S = 3.0  # every job below is "quick"
    changes = []
    for widget in (w.progress_bar, w.progress_bar.layout, w.status_label):
        widget.observe(lambda c: changes.append(c["name"]), names=["value", "max", "description", "visibility"])
    w.layer = "block1"  # cached
    w.wait()
    assert w.state == "done" and changes == [], changes
    assert w.diagram_fig.layout.title.text.startswith("block1")

    w.SHOW_AFTER_S = 0.0  # now every job shows its progress at once
    w.max_points = 70  # a new cloud and diagram
    w.wait()
    assert "visibility" in changes and "value" in changes
    assert w.progress_bar.layout.visibility == "hidden"  # hidden again when done


def test_progress_reaches_the_end_and_status_shows_errors(study):
    seen = []
    w = PersistenceExplorer(study=study, layer="block1", max_points=50, autostart=False)
    w.SHOW_AFTER_S = 0.0  # shown from the start, whatever the machine's speed
    w.progress_bar.observe(lambda c: seen.append((w.progress_bar.value, w.progress_bar.max)), names="value")
    w.recompute()
    w.wait()
    assert seen and seen[-1][0] == seen[-1][1]
    with w.hold_trait_notifications():
        w.layer, w.mode = "head", "spatial"  # a linear layer has no spatial positions
    w.wait()
    assert w.state == "error"  # a readable message in the widget, no exception
    assert "needs a convolutional layer" in w.status_label.value and "Error" in w.status_label.value
    w.mode = "auto"
    w.wait()
    assert w.state == "done" and w.status_label.value == ""


def test_cancel_stops_the_work_and_leaves_the_widget_usable(demo):
    study = Study(demo.model, demo.images, demo.labels, demo.layers)
    started = threading.Event()
    release = threading.Event()
    w = PersistenceExplorer(study=study, layer="block1", max_points=60, autostart=False)
    real = study.cloud

    def slow_cloud(*a, **k):
        started.set()
        release.wait(5)
        return real(*a, **k)

    study.cloud = slow_cloud
    w.recompute()
    assert started.wait(5)
    assert w.cancel_button.disabled is False
    w.cancel()
    release.set()
    w.wait()
    assert w.state == "cancelled"
    assert not any(k[0] == "diagrams" for k in study.cache_keys())
    study.cloud = real
    w.recompute()
    w.wait()
    assert w.state == "done" and len(trace(w.diagram_fig, "H0").x) == 60


def test_rapid_changes_end_on_the_last_setting(study):
    w = PersistenceExplorer(study=study, layer="block1", max_points=40, maxdim=0)
    for n in range(20, 120, 5):  # 20 quick changes, the last one 115 (of 120 images)
        w.max_points = n
    w.wait()
    assert w.state == "done"
    assert w.cloud_.n_points == 115
    assert len(trace(w.diagram_fig, "H0").x) == 115


# ------------------------------------------------------------------ layer distances


def test_layer_distance_explorer_matches_the_study(study):
    w = LayerDistanceExplorer(study=study, max_points=60, dims=(0, 1)).wait()
    assert w.state == "done", w.status
    ref = Study(study.model, study.images, study.labels, study.layers).distance_matrix(
        spec=CloudSpec(max_points=60), metric="bottleneck", dims=(0, 1))
    np.testing.assert_allclose(np.asarray(trace(w.heatmap_fig, "ph").z, dtype=float), ref, atol=1e-12)
    assert "Spearman" in w.heatmap_fig.layout.title.text
    w.metric = "sliced-wasserstein"  # a view change: diagrams come from the cache
    n_persistence = study.stats["persistence"]
    w.wait()
    assert study.stats["persistence"] == n_persistence
    assert "sliced" in w.heatmap_fig.layout.title.text


def test_clicking_a_cell_shows_the_matching(study):
    w = LayerDistanceExplorer(study=study, max_points=60).wait()
    names = [t.name for t in w.heatmap_fig.data]
    assert "click" in w.heatmap_fig.events
    # a heat map cell: plotly.js reports its row and column labels (pointNumber is [row, col])
    assert w.matching_box.layout.display == "none" and "click a cell" in w.matching_hint.value
    w.heatmap_fig.dispatch("click", [{"trace": names.index("ph"), "index": None, "x": "block1", "y": "block2"}])
    assert w.selected_pair == ("block2", "block1")
    assert w.matching_box.layout.display is None and w.matching_hint.layout.display == "none"
    assert "block2 vs block1" in w.matching_fig.layout.title.text
    assert len(trace(w.matching_fig, "A").x) > 0
    # a new metric: the matching drawn for bottleneck is not left beside the new heat map
    w.metric = "wasserstein-1"
    w.wait()
    assert w.selected_pair is None and "bottleneck" not in w.matching_fig.layout.title.text
    assert "settings changed" in w.matching_fig.layout.title.text and len(trace(w.matching_fig, "A").x) == 0
    # an empty matching is a line of text, not an empty 400 px plot (issue 29)
    assert w.matching_box.layout.display == "none" and w.matching_hint.layout.display is None
    assert "settings changed" in w.matching_hint.value
    w.heatmap_fig.dispatch("click", [{"trace": names.index("ph"), "index": None, "x": "block1", "y": "block2"}])
    # clicked again: the new metric's matching
    assert "wasserstein-1 matching" in w.matching_fig.layout.title.text


# ------------------------------------------------------------------ mapper


def test_mapper_node_click_shows_its_images_and_links_layers(demo, study):
    before = model_state(demo.model)
    w = MapperExplorer(study=study, layer="fc1", n_cubes=6, overlap=0.4).wait()
    assert w.state in ("done", "error"), w.status
    graph = w.graphs_["fc1"]
    nodes = trace(w.main_fig, "nodes")
    assert len(nodes.x) == len(graph.nodes)
    k = int(np.argmax([n.size for n in graph.nodes]))
    node_id = str(nodes.customdata[k] if np.ndim(nodes.customdata[k]) == 0 else nodes.customdata[k][0])
    fire(w.main_fig, "nodes", k, "click")
    # reference: membership from the topology layer through the cloud's provenance
    cloud = study.cloud("fc1", w.spec)
    expected = sorted(set(cloud.image_index[graph.node(node_id).members].tolist()))
    assert w.thumbnails.selected == expected
    # cross-layer linking: in every other layer, exactly the nodes holding any of those images
    for name, g in w.graphs_.items():
        want = sorted(n.id for n in g.nodes if set(n.image_indices.tolist()) & set(expected))
        assert sorted(w.highlighted_[name]) == want
        if name in w.layer_figs:
            fig = w.layer_figs[name]
            ring = trace(fig, "highlight")
            # shown rings: read from the per-point opacities directly, not through ringed_nodes
            shown = [str(i) for i, o in zip(ring.customdata, ring.marker.opacity) if o > 0]
            assert sorted(shown) == want
            # the rings equal what the figure builder draws for these highlights at this size
            from tda_widgets.figures import mapper_graph_figure
            from tda_widgets.widgets.mapper import MAIN_SIZE

            scale = min(1.0, fig.layout.width / MAIN_SIZE[0])
            ref = trace(mapper_graph_figure(g, highlight=w.highlighted_[name], width=fig.layout.width,
                                            height=fig.layout.height,
                                            size_range=(max(5.0, 8.0 * scale), max(12.0, 30.0 * scale))),
                        "highlight")
            np.testing.assert_allclose(ring.x, ref.x)
            np.testing.assert_allclose(ring.y, ref.y)
            np.testing.assert_allclose(ring.marker.size, ref.marker.size)
            assert list(ring.customdata) == list(ref.customdata)
            np.testing.assert_array_equal(ring.marker.opacity, ref.marker.opacity)
    assert_model_unchanged(demo.model, before)


def test_a_new_cover_draws_the_main_graph_before_the_other_layers_are_computed(study):
    """A new setting on graphs already drawn: the layer on screen is computed first and its new
    graph drawn at once (main and small graph); the other layers' follow. The first computation
    keeps the study's layer order."""
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, threaded=False)
    events = []
    computed = study.mapper

    def mapper(layer, *args, **kwargs):
        events.append(("mapper", layer))
        return computed(layer, *args, **kwargs)

    def recorded(name, plot):
        show = plot.show
        plot.show = lambda fig: (events.append(("show", name, fig.layout.title.text)), show(fig))[1]

    recorded("main", w.main_fig)
    recorded("small fc1", w.layer_figs["fc1"])
    study.mapper = mapper  # an instance attribute: the explorer calls it by name
    w.n_cubes = 7
    assert w.state == "done", w.status
    mappers = [e[1] for e in events if e[0] == "mapper"]
    assert mappers[0] == "fc1" and sorted(mappers[1:]) == sorted(set(study.layers) - {"fc1"})
    second = events.index(("mapper", mappers[1]))
    early = [e for e in events[:second] if e[0] == "show"]
    assert [e[1] for e in early] == ["main", "small fc1"], events
    graph = w.graphs_["fc1"]  # the graph drawn early is the new cover's, the one kept
    assert early[0][2].startswith(f"fc1 · {len(graph.nodes)} nodes, {len(graph.edges)} edges")
    assert graph.params["n_cubes"] == 7 and all(g.params["n_cubes"] == 7 for g in w.graphs_.values())
    assert list(w.graphs_) == [name for name in study.layers if name in w.graphs_]
    # a cover seen before (every graph cached) draws nothing early: the page swaps it in
    events.clear()
    w.n_cubes = 5
    mappers = [e for e in events if e[0] == "mapper"]
    assert len(mappers) == len(study.layers)
    assert not [e for e in events[:events.index(mappers[1])] if e[0] == "show"], events


def test_mapper_graphs_carry_what_the_browser_needs_to_answer_a_click(study):
    """Issue 17: a hover or click on a node is answered in the browser before the kernel does;
    each graph's layout.meta carries each node's images and the kernel's panel title for it."""
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, threaded=False)
    figures = [(w.layer, w.main_fig), *w.layer_figs.items()]
    assert len(figures) >= 2
    for name, fig in figures:
        link, graph = fig.layout.meta["tdaw_link"], w.graphs_[name]
        assert link["group"] == w.thumbnails.model_id  # the group is the explorer's panel
        nodes = trace(fig, "nodes")
        offsets, images = np.asarray(link["offsets"]), np.asarray(link["images"])
        assert len(offsets) == len(nodes.customdata) + 1 and offsets[-1] == len(images)
        cloud = study.cloud(name, w.spec)
        for j, node_id in enumerate(nodes.customdata):
            # reference: the node's members mapped through the cloud's provenance
            want = sorted(set(cloud.image_index[graph.node(str(node_id)).members].tolist()))
            assert sorted(images[offsets[j]:offsets[j + 1]].tolist()) == want
        j = len(nodes.customdata) - 1  # the browser shows what the kernel's answer shows
        w.select_node(str(nodes.customdata[j]), layer=name, show_layer=False)
        assert html.unescape(link["titles"][j]) == w.thumbnails.title  # escaped in the figure
        assert images[offsets[j]:offsets[j + 1]].tolist() == list(w.thumbnails.selected)
        assert w.thumbnails.marks == []


def test_mapper_graph_of_positioned_points_leaves_the_thumbnails_to_the_kernel(study):
    """A cloud whose points sit at spatial positions: the kernel marks them on the thumbnails,
    so the browser draws only the rings (no titles in the link)."""
    w = MapperExplorer(study=study, layer="block2", mode="image-top-l2", n_cubes=4, show_all_layers=False,
                       threaded=False)
    link = w.main_fig.layout.meta["tdaw_link"]
    assert "titles" not in link and len(link["offsets"]) == len(w.graphs_["block2"].nodes) + 1
    node = w.graphs_["block2"].nodes[0]
    w.select_node(node.id, show_layer=False)
    assert w.thumbnails.marks and all(len(m) >= 4 for m in w.thumbnails.marks)


def test_mapper_settings_change_redraws(study):
    w = MapperExplorer(study=study, layer="head", n_cubes=4, show_all_layers=False).wait()
    n_before = len(trace(w.main_fig, "nodes").x)
    w.n_cubes = 12
    w.wait()
    assert w.graphs_["head"].params["n_cubes"] == 12
    assert len(trace(w.main_fig, "nodes").x) == len(w.graphs_["head"].nodes) != n_before


def demo_name(study, label):
    return study.class_names[int(label)] if study.class_names is not None else str(label)


def test_mapper_panels_agree_with_the_last_setting(study):
    """A node clicked in another layer's graph shows that layer; node info is in words (classes
    with counts and shares, groups when given), never a dict or kmapper's id; a new cover clears it."""
    groups = {c: ("low" if c < 5 else "high") for c in range(10)}
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, class_groups=groups).wait()
    head = w.graphs_["head"]
    k = int(np.argmax([n.size for n in head.nodes]))
    fire(w.layer_figs["head"], "nodes", k, "hover")  # a hover previews: the main graph stays
    assert w.layer == "fc1" and w.selected_node.startswith("head:") and w.main_fig.layout.title.text.startswith("fc1")
    fire(w.layer_figs["head"], "nodes", k, "click")
    node = head.nodes[k]
    assert w.layer == "head" and w.selected_node == f"head:{node.id}"
    assert w.main_fig.layout.title.text.startswith("head ·")  # the main graph is head's
    assert len(trace(w.main_fig, "nodes").x) == len(head.nodes)
    info = w.info.value
    top_class, top_count = max(node.class_counts.items(), key=lambda kv: kv[1])
    # one header (issue 29), the classes as bars (names and counts), the groups in words
    assert w.thumbnails.title.startswith(f"head · node {k + 1} of {len(head.nodes)} · ")
    assert w.thumbnails.bars[0] == {"name": demo_name(study, top_class), "count": top_count}
    assert "class groups: " in info and node.id not in info and "{" not in info and "'" not in info
    assert "node" not in info  # the header is not said twice
    w.n_cubes = 6
    w.wait()
    assert w.info.value == "" and w.selected_node is None and w.thumbnails.selected == []
    # class groups: a colour option and the purity-per-layer figure (issue 17, 4)
    values = [v for _, v in w.color_dropdown.options]
    assert "group" in values and "group_purity" in values
    w.color_by = "group"
    colours = list(trace(w.main_fig, "nodes").marker.color)
    head = w.graphs_[w.layer]
    majority = [max(n.group_counts, key=n.group_counts.get) for n in head.nodes]
    assert len(set(colours)) == len(set(majority))  # one colour per group present
    assert all((a == b) == (ca == cb) for a, ca in zip(majority, colours) for b, cb in zip(majority, colours))
    labels = study.labels
    for name, series in (("class purity", None), ("group purity", groups)):
        shown = list(trace(w.purity_fig, name).y)
        expected = []
        for layer in study.layers:  # one point per image here: a node's labels are its images'
            nodes = w.graphs_[layer].nodes
            named = [[c if series is None else series[int(c)] for c in labels[n.image_indices]] for n in nodes]
            tops = [np.unique(names, return_counts=True)[1].max() for names in named]
            expected.append(sum(tops) / sum(len(names) for names in named))
        np.testing.assert_allclose(shown, expected, rtol=1e-12)
    plain = MapperExplorer(study=study, layer="fc1", n_cubes=5, autostart=False)
    assert "group" not in [v for _, v in plain.color_dropdown.options]  # no groups given


def test_mapper_colour_and_logit_lens_controls(study):
    """Every colour the figure offers is in the dropdown (no 'lens' that raised); a class logit is
    a lens from the dropdown and from the trait (it raised a formatting error); its graph equals
    a mapper_graph call on the same logits."""
    from tda_widgets.figures.mapper import COLOR_BY, GROUP_COLORINGS
    from tda_widgets.topology.mapper import mapper_graph

    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, show_all_layers=False, threaded=False)
    # without class_groups, every colouring but the group ones (those are tested with groups)
    offered = [c for c in COLOR_BY if c not in GROUP_COLORINGS]
    assert [v for _, v in w.color_dropdown.options] == offered
    for colour in offered:
        w.color_by = colour
        assert w.state == "done", w.status
    labels = [label for label, _ in w.lens_dropdown.options]
    assert "logit of class 3" in labels and len([v for _, v in w.lens_dropdown.options if isinstance(v, tuple)]) == 10
    w.lens = ("logit", 3)
    assert w.state == "done" and w.lens_dropdown.label == "logit of class 3"
    cloud = study.cloud("fc1", w.spec)
    logits = study.activations(["head"])["head"].reshape(study.n_images, -1)[cloud.image_index, 3]
    direct = mapper_graph(cloud.points, lens=logits, n_cubes=5, overlap=w.overlap, min_samples=w.min_samples)
    assert sorted(n.size for n in w.graphs_["fc1"].nodes) == sorted(n.size for n in direct.nodes)
    w.lens_dropdown.value = "l2norm"
    assert w.lens == "l2norm" and w.state == "done"


def test_mapper_eps_box_reaches_dbscan(study):
    """eps (DBSCAN's radius) is a control: a typed number gives the graph a mapper_graph call
    with that eps gives; empty is auto; a bad entry is a clear error in the status row."""
    from tda_widgets.topology.mapper import mapper_graph

    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, show_all_layers=False).wait()
    assert w.eps is None and w.eps_text.value == "" and w.eps_text.placeholder == "auto"
    auto = w.graphs_["fc1"].params["eps"]
    typed = float(f"{1.5 * auto:.3g}")
    w.eps_text.value = str(typed)
    w.wait()
    assert w.eps == typed
    cloud = study.cloud("fc1", w.spec)
    direct = mapper_graph(cloud.points, lens=w.lens, n_cubes=5, overlap=w.overlap, eps=typed,
                          min_samples=w.min_samples)
    assert w.graphs_["fc1"].params["eps"] == typed
    assert sorted(len(n.members) for n in w.graphs_["fc1"].nodes) == sorted(len(n.members) for n in direct.nodes)
    assert len(trace(w.main_fig, "nodes").x) == len(direct.nodes)
    w.eps_text.value = "-1"
    assert w.eps == typed and w.state == "error" and "eps" in w.status and "> 0" in w.status  # the declared rule: 0 < eps, finite
    assert "empty for auto" in w.status
    w.eps = None
    w.wait()
    assert w.eps_text.value == "" and w.graphs_["fc1"].params["eps"] == auto
    with pytest.raises(Exception, match="eps"):
        MapperExplorer(study=study, eps=-2.0, autostart=False)


# ------------------------------------------------------------------ dashboard, runner


def test_dashboard_shares_one_cache(study):
    d = Dashboard(study=study)
    d.persistence.wait()
    assert d.distances.study is d.persistence.study is d.mapper.study
    d.distances.wait()
    d.mapper.wait()
    # reading a tab's explorer from code builds it but never switches tabs (issue 29: after Run All
    # of the tour the dashboard showed its distances tab, which the tour's check had read)
    assert d.selected_index == 0
    d.selected_index = 2
    assert d.selected_index == 2 and d.children[2] is d.mapper
    d.close()


def test_job_runner_drops_stale_results():
    applied = []
    runner = JobRunner(lambda *a: None, lambda *a: None)

    def work(delay):
        def run(progress, cancel):
            time.sleep(delay)
            return delay
        return run

    runner.submit(work(0.3), applied.append)
    runner.submit(work(0.0), applied.append)
    runner.wait()
    assert applied == [0.0]


def test_closing_a_widget_cancels_its_work(study):
    w = PersistenceExplorer(study=study, autostart=False)
    stopped = threading.Event()

    def long_work(progress, cancel):
        for _ in range(200):
            if cancel.is_set():
                stopped.set()
                raise Cancelled("x")
            time.sleep(0.01)

    w.jobs.submit(long_work, lambda r: None)
    w.close()
    w.jobs.wait()
    assert stopped.is_set()


def test_dashboard_passes_settings_to_the_explorers_that_take_them(study):
    d = Dashboard(study=study, max_points=70, metric="wasserstein-1", n_cubes=5, threaded=False)
    assert d.persistence.max_points == 70 and d.distances.max_points == 70
    assert d.distances.metric == "wasserstein-1" and d.mapper.n_cubes == 5
    with pytest.raises(TypeError, match="no explorer takes"):
        Dashboard(study=study, max_pionts=70)


def test_explorer_takes_a_class_balanced_sample(demo):
    w = PersistenceExplorer(demo.model, demo.images, labels=demo.labels, n_images=50, max_points=50,
                            threaded=False)
    assert w.study.n_images == 50 and len(w.study.images) == 50
    counts = np.bincount(w.study.labels, minlength=10)
    assert counts.min() == 5 and counts.max() == 5
    # the sample's labels are the labels of the sampled images
    index = [int(np.flatnonzero((demo.images == img).all(dim=(1, 2, 3)).numpy())[0]) for img in w.study.images[:10]]
    np.testing.assert_array_equal(w.study.labels[:10], demo.labels[index])


def _without_buffers(value):
    if isinstance(value, dict):
        return {k: _without_buffers(v) for k, v in value.items() if not isinstance(v, (bytes, memoryview))}
    if isinstance(value, list):
        return [_without_buffers(v) for v in value]
    return value


def test_every_figure_sent_to_the_browser_is_valid_json(study):
    """inf/NaN in a plot's state is not JSON: the browser dropped such updates and the figure
    stayed blank (the barcode's infinite-bar customdata did this). Numeric arrays travel as
    binary buffers (where inf is a number); everything else must be strict JSON."""
    p = PersistenceExplorer(study=study, layer="block2", max_points=60, threaded=False)
    d = LayerDistanceExplorer(study=study, max_points=60, threaded=False)
    d.show_pair(0, 1, dim=0)  # H0 diagrams hold an infinite bar each
    m = MapperExplorer(study=study, layer="fc1", threaded=False)
    for fig in (p.diagram_fig, p.barcode_fig, d.heatmap_fig, d.matching_fig, m.main_fig, *m.layer_figs.values()):
        json.dumps(_without_buffers(fig.state), allow_nan=False)
        json.dumps(_without_buffers(fig.template), allow_nan=False)


def test_rerunning_a_cell_cancels_and_closes_the_explorer_it_made(study):
    """Re-running the cell that made an explorer stops the old one at once (issue 17, 5)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update(study=study, PersistenceExplorer=PersistenceExplorer)
        shell.run_cell("pe = PersistenceExplorer(study=study, autostart=False)", cell_id="cell-a")
        shell.run_cell("other = PersistenceExplorer(study=study, autostart=False)", cell_id="cell-b")
        shell.run_cell("loose = PersistenceExplorer(study=study, autostart=False)")  # no cell id
        old, other, loose = (shell.user_ns[k] for k in ("pe", "other", "loose"))
        started = threading.Event()

        def long_work(progress, cancel):
            started.set()
            cancel.wait(30)  # returns at once when cancelled; 30 s otherwise

        old.jobs.submit(long_work, lambda r: None)
        assert started.wait(10)
        t0 = time.monotonic()
        shell.run_cell("pe = PersistenceExplorer(study=study, autostart=False)", cell_id="cell-a")
        old.jobs.wait(10)
        assert time.monotonic() - t0 < 5
        assert old.state == "cancelled"
        assert old.comm is None  # closed: the re-run cell's output no longer shows it
        new = shell.user_ns["pe"]
        assert new is not old and new.comm is not None
        assert other.comm is not None and loose.comm is not None  # other cells' explorers live on
        shell.run_cell("1 + 1")  # a cell without an id closes nothing either
        assert new.comm is not None
    finally:
        InteractiveShell.clear_instance()


def _decoded(plot):
    """The figure the page draws, back from the plot's state: its data and layout (with the
    template), numeric arrays as numpy arrays."""
    from tda_widgets.widgets.plot import _numpy

    layout = dict(_numpy(plot.state["layout"]))
    assert plot.template["id"] == plot.state["template_id"]
    layout["template"] = _numpy(plot.template["value"])
    return _numpy(plot.state["data"]), layout


def _same_json(ours, reference):
    """plotly's JSON of a figure (arrays as numpy arrays or lists) equal to ours, numbers close."""
    if isinstance(reference, dict) and {"dtype", "bdata"} <= set(reference):  # plotly >= 6's base64 arrays
        import base64

        arr = np.frombuffer(base64.b64decode(reference["bdata"]), dtype=reference["dtype"])
        if "shape" in reference:
            arr = arr.reshape([int(d) for d in str(reference["shape"]).split(",")])
        reference = arr
    if isinstance(reference, dict):
        assert isinstance(ours, dict) and set(ours) == set(reference), (sorted(ours), sorted(reference))
        for key in reference:
            _same_json(ours[key], reference[key])
    elif isinstance(reference, (list, np.ndarray)) and not isinstance(ours, str):
        assert len(ours) == len(reference)
        ref = np.asarray(reference, dtype=object) if isinstance(reference, list) else reference
        if isinstance(ref, np.ndarray) and ref.dtype.kind in "biuf":
            np.testing.assert_allclose(np.asarray(ours, dtype=float), ref.astype(float), rtol=0, atol=0)
        else:
            for a, b in zip(ours, reference):
                _same_json(a, b)
    elif isinstance(reference, float) and not np.isfinite(reference):
        assert ours is None  # not JSON: sent as null
    else:
        assert ours == reference, (ours, reference)


def test_the_page_gets_each_figure_as_plotly_json_with_binary_arrays(study):
    """What a plot's state holds is the figure: plotly's own JSON of a figure built from scratch
    (compared key by key, arrays number by number), numeric arrays as binary buffers; the
    template travels apart, once per plot; a view shown again has the same id (the page swaps its
    plot back in), another view another id."""
    from tda_widgets.figures.diagrams import barcode_figure, persistence_diagram_figure
    from tda_widgets.widgets.plot import Plot

    diagrams = {layer: study.diagrams([layer], CloudSpec(max_points=60))[layer].diagrams
                for layer in ("block1", "fc1")}
    for build in (persistence_diagram_figure, barcode_figure):
        plot = Plot(build([np.empty((0, 2))], title="computing…"))
        templates, ids = [], []
        plot.observe(lambda change: templates.append(change["new"]["id"]), names="template")
        for layer in ("block1", "fc1", "block1", "fc1"):
            ids.append(plot.show(build(list(diagrams[layer]), title=f"{layer} diagram")))
            data, layout = _decoded(plot)
            reference = json.loads(build(list(diagrams[layer]), title=f"{layer} diagram").to_json())
            _same_json(data, reference["data"])
            _same_json(layout, reference["layout"])
            assert plot.figure.layout.title.text == f"{layer} diagram"
        assert ids[0] == ids[2] != ids[1] == ids[3]
        assert templates == []  # the template of the first figure, unchanged since
        buffers = [v for t in plot.state["data"] for v in t.values() if isinstance(v, dict) and "buffer" in v]
        assert buffers and all(isinstance(b["buffer"], bytes) for b in buffers)
        plot.close()


def test_the_browser_learns_which_view_each_layer_brings_back(study):
    """Issue 17, 1: after two layers were shown, each persistence plot is told, for the layer
    slider, the view of each of those layers (with the other settings as they are), so that moving
    the slider back needs no answer from the kernel first; another setting makes a different
    binding (its views are the new setting's)."""
    w = PersistenceExplorer(study=study, layer="block1", max_points=60, threaded=False)
    shown = {}
    for layer in ("fc1", "block1"):
        w.layer = layer
        shown[layer] = [fig.shown_id for fig in (w.diagram_fig, w.barcode_fig)]
    names = list(study.layers)
    for k, fig in enumerate((w.diagram_fig, w.barcode_fig)):
        entry = fig.bindings[w.layer_slider.model_id]
        assert entry["trait"] == "index"
        assert entry["views"] == {str(names.index(layer)): ids[k] for layer, ids in shown.items()}
        assert shown["fc1"][k] != shown["block1"][k]
    modes = [value for _, value in w.mode_dropdown.options]
    entry = w.diagram_fig.bindings[w.mode_dropdown.model_id]
    assert entry == {"trait": "index", "views": {str(modes.index(w.mode)): shown["block1"][0]}}
    w.max_points = 80
    entry = w.diagram_fig.bindings[w.layer_slider.model_id]
    assert entry["views"] == {str(names.index("block1")): w.diagram_fig.shown_id}
    assert w.diagram_fig.shown_id != shown["block1"][0]


def test_forgotten_views_are_drawn_again_as_the_first_time(study):
    """forget_views (the browser benchmark's first-view rows): the page is told to drop its stored
    views and no control is bound to a view seen before any more."""
    w = PersistenceExplorer(study=study, layer="block1", max_points=60, threaded=False)
    w.layer = "fc1"
    sent = []
    w.diagram_fig.send = lambda content, buffers=None: sent.append(content)
    w.forget_views()
    assert sent == [{"forget": True}] and w.diagram_fig.bindings == {}
    w.layer = "block1"
    assert set(w.diagram_fig.bindings[w.layer_slider.model_id]["views"]) == {str(list(study.layers).index("block1"))}


def test_a_restyle_is_one_step_from_the_state_shown_and_python_sees_it():
    """Plot.restyle (the mapper's rings): the state names the state it starts from and the
    change (one Plotly.restyle in the page), holds the changed trace for views drawn later, and
    plot.figure shows it; the figure given to show() is not changed (a view cache holds it)."""
    import plotly.graph_objects as go

    from tda_widgets.widgets.plot import Plot

    fig = go.Figure([go.Scatter(x=[1, 2, 3], y=[3, 4, 5], name="a", marker=dict(size=6)),
                     go.Scatter(x=[0, 1], y=[1, 0], name="rings", marker=dict(opacity=[0.0, 0.0]))])
    plot = Plot(fig)
    base = plot.shown_id
    new = plot.restyle(1, {"marker.opacity": np.array([1.0, 0.0])})
    assert new != base and plot.state["restyle"]["base"] == base and plot.state["restyle"]["trace"] == 1
    np.testing.assert_array_equal(plot.trace_value(1, "marker.opacity"), [1.0, 0.0])
    assert plot.trace_value(0, "marker.size") == 6  # the other trace as it was
    np.testing.assert_array_equal(plot.figure.data[1].marker.opacity, [1.0, 0.0])
    assert tuple(fig.data[1].marker.opacity) == (0.0, 0.0)
    with pytest.raises(IndexError, match="trace 5"):
        plot.restyle(5, {"marker.size": 3})


def test_a_restyle_back_to_a_value_seen_before_is_the_state_seen_before():
    """A state's id names the state, not the way to it (the FiltrationExplorer's cursors step back
    and forth): restyling a trace back to a value gives the id it had then, so the page, which
    already holds that state, draws nothing when the kernel's answer comes; a new show() starts
    afresh. Before the fix each restyle's id hashed the state it started from, and every step back
    made the page draw the diagram and barcode again (100-300 ms of plotly.js after each step)."""
    import plotly.graph_objects as go

    from tda_widgets.widgets.plot import Plot

    fig = go.Figure([go.Scatter(x=[1, 2, 3], y=[3, 4, 5], name="a"), go.Scatter(x=[0, 0], y=[0, 1], name="cursor")])
    plot = Plot(fig)
    at = {v: plot.restyle(1, {"x": np.array([v, v])}) for v in (1.0, 2.0)}
    assert at[1.0] != at[2.0]
    again = plot.restyle(1, {"x": np.array([1.0, 1.0])})
    assert again == at[1.0] and plot.state["restyle"]["base"] == at[2.0]
    assert plot.restyle(1, {"x": np.array([2.0, 2.0])}) == at[2.0]
    assert plot.restyle(1, {"y": np.array([0.0, 2.0])}) not in at.values()  # another trait: another state
    plot.show(go.Figure([go.Scatter(x=[1], y=[1], name="a"), go.Scatter(x=[0, 0], y=[0, 1], name="cursor")]))
    assert plot.restyle(1, {"x": np.array([1.0, 1.0])}) != at[1.0]  # another figure under it


def test_page_events_reach_the_callbacks_with_their_trace(study):
    """A hover, click, selection or zoom in the page comes back as a message: the plot's callbacks
    get the trace (of the figure drawn) and the points; only events a callback wants are sent."""
    import plotly.graph_objects as go

    from tda_widgets.widgets.plot import Plot

    plot = Plot(go.Figure([go.Scatter(x=[1, 2], y=[3, 4], name="a"), go.Scatter(x=[5, 6], y=[7, 8], name="b")]))
    assert plot.events == []
    got = []
    plot.on_click(lambda p, event: got.append(("click", event.trace.name, event.point_inds, event.xs)))
    plot.on_selection(lambda p, event: got.append(("selected", event.trace_index, event.point_inds)))
    plot.on_relayout(lambda p, event: got.append(("relayout", event.relayout)))
    assert plot.events == ["click", "selected", "relayout"]
    plot._on_page_message(plot, {"event": "click", "points": [{"trace": 1, "index": 0, "x": 5, "y": 7}]}, [])
    plot._on_page_message(plot, {"event": "selected", "points": [{"trace": 0, "index": 0}, {"trace": 0, "index": 1}]},
                          [])
    plot._on_page_message(plot, {"event": "relayout", "points": [], "relayout": {"xaxis.range[0]": 1.5}}, [])
    plot._on_page_message(plot, {"event": "hover", "points": [{"trace": 0, "index": 0}]}, [])  # no callback
    assert got == [("click", "b", [0], [5]), ("selected", 0, [0, 1]), ("relayout", {"xaxis.range[0]": 1.5})]
    assert plot.last_relayout == {"xaxis.range[0]": 1.5}
    plot.on_click(None)
    assert plot.events == ["selected", "relayout"]


def _live_widgets() -> int:
    """Widgets open in this kernel (their comm not closed), counted from the garbage collector."""
    import gc

    import ipywidgets as W

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, W.Widget) and o.comm is not None)


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * __import__("os").sysconf("SC_PAGE_SIZE") / 2 ** 20


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["persistence", "distances", "mapper", "dashboard"])
def test_closing_an_explorer_frees_every_widget_it_made(study, kind):
    """Issue 27, 7: making and closing 50 explorers (same settings, results cached) leaves the
    live widget count where it started (it grew by 41 per explorer) and the kernel's memory
    within a small margin; every job thread of theirs has ended."""
    import gc

    make = {"persistence": lambda: PersistenceExplorer(study=study, layer="fc1", max_points=60),
            "distances": lambda: LayerDistanceExplorer(study=study, max_points=60),
            "mapper": lambda: MapperExplorer(study=study, layer="fc1", max_points=60),
            "dashboard": lambda: Dashboard(study=study, max_points=60)}[kind]
    for _ in range(3):  # caches filled, plotly.js sent
        w = make()
        getattr(w, "wait", lambda: None)()
        w.close()
    before, memory = _live_widgets(), _resident_mb()
    threads, made = [], None
    for i in range(50):
        w = make()
        if made is None:  # counted once: a count (a full collection and heap walk) per explorer was most of
            made = _live_widgets() - before  # this test's time; a collection every 5 keeps the heap as a kernel's
        elif i % 5 == 0:
            gc.collect()
        if hasattr(w, "jobs"):
            w.wait()
            threads.append(w.jobs.thread)
        w.close()
    assert made >= 20  # what one explorer made (and what closing it must close)
    del w
    gc.collect()
    assert _live_widgets() - before <= 2
    assert all(t is None or not t.is_alive() for t in threads)
    assert _resident_mb() - memory < 40, (memory, _resident_mb())


def test_close_walks_attributes_another_thread_changes():
    """Regression: close() walked an explorer's attribute dict live, so a job thread setting an
    attribute meanwhile failed Dashboard.close with "dictionary changed size during iteration"
    (seen once in a few hundred closes). Here the change happens deterministically during the walk:
    ``isinstance`` reads ``__class__``, which this value turns into an attribute set."""
    import ipywidgets as W

    from tda_widgets.widgets.base import owned_widgets

    root, child = W.VBox(), W.HTML("child")

    class SetsAnAttribute:
        @property
        def __class__(self):
            root.late_attribute = W.HTML("late")   # what a job thread does while close() walks
            return SetsAnAttribute

    root.holder = {"a": SetsAnAttribute(), "b": child}
    found = owned_widgets(root)
    assert child in found and root in found
    for w in found:
        w.close()
    root.late_attribute.close()


def test_a_closed_explorer_draws_nothing_and_its_thread_ends(study):
    """close() while a job runs: the job ends at its next check, its result is never drawn, the
    elapsed-time ticker stops."""
    w = PersistenceExplorer(study=study, autostart=False)
    started, release = threading.Event(), threading.Event()
    applied = []

    def slow(progress, cancel):
        started.set()
        release.wait(10)
        return "result"

    w.jobs.submit(slow, applied.append)
    assert started.wait(10)
    w.close()
    release.set()
    w.jobs.wait(10)
    assert applied == [] and not w.jobs.thread.is_alive()
    time.sleep(w.TICK_S * 3)
    assert not [t for t in threading.enumerate() if t.name.startswith("tda-widgets-ticker") and t.is_alive()]
    assert w.comm is None and w.diagram_fig.comm is None and w.layer_slider.layout.comm is None


def test_a_long_single_step_shows_progress_that_moves(study):
    """One layer's persistence is one step ('0/1'): the status names what is computed and its
    elapsed time moves while it runs (issue 17)."""
    w = PersistenceExplorer(study=study, autostart=False)
    seen = []
    w.status_label.observe(lambda change: seen.append(change["new"]), names="value")

    def slow_step(progress, cancel):
        progress(0, 1, "H0-H1 persistence of block1 (300 points in 32 dims)")
        time.sleep(1.6)

    w.jobs.submit(slow_step, lambda r: None, label="slow")
    w.jobs.wait(10)
    running = [v for v in seen if "persistence of block1" in v]
    elapsed = {float(v.split("· ")[-1].split(" s")[0]) for v in running}
    assert len(elapsed) >= 2 and max(elapsed) >= 0.9, seen  # it moved while the step ran
    # the study's own message says what it computes
    messages = []
    study.diagrams(["fc1"], CloudSpec(max_points=40), progress=lambda d, t, m="": messages.append(m))
    assert any("persistence of fc1 (40 points in" in m for m in messages), messages


def test_mapper_explorer_takes_the_groups_its_data_know(study, demo):
    """Data that carry class_groups (cifar10(...) sets CIFAR-10's) bring them to the explorer;
    a named grouping works too."""
    class Images:  # stands in for a dataset object with the attribute cifar10() sets
        class_groups = {c: ("even" if c % 2 == 0 else "odd") for c in range(10)}

    w = MapperExplorer(study=study, images=Images(), layer="fc1", autostart=False)
    assert w.class_groups == Images.class_groups and "group" in [v for _, v in w.color_dropdown.options]
    with pytest.raises(Exception, match="cifar10"):
        MapperExplorer(study=study, class_groups="cifar-10", autostart=False)


def test_mapper_explorer_shows_the_class_tree_of_each_layer_and_the_models_confusions(study):
    """Issue 18, 2: the class tree of the layer shown (it follows the layer slider), the
    agreement of the given groups with it, and the confusion tree beside it."""
    from scipy.cluster.hierarchy import dendrogram

    groups = {c: ("low" if c < 5 else "high") for c in range(10)}
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, class_groups=groups, threaded=False)
    names = study.class_names

    def leaves_of(fig):
        return list(fig.layout.xaxis.ticktext)

    for layer in ("fc1", "head"):
        w.layer = layer
        tree, agreement = w.class_tree()
        assert w.tree_fig.layout.title.text.startswith(f"{layer}: class tree<br>")
        # the title says in words what agrees with what, and what 0 means (issue 29)
        title = w.tree_fig.layout.title.text
        assert f">its groups vs your class groups: {agreement:.2f}</span>" in title
        assert "join low" in title and "0: no better than chance" in title
        assert leaves_of(w.tree_fig) == [names[c] for c in tree.leaves()]
    order = dendrogram(_confusion_linkage(study), no_plot=True)["leaves"]
    assert leaves_of(w.confusion_fig) == [names[k] for k in order]


def _confusion_linkage(study):
    """The confusion tree, from scratch: torch's softmax of the model's outputs summed per true
    class, C + C.T without its diagonal over the square root of the row totals, scipy's average
    linkage of 1 - that."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    with torch.no_grad():
        probabilities = torch.softmax(study.model(torch.as_tensor(np.asarray(study.images))), dim=1).double().numpy()
    c = np.stack([probabilities[study.labels == k].sum(axis=0) for k in range(10)])
    raw = c + c.T
    np.fill_diagonal(raw, 0)
    affinity = raw / np.sqrt(np.outer(raw.sum(axis=1), raw.sum(axis=1))) + np.eye(10)
    distance = 1 - affinity
    np.fill_diagonal(distance, 0)
    return linkage(squareform(np.clip(distance, 0, None), checks=False), method="average")


def test_mapper_explorer_without_groups_scores_the_trees_against_the_models_mistakes(study):
    """Without class_groups the explorer's class tree is scored, as in the report, against the
    groups the model's mistakes suggest: the confusion tree (written out in _confusion_linkage)
    cut into 3 clusters by scipy, compared by scikit-learn's adjusted Rand index."""
    from scipy.cluster.hierarchy import fcluster
    from sklearn.metrics import adjusted_rand_score

    reference_groups = fcluster(_confusion_linkage(study), t=3, criterion="maxclust")
    assert len(set(reference_groups)) == 3  # the demo's mistakes do suggest three groups
    w = MapperExplorer(study=study, layer="block2", n_cubes=5, threaded=False)
    assert w.class_groups is None
    groups, source = w.agreement_groups()
    assert source == "mistakes"
    assert adjusted_rand_score(reference_groups, [groups[c] for c in range(10)]) == 1.0  # the same partition
    for layer in ("block2", "fc1"):
        w.layer = layer
        tree, agreement = w.class_tree()
        cut = fcluster(tree.linkage, t=3, criterion="maxclust")
        assert agreement == pytest.approx(adjusted_rand_score(reference_groups, cut))
        small = "<br><span style='font-size:11px'>{}</span>"
        assert w.tree_fig.layout.title.text == f"{layer}: class tree" + "".join(small.format(line) for line in (
            "classes sharing mapper nodes join low", f"its groups vs the model&#39;s confusions: {agreement:.2f}",
            "(1: the same groups, 0: no better than chance)"))
    # the confusion tree shows where it is cut into those groups: scipy's tree of the written-out
    # confusions cut at the dashed line's height gives the same partition
    cut = [shape for shape in w.confusion_fig.layout.shapes if shape.name == "cut"]
    assert len(cut) == 1 and cut[0].y0 == cut[0].y1
    at_line = fcluster(_confusion_linkage(study), t=cut[0].y0, criterion="distance")
    assert adjusted_rand_score(reference_groups, at_line) == 1.0
    assert "dashed: the cut into 3 groups" in w.confusion_fig.layout.title.text
    # given groups win over the mistakes' ones, and the confusion tree is not cut
    given = MapperExplorer(study=study, layer="block2", n_cubes=5, threaded=False,
                           class_groups={c: c % 2 for c in range(10)})
    assert given.agreement_groups() == ({c: c % 2 for c in range(10)}, "given")
    assert ">its groups vs your class groups: " in given.tree_fig.layout.title.text
    assert not [shape for shape in given.confusion_fig.layout.shapes if shape.name == "cut"]


def test_thumbnails_mark_where_a_top_l2_vector_sits(demo, study):
    """Issue 19, 1: hovering a point of a one-position cloud shows its image with the position of
    its vector outlined; the position from a direct forward hook and torch's argmax of norms."""
    w = PersistenceExplorer(study=study, layer="block2", mode="image-top-l2", max_points=80, threaded=False)
    h1 = trace(w.diagram_fig, "H1")
    k = int(np.argmax(np.asarray(h1.y) - np.asarray(h1.x)))
    fire(w.diagram_fig, "H1", k, "click")
    shown = list(w.thumbnails.selected)
    assert shown and len(w.thumbnails.marks) == len(shown)
    # reference: block2's output by a hook of our own, the channel vector of largest l2 norm
    module = dict(demo.model.named_modules())["block2"]
    grabbed = []
    handle = module.register_forward_hook(lambda m, i, o: grabbed.append(o.detach()))
    try:
        with torch.no_grad():
            demo.model(torch.as_tensor(study.images[shown]))
    finally:
        handle.remove()
    out = grabbed[0]
    h, w_ = out.shape[2:]
    best = torch.linalg.vector_norm(out, dim=1).reshape(len(shown), -1).argmax(dim=1)
    for marks, flat in zip(w.thumbnails.marks, best.tolist()):
        row, col = divmod(flat, w_)
        assert marks == pytest.approx([row / h, col / w_, 1 / h, 1 / w_])  # one rectangle: its position
    w.mode = "image-avgpool"  # a pooled cloud has no position: no marks
    fire(w.diagram_fig, "H1", 0, "click")
    assert w.thumbnails.marks == []


def test_layer_distance_explorer_compares_every_measure_on_demand(study):
    """Issue 18, 4: the button shows the measures table of the current settings; its numbers
    are the study's, and scipy's Spearman of two measures' upper triangles."""
    from scipy.stats import spearmanr

    w = LayerDistanceExplorer(study=study, max_points=60, threaded=False)
    assert w.measures_fig is None  # nothing heavy until asked
    w.table_button.click()
    assert w.state == "done", w.status
    table = w.measures_table_
    assert w.measures_fig is not None and w.measures_fig in w.children
    names = list(table.names)
    ph, cka = study.distance_matrix(spec=w.spec, metric=w.metric), study.cka()
    upper = np.triu_indices(len(study.layers), 1)
    rho = spearmanr(ph[upper], 1 - cka[upper]).statistic
    assert table.agreement[names.index("ph"), names.index("cka")] == pytest.approx(rho, abs=1e-12)
    heat = trace(w.measures_fig, next(t.name for t in w.measures_fig.data if t.type == "heatmap"))
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), table.agreement, equal_nan=True)
